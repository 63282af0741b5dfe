"""Response distributions and links of generalized linear mixed models, as R's ``family`` objects.

Each family gives the inverse link, d mu / d eta, the variance function, the log density with
its normalising constants (what ``family$aic`` sums, so the log-likelihood is the number R prints)
and the weights of the penalised iteratively reweighted least squares. The clipping of the inverse
links copies R's (``binomial()$linkinv`` stops at DBL_EPSILON), so separated data behave as in R.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, log_ndtr, ndtr

EPS = np.finfo(float).eps
_PROBIT_THRESH = 8.125890664701906  # -qnorm(DBL_EPSILON), R's probit clipping

LINKS = {"binomial": ("logit", "probit", "cloglog"), "poisson": ("log",), "negative_binomial": ("log",)}


def _linkinv(link: str, eta: np.ndarray) -> np.ndarray:
    if link == "logit":
        e = np.clip(eta, -30.0, 30.0)  # R's C_logit_linkinv thresholds
        return 1.0 / (1.0 + np.exp(-e))
    if link == "probit":
        return ndtr(np.clip(eta, -_PROBIT_THRESH, _PROBIT_THRESH))
    if link == "cloglog":
        return np.clip(-np.expm1(-np.exp(np.minimum(eta, 700.0))), EPS, 1.0 - EPS)
    return np.maximum(np.exp(np.minimum(eta, 700.0)), EPS)  # log


def _mu_eta(link: str, eta: np.ndarray) -> np.ndarray:
    if link == "logit":
        e = np.exp(-np.abs(eta))
        return np.maximum(e / (1.0 + e) ** 2, EPS)
    if link == "probit":
        return np.maximum(np.exp(-0.5 * eta * eta) / np.sqrt(2 * np.pi), EPS)
    if link == "cloglog":
        e = np.minimum(eta, 700.0)
        return np.maximum(np.exp(e) * np.exp(-np.exp(e)), EPS)
    return np.maximum(np.exp(np.minimum(eta, 700.0)), EPS)


@dataclass
class Family:
    """A response family with its link.

    Parameters
    ----------
    name : str
        ``"binomial"``, ``"poisson"`` or ``"negative_binomial"`` (NB2, variance mu + mu^2 / theta).
    link : str
        ``"logit"``, ``"probit"``, ``"cloglog"`` (binomial) or ``"log"``.
    """

    name: str
    link: str

    def __post_init__(self):
        if self.name not in LINKS:
            raise ValueError(f"unknown family {self.name}")
        if self.link not in LINKS[self.name]:
            raise ValueError(f"link {self.link} is not available for {self.name}")

    @property
    def has_theta(self) -> bool:
        """Whether the family has a dispersion parameter estimated with the model (NB2's theta)."""
        return self.name == "negative_binomial"

    def linkfun(self, mu):
        mu = np.asarray(mu, float)
        if self.link == "logit":
            return np.log(mu / (1 - mu))
        if self.link == "probit":
            from scipy.special import ndtri
            return ndtri(mu)
        if self.link == "cloglog":
            return np.log(-np.log1p(-mu))
        return np.log(mu)

    def linkinv(self, eta):
        return _linkinv(self.link, np.asarray(eta, float))

    def mu_eta(self, eta):
        return _mu_eta(self.link, np.asarray(eta, float))

    def variance(self, mu, theta=None):
        if self.name == "binomial":
            return mu * (1.0 - mu)
        if self.name == "poisson":
            return mu
        return mu + mu * mu / theta

    def log_const(self, y, n) -> np.ndarray:
        """The parts of the log density that depend on the data only (computed once per model)."""
        if self.name == "binomial":
            k = np.round(y * n)
            return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
        return -gammaln(y + 1)

    def loglik(self, y, mu, n, eta=None, theta=None, const=None) -> np.ndarray:
        """Log density of each row (with constants). Binomial ``y`` is the proportion, ``n`` the trials.

        ``const``: :meth:`log_const` of the same data, when already computed (it costs three log-gammas).
        """
        if const is None:
            const = self.log_const(y, n)
        if self.name == "binomial":
            k = y * n
            if self.link == "logit" and eta is not None:
                # k log(mu) + (n - k) log(1 - mu) = k eta - n log(1 + e^eta): one softplus, exact in the tails
                e = np.clip(eta, -30.0, 30.0)
                return const + k * e - n * np.logaddexp(0.0, e)
            elif self.link == "probit" and eta is not None:
                e = np.clip(eta, -_PROBIT_THRESH, _PROBIT_THRESH)
                lmu, l1mu = log_ndtr(e), log_ndtr(-e)
            else:
                lmu, l1mu = np.log(mu), np.log1p(-mu)
            return const + k * lmu + (n - k) * l1mu
        if self.name == "poisson":
            return const + y * np.log(mu) - mu
        return (const + gammaln(y + theta) - gammaln(theta) + theta * np.log(theta / (theta + mu))
                + y * np.log(mu / (theta + mu)))

    def weights(self, eta, mu, n, theta=None):
        """IRLS (Fisher) weights ``n (d mu/d eta)^2 / V(mu)`` and d mu / d eta."""
        d = self.mu_eta(eta)
        v = np.maximum(self.variance(mu, theta), EPS * EPS)
        return n * d * d / v, d

    def hessian_weights(self, y, eta, mu, n, theta=None):
        """Weights of the Laplace approximation's log-determinant.

        lme4's ``glmer`` uses the Fisher weights for every family; glmmTMB (negative binomial) uses
        the observed second derivative of -log f in eta, which for NB2 with a log link is
        ``(y + theta) mu theta / (mu + theta)^2``.
        """
        if self.name == "negative_binomial":
            return (y + theta) * mu * theta / (mu + theta) ** 2
        return self.weights(eta, mu, n, theta)[0]

    def score_weights(self, y, eta, mu, n, theta=None):
        """d log f / d eta per row (used for gradients of the fixed effects)."""
        w, d = self.weights(eta, mu, n, theta)
        return w * (y - mu) / d
