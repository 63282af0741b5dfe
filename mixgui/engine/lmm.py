"""Linear mixed models fitted as lme4 does: profiled deviance over theta, REML or ML.

Public entry: :func:`fit_lmm`. The deviance evaluation lives in :mod:`lmm_blocks`, the result
object and warnings in :mod:`lmm_result`.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from mixgui.engine.covmodel import RandomBlock
from mixgui.engine.lmm_blocks import Problem
from mixgui.engine.lmm_result import (
    LmmFit,
    _rx_inv,
    convergence_warning,
    few_groups_warnings,
    singular_warnings,
)
from mixgui.errors import ModelError, Progress

__all__ = ["fit_lmm", "LmmFit", "lme4_order"]

GRAD_TOL = 2e-3  # lme4's check.conv.grad tolerance on the Hessian-scaled gradient
PROGRESS_EVERY = 5


def lme4_order(blocks: list[RandomBlock]) -> list[RandomBlock]:
    """Order random-effects terms as lme4's ``mkReTrms``.

    When the numbers of levels are not already non-increasing, lme4 uses ``rev(order(nl))``:
    decreasing number of levels, ties in reverse order of appearance.
    """
    nl = [b.n_levels for b in blocks]
    if any(nl[i + 1] > nl[i] for i in range(len(nl) - 1)):
        return [blocks[i] for i in np.argsort(nl, kind="stable")[::-1]]
    return list(blocks)


def _tri_index(q: int):
    """(rows, cols) of a q x q lower triangle in lme4's column-major theta order."""
    rows = [i for j in range(q) for i in range(j, q)]
    cols = [j for j in range(q) for i in range(j, q)]
    return np.array(rows, dtype=np.intp), np.array(cols, dtype=np.intp)


def _validate(y, X, blocks):
    n = y.shape[0]
    if y.ndim != 1 or X.ndim != 2 or X.shape[0] != n:
        raise ModelError("The outcome and the fixed-effects design must have the same number of rows.")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(X))):
        raise ModelError("The outcome or a predictor has missing or infinite values; remove those rows first.")
    if not blocks:
        raise ModelError("The model has no random effects; fit it as an ordinary regression instead.")
    if n < 2 or np.ptp(y) == 0:
        raise ModelError("The outcome does not vary (every row has the same value), so there is nothing to model.")
    for b in blocks:
        if len(b.codes) != n or np.asarray(b.Z).shape[0] != n:
            raise ModelError(f"The grouping factor {b.group} does not have one value per row.")
        if b.n_levels < 2:
            raise ModelError(
                f"The grouping factor {b.group} has only one level, so its variance cannot be estimated: "
                f"remove the random term for {b.group} or use a grouping with several levels.")
        if b.n_levels >= n:
            raise ModelError(
                f"Each row is its own group in {b.group} ({b.n_levels} levels for {n} rows), so the random "
                "effect and the residual cannot be told apart: remove the term or use a coarser grouping.")
        if b.n_levels * b.q >= n:
            raise ModelError(
                f"The term for {b.group} has {b.n_levels * b.q} random effects for only {n} rows, so the random "
                "effects and the residual cannot be told apart: remove a random slope or the term.")


def _fd_grad(fun, x, f0, lower):
    """Forward-difference gradient (steps stay inside the bounds)."""
    g = np.empty_like(x)
    for i in range(len(x)):
        h = 1e-7 * max(1.0, abs(x[i]))
        xi = x.copy()
        xi[i] += h
        g[i] = (fun(xi) - f0) / h
    return g


