"""Linear mixed models fitted as lme4 does: profiled deviance over theta, REML or ML.

Public entry: :func:`fit_lmm`. The deviance evaluation lives in :mod:`lmm_blocks`, the result
object and warnings in :mod:`lmm_result`.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from mixgui.engine.design import lme4_order
from mixgui.engine.lmm.blocks import Problem
from mixgui.engine.lmm.curvature import derivatives_at
from mixgui.engine.lmm.grad import deviance_and_gradient
from mixgui.engine.lmm.result import (
    LmmFit,
    _rx_inv,
    convergence_warning,
    few_groups_warnings,
    singular_warnings,
)
from mixgui.engine.modelfit import information_criteria
from mixgui.errors import ModelError, Progress

__all__ = ["fit_lmm", "LmmFit", "lme4_order"]

GRAD_TOL = 2e-3  # lme4's check.conv.grad tolerance on the Hessian-scaled gradient
PROGRESS_EVERY = 5


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
        codes = np.asarray(b.codes)
        if len(codes) != n or np.asarray(b.Z).shape[0] != n:
            raise ModelError(f"The grouping factor {b.group} does not have one value per row.")
        if codes.min() < 0 or codes.max() >= b.n_levels:
            raise ModelError(f"The grouping factor {b.group} has missing values; remove those rows first.")
        if not np.all(np.isfinite(b.Z)):
            raise ModelError(f"A random slope in the term for {b.group} has missing or infinite values; "
                             "remove those rows first.")
        if codes.min() == codes.max():  # one level used (no sort of millions of codes to count them)
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


class _Objective:
    """The profiled deviance with its gradient, counting evaluations and reporting progress."""

    def __init__(self, problem: Problem, reml: bool, progress: Progress | None):
        self.pb, self.reml, self.progress, self.count = problem, reml, progress, 0
        self.derivs = None  # curvature at the last checked point (see _profiled_hessian)

    def _tick(self):
        self.count += 1
        if self.progress is not None and self.count % PROGRESS_EVERY == 0:
            self.progress.step(None, "Fitting the mixed model")

    def value(self, th) -> float:
        self._tick()
        return self.pb.deviance(th, self.reml)

    def value_grad(self, th):
        """Deviance and gradient; entries without an analytic form by forward differences."""
        self._tick()
        f0, g = deviance_and_gradient(self.pb, th, self.reml)
        if not np.isfinite(f0):
            return 1e300, np.zeros_like(th)  # outside the valid region: the line search backs off
        if g is None:
            g = np.full(len(th), np.nan)
        for i in np.flatnonzero(np.isnan(g)):
            h = 1e-7 * max(1.0, abs(th[i]))  # forward step: stays inside the bound
            x = th.copy()
            x[i] += h
            g[i] = (self.value(x) - f0) / h
        return f0, g


def _varpar(pb: Problem, x, parts, reml: bool) -> np.ndarray:
    """lmerTest's varpar (theta in original units, then sigma) at internal theta x."""
    sigma_s = np.sqrt(parts[2] / (pb.n - pb.p if reml else pb.n))
    return np.append(pb.to_original(x), sigma_s * pb.sy)


def _profiled_hessian(obj: _Objective, x):
    """Hessian of the profiled deviance in internal theta, from the curvature in (theta, sigma).

    :func:`~mixgui.engine.lmm.curvature.derivatives_at` differences the analytic gradient with
    sigma held fixed (2k evaluations); profiling sigma out is a Schur complement,
    H_p = H_tt - H_ts H_st / H_ss. Those derivatives are what the Satterthwaite df and the
    variance-component intervals need at the optimum, so they are kept (``obj.derivs``).
    Returns None where the analytic gradient is not available (a singular factor).
    """
    pb = obj.pb
    parts = pb.parts(pb.factor(x))
    if parts is None or not parts[2] > 0:
        return None
    derivs = derivatives_at(pb, _varpar(pb, x, parts, obj.reml), obj.reml, _rx_inv, tick=obj._tick)
    if derivs is None:
        return None
    H, k = derivs["hessian"], len(x)
    Hp = H[:k, :k] - np.outer(H[:k, k], H[k, :k]) / H[k, k]
    obj.derivs = derivs
    return Hp / np.outer(pb.tscale, pb.tscale)  # d/dtheta_internal = (1 / tscale) d/dtheta


