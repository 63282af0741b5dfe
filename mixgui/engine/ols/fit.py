"""Ordinary least-squares regression with R's numbers, computed by statsmodels.

:func:`fit_ols` fits a :class:`~mixgui.engine.design.Design` without random terms with
``statsmodels.api.OLS`` (formula-free, on our design matrix, which already holds R's columns in
R's order with aliased ones dropped) and returns an :class:`OlsFit` holding what R's
``summary(lm)``, ``broom::glance``, ``anova(lm)``, ``hatvalues``, ``rstandard``, ``rstudent`` and
``cooks.distance`` give, plus the residual checks of :mod:`mixgui.engine.ols.checks`
(Durbin-Watson, Breusch-Pagan, Shapiro-Wilk). :func:`to_contract` turns it into the ``lm`` part
of the results file; :func:`anova_type2` / :func:`anova_type3` give ``car::Anova`` tables.

statsmodels is told whether the model has an intercept (``hasconst``), which makes its R^2 and
overall F follow R's rule (centred with an intercept, uncentred without). R's AIC and BIC count
the residual variance as a parameter, statsmodels' do not, so they are taken from its
log-likelihood here.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import statsmodels.api as sm
from scipy import stats

from mixgui.engine.design import Design
from mixgui.engine.ols.checks import anova_type1, anova_type2, anova_type3, residual_diagnostics
from mixgui.errors import FitWarning, ModelError

__all__ = ["OlsFit", "fit_ols", "to_contract", "normal_qq", "anova_type2", "anova_type3"]

# R's lm.influence treats a hat value this close to 1 as exactly 1 (the row is fitted perfectly)
_HAT_ONE = 1.0 - 10 * np.finfo(float).eps
CONF_LEVEL = 0.95


@dataclass
class OlsFit:
    """A fitted ordinary regression.

    Attributes
    ----------
    design : Design
        The design that was fitted (its ``warnings`` are not repeated in :attr:`warnings`).
    X : ndarray (n, p)
    y : ndarray (n,)
    beta : ndarray (p,)
        Least-squares coefficients, in the order of :attr:`column_names`.
    vcov : ndarray (p, p)
        sigma^2 (X'X)^-1, R's ``vcov(lm)``.
    xtx_inv : ndarray (p, p)
        (X'X)^-1 (the unscaled covariance).
    column_names : list of str
    df_residual : int
        n - p.
    sigma : float
        Residual standard error, sqrt(RSS / df_residual).
    rss : float
        Residual sum of squares (R's ``deviance(lm)``).
    nobs : int
    intercept : bool
        Whether the formula has an intercept (decides R^2 and F as in R).
    fitted, residuals : ndarray (n,)
    leverage : ndarray (n,)
        Hat values (``hatvalues``).
    std_residuals : ndarray (n,)
        Internally studentised residuals (``rstandard``); NaN where leverage is 1.
    stud_residuals : ndarray (n,)
        Externally studentised residuals (``rstudent``); NaN where leverage is 1.
    cooks_distance : ndarray (n,)
        ``cooks.distance``; NaN where leverage is 1.
    coefficients : dict
        Column name -> {estimate, std_error, df, t_value, p_value, ci_lower, ci_upper}
        (95 % t intervals on the residual df).
    glance : dict
        ``broom::glance(lm)``: r_squared, adj_r_squared, sigma, statistic, p_value, df, loglik,
        aic, bic, deviance, df_residual, nobs.
    anova_type1 : list of dict
        ``anova(lm)``: {term, df, sum_sq, mean_sq, f, p} per term, then ``Residuals``.
    diagnostics : dict
        durbin_watson, breusch_pagan, breusch_pagan_df, breusch_pagan_p, shapiro_wilk,
        shapiro_wilk_p (None when not computable).
    diagnostic_notes : dict
        Plain-language verdict per test: keys ``durbin_watson``, ``breusch_pagan``, ``shapiro_wilk``.
    perfect_fit : bool
        The residuals are zero up to rounding (R's "essentially perfect fit").
    warnings : list of FitWarning
        Warnings of the fit itself.
    results : statsmodels RegressionResults
        The statsmodels fit every number above comes from (its ``f_test`` gives the ANOVA tables).

    ``terms``, ``term_columns`` and ``term_vars`` are the design's.
    """

    design: Design
    X: np.ndarray
    y: np.ndarray
    beta: np.ndarray
    vcov: np.ndarray
    xtx_inv: np.ndarray
    column_names: list
    df_residual: int
    sigma: float
    rss: float
    nobs: int
    intercept: bool
    fitted: np.ndarray
    residuals: np.ndarray
    leverage: np.ndarray
    std_residuals: np.ndarray
    stud_residuals: np.ndarray
    cooks_distance: np.ndarray
    coefficients: dict
    glance: dict
    anova_type1: list
    diagnostics: dict
    diagnostic_notes: dict
    perfect_fit: bool
    warnings: list = field(default_factory=list)
    results: object = field(default=None, repr=False)

    @property
    def terms(self) -> list:
        return self.design.terms

    @property
    def term_columns(self) -> list:
        return self.design.term_columns

    @property
    def term_vars(self) -> list:
        return self.design.term_vars


def fit_ols(design: Design) -> OlsFit:
    """Fit ``design`` by ordinary least squares, as R's ``lm``.

    Parameters
    ----------
    design : Design
        From :func:`~mixgui.engine.design.build_design`; random terms, if any, are ignored.

    Returns
    -------
    OlsFit

    Raises
    ------
    ModelError
        The model has no coefficient, or no residual degrees of freedom (n <= p).
    """
    X = np.asarray(design.X, float)
    y = np.asarray(design.y, float)
    n, p = X.shape
    if p == 0:
        raise ModelError("the model has no coefficients (no intercept and no predictor); add a predictor or the intercept")
    if n <= p:
        raise ModelError(
            f"the model has {p} coefficient{'s' if p != 1 else ''} but only {n} row{'s' if n != 1 else ''} with "
            "complete data, so nothing is left to estimate the residual variance; use fewer predictors or more rows")
    # QR rather than statsmodels' default pseudo-inverse: the columns are full rank (aliased ones
    # were dropped in R's order), and QR is what R's lm uses
    res = sm.OLS(y, X, hasconst=bool(design.intercept)).fit(method="qr")
    beta = np.asarray(res.params, float)
    xtx_inv = np.asarray(res.normalized_cov_params, float)
    fitted = np.asarray(res.fittedvalues, float)
    resid = np.asarray(res.resid, float)
    rss = float(res.ssr)
    rdf = n - p
    resvar = rss / rdf
    sigma = float(np.sqrt(resvar))
    warns = []
    # R's summary.lm test for an "essentially perfect fit"
    perfect = rss == 0.0 or resvar < (np.mean(fitted) ** 2 + np.var(fitted, ddof=1)) * 1e-30
    if perfect:
        warns.append(FitWarning(
            "perfect_fit", "The model fits the data perfectly (the residuals are zero up to rounding), so standard "
            "errors, tests and residual checks mean nothing. Check that the outcome is not computed from the "
            "predictors, or that there are more rows than coefficients.", "model"))
    vcov = np.asarray(res.cov_params(), float)
    std_r, stud_r, cooks, leverage = _influence(res, p)
    coefs = _coefficients(design.column_names, res)
    glance = _glance(res, n, p, rdf, design.intercept)
    diag, notes, dwarn = residual_diagnostics(resid, X, perfect, bool(design.intercept))
    warns.extend(dwarn)
    fit = OlsFit(design, X, y, beta, vcov, xtx_inv, list(design.column_names), rdf, sigma, rss, n,
                 design.intercept, fitted, resid, leverage, std_r, stud_r, cooks, coefs, glance, [], diag,
                 notes, bool(perfect), warns, res)
    fit.anova_type1 = anova_type1(fit)
    return fit


# ---------------------------------------------------------------------------------------------
def _influence(res, p):
    """rstandard, rstudent, cooks.distance and hat values from statsmodels' OLSInfluence.

    R's lm.influence treats a hat value within 10 eps of 1 as 1 (the row is fitted exactly) and
    then reports NaN for the three residual measures; statsmodels returns huge or infinite
    numbers there, so those rows are set to NaN as in R.
    """
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        infl = res.get_influence()
        h = np.asarray(infl.hat_matrix_diag, float)
        std_r = np.array(infl.resid_studentized_internal, float)
        cooks = np.array(infl.cooks_distance[0], float)
        rdf = float(res.df_resid)
        if rdf > 1:
            # statsmodels' own leave-one-out sigma refits the model n times (O(n^2)); the textbook
            # identity s_(i)^2 = ((n-p) s^2 - e_i^2 / (1 - h_i)) / (n-p-1), as R's lm.influence, is exact
            e = np.asarray(res.resid, float)
            s2_i = (float(res.ssr) - e ** 2 / (1.0 - h)) / (rdf - 1)
            stud_r = np.array(infl.get_resid_studentized_external(sigma=np.sqrt(np.maximum(s2_i, 0.0))), float)
        else:  # leave-one-out sigma is undefined with 1 residual df
            stud_r = np.full_like(h, np.nan)
    h = np.where(h >= _HAT_ONE, 1.0, h)
    one = h == 1.0
    for a in (std_r, stud_r, cooks):
        a[one | ~np.isfinite(a)] = np.nan
    return std_r, stud_r, cooks, h


def _coefficients(names, res):
    """summary(lm)'s coefficient table with 95 % t intervals, from statsmodels."""
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = np.asarray(res.conf_int(alpha=1 - CONF_LEVEL), float)
        est, se = np.asarray(res.params, float), np.asarray(res.bse, float)
        t, pv = np.asarray(res.tvalues, float), np.asarray(res.pvalues, float)
    rdf = float(res.df_resid)
    return {name: {"estimate": float(est[k]), "std_error": float(se[k]), "df": rdf, "t_value": float(t[k]),
                   "p_value": float(pv[k]), "ci_lower": float(ci[k, 0]), "ci_upper": float(ci[k, 1])}
            for k, name in enumerate(names)}


def _glance(res, n, p, rdf, intercept):
    """broom::glance(lm): statsmodels' R^2, F and log-likelihood; AIC/BIC counting sigma as R does."""
    df_int = 1 if intercept else 0
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if p != df_int:
            r2, adj = float(res.rsquared), float(res.rsquared_adj)
            numdf, fstat = p - df_int, float(res.fvalue)
            pval = float(res.f_pvalue) if np.isfinite(fstat) else (0.0 if fstat == np.inf else np.nan)
        else:  # intercept only: nothing to test, R reports R^2 = 0
            r2 = adj = 0.0
            numdf, fstat, pval = 0, np.nan, np.nan
        loglik = float(res.llf)
    k = p + 1  # coefficients plus the residual variance
    return {"r_squared": r2, "adj_r_squared": adj, "sigma": float(np.sqrt(res.ssr / rdf)),
            "statistic": fstat, "p_value": pval, "df": int(numdf), "loglik": loglik,
            "aic": float(-2 * loglik + 2 * k), "bic": float(-2 * loglik + np.log(n) * k),
            "deviance": float(res.ssr), "df_residual": int(rdf), "nobs": int(n)}


# ---------------------------------------------------------------------------------------------
def _clean(value):
    """JSON-ready value: NaN and infinities become None, numpy scalars plain Python numbers."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


def to_contract(fit: OlsFit) -> dict:
    """The ``lm`` part of the results file (see the results contract).

    Returns
    -------
    dict
        ``model`` ("lm"), ``nobs``, ``fixed_effects`` (list of {term, estimate, std_error, df,
        t_value, p_value, ci_lower, ci_upper}), ``glance``, ``anova_type1``, ``diagnostics``, and the
        extras ``diagnostic_notes`` (verdict sentences) and ``warnings`` (messages of the design's
        and the fit's warnings). NaN and infinities are None.
    """
    fixed = [{"term": name, **{k: fit.coefficients[name][k] for k in
                               ("estimate", "std_error", "df", "t_value", "p_value", "ci_lower", "ci_upper")}}
             for name in fit.column_names]
    messages = [str(w) for w in list(fit.design.warnings) + list(fit.warnings)]
    return _clean({"model": "lm", "nobs": fit.nobs, "fixed_effects": fixed, "glance": dict(fit.glance),
                   "anova_type1": [dict(r) for r in fit.anova_type1], "diagnostics": dict(fit.diagnostics),
                   "diagnostic_notes": dict(fit.diagnostic_notes), "warnings": messages})


# ---------------------------------------------------------------------------------------------
def _ppoints(n: int) -> np.ndarray:
    """R's ppoints(n): (i - a) / (n + 1 - 2a), a = 3/8 for n <= 10, else 1/2."""
    a = 3.0 / 8.0 if n <= 10 else 0.5
    return (np.arange(1, n + 1) - a) / (n + 1 - 2 * a)


def normal_qq(values, level: float = 0.95) -> dict:
    """Normal QQ plot data for ``values`` (non-finite values left out), as R's qqnorm + qqline.

    The envelope is pointwise: under normality the i-th smallest of n uniform values follows a
    Beta(i, n + 1 - i) distribution, so its ``level`` interval mapped through qnorm and then onto
    the reference line (intercept + slope * z) is where the i-th sorted value falls with that
    probability, if the reference line were the true mean and sd. Pointwise, so for many points a
    few outside the band are expected.

    Returns
    -------
    dict
        ``theoretical`` (qnorm(ppoints(n)), sorted), ``sample`` (sorted values), ``order`` (row
        positions of the sorted values), ``line_intercept`` and ``line_slope`` (through the
        quartiles, type-7 quantiles as R's qqline), ``envelope_lower``, ``envelope_upper``,
        ``level``.
    """
    v = np.asarray(values, float)
    rows = np.flatnonzero(np.isfinite(v))
    order = rows[np.argsort(v[rows], kind="stable")]
    sample = v[order]
    n = len(sample)
    theo = stats.norm.ppf(_ppoints(n)) if n else np.empty(0)
    if n >= 2:
        yq = np.quantile(sample, [0.25, 0.75])
        xq = stats.norm.ppf([0.25, 0.75])
        slope = float((yq[1] - yq[0]) / (xq[1] - xq[0]))
        icpt = float(yq[0] - slope * xq[0])
        i = np.arange(1, n + 1)
        lo = stats.norm.ppf(stats.beta.ppf((1 - level) / 2, i, n + 1 - i))
        hi = stats.norm.ppf(stats.beta.ppf((1 + level) / 2, i, n + 1 - i))
        env_lo, env_hi = icpt + slope * lo, icpt + slope * hi
    else:
        slope = icpt = np.nan
        env_lo = env_hi = np.full(n, np.nan)
    return {"theoretical": theo, "sample": sample, "order": order, "line_intercept": icpt, "line_slope": slope,
            "envelope_lower": env_lo, "envelope_upper": env_hi, "level": level}