def _check(fun, x, lower, f0, hessian):
    """lme4-style convergence check: gradient (one-sided at a bound) scaled by the Hessian.

    Returns (ok, max scaled gradient). Parameters sitting on their bound with the gradient
    pointing outwards are dropped, as they are converged by definition.
    """
    k = len(x)
    h = 1e-4 * np.maximum(1.0, np.abs(x))
    at_lb = x - lower < h
    g = np.empty(k)
    for i in range(k):
        e = np.zeros(k)
        e[i] = h[i]
        if at_lb[i]:
            g[i] = (fun(x + e) - f0) / h[i]
        else:
            g[i] = (fun(x + e) - fun(x - e)) / (2 * h[i])
    free = ~(at_lb & (g >= 0))
    if not free.any():
        return True, 0.0
    gf = g[free]
    if hessian:
        idx = np.flatnonzero(free)
        m = len(idx)
        H = np.empty((m, m))
        for a in range(m):
            for b in range(a, m):
                ea = np.zeros(k)
                eb = np.zeros(k)
                ea[idx[a]] = h[idx[a]]
                eb[idx[b]] = h[idx[b]]
                if a == b:
                    # one-sided second difference keeps an interior-but-near-bound step feasible
                    H[a, a] = (fun(x + 2 * ea) - 2 * fun(x + ea) + f0) / h[idx[a]] ** 2 if at_lb[idx[a]] else \
                        (fun(x + ea) - 2 * f0 + fun(x - ea)) / h[idx[a]] ** 2
                else:
                    H[a, b] = H[b, a] = (fun(x + ea + eb) - fun(x + ea) - fun(x + eb) + f0) / (h[idx[a]] * h[idx[b]])
        try:
            R = np.linalg.cholesky(H).T
            sg = np.linalg.solve(R.T, gf)  # lme4: solve(chol(H), g)
            mx = float(np.max(np.abs(sg)))
            return mx < GRAD_TOL, mx
        except np.linalg.LinAlgError:
            pass
    mx = float(np.max(np.abs(gf)))
    return mx < 10 * GRAD_TOL, mx


def _optimise(problem: Problem, reml: bool, progress: Progress | None):
    """Minimise the profiled deviance over internal theta; returns (theta, dev, ok, maxgrad, name)."""
    lower = problem.lower
    count = [0]

    def fun(th):
        count[0] += 1
        if progress is not None and count[0] % PROGRESS_EVERY == 0:
            progress.step(None, "Fitting the mixed model")
        return problem.deviance(th, reml)

    def fun_grad(th):
        f0 = fun(th)
        if not np.isfinite(f0):
            return 1e300, np.zeros_like(th)
        return f0, _fd_grad(fun, th, f0, lower)

    x0 = np.where(np.isfinite(lower), 1.0, 0.0)
    bounds = [(lo if np.isfinite(lo) else None, None) for lo in lower]
    res = minimize(fun_grad, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"ftol": 1e-14, "gtol": 1e-7, "maxiter": 2000})
    x, fx, name = res.x, res.fun, "L-BFGS-B"
    # Hessian check where cheap: 2k^2 extra evaluations against what the fit already cost.
    k = len(x)
    cheap = 2 * k * k <= max(40, 0.5 * count[0])
    ok, mx = _check(fun, x, lower, fx, cheap)
    if not ok:
        # Second opinion from a derivative-free method started at the first answer.
        res2 = minimize(fun, x, method="Nelder-Mead", bounds=bounds,
                        options={"xatol": 1e-8, "fatol": 1e-10, "maxfev": 4000 * max(k, 1), "adaptive": k > 2})
        if res2.fun <= fx:
            x, fx, name = res2.x, res2.fun, "Nelder-Mead"
        res3 = minimize(fun_grad, x, jac=True, method="L-BFGS-B", bounds=bounds,
                        options={"ftol": 1e-15, "gtol": 1e-8, "maxiter": 2000})
        if res3.fun <= fx:
            x, fx = res3.x, res3.fun
        ok, mx = _check(fun, x, lower, fx, True)
    # lme4's boundary convention: tiny diagonal values are zero (a singular fit lands on 0).
    x = np.where(np.isfinite(lower) & (x < 1e-10), lower, x)
    return x, problem.deviance(x, reml), ok, mx, name


