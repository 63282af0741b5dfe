"""REML fits of balanced random-intercept designs in closed form, many replicates at once.

With equal cluster sizes and the treatment either constant within clusters (cluster-randomised) or
split the same way in every cluster (within-cluster), the REML likelihood factors into a
between-cluster sum of squares SSB (``nb`` df, expectation sigma^2 w, w = 1 + m theta^2) and a
within-cluster one SSW (``nw`` df, expectation sigma^2). Its maximum is the ANOVA estimate
``w = MSB / MSW`` when that exceeds 1, and the boundary ``theta = 0`` otherwise; the treatment
estimate is the difference of arm means either way. In the interior the Satterthwaite df are
exact: ``nb`` for a between-cluster effect, ``nw`` for a within-cluster one. On the boundary the
df come from the engine's own Satterthwaite code applied to the closed-form deviance, so they are
what :func:`mixgui.engine.lmm.fit_lmm` plus :class:`mixgui.engine.inference.Satterthwaite` give
(the tests check both against the full fit on random replicates).
"""
from __future__ import annotations

import numpy as np

from mixgui.engine.inference import Satterthwaite
from mixgui.errors import ModelError

SINGULAR_THETA = 1e-4  # the engine's (and lme4's) threshold for calling a fit singular
LOG2PI = np.log(2.0 * np.pi)


class BalancedModel:
    """One replicate's fit, with the two functions Satterthwaite's df need (``deviance_at``, ``vcov_at``).

    Parameters
    ----------
    ssw, ssb : float
        Within- and between-cluster residual sums of squares.
    nw, nb : int
        Their degrees of freedom.
    J, m : int
        Clusters and members per cluster.
    pb : int
        Fixed-effect columns that vary between clusters only (2 cluster-randomised, 1 within).
    cov_unit : callable
        ``cov_unit(sigma2, w)``: the covariance of (intercept, treatment).
    beta : ndarray (2,)
    """

    reml = True

    def __init__(self, ssw, ssb, nw, nb, J, m, pb, cov_unit, beta):
        self.ssw, self.ssb, self.nw, self.nb = float(ssw), float(ssb), nw, nb
        self.J, self.m, self.pb, self.cov_unit = J, m, pb, cov_unit
        self.N, self.p = J * m, 2
        self.beta = np.asarray(beta, float)
        msb, msw = self.ssb / nb, self.ssw / nw
        w = msb / msw if msw > 0 else 1.0
        theta = np.sqrt((w - 1.0) / m) if w > 1.0 else 0.0
        self.theta = float(theta)
        w = 1.0 + m * theta ** 2
        self.sigma = float(np.sqrt((self.ssw + self.ssb / w) / (self.N - self.p)))
        self.varpar = np.array([self.theta, self.sigma])
        self.vcov = self.vcov_at(self.varpar)

    @property
    def singular(self) -> bool:
        return self.theta < SINGULAR_THETA

    def deviance_at(self, varpar) -> float:
        """The REML criterion at (theta, sigma) up to a constant (the Hessian is all that is used)."""
        theta, sigma = float(varpar[0]), float(varpar[1])
        if sigma <= 0:
            raise ModelError("sigma must be positive")
        w = 1.0 + self.m * theta ** 2
        s2 = sigma * sigma
        r2 = self.ssw + self.ssb / w
        return float(self.J * np.log(w) - self.pb * np.log(w) + r2 / s2
                     + (self.N - self.p) * (np.log(s2) + LOG2PI))

    def vcov_at(self, varpar) -> np.ndarray:
        theta, sigma = float(varpar[0]), float(varpar[1])
        return self.cov_unit(sigma * sigma, 1.0 + self.m * theta ** 2)


