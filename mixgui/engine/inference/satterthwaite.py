"""Satterthwaite denominator degrees of freedom, as lmerTest computes them.

Kuznetsova, Brockhoff & Christensen (2017), *lmerTest Package: Tests in Linear Mixed Effects
Models*, JSS 82(13). For a contrast ``L`` with variance ``v = L C(varpar) L'``,

    df = 2 v^2 / (g' A g),   g = d v / d varpar,   A = 2 H^-1,

where ``H`` is the Hessian of the deviance (REML criterion) in ``varpar`` (lme4's theta, then
sigma) and ``C(varpar) = (X'V^-1X)^-1``. Both derivatives are numerical, with numDeriv's
Richardson extrapolation and step rule so that the numbers agree with R's to many digits.
The Jacobian of ``C`` is computed once and reused for every contrast.

Multi-row hypotheses follow lmerTest's ``contestMD``: ``L C L'`` is eigen-decomposed, each
direction gets its own df ``nu_m``, and ``ddf = 2E / (E - q)`` with ``E = sum nu_m / (nu_m - 2)``
(``ddf = 2`` when some ``nu_m <= 2``; the common value when all ``nu_m`` are equal).

Degrees of freedom are reported as lmerTest reports them, without clipping: a value below 1 or
above the number of observations (or not finite) is kept, and a ``df_approximation`` warning says
that the approximation is unreliable there.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from mixgui.engine.numerics import richardson_hessian, richardson_jacobian
from mixgui.errors import FitWarning, ModelError

# Steps of the numerical derivatives: numDeriv's defaults, which lmerTest uses: the Hessian with
# relative steps 0.1 (numDeriv::hessian), the Jacobian with 1e-4 (numDeriv::jacobian); both 1e-4
# absolute at zero, and four Richardson halvings.
HESS_STEPS = dict(d=0.1, eps=1e-4)
JAC_STEPS = dict(d=1e-4, eps=1e-4)
EIGEN_TOL = 1e-8  # lmerTest: Hessian eigenvalues within +-1e-8 count as zero (dropped from the inverse)
_SQRT_EPS = float(np.sqrt(np.finfo(float).eps))  # lmerTest's eigenvalue tolerance in contestMD


def fstat_ddf(nu, tol=1e-8) -> float:
    """lmerTest's ``get_Fstat_ddf``: one denominator df from the df of each eigen-direction."""
    nu = np.asarray(nu, float)
    if len(nu) == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < tol):
        return float(np.mean(nu))
    if np.any(nu <= 2):
        return 2.0
    E = np.sum(nu / (nu - 2))
    return float(2 * E / (E - len(nu)))


