"""Fit a generalized linear mixed model as lme4's ``glmer`` does (glmmTMB's NB2 for counts).

Two stages, as ``glmer``: first theta alone is optimised with the fixed effects inside PIRLS
(lme4's ``nAGQ = 0``); then (theta, beta) together on the Laplace (or adaptive Gauss-Hermite)
deviance with PIRLS over u only. Stage two works in whitened fixed effects
gamma = R (beta - beta_1) (R'R the stage-one information), so every direction has unit curvature
and a quasi-Newton optimiser with central-difference gradients converges in a few steps.
Standard errors come from the Hessian of the deviance in (theta, beta), as glmer's default
``use.hessian = TRUE`` (and glmmTMB's ``sdreport``, which also includes log theta of the NB).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from mixgui.engine.design import lme4_order
from mixgui.engine.glmm.families import Family
from mixgui.engine.glmm.glm import fit_glm
from mixgui.engine.glmm.laplace import Model
from mixgui.engine.glmm.result import GlmmFit, fit_warnings
from mixgui.engine.glmm.system import block_factors, make_system
from mixgui.engine.modelfit import information_criteria
from mixgui.errors import ModelError, Progress

GRAD_H = 1e-5     # central-difference step of the optimiser's gradient (whitened units)
HESS_H = 1e-3     # step of the Hessian for standard errors (lme4's deriv12 uses 1e-4 on raw units)
GRAD_TOL = 2e-3   # lme4's tolerance on the scaled gradient


def _central_grad(f, x, h, f0=None):
    g = np.empty(len(x))
    for i in range(len(x)):
        e = np.zeros(len(x))
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def central_hessian(f, x, h):
    """Hessian by central differences (lme4's ``deriv12`` rule)."""
    k = len(x)
    f0 = f(x)
    H = np.empty((k, k))
    fp, fm = np.empty(k), np.empty(k)
    for i in range(k):
        e = np.zeros(k)
        e[i] = h
        fp[i], fm[i] = f(x + e), f(x - e)
        H[i, i] = (fp[i] - 2 * f0 + fm[i]) / h ** 2
    for i in range(k):
        for j in range(i):
            ei, ej = np.zeros(k), np.zeros(k)
            ei[i], ej[j] = h, h
            H[i, j] = H[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h * h)
    return H


def fit_glmm(y, X, blocks, family: str = "binomial", link: str | None = None, n_trials=None, offset=None,
             nagq: int = 1, column_names=None, progress: Progress | None = None) -> GlmmFit:
    """Fit a GLMM by the Laplace approximation (or adaptive Gauss-Hermite quadrature).

    Parameters
    ----------
    y : array (n,)
        Outcome: 0/1, a proportion of ``n_trials`` (binomial), or counts.
    X : array (n, p)
        Fixed-effects design of full column rank.
    blocks : list of RandomBlock
    family : {"binomial", "poisson", "negative_binomial"}
    link : str, optional
        Defaults to the canonical link (logit, log).
    n_trials : array (n,), optional
        Binomial trials (prior weights); ones otherwise.
    offset : array (n,), optional
    nagq : int
        1 = Laplace; up to 25 quadrature points for a single scalar random-effect term.
    column_names : list of str, optional
    progress : Progress, optional

    Returns
    -------
    GlmmFit

    Raises
    ------
    ModelError
    """
    fam = Family(family, link or ("logit" if family == "binomial" else "log"))
    y = np.asarray(y, float).ravel()
    X = np.asarray(X, float)
    n, p = X.shape
    nt = np.ones(n) if n_trials is None else np.asarray(n_trials, float)
    off = np.zeros(n) if offset is None else np.asarray(offset, float)
    if not blocks:
        raise ModelError("the model has no random effects; add a random term such as (1 | patient)")
    blocks = lme4_order(list(blocks))
    nagq = int(nagq)
    if nagq > 1 and not (len(blocks) == 1 and blocks[0].q == 1):
        raise ModelError("adaptive quadrature (nagq above 1) needs a single random intercept term, as in lme4; "
                         "set nagq to 1 (the Laplace approximation) for this model")
    if not 1 <= nagq <= 25:
        raise ModelError("nagq must be between 1 and 25")
    column_names = list(column_names) if column_names is not None else [f"x{j}" for j in range(p)]
    progress = progress or Progress()
    sysm = make_system(blocks, n)
    model = Model(y, X, sysm, fam, nt, off)
    nth = sysm.ntheta
    lower = np.full(nth, -np.inf)
    for sl, r, c in sysm.layout:
        lower[sl.start + np.flatnonzero(r == c)] = 0.0
    glm0 = fit_glm(y, X, fam, nt, off)
    nb = fam.has_theta
    ticks = {"k": 0}

    def tick():
        ticks["k"] += 1
        if ticks["k"] % 3 == 0:  # often enough that a cancel stops a large fit within a second or two
            progress.step(None, "Fitting the generalized mixed model")

    # ---- stage 1: theta (and log NB theta) with beta inside PIRLS -----------------------------
    th0 = np.where(np.isfinite(lower), 1.0, 0.0)
    x0 = np.append(th0, np.log(glm0.nb_theta)) if nb else th0
    state = {"beta": glm0.beta.copy(), "S": None}

    def f1(x):
        tick()
        th = x[:nth]
        nbt = float(np.exp(x[nth])) if nb else None
        b, S, dev = model.pirls_joint(th, state["beta"], nbt)
        if np.isfinite(dev):
            state["beta"], state["S"] = b, S
        return dev if np.isfinite(dev) else 1e300

    b1 = [(lo if np.isfinite(lo) else None, None) for lo in lower] + ([(-10.0, 15.0)] if nb else [])
    # Derivative-free, loose (only a start: stage two refines everything; lme4 uses bobyqa here): the deviance is even in a diagonal entry of T, so
    # its gradient vanishes on the bound and a gradient method that steps onto it stays there.
    k1 = len(x0)
    simplex = np.vstack([x0] + [x0 + np.eye(k1)[i] * (0.5 if i < nth else 1.0) for i in range(k1)])
    r1 = minimize(f1, x0, method="Nelder-Mead", bounds=b1,
                  options={"xatol": 1e-3, "fatol": 1e-4, "maxfev": 400 * k1, "initial_simplex": simplex,
                           "adaptive": k1 > 2})
    f1(r1.x)
    beta1, S1 = state["beta"].copy(), state["S"]
    try:
        R = np.linalg.cholesky(0.5 * (S1 + S1.T)).T
    except np.linalg.LinAlgError:
        R = np.diag(np.sqrt(np.maximum(np.diag(S1), 1e-8)))
    Rinv = np.linalg.inv(R)

    # ---- stage 2: theta, beta (whitened) and log NB theta on the full deviance ---------------
    def unpack(x):
        th = x[:nth]
        beta = beta1 + Rinv @ x[nth:nth + p]
        nbt = float(np.exp(x[nth + p])) if nb else None
        return th, beta, nbt

    def f2(x):
        tick()
        th, beta, nbt = unpack(x)
        d = model.agq(th, beta, nagq, nbt) if nagq > 1 else model.laplace(th, beta, nbt)
        return d if np.isfinite(d) else 1e300

    exact = model.has_gradient and nagq == 1

    def fg(x):
        """Deviance and gradient in the optimiser's coordinates (exact where available)."""
        if not exact:
            return f2(x), _central_grad(f2, x, GRAD_H)
        tick()
        th, beta, _ = unpack(x)
        F, gt, gb = model.laplace_grad(th, beta)
        if not np.isfinite(F):
            return 1e300, np.zeros_like(x)
        return F, np.concatenate([gt, Rinv.T @ gb])

    def grad(x):
        return fg(x)[1]

    x2 = np.concatenate([r1.x[:nth], np.zeros(p)] + ([r1.x[nth:]] if nb else []))
    b2 = b1[:nth] + [(None, None)] * p + ([b1[nth]] if nb else [])
    r2 = minimize(fg, x2, method="L-BFGS-B", bounds=b2, jac=True,
                  options={"maxiter": 500, "ftol": 1e-13, "gtol": 1e-7})
    x = r2.x.copy()
    # a variance on its bound is a stationary point whatever the data: probe inside before accepting it
    fx = r2.fun
    for _ in range(2):
        probe = x.copy()
        for i in np.flatnonzero(np.isfinite(lower) & (x[:nth] <= lower + 1e-8)):
            for step in (0.1, 1e-2):
                xi = x.copy()
                xi[i] = step
                if f2(xi) < fx - 1e-8:
                    probe[i] = step
                    break
        if np.array_equal(probe, x):
            break
        r3 = minimize(fg, probe, method="L-BFGS-B", bounds=b2, jac=True,
                      options={"maxiter": 500, "ftol": 1e-13, "gtol": 1e-7})
        if r3.fun >= fx:
            break
        x, fx = r3.x.copy(), r3.fun
    # lme4's convention: a diagonal parameter numerically at its bound is on it (singular fit)
    dev, g = fg(x)
    free = np.ones(len(x), bool)
    free[:nth] = ~((x[:nth] <= lower) & (g[:nth] >= 0))
    progress.step(None, "Standard errors from the Hessian")

    # ---- standard errors: Hessian of the deviance in (theta, beta[, log theta_NB]) -----------
    if exact:  # central differences of the exact gradient: 2k evaluations instead of ~2k^2
        H = np.column_stack([(grad(x + e) - grad(x - e)) / (2 * HESS_H) for e in np.eye(len(x)) * HESS_H])
        H = 0.5 * (H + H.T)
    else:
        H = central_hessian(f2, x, HESS_H)
    J = np.eye(len(x))
    J[nth:nth + p, nth:nth + p] = R  # d gamma / d beta
    Hb = J.T @ H @ J
    scaled_ok, maxgrad = _converged(H, g, free)
    try:
        V = 2.0 * np.linalg.inv(Hb)
        vcov = V[nth:nth + p, nth:nth + p]
        hess_ok = bool(np.all(np.linalg.eigvalsh(0.5 * (Hb + Hb.T)) > 0))
    except np.linalg.LinAlgError:
        vcov, hess_ok = np.full((p, p), np.nan), False
    if not np.all(np.isfinite(np.diag(vcov))) or np.any(np.diag(vcov) <= 0):
        vcov, hess_ok = _fallback_vcov(model, unpack(x)), False

    th, beta, nbt = unpack(x)
    fixed = off + X @ beta
    u, eta, mu, _ = model.pirls(th, fixed, nbt)
    wh = fam.hessian_weights(y, eta, mu, nt, nbt)
    fac = sysm.factor(wh)
    Ts = block_factors(th, sysm.layout, blocks)
    blups, blup_sd = _split_modes(sysm, blocks, Ts, u, fac)
    npar = p + nth + (1 if nb else 0)
    loglik = -dev / 2.0
    theta_hessian_var = None
    if nb:
        theta_hessian_var = V[-1, -1] if hess_ok else np.nan
    fit = GlmmFit(
        family=fam.name, link=fam.link, nagq=nagq, beta=beta, vcov=vcov, theta=th, varcorr=[T @ T.T for T in Ts],
        loglik=loglik, deviance=dev, **information_criteria(dev, npar, n), nobs=n,
        n_groups={b.group: b.n_levels for b in blocks}, converged=bool(scaled_ok and hess_ok),
        singular=bool(np.any(th[np.isfinite(lower)] < 1e-4)), warnings=[], blups=blups, blup_sd=blup_sd,
        eta=eta, mu=mu, eta_marginal=fixed, y=y, X=X, n_trials=nt, offset=off, blocks=blocks,
        column_names=column_names, nb_theta=nbt, nb_log_theta_var=theta_hessian_var, nevals=model.nevals,
        max_grad=maxgrad, hessian_ok=hess_ok, glm_loglik=glm0.loglik)
    fit.warnings = fit_warnings(fit, model)
    return fit


def _converged(H, g, free):
    """lme4's check: max |solve(chol(H), g)| over the free parameters below 0.002."""
    gf = g[free]
    if gf.size == 0 or np.max(np.abs(gf)) < 1e-4:
        return True, float(np.max(np.abs(gf), initial=0.0))
    Hf = 0.5 * (H + H.T)[np.ix_(free, free)]
    try:
        R = np.linalg.cholesky(Hf)
        mx = float(np.max(np.abs(np.linalg.solve(R, gf))))
    except np.linalg.LinAlgError:
        mx = float(np.max(np.abs(gf)))
    return mx < GRAD_TOL, mx


def _fallback_vcov(model, params):
    """Covariance of beta from the joint PIRLS information (lme4's ``use.hessian = FALSE``)."""
    th, beta, nbt = params
    _, S, _ = model.pirls_joint(th, beta, nbt)
    try:
        return np.linalg.inv(S)
    except np.linalg.LinAlgError:
        return np.full_like(S, np.nan)


def _split_modes(sysm, blocks, Ts, u, fac):
    """b = Lambda u per term (L, q) and the conditional standard deviations (lme4's condVar)."""
    cv = sysm.cond_var(fac)
    blups, sds = [], []
    for k, (uk, T) in enumerate(zip(sysm.split(u), Ts)):
        blups.append(uk @ T.T)
        sds.append(np.sqrt(np.maximum(np.diagonal(cv[k], axis1=1, axis2=2), 0.0)))
    return blups, sds
