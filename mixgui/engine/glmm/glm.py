"""Generalized linear models without random effects (R's ``glm``; ``MASS::glm.nb`` for NB2).

Used for starting values of the mixed model and as the null model of the likelihood-ratio test
of the only random term.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from mixgui.errors import ModelError


@dataclass
class GlmFit:
    """A fitted GLM: coefficients, their covariance, the log-likelihood (with constants)."""

    beta: np.ndarray
    vcov: np.ndarray
    loglik: float
    mu: np.ndarray
    nb_theta: float | None = None
    converged: bool = True


def irls(y, X, fam, n_trials, offset, nb_theta=None, beta0=None, maxit: int = 100):
    """Maximum likelihood by Fisher scoring with step halving; returns (beta, vcov, loglik, mu, ok)."""
    n, p = X.shape
    if beta0 is None:
        # R's start: mustart from the data, eta = link(mustart)
        if fam.name == "binomial":
            mu0 = (n_trials * y + 0.5) / (n_trials + 1.0)
        else:
            mu0 = y + 0.1
        z = fam.linkfun(mu0) - offset
        beta = np.linalg.lstsq(X, z, rcond=None)[0] if p else np.zeros(0)
    else:
        beta = beta0.copy()

    def dev(b):
        eta = offset + X @ b
        mu = fam.linkinv(eta)
        return -2.0 * float(np.sum(fam.loglik(y, mu, n_trials, eta, nb_theta))), eta, mu

    d, eta, mu = dev(beta)
    ok = False
    for _ in range(maxit):
        w, de = fam.weights(eta, mu, n_trials, nb_theta)
        z = (eta - offset) + (y - mu) / de
        XtW = X.T * w
        bnew = np.linalg.solve(XtW @ X, XtW @ z) if p else beta
        step = bnew - beta
        for _h in range(30):
            dn, en, mn = dev(beta + step)
            if dn <= d + 1e-10 * (1 + abs(d)):
                break
            step = step / 2
        beta = beta + step
        conv = abs(d - dn) < 1e-10 * (abs(dn) + 0.1)
        d, eta, mu = dn, en, mn
        if conv:
            ok = True
            break
    w, _ = fam.weights(eta, mu, n_trials, nb_theta)
    try:
        vcov = np.linalg.inv((X.T * w) @ X) if p else np.zeros((0, 0))
    except np.linalg.LinAlgError as e:
        raise ModelError("the fixed effects cannot be estimated (a singular information matrix); "
                         "remove a predictor that separates the outcome or repeats another") from e
    return beta, vcov, -d / 2.0, mu, ok


def fit_glm(y, X, fam, n_trials, offset) -> GlmFit:
    """A GLM; for the negative binomial theta is estimated by maximum likelihood as ``glm.nb``."""
    if not fam.has_theta:
        b, v, ll, mu, ok = irls(y, X, fam, n_trials, offset)
        return GlmFit(b, v, ll, mu, None, ok)
    from mixgui.engine.glmm.families import Family
    b, _, _, mu, _ = irls(y, X, Family("poisson", "log"), n_trials, offset)
    state = {"beta": b}

    def negll(lt):
        bb, _, ll, _, _ = irls(y, X, fam, n_trials, offset, np.exp(lt), state["beta"])
        state["beta"] = bb
        return -ll

    res = minimize_scalar(negll, bounds=(-8.0, 12.0), method="bounded", options={"xatol": 1e-8})
    t = float(np.exp(res.x))
    b, v, ll, mu, ok = irls(y, X, fam, n_trials, offset, t, state["beta"])
    return GlmFit(b, v, ll, mu, t, ok)
