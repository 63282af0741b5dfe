"""One front for tests of fixed effects, whatever the degrees-of-freedom method.

``Inference.build(model, df_method, nobs)`` gives an object with the covariance of beta to use
(``vcov``: Kenward-Roger's adjusted one under ``"kenward-roger"``), the df of a contrast, t tests
and F tests; :func:`fixed_effects_table` makes the results file's ``fixed_effects`` rows.

Methods (the analysis file's ``df_method``):

``satterthwaite``   lmerTest's Satterthwaite df (:mod:`mixgui.engine.inference.satterthwaite`)
``kenward-roger``   pbkrtest's adjusted covariance and df (:mod:`mixgui.engine.inference.kenward_roger`);
                    REML fits only, as lmerTest
``between-within``  SAS's DDFM=BW for repeated measures (:mod:`mixgui.engine.inference.between_within`)
``residual``        t and F tests with n - rank(X) denominator df (as an ordinary regression)
``none``            Wald z and chi-square tests (infinite df); F reported as chi-square / q
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from mixgui.engine.inference.between_within import BetweenWithin
from mixgui.engine.inference.kenward_roger import KenwardRoger
from mixgui.engine.inference.satterthwaite import Satterthwaite
from mixgui.errors import FitWarning, ModelError

DF_METHODS = ("satterthwaite", "kenward-roger", "between-within", "residual", "none")


@dataclass
class Inference:
    """Tests of linear combinations of the fixed effects under one df method.

    Attributes
    ----------
    method : str
        One of :data:`DF_METHODS`.
    beta : ndarray (p,)
    vcov : ndarray (p, p)
        Covariance of beta used for standard errors (adjusted under Kenward-Roger).
    nobs : int
    warnings : list of FitWarning
        Trouble with the approximation (kind ``df_approximation``).
    """

    method: str
    beta: np.ndarray
    vcov: np.ndarray
    nobs: int
    warnings: list = field(default_factory=list)
    _engine: object = field(default=None, repr=False)
    _resid_df: float = np.inf
    kr_information: str | None = None   # Kenward-Roger only: "observed" (SAS) or "expected" (pbkrtest)
    kr_variant: str | None = None       # "linear" for SAS's KR(LINEAR)

    @classmethod
    def build(cls, model, df_method: str = "satterthwaite", nobs: int | None = None,
              progress=None, kr_information: str = "expected", kr_variant: str | None = None) -> Inference:
        """Prepare inference for a fitted model.

        Parameters
        ----------
        model : CovarianceModel
        df_method : str
            ``"satterthwaite"``, ``"kenward-roger"``, ``"residual"`` or ``"none"``.
        nobs : int, optional
            Number of observations (defaults to the rows of ``model.X``).
        progress : mixgui.errors.Progress, optional
            Passed to the Satterthwaite computation (cancellable).
        kr_information : str
            Kenward-Roger's information matrix: ``"expected"`` (pbkrtest) or ``"observed"`` (SAS).
        kr_variant : str, optional
            ``"linear"``: SAS's KR(LINEAR), without the second-derivative term.

        Notes
        -----
        As lmerTest, a Kenward-Roger computation that fails numerically falls back to
        Satterthwaite, and Satterthwaite that fails (the likelihood cannot be evaluated next to
        the estimate) falls back to z tests; both say so in :attr:`warnings` and :attr:`method`.

        Raises
        ------
        ModelError
            Kenward-Roger asked for an ML fit, or an unknown method.
        """
        method = str(df_method).lower().replace("_", "-")
        if method not in DF_METHODS:
            raise ModelError(f'unknown df_method "{df_method}"; use one of {", ".join(DF_METHODS)}')
        X = np.asarray(model.X, float)
        n = int(nobs if nobs is not None else X.shape[0])
        beta = np.asarray(model.beta, float)
        warnings = []
        if method == "kenward-roger":
            if not getattr(model, "reml", True):
                raise ModelError("Kenward-Roger degrees of freedom need a REML fit (as in lmerTest); "
                                 "fit with REML, or use the Satterthwaite method with ML")
            try:
                kr = KenwardRoger(model, information=kr_information, linear=kr_variant == "linear")
                return cls(method, beta, kr.vcov, n, list(kr.warnings), kr,
                           kr_information=kr_information, kr_variant=kr_variant)
            except (np.linalg.LinAlgError, ValueError, ModelError) as e:
                warnings.append(FitWarning("df_method", f"Kenward-Roger could not be computed ({e}); "
                                           "Satterthwaite degrees of freedom are used instead.", "fixed_effects"))
                method = "satterthwaite"
        vcov = np.asarray(model.vcov, float)
        if method == "between-within":
            if not hasattr(model, "bw_layout"):
                raise ModelError("between-within degrees of freedom need a repeated-measures structure "
                                 "(a subject); use Satterthwaite or Kenward-Roger for this model")
            return cls(method, beta, vcov, n, warnings, BetweenWithin(model))
        if method == "satterthwaite":
            try:
                st = Satterthwaite(model, nobs=n, progress=progress)
                st.warnings[:0] = warnings
                return cls(method, beta, vcov, n, st.warnings, st)
            except ModelError as e:
                warnings.append(FitWarning("df_method", f"{e}; z tests (infinite df) are shown instead.",
                                           "fixed_effects"))
                method = "none"
        rank = np.linalg.matrix_rank(X) if X.size else 0
        rdf = float(n - rank) if method == "residual" else np.inf
        return cls(method, beta, vcov, n, warnings, None, rdf)

    # -------------------------------------------------------------------------------------
    def std_error(self, L) -> float:
        """Standard error of ``L beta`` from :attr:`vcov` (Kenward-Roger: the adjusted one)."""
        L = np.asarray(L, float).ravel()
        return float(np.sqrt(L @ self.vcov @ L))

    def df(self, L) -> float:
        """Denominator df of the one-row contrast ``L beta``."""
        if self.method in ("satterthwaite", "kenward-roger", "between-within"):
            return float(self._engine.df(np.asarray(L, float).ravel()))
        return self._resid_df

    def ttest(self, L, level: float = 0.95, estimate: float | None = None) -> dict:
        """t test (z test under ``"none"``) and Wald confidence interval of ``L beta``.

        Parameters
        ----------
        L : array (p,)
        level : float
        estimate : float, optional
            Use this value of ``L beta`` instead of the one from :attr:`beta`.

        Returns
        -------
        dict
            ``estimate, std_error, df, t_value, p_value, ci_lower, ci_upper``.
        """
        L = np.asarray(L, float).ravel()
        est = float(L @ self.beta) if estimate is None else float(estimate)
        se = self.std_error(L)
        df = self.df(L)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = est / se
        if np.isinf(df):
            p = 2 * stats.norm.sf(abs(t))
            crit = stats.norm.ppf(0.5 + level / 2)
        else:
            p = 2 * stats.t.sf(abs(t), df)
            crit = stats.t.ppf(0.5 + level / 2, df)
        return {"estimate": est, "std_error": se, "df": df, "t_value": float(t), "p_value": float(p),
                "ci_lower": est - crit * se, "ci_upper": est + crit * se}

    def ftest(self, L) -> tuple:
        """F test of ``L beta = 0``.

        Returns
        -------
        (F, num_df, den_df, p_value)
            Satterthwaite: lmerTest's ``contestMD``; Kenward-Roger: pbkrtest's scaled F;
            residual: Wald F with n - rank(X) df; none: chi-square / q with infinite ``den_df``
            (``p_value`` from the chi-square distribution).
        """
        L = np.atleast_2d(np.asarray(L, float))
        if L.shape[0] == 0 or L.shape[1] == 0:
            return (np.nan, 0, np.nan, np.nan)
        if self.method in ("satterthwaite", "kenward-roger", "between-within"):
            if self.method == "between-within":
                self._engine.vcov = self.vcov  # an empirical covariance set after build is used too
            return self._engine.ftest(L, self.beta)
        # Wald test restricted to the directions L C L' identifies (as contestMD does)
        d, P = np.linalg.eigh(L @ self.vcov @ L.T)
        pos = d > max(np.sqrt(np.finfo(float).eps) * d.max(), 0)
        q = int(pos.sum())
        if q == 0:
            return (np.nan, 0, np.nan, np.nan)
        z = (P[:, pos].T @ L @ self.beta) / np.sqrt(d[pos])
        F = float(z @ z / q)
        if np.isinf(self._resid_df):
            return (F, q, np.inf, float(stats.chi2.sf(F * q, q)))
        return (F, q, self._resid_df, float(stats.f.sf(F, q, self._resid_df)))


def fixed_effects_table(names, beta, inference: Inference, level: float = 0.95) -> list:
    """The results file's ``fixed_effects`` rows.

    Parameters
    ----------
    names : list of str
        Column names of X (``"(Intercept)"``, ``"Days"``).
    beta : array (p,)
        Estimates (normally ``inference.beta``).
    inference : Inference
    level : float
        Confidence level of the Wald intervals (t quantile with the row's df; z under ``"none"``).

    Returns
    -------
    list of dict
        ``term, estimate, std_error, df, t_value, p_value, ci_lower, ci_upper``.
    """
    beta = np.asarray(beta, float)
    rows = []
    for j, name in enumerate(names):
        L = np.zeros(len(beta))
        L[j] = 1.0
        rows.append({"term": name, **inference.ttest(L, level, estimate=beta[j])})
    return rows
