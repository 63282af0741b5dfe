"""Confidence intervals for variance components: Wald intervals on a scale where they behave.

Standard deviations get intervals on the log scale and correlations on Fisher's z scale
(atanh), from the curvature of the deviance at the optimum (``2 H^-1``, the usual asymptotic
covariance), then mapped back; so an SD interval never goes below zero and a correlation
interval stays inside (-1, 1). R's ``confint(m, method = "profile")`` profiles the likelihood
instead; for well-estimated components the two agree closely, for components near zero the
profile interval is the better one. A component on the boundary (an SD of zero, a correlation
of ±1) has no Wald interval: it is reported as such rather than with a made-up one.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from mixgui.engine.numerics import richardson_hessian

BOUNDARY = 1e-6  # relative SD (to sigma) or distance of |corr| from 1 treated as on the boundary
CI_STEP = 1e-2  # absolute finite-difference step on the log-SD / atanh scale


def _phi_to_varpar(phi, blocks):
    """(log SDs, atanh correlations per block, log sigma) -> lme4's (theta..., sigma)."""
    sigma = np.exp(phi[-1])
    out, k = [], 0
    for b in blocks:
        q = b.q
        sd = np.exp(phi[k:k + q])
        k += q
        R = np.eye(q)
        for i in range(q):
            for j in range(i + 1, q):
                R[i, j] = R[j, i] = np.tanh(phi[k])
                k += 1
        G = (sd[:, None] * R * sd[None, :]) / sigma ** 2
        L = np.linalg.cholesky(G + 1e-300 * np.eye(q))
        out.extend(L[i, j] for j in range(q) for i in range(j, q))
    return np.array(out + [sigma])


def variance_component_cis(fit, level: float = 0.95) -> list:
    """Wald intervals for each SD and correlation of an lme4-style fit, in VarCorr row order.

    Parameters
    ----------
    fit : LmmFit
        Needs ``blocks``, ``varcorr``, ``sigma`` and ``deviance_at``.

    Returns
    -------
    list of dict
        One per row of ``as.data.frame(VarCorr(m))`` (variances, then correlations of each block,
        the residual last): ``sdcor_lower``, ``sdcor_upper`` (None on the boundary).
    """
    phi, kinds = [], []
    for b, G in zip(fit.blocks, fit.varcorr):
        G = np.atleast_2d(G)
        sd = np.sqrt(np.clip(np.diag(G), 0, None))
        phi.extend(np.log(np.maximum(sd, 1e-300)))
        kinds.extend(("sd", sd[i] / fit.sigma < BOUNDARY) for i in range(b.q))
        for i in range(b.q):
            for j in range(i + 1, b.q):
                r = G[i, j] / (sd[i] * sd[j]) if sd[i] > 0 and sd[j] > 0 else 0.0
                edge = 1 - abs(r) < BOUNDARY or sd[i] == 0 or sd[j] == 0
                phi.append(np.arctanh(np.clip(r, -1 + 1e-12, 1 - 1e-12)))
                kinds.append(("corr", edge))
    phi.append(np.log(fit.sigma))
    kinds.append(("sd", False))
    phi = np.array(phi)
    free = np.array([not edge for _, edge in kinds])
    rows = [{"sdcor_lower": None, "sdcor_upper": None} for _ in kinds]
    if not free.any():
        return rows

    def dev(sub):
        p = phi.copy()
        p[free] = sub
        return fit.deviance_at(_phi_to_varpar(p, fit.blocks))

    # Central differences with an absolute step of 0.01 on the log-SD / atanh scale (a 1 % change
    # of an SD): the error is ~1e-5 of the curvature, far below what an interval shows, in 31
    # deviance evaluations for five parameters instead of Richardson's 121 (each is a full
    # factorisation: this was most of the time of a fit with crossed random slopes). Steps are
    # taken around zero so that they are absolute: a relative step on log(sigma) would depend on
    # the units of y.
    start = phi[free].copy()
    derivs = fit.varpar_derivatives() if hasattr(fit, "varpar_derivatives") else None
    if derivs is not None:
        # The deviance's gradient and Hessian in (theta, sigma) are known: differentiate its
        # quadratic expansion through the map phi -> (theta, sigma) (no factorisation; the chain
        # rule's second-order term included), with small steps and Richardson's extrapolation.
        v0, g, Hv = np.asarray(fit.varpar, float), derivs["gradient"], derivs["hessian"]

        def quad(z):
            p = phi.copy()
            p[free] = start + z
            dv = _phi_to_varpar(p, fit.blocks) - v0
            return float(g @ dv + 0.5 * dv @ Hv @ dv)

        H = richardson_hessian(quad, np.zeros_like(start), d=0.1, eps=1e-3, r=4)
    else:
        H = richardson_hessian(lambda z: dev(start + z), np.zeros_like(start), d=0.1, eps=CI_STEP, r=1)
    try:
        cov = 2 * np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return rows
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    z = stats.norm.ppf(0.5 + level / 2)
    for k, idx in enumerate(np.flatnonzero(free)):
        lo, hi = phi[idx] - z * se[k], phi[idx] + z * se[k]
        back = np.exp if kinds[idx][0] == "sd" else np.tanh
        if np.isfinite(se[k]) and se[k] > 0:
            rows[idx] = {"sdcor_lower": float(back(lo)), "sdcor_upper": float(back(hi))}
    return rows