def _check(obj: _Objective, x, lower, g):
    """lme4-style convergence check at x: the gradient scaled by the Hessian.

    Parameters on their bound with the gradient pointing outwards are converged by definition
    and dropped. A gradient below 1e-4 (deviance units, internal scale) passes without the
    Hessian; otherwise the Hessian comes from the curvature at x (:func:`_profiled_hessian`,
    kept for the df and intervals) or, where that is not available, from forward differences
    of the gradient (k evaluations), and lme4's criterion max|solve(chol(H), g)| < 0.002 decides.
    Returns (ok, max scaled gradient).
    """
    obj.derivs = None
    free = ~((x - lower <= 0) & (g >= 0))
    if not free.any():
        return True, 0.0
    gf = g[free]
    if np.max(np.abs(gf)) < 1e-4:
        return True, float(np.max(np.abs(gf)))
    k = len(x)
    H = _profiled_hessian(obj, x)
    if H is None:
        H = np.empty((k, k))
        for i in range(k):
            h = 1e-5 * max(1.0, abs(x[i]))
            xi = x.copy()
            xi[i] += h
            H[:, i] = (obj.value_grad(xi)[1] - g) / h
    H = 0.5 * (H + H.T)[np.ix_(free, free)]
    try:
        R = np.linalg.cholesky(H).T
    except np.linalg.LinAlgError:
        mx = float(np.max(np.abs(gf)))
        return mx < GRAD_TOL, mx
    mx = float(np.max(np.abs(np.linalg.solve(R.T, gf))))
    return mx < GRAD_TOL, mx


def _optimise(problem: Problem, reml: bool, progress: Progress | None):
    """Minimise the profiled deviance over internal theta.

    L-BFGS-B with the analytic gradient, started from moment estimates (lme4 starts from
    diagonal 1, off-diagonal 0; the optimum is the same); bounds are honoured exactly, so a
    singular fit lands on 0. If the convergence check fails, a
    derivative-free Nelder-Mead restarts from the answer and L-BFGS-B polishes again.
    Returns (theta, deviance, ok, max scaled gradient, optimiser name, derivatives at theta or
    None): the derivatives are :func:`derivatives_at`'s when the convergence check formed them.
    """
    obj = _Objective(problem, reml, progress)
    lower = problem.lower
    bounds = [(lo if np.isfinite(lo) else None, None) for lo in lower]
    x0 = problem.start()
    # ftol 1e-13 although 1e-11 would save an iteration on large data (the deviance then moves by
    # < 1e-8): a variance printed to three decimals (sleepstudy's 612.090) sits on a rounding edge.
    lbfgs = {"ftol": 1e-13, "gtol": 1e-6, "maxiter": 1000}
    res = minimize(obj.value_grad, x0, jac=True, method="L-BFGS-B", bounds=bounds, options=lbfgs)
    x, fx, g, name = res.x, res.fun, res.jac, "L-BFGS-B"
    # A variance on its bound is a stationary point whatever the data (the deviance is even in a
    # last diagonal entry of T), so a zero gradient there does not prove a minimum: probe inside.
    for _ in range(3):
        probe = x.copy()
        for i in np.flatnonzero(np.isfinite(lower) & (x <= lower)):
            for step in (1e-2, 1e-3):
                xi = x.copy()
                xi[i] = lower[i] + step
                if obj.value(xi) < fx - 1e-10 * max(1.0, abs(fx)):
                    probe[i] = xi[i]
                    break
        if np.array_equal(probe, x):
            break
        res = minimize(obj.value_grad, probe, jac=True, method="L-BFGS-B", bounds=bounds, options=lbfgs)
        if res.fun >= fx:
            break
        x, fx, g = res.x, res.fun, res.jac
    ok, mx = _check(obj, x, lower, g)
    if not ok:
        k = len(x)
        res2 = minimize(obj.value, x, method="Nelder-Mead", bounds=bounds,
                        options={"xatol": 1e-8, "fatol": 1e-10, "maxfev": 2000 * max(k, 1), "adaptive": k > 2})
        res3 = minimize(obj.value_grad, res2.x if res2.fun <= fx else x, jac=True, method="L-BFGS-B",
                        bounds=bounds, options={**lbfgs, "ftol": 1e-15})
        if res3.fun <= fx:
            x, fx, g, name = res3.x, res3.fun, res3.jac, "Nelder-Mead + L-BFGS-B"
        ok, mx = _check(obj, x, lower, g)
    # lme4's convention: a diagonal parameter numerically at its bound is on it (singular fit).
    clipped = np.where(np.isfinite(lower) & (x < 1e-10), lower, x)
    derivs = obj.derivs if np.array_equal(clipped, x) else None
    x = clipped
    return x, problem.deviance(x, reml), ok, mx, name, derivs


