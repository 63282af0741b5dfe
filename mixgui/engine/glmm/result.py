"""The fitted GLMM and its warnings in words."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mixgui.engine.modelfit import ModelFit
from mixgui.errors import FitWarning


@dataclass(eq=False)
class GlmmFit(ModelFit):
    """A fitted generalized linear mixed model.

    Attributes
    ----------
    family, link : str
    nagq : int                  1 = Laplace
    beta, vcov : ndarray        fixed effects (link scale) and their Hessian-based covariance
    theta : ndarray             relative factors' entries in lme4's order
    varcorr : list of ndarray   covariance matrix of each random-effects term
    loglik, deviance, aic, bic : float   deviance = -2 loglik, as glmer's summary
    blups, blup_sd : list of ndarray (L, q)   conditional modes (link scale) and conditional SDs
    eta, mu : ndarray           conditional linear predictor and mean
    eta_marginal : ndarray      offset + X beta
    nb_theta : float or None    NB2 dispersion theta (glmmTMB's ``sigma()``)
    """

    # the fields every fit has come from ModelFit; these are the generalized model's own
    family: str
    link: str
    nagq: int
    eta: np.ndarray
    mu: np.ndarray
    eta_marginal: np.ndarray
    y: np.ndarray
    n_trials: np.ndarray
    offset: np.ndarray
    nb_theta: float | None = None
    nb_log_theta_var: float | None = None
    nevals: int = 0
    max_grad: float = 0.0
    hessian_ok: bool = True
    glm_loglik: float = float("nan")
    extra: dict = field(default_factory=dict)

    @property
    def std_errors(self) -> np.ndarray:
        return np.sqrt(np.maximum(np.diag(self.vcov), 0.0))

    # What the diagnostic plots read (mixgui.results.figures): the conditional linear predictor as the
    # fitted value and randomised quantile residuals, standard normal under the model (sigma 1).
    @property
    def fitted_conditional(self) -> np.ndarray:
        return self.eta

    @property
    def residuals(self) -> np.ndarray:
        if "quantile_residuals" not in self.extra:
            from mixgui.engine.glmm.summaries import quantile_residuals
            self.extra["quantile_residuals"] = quantile_residuals(self)
        return self.extra["quantile_residuals"]

    @property
    def sigma(self) -> float:
        return 1.0


def separation_terms(fit: GlmmFit) -> list:
    """Fixed effects that look infinitely large: the signature of (quasi-)complete separation."""
    if fit.family != "binomial":
        return []
    big = 8.0 if fit.link != "probit" else 5.0
    se = fit.std_errors
    return [n for n, b, s in zip(fit.column_names, fit.beta, se) if abs(b) > big and (not np.isfinite(s) or s > abs(b) / 3)]


def fit_warnings(fit: GlmmFit, model=None) -> list:
    """Singular fit, non-convergence, separation: what happened and the usual remedy."""
    out = []
    if fit.singular:
        zero = [b.group for b, G in zip(fit.blocks, fit.varcorr) if np.any(np.diag(np.atleast_2d(G)) < 1e-8)]
        which = ", ".join(dict.fromkeys(zero)) or "a random term"
        out.append(FitWarning(
            "singular", f"Singular fit: the variance of the random effects for {which} is estimated as zero (or a "
            "correlation as +-1). The data do not support this random term; simplify the random part (drop the "
            "slope or the term) and compare the models.", "variance_components"))
    sep = separation_terms(fit)
    if sep:
        out.append(FitWarning(
            "separation", f"Complete or quasi-complete separation: {', '.join(sep)} "
            f"{'has' if len(sep) == 1 else 'have'} an extremely large estimate with a huge standard error, because "
            "one group has (almost) only successes or only failures. Its odds ratio and test are not meaningful; "
            "merge sparse categories, drop the predictor, or use penalised (Firth) regression.", "fixed_effects"))
    if not fit.converged:
        if not fit.hessian_ok:
            msg = ("The fit did not converge cleanly: the Hessian of the deviance is not positive definite, so the "
                   "standard errors may be unreliable. Usual remedies: centre and scale continuous predictors, "
                   "simplify the random part, or check for separation.")
        else:
            msg = (f"The fit did not converge cleanly (scaled gradient {fit.max_grad:.2g} above lme4's 0.002). "
                   "Usual remedies: centre and scale continuous predictors (e.g. age in decades), or simplify the "
                   "random part.")
        out.append(FitWarning("convergence", msg, "model"))
    return out