def fit_lmm(y, X, blocks, reml: bool = True, column_names=None, progress: Progress | None = None) -> LmmFit:
    """Fit a linear mixed model by lme4's profiled (RE)ML deviance.

    Parameters
    ----------
    y : array (n,)
        Outcome.
    X : array (n, p)
        Fixed-effects design of full column rank (aliased columns already dropped).
    blocks : list of RandomBlock
        Random-effects terms; each has its own unstructured covariance matrix.
    reml : bool
        REML (default, as lme4) or maximum likelihood.
    column_names : list of str, optional
        Names of the columns of X (used in messages and kept on the result).
    progress : Progress, optional
        ``step()`` is called every few deviance evaluations; it raises ``Cancelled`` to stop.

    Returns
    -------
    LmmFit

    Raises
    ------
    ModelError
        When the model cannot be fitted as specified (one-level grouping, a group per row,
        a constant outcome, ...).
    """
    y = np.asarray(y, dtype=float).ravel()
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    _validate(y, X, blocks)
    n, p = X.shape
    column_names = list(column_names) if column_names is not None else [f"x{j}" for j in range(p)]
    blocks = lme4_order(list(blocks))
    sizes = [b.q * (b.q + 1) // 2 for b in blocks]
    ends = np.cumsum(sizes)
    slices = [slice(int(e - s), int(e)) for s, e in zip(sizes, ends)]
    pb = Problem(y, X, blocks, slices)
    if pb.yr_zero:
        raise ModelError("The fixed effects reproduce the outcome exactly, so there is no variance left to model.")

    th_s, dev_s, ok, maxgrad, optname = _optimise(pb, reml, progress)
    f = pb.factor(th_s)
    ldz, ldx, r2 = pb.parts(f)
    sigma_s = np.sqrt(r2 / (n - p if reml else n))
    sigma = sigma_s * pb.sy
    deviance = float(dev_s + pb.offset(reml))
    us, beta_s = pb.solve(f)
    beta = pb.beta0 + pb.sy * beta_s / pb.xscale
    vcov = sigma ** 2 * _rx_inv(pb, f)
    theta = pb.to_original(th_s)

    # Random effects per computational block -> per input term, in data units.
    condc = pb.cond_cov(f)
    zb = np.zeros(n)
    b_comp, sd_comp = {}, {}
    for c, u, P in zip(pb.comp, us, condc):
        T = c.T(th_s)
        bt = u @ T.T  # b~ = T u per level
        zb += np.einsum("nq,nq->n", c.Z, bt[c.codes])
        var = sigma_s ** 2 * np.einsum("ab,lbc,dc->lad", T, P, T)
        sd = np.sqrt(np.maximum(np.diagonal(var, axis1=1, axis2=2), 0.0))
        b_comp[id(c)] = (pb.sy * bt / c.scale, pb.sy * sd / c.scale)
    zb *= pb.sy
    blups, blup_sd, varcorr, thetas = [], [], [], []
    for i, blk in enumerate(blocks):
        c = next(c for c in pb.comp if slices[i].start in set(c.t_idx))
        cols = sorted(set(c.t_col[np.isin(c.t_idx, np.arange(slices[i].start, slices[i].stop))]))
        bb, ss = b_comp[id(c)]
        blups.append(bb[:, cols])
        blup_sd.append(ss[:, cols])
        T = np.zeros((blk.q, blk.q))
        T[_tri_index(blk.q)] = theta[slices[i]]
        thetas.append(T)
        varcorr.append(sigma ** 2 * T @ T.T)

    fitted_m = X @ beta
    fitted_c = fitted_m + zb
    resid = y - fitted_c
    npar = p + len(theta) + 1
    loglik = -deviance / 2.0
    n_groups = {}
    for blk in blocks:
        n_groups.setdefault(blk.group, blk.n_levels)

    warnings = few_groups_warnings(blocks)
    singular = bool(np.any(theta[np.isfinite(pb.lower)] < 1e-4))
    if singular:
        warnings = singular_warnings(blocks, thetas) + warnings
    if not ok:
        predictor = None
        if p:
            spread = np.abs(X).max(axis=0) * (np.ptp(X, axis=0) > 0)
            if spread.max() > 0:
                predictor = column_names[int(np.argmax(spread))]
        warnings.append(convergence_warning(maxgrad, predictor))
    return LmmFit(
        beta=beta, vcov=vcov, sigma=float(sigma), theta=theta, reml=reml, loglik=loglik, deviance=deviance,
        aic=deviance + 2 * npar, bic=deviance + np.log(n) * npar, nobs=n, n_groups=n_groups,
        converged=bool(ok), singular=singular, warnings=warnings, varcorr=varcorr, blups=blups,
        blup_sd=blup_sd, fitted_marginal=fitted_m, fitted_conditional=fitted_c, residuals=resid,
        resid_pearson=resid / sigma, blocks=blocks, X=X, column_names=column_names,
        varpar=np.append(theta, sigma), nevals=pb.nevals, optimizer=optname, _problem=pb)
