"""What is computed from a fitted GLMM: R2 and ICC (Nakagawa), overdispersion, residuals, response scale.

- :func:`r2_icc` follows ``performance::r2_nakagawa`` / ``performance::icc`` 0.10.2 (Nakagawa, Johnson &
  Schielzeth 2017), whose variances come from ``insight::get_variance`` 0.19.0: the distribution-specific
  variance on the latent scale is pi^2/3 (logit), 1 (probit), pi^2/6 (cloglog); for counts with a log
  link the lognormal approximation log(1 + V(mu) / mu^2), i.e. log(1 + 1/mu) (Poisson) and
  log(1 + 1/mu + 1/theta) (NB2, theta of the full model), with mu = exp(b0), b0 the intercept of the
  null model ``y ~ 1`` with all the model's random terms, family and offset (:func:`null_model`).
  insight takes exp(b0) alone: neither the offset nor sigma^2 / 2 enters mu.
- :func:`overdispersion` is ``performance::check_overdispersion``: the Pearson chi-square over the
  residual df (n minus the number of parameters).
- :func:`quantile_residuals` are randomised quantile residuals (Dunn & Smyth 1996): standard normal
  under the model, so the usual residual plots read as for a linear model.

Marginal means on the response scale are :mod:`mixgui.engine.glmm.response`'s.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

DIST_VAR = {"logit": math.pi ** 2 / 3, "probit": 1.0, "cloglog": math.pi ** 2 / 6}


def random_variance(fit, observation_level: bool = False) -> float:
    """Mean over rows of z_i' Sigma z_i, summed over the random terms (insight's ``var.random``).

    insight counts a term whose grouping factor has one level per row (an observation-level random
    effect, the usual remedy for overdispersion) as residual variance (``var.dispersion``), not as
    random-effect variance: ``observation_level=True`` sums those terms only, False all others.
    """
    total = 0.0
    for b, G in zip(fit.blocks, fit.varcorr):
        if (b.n_levels == len(fit.y)) != observation_level:
            continue
        Z = np.asarray(b.Z, float).reshape(len(fit.y), -1)
        total += float(np.mean(np.einsum("na,ab,nb->n", Z, np.atleast_2d(G), Z)))
    return total


def null_model(fit, progress=None):
    """The fit of ``y ~ 1`` with all of ``fit``'s random terms, family, link, trials and offset
    (insight's ``null_model``: ``update(m, y ~ (re terms))``), or None when it cannot be fitted."""
    from mixgui.engine.glmm.fit import fit_glmm
    from mixgui.errors import ModelError
    try:
        return fit_glmm(fit.y, np.ones((len(fit.y), 1)), fit.blocks, fit.family, fit.link, fit.n_trials, fit.offset,
                        fit.nagq, ["(Intercept)"], progress)
    except (ModelError, np.linalg.LinAlgError):
        return None


def r2_icc(fit, null_fit=None, progress=None) -> dict:
    """Nakagawa's marginal / conditional R2 and the adjusted / unadjusted ICC on the latent scale.

    Parameters
    ----------
    fit : GlmmFit
    null_fit : GlmmFit, optional
        Counts only: :func:`null_model` of ``fit`` (fitted here when not given).
    progress : Progress, optional
        For the null model's fit.

    Returns
    -------
    dict
        ``r2_marginal``, ``r2_conditional``, ``icc_adjusted``, ``icc_unadjusted`` and
        ``variance_fixed``, ``variance_random``, ``variance_distribution``, ``variance_dispersion``
        (insight's ``var.fixed``, ``var.random``, ``var.distribution``, ``var.dispersion``: the
        observation-level random effects); empty when the null model of a count model fails.
    """
    Xb = fit.X @ fit.beta
    vf = float(np.var(Xb, ddof=1)) if len(Xb) > 1 else 0.0
    vr = random_variance(fit)
    vo = random_variance(fit, observation_level=True)
    if fit.family == "binomial":
        vd = DIST_VAR[fit.link]
    else:
        if null_fit is None:
            null_fit = null_model(fit, progress)
        if null_fit is None:
            return {}
        mu = math.exp(float(null_fit.beta[0]))
        extra = 1.0 / fit.nb_theta if fit.family == "negative_binomial" else 0.0
        vd = math.log1p(1.0 / mu + extra)
    vres = vd + vo  # insight's var.residual
    tot = vf + vr + vres
    return {"r2_marginal": vf / tot, "r2_conditional": (vf + vr) / tot, "icc_adjusted": vr / (vr + vres),
            "icc_unadjusted": vr / tot, "variance_fixed": vf, "variance_random": vr, "variance_distribution": vd,
            "variance_dispersion": vo}


def pearson_residuals(fit) -> np.ndarray:
    from mixgui.engine.glmm.families import Family
    fam = Family(fit.family, fit.link)
    v = fam.variance(fit.mu, fit.nb_theta) / fit.n_trials
    return (fit.y - fit.mu) / np.sqrt(v)


def overdispersion(fit) -> dict:
    """Pearson chi-square, dispersion ratio, residual df and p-value (``check_overdispersion``)."""
    chisq = float(np.sum(pearson_residuals(fit) ** 2))
    npar = len(fit.beta) + len(fit.theta) + (1 if fit.nb_theta is not None else 0)
    rdf = fit.nobs - npar
    return {"chisq": chisq, "ratio": chisq / rdf, "residual_df": rdf, "p_value": float(stats.chi2.sf(chisq, rdf))}


def quantile_residuals(fit, seed: int = 1) -> np.ndarray:
    """Randomised quantile residuals from the conditional distribution of each row."""
    rng = np.random.default_rng(seed)
    y, mu = fit.y, fit.mu
    if fit.family == "binomial":
        n = fit.n_trials
        k = np.round(y * n)
        lo, hi = stats.binom.cdf(k - 1, n, mu), stats.binom.cdf(k, n, mu)
    elif fit.family == "poisson":
        lo, hi = stats.poisson.cdf(y - 1, mu), stats.poisson.cdf(y, mu)
    else:
        t = fit.nb_theta
        p = t / (t + mu)
        lo, hi = stats.nbinom.cdf(y - 1, t, p), stats.nbinom.cdf(y, t, p)
    u = lo + rng.uniform(size=len(y)) * (hi - lo)
    return stats.norm.ppf(np.clip(u, 1e-12, 1 - 1e-12))