def _random_effects(pb: Problem, f, us, th_s, sigma_s, nblocks):
    """Z b (data units) and, per input term, the conditional modes and conditional SDs (L, q).

    Computational blocks (terms sharing a grouping factor) are split back into the input terms;
    internal units are undone (b = sy * S^-1 T u, Var(b | y) = sy^2 sigma^2 S^-1 T P^-1 T' S^-1).
    """
    condc = pb.cond_cov(f)
    zb = np.zeros(pb.n)
    blups, sds = [None] * nblocks, [None] * nblocks
    for c, u, P in zip(pb.comp, us, condc):
        T = c.T(th_s)
        bt = u @ T.T  # b~ = T u, level by level
        zb += np.einsum("nq,nq->n", c.Z, bt[c.codes])
        var = sigma_s ** 2 * np.einsum("ab,lbc,dc->lad", T, P, T)
        sd = np.sqrt(np.maximum(np.diagonal(var, axis1=1, axis2=2), 0.0))
        b_orig, sd_orig = pb.sy * bt / c.scale, pb.sy * sd / c.scale
        for i, cols in zip(c.members, c.col_slices):
            blups[i], sds[i] = b_orig[:, cols], sd_orig[:, cols]
    return pb.sy * zb, blups, sds


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
    if progress is not None:  # checking and setting up take seconds on millions of rows
        progress.step(None, "Fitting the mixed model")
    pb = Problem(y, X, blocks, slices)
    if progress is not None:
        progress.step(None, "Fitting the mixed model")
    if pb.yr_zero:
        raise ModelError("The fixed effects reproduce the outcome exactly, so there is no variance left to model.")

    th_s, dev_s, ok, maxgrad, optname, derivs = _optimise(pb, reml, progress)
    f = pb.factor(th_s)
    parts = pb.parts(f)
    if parts is None or not np.isfinite(dev_s):
        # The factor fails at every theta tried when the fixed effects are (numerically) collinear:
        # X'X minus its random-effects part is then not positive definite.
        raise ModelError(
            "The model could not be fitted because some fixed-effect predictors are combinations of "
            "others (collinear) or differ hugely in scale: remove the redundant predictor or rescale it.")
    ldz, ldx, r2 = parts
    varpar = _varpar(pb, th_s, parts, reml)  # as the convergence check computed it, bit for bit
    sigma_s = np.sqrt(r2 / (n - p if reml else n))
    sigma = varpar[-1]
    deviance = float(dev_s + pb.offset(reml))
    us, beta_s = pb.solve(f)
    beta = pb.beta0 + pb.sy * beta_s / pb.xscale
    vcov = sigma ** 2 * _rx_inv(pb, f)
    theta = varpar[:-1]

    zb, blups, blup_sd = _random_effects(pb, f, us, th_s, sigma_s, len(blocks))
    thetas = []
    for blk, sl in zip(blocks, slices):
        T = np.zeros((blk.q, blk.q))
        T[_tri_index(blk.q)] = theta[sl]
        thetas.append(T)
    varcorr = [sigma ** 2 * T @ T.T for T in thetas]

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
    pb.forget()  # the fit keeps its problem; the last factor need not stay in memory with it
    return LmmFit(
        beta=beta, vcov=vcov, sigma=float(sigma), theta=theta, reml=reml, loglik=loglik, deviance=deviance,
        **information_criteria(deviance, npar, n), nobs=n, n_groups=n_groups,
        converged=bool(ok), singular=singular, warnings=warnings, varcorr=varcorr, blups=blups,
        blup_sd=blup_sd, fitted_marginal=fitted_m, fitted_conditional=fitted_c, residuals=resid,
        resid_pearson=resid / sigma, blocks=blocks, X=X, column_names=column_names,
        varpar=varpar, nevals=pb.nevals, optimizer=optname, _problem=pb, _derivs=derivs)