class Satterthwaite:
    """Satterthwaite df for a fitted :class:`~mixgui.engine.covmodel.CovarianceModel`.

    Parameters
    ----------
    model : CovarianceModel
        Needs ``varpar``, ``vcov``, ``beta``, ``deviance_at`` and ``vcov_at``.
    nobs : int, optional
        Number of observations, only to flag implausible df.
    progress : mixgui.errors.Progress, optional
        ``step`` is called every 20 evaluations (cancelling raises ``Cancelled``).

    Raises
    ------
    ModelError
        The deviance or covariance could not be evaluated next to the estimate (a parameter on
        the edge of its valid range).

    Attributes
    ----------
    scale : ndarray
        The derivatives are in ``u = varpar / scale`` (sigma relative to its estimate).
    vcov_varpar : ndarray
        ``2 H^-1`` in ``u`` (generalised inverse over eigenvalues above 1e-8, as lmerTest).
    jacobian : list of ndarray
        d C / d u_k, each (p, p).
    hessian_eigenvalues : ndarray
    warnings : list of FitWarning
    """

    def __init__(self, model, nobs=None, progress=None):
        self.vcov = np.asarray(model.vcov, float)
        self.beta = np.asarray(model.beta, float)
        self.nobs = nobs
        self.warnings: list = []
        varpar = np.asarray(model.varpar, float)
        # Derivatives are taken in u = varpar / scale, where the last parameter (sigma, the only one
        # in units of y: the protocol puts it last) is divided by its estimate. The df are invariant
        # to this change of variables, but numDeriv's absolute step at |x| < 1.8e-5 and the absolute
        # eigenvalue cut are not: without it, y in mol/L or in platelets per microlitre changed the
        # df. At ordinary scales the steps are the same as lmerTest's (relative 0.1 of sigma).
        scale = np.ones_like(varpar)
        if varpar.size and np.isfinite(varpar[-1]) and varpar[-1] != 0:
            scale[-1] = abs(varpar[-1])
        self.scale = scale
        count = [0]

        def guarded(fun):
            def f(v):
                count[0] += 1
                if progress is not None and count[0] % 20 == 0:
                    progress.step(None, "Satterthwaite degrees of freedom")
                try:
                    out = np.asarray(fun(v), float)
                except (ArithmeticError, ValueError, np.linalg.LinAlgError, ModelError) as e:
                    raise ModelError("the Satterthwaite degrees of freedom could not be computed: the "
                                     f"likelihood cannot be evaluated next to the estimate ({e})") from e
                if not np.all(np.isfinite(out)):
                    raise ModelError("the Satterthwaite degrees of freedom could not be computed: the "
                                     "likelihood is not finite next to the estimate (a parameter at the edge "
                                     "of its range)")
                return out
            return f

        u0 = varpar / scale
        # A model that has the derivatives in closed form (or from its analytic gradient) gives
        # them directly: a few factorisations instead of ~300 deviance evaluations.
        exact = model.varpar_derivatives() if hasattr(model, "varpar_derivatives") else None
        if exact is not None:
            H = exact["hessian"] * np.outer(scale, scale)
        else:
            H = richardson_hessian(guarded(lambda u: float(model.deviance_at(u * scale))), u0, **HESS_STEPS)
        H = (H + H.T) / 2
        w, U = np.linalg.eigh(H)
        self.hessian_eigenvalues = w
        neg, zero = w < -EIGEN_TOL, np.abs(w) <= EIGEN_TOL
        if neg.any() or zero.any():
            # lmerTest keeps going with a generalised inverse; say that the df rest on it.
            what = "negative" if neg.any() else "zero"
            self.warnings.append(FitWarning(
                "df_approximation",
                f"The curvature of the likelihood in the variance parameters has {what} eigenvalues "
                "(the fit is at a boundary or has not fully converged), so the Satterthwaite degrees of "
                "freedom rest on a generalised inverse and are approximate. Simplify the random effects "
                "if this model is singular.", "fixed_effects"))
        pos = w > EIGEN_TOL
        Up = U[:, pos]
        self.vcov_varpar = 2 * (Up / w[pos]) @ Up.T
        p = len(self.beta)
        if exact is not None:
            J = exact["vcov_jacobian"] * scale[None, :]
        else:
            J = richardson_jacobian(guarded(lambda u: np.asarray(model.vcov_at(u * scale), float).ravel()), u0,
                                    **JAC_STEPS)
        self.jacobian = [J[:, k].reshape(p, p) for k in range(J.shape[1])]
        self._flagged = False

    # -- one contrast -----------------------------------------------------------------------
    def df(self, L) -> float:
        """Satterthwaite df of the contrast ``L beta`` (one row), lmerTest's ``contest1D``."""
        L = np.asarray(L, float).ravel()
        v = float(L @ self.vcov @ L)
        g = np.array([L @ J @ L for J in self.jacobian])
        denom = float(g @ self.vcov_varpar @ g)
        with np.errstate(divide="ignore", invalid="ignore"):
            df = 2 * v ** 2 / denom if denom != 0 else (np.inf if v != 0 else np.nan)
        self._check(df)
        return float(df)

    def _check(self, df) -> None:
        bad = not np.isfinite(df) or df < 1 or (self.nobs is not None and df > self.nobs)
        if bad and not self._flagged:
            self._flagged = True
            self.warnings.append(FitWarning(
                "df_approximation",
                f"A Satterthwaite degrees of freedom of {df:.3g} is outside the plausible range "
                f"(1 to the number of observations); the tests that use it are unreliable. This usually "
                "means a variance is estimated at or near zero: simplify the random effects.",
                "fixed_effects"))

    # -- several rows -------------------------------------------------------------------------
    def ftest(self, L, beta=None, eps=_SQRT_EPS) -> tuple:
        """F test of ``L beta = 0`` as lmerTest's ``contestMD`` (Satterthwaite).

        Returns
        -------
        (F, num_df, den_df, p_value)
            ``num_df`` is the number of positive eigenvalues of ``L C L'`` (the rank of the test).
        """
        L = np.atleast_2d(np.asarray(L, float))
        beta = self.beta if beta is None else np.asarray(beta, float)
        if L.shape[0] == 0:
            return (np.nan, 0, np.nan, np.nan)
        if L.shape[0] == 1:
            return self._f1(L[0], beta)
        d, P = np.linalg.eigh(L @ self.vcov @ L.T)
        order = np.argsort(d)[::-1]  # R's eigen() returns decreasing eigenvalues
        d, P = d[order], P[:, order]
        pos = d > max(eps * d[0], 0)
        q = int(pos.sum())
        if q == 0:
            return (np.nan, 0, np.nan, np.nan)
        PtL = (P.T @ L)[:q]
        if q == 1:
            return self._f1(PtL[0], beta)
        t2 = (PtL @ beta) ** 2 / d[:q]
        F = float(t2.sum() / q)
        nu = []
        for m in range(q):
            g = np.array([PtL[m] @ J @ PtL[m] for J in self.jacobian])
            with np.errstate(divide="ignore", invalid="ignore"):
                nu.append(2 * d[m] ** 2 / float(g @ self.vcov_varpar @ g))
        ddf = fstat_ddf(nu)
        self._check(ddf)
        return (F, q, ddf, float(stats.f.sf(F, q, ddf)))

    def _f1(self, row, beta):
        est = float(row @ beta)
        v = float(row @ self.vcov @ row)
        F = est ** 2 / v
        df = self.df(row)
        return (F, 1, df, float(stats.f.sf(F, 1, df)))
