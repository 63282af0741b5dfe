"""What SAS PROC MIXED reports besides the fixed effects, computed from a repeated-measures fit:
covariance-parameter estimates with standard errors, Wald Z and limits (COVTEST, CL), AICc, the
null-model likelihood-ratio test, the empirical (sandwich) covariance of beta, and per-row
predictions with limits.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from scipy import stats

from mixgui.engine.repeated.likelihood import evaluate


def _is_variance(name: str) -> bool:
    """A variance among the natural parameters (sigma2, residual, var_*, cov_lag0, UN's cov_a_a),
    also a group level's (``"<level>:sigma2"``, SAS GROUP=)."""
    name = name.rsplit(":", 1)[-1]
    if name in ("sigma2", "residual", "cov_lag0") or name.startswith("var_"):
        return True
    parts = name.split("_")
    return parts[0] == "cov" and len(parts) == 3 and parts[1] == parts[2]


def covariance_parameters(fit, hessian, level: float = 0.95) -> list:
    """SAS's Covariance Parameter Estimates with COVTEST and CL.

    Standard errors from the inverse observed information, 2 H^-1, H the Hessian of -2 l (REML
    criterion under REML) in the natural parameters.  Variances get SAS's one-sided Wald p-value
    (Pr > Z) and Satterthwaite limits (nu = 2 Z^2, nu est / chi2); other parameters (covariances,
    correlations, ranges) a two-sided p-value and Wald limits.

    Returns
    -------
    list of dict
        ``parameter, estimate, std_error, z_value, p_value, lower, upper, kind`` (variance / other).
    """
    est = np.asarray(fit.kr_par, float)
    try:
        cov = _boundary_cov(fit, len(est))
        cov = 2 * np.linalg.inv(hessian) if cov is None else cov
        se = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
    except np.linalg.LinAlgError:
        se = np.full(len(est), np.nan)
    a = 1 - level
    rows = []
    for name, e, s in zip(fit.kr_names, est, se):
        z = e / s if s > 0 else np.nan
        variance = _is_variance(name) or _g_variance(name, fit)
        if variance:
            p = float(stats.norm.sf(z)) if np.isfinite(z) else np.nan
            nu = 2 * z * z
            lo = nu * e / stats.chi2.ppf(1 - a / 2, nu) if np.isfinite(nu) and nu > 0 else np.nan
            hi = nu * e / stats.chi2.ppf(a / 2, nu) if np.isfinite(nu) and nu > 0 else np.nan
        else:
            p = float(2 * stats.norm.sf(abs(z))) if np.isfinite(z) else np.nan
            q = stats.norm.ppf(1 - a / 2)
            lo, hi = e - q * s, e + q * s
        rows.append({"parameter": name, "estimate": float(e), "std_error": float(s), "z_value": float(z),
                     "p_value": p, "lower": float(lo), "upper": float(hi),
                     "kind": "variance" if variance else "other"})
    return rows


def _boundary_cov(fit, m: int):
    """At a random-effects G with a perfect correlation (REML), the covariance of the natural
    parameters from SAS's FA0 one (its ASYCOV, the boundary direction left out) by the delta
    method, J W J'; None elsewhere. The natural parameters' own Hessian counts the direction off
    the semi-definite boundary and inflates every standard error (see
    :mod:`mixgui.engine.inference.kr_boundary`)."""
    from mixgui.engine.inference.kr_boundary import fa_map

    if not fit.reml or not getattr(fit, "blocks", None) or fa_map(fit, m) is None:
        return None
    from mixgui.engine.inference.kenward_roger import KenwardRoger

    eng = KenwardRoger(fit, information="observed")
    J = eng.boundary[0]
    return J @ eng.W @ J.T


def _g_variance(name: str, fit) -> bool:
    for b in getattr(fit, "blocks", []) or []:
        for n in b.names:
            if name == f"G_{b.group}_{n}":
                return True
    return False


def fit_statistics(fit) -> dict:
    """AICc (SAS: n* = N - p under REML, N under ML) and the null-model likelihood-ratio test.

    The null model has the same fixed effects and independent errors with one variance (SAS's
    "Null Model Likelihood Ratio Test"); df = covariance parameters - 1.
    """
    grid = fit._model.grid
    N, p, k = fit.nobs, grid.p, fit.n_parameters
    n_star = N - p if fit.reml else N
    kk = k + (0 if fit.reml else p)  # SAS counts covariance parameters only under REML
    aicc = fit.deviance + 2 * kk * n_star / (n_star - kk - 1) if n_star - kk - 1 > 0 else np.nan
    g0 = dataclasses.replace(grid, blocks=[])
    null = evaluate(g0, np.eye(grid.T), [], fit.reml, profile=True)
    df = max(k - 1, 0)
    chi = float(null.f - getattr(fit, "log_weights", 0.0) - fit.deviance)  # same likelihood constant
    return {"aicc": float(aicc),
            "null_model_lrt": {"df": df, "chi_square": chi,
                               "p_value": float(stats.chi2.sf(chi, df)) if df > 0 else np.nan}}


def empirical_vcov(fit) -> np.ndarray:
    """The sandwich covariance of beta (SAS EMPIRICAL, CR0): Phi [sum X_i'V_i^-1 r_i r_i'V_i^-1 X_i] Phi."""
    meat = np.zeros((len(fit.beta), len(fit.beta)))
    bread = np.zeros_like(meat)
    for c in fit.kr_clusters():
        X, V, y = np.asarray(c.X, float), np.asarray(c.V, float), np.asarray(c.y, float)
        if X.ndim == 2:
            X, y = X[None], y[None]
        Vi = np.linalg.inv(V)
        T = (Vi @ X) if Vi.ndim == 3 else np.einsum("ij,gjp->gip", Vi, X)
        r = y - X @ fit.beta
        s = np.einsum("gip,gi->gp", T, r)
        meat += s.T @ s
        bread += np.einsum("gip,giq->pq", X, T)
    phi = np.linalg.inv(bread)
    return phi @ meat @ phi


def predictions(fit, vcov, df_fn, level: float = 0.95) -> dict:
    """Per-row fitted values with standard errors and limits, and residuals (SAS OUTP= / OUTPM=).

    Marginal: x'beta with SE sqrt(x' C x), C the covariance of beta used for the fixed effects.
    Conditional: for models without random effects it equals the marginal one; with random effects
    x'beta + z'b, its SE from the joint covariance of (beta, b - b_hat) is not computed here (None).
    Limits use the t quantile with the row's df (``df_fn`` of the row's x).
    """
    X = np.asarray(fit.X, float)
    C = np.asarray(vcov, float)
    se_m = np.sqrt(np.einsum("np,pq,nq->n", X, C, X))
    crit = np.array([_crit(df_fn(x), level) for x in _unique_rows(X)[0]])[_unique_rows(X)[1]]
    fm = np.asarray(fit.fitted_marginal)
    out = {"fitted_marginal": fm, "std_error_marginal": se_m, "lower_marginal": fm - crit * se_m,
           "upper_marginal": fm + crit * se_m, "fitted": np.asarray(fit.fitted_conditional),
           "residual": np.asarray(fit.residuals), "pearson_residual": np.asarray(fit.resid_pearson)}
    if not fit.blocks:
        out.update(std_error=se_m, lower=out["lower_marginal"], upper=out["upper_marginal"])
    else:
        none = np.full(len(fm), np.nan)
        out.update(std_error=none, lower=none, upper=none)
    return out


def _unique_rows(X):
    u, inv = np.unique(X, axis=0, return_inverse=True)
    return u, np.asarray(inv).ravel()


def _crit(df, level):
    return stats.norm.ppf(0.5 + level / 2) if not np.isfinite(df) else stats.t.ppf(0.5 + level / 2, df)