def _between_stats(Y, J0):
    """Cluster-randomised: (estimate, SSW, SSB) per replicate; Y is (k, J, m)."""
    m = Y.shape[2]
    cm = Y.mean(axis=2)
    ssw = ((Y - cm[:, :, None]) ** 2).sum(axis=(1, 2))
    a0, a1 = cm[:, :J0].mean(axis=1), cm[:, J0:].mean(axis=1)
    ssb = m * (((cm[:, :J0] - a0[:, None]) ** 2).sum(axis=1) + ((cm[:, J0:] - a1[:, None]) ** 2).sum(axis=1))
    return a1 - a0, a0, ssw, ssb


def _within_stats(Y, xw):
    """Within-cluster: (estimate, SSW after the treatment, SSB) per replicate."""
    J, m = Y.shape[1], Y.shape[2]
    xt = xw - xw.mean()
    sxx = J * float(xt @ xt)
    cm = Y.mean(axis=2)
    Yc = Y - cm[:, :, None]
    est = np.einsum("kjm,m->k", Yc, xt) / sxx
    ssw = (Yc ** 2).sum(axis=(1, 2)) - est ** 2 * sxx
    ssb = m * ((cm - cm.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    intercept = cm.mean(axis=1) - est * xw.mean()
    return est, intercept, np.maximum(ssw, 0.0), ssb, sxx


def balanced_fits(kind: str, Y: np.ndarray, J: int, m: int, n_control: int = 0, x_within=None):
    """Closed-form REML tests of the treatment for k replicates.

    Parameters
    ----------
    kind : str
        ``between`` or ``within``.
    Y : ndarray (k, J * m)
        Outcomes, cluster by cluster.
    J, m : int
    n_control : int
        Clusters in the control arm (``between``; they come first).
    x_within : ndarray (m,)
        Treatment indicator inside each cluster (``within``).

    Returns
    -------
    dict of ndarray (k,)
        ``estimate``, ``std_error``, ``df``, ``singular`` and ``boundary_models`` (the
        :class:`BalancedModel` of replicates on the boundary, for their Satterthwaite df; index -> model).
    """
    k = Y.shape[0]
    Y3 = Y.reshape(k, J, m)
    N = J * m
    if kind == "between":
        est, a0, ssw, ssb = _between_stats(Y3, n_control)
        nw, nb, pb = J * (m - 1), J - 2, 2
        J1 = J - n_control
        inv = np.linalg.inv(np.array([[N, J1 * m], [J1 * m, J1 * m]], float))

        def cov_unit(s2, w, inv=inv):
            return s2 * w * inv
        intercept = a0
        c_trt = inv[1, 1]
    else:
        est, intercept, ssw, ssb, sxx = _within_stats(Y3, np.asarray(x_within, float))
        nw, nb, pb = J * (m - 1) - 1, J - 1, 1
        xbar = float(np.mean(x_within))

        def cov_unit(s2, w, N=N, sxx=sxx, xbar=xbar):
            return s2 * np.array([[w / N + xbar ** 2 / sxx, -xbar / sxx], [-xbar / sxx, 1.0 / sxx]])
        c_trt = 1.0 / sxx
    msw = ssw / nw
    msb = ssb / nb
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(msw > 0, msb / msw, 1.0)
    theta = np.sqrt(np.clip((w - 1.0) / m, 0.0, None))
    interior = theta >= SINGULAR_THETA
    wfit = 1.0 + m * theta ** 2
    s2 = (ssw + ssb / wfit) / (N - 2)
    # Between clusters the treatment's variance is sigma^2 w / (m ...) = MSB-based; within, sigma^2 only.
    var = s2 * (wfit if kind == "between" else 1.0) * c_trt
    df = np.full(k, float(nb if kind == "between" else nw))
    models = {}
    for i in np.flatnonzero(~interior):
        mod = BalancedModel(ssw[i], ssb[i], nw, nb, J, m, pb, cov_unit, [intercept[i], est[i]])
        models[int(i)] = mod
        try:
            df[i] = Satterthwaite(mod).df(np.array([0.0, 1.0]))
        except ModelError:
            df[i] = np.inf  # the engine falls back to z tests the same way
    return {"estimate": est, "std_error": np.sqrt(var), "df": df, "singular": ~interior,
            "boundary_models": models}
