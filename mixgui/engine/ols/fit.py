"""Ordinary least-squares regression with R's numbers.

:func:`fit_ols` fits a :class:`~mixgui.engine.design.Design` without random terms and returns an
:class:`OlsFit` holding what R's ``summary(lm)``, ``broom::glance``, ``anova(lm)``,
``hatvalues``, ``rstandard``, ``rstudent`` and ``cooks.distance`` give, plus the residual checks
of :mod:`mixgui.engine.ols.checks` (Durbin-Watson, Breusch-Pagan, Shapiro-Wilk).
:func:`to_contract` turns it into the ``lm`` part of the results file, :func:`plot_data` into the
arrays the residual plots draw, and :func:`anova_type2` / :func:`anova_type3` give ``car::Anova``
tables.

The fit goes through a QR decomposition of X (no pivoting: the design has already dropped
aliased columns in R's order), so sequential sums of squares come straight from the effects
Q'y, as R's ``anova.lm`` computes them.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, stats

from mixgui.data.levels import as_labels, sorted_levels
from mixgui.engine.design import Design
from mixgui.engine.ols.checks import anova_type2, anova_type3, residual_diagnostics  # noqa: F401 (re-exported)
from mixgui.errors import FitWarning, ModelError

__all__ = ["OlsFit", "fit_ols", "to_contract", "plot_data", "residuals_by_group", "anova_type2", "anova_type3"]

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
    effects : ndarray (p,)
        Q'y of the QR decomposition (R's ``effects`` for the coefficients); type I sums of squares.

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
    effects: np.ndarray = field(default=None, repr=False)

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
    Q, R = np.linalg.qr(X)
    effects = Q.T @ y
    beta = linalg.solve_triangular(R, effects)
    R_inv = linalg.solve_triangular(R, np.eye(p))
    xtx_inv = R_inv @ R_inv.T
    fitted = X @ beta
    resid = y - fitted
    rss = float(resid @ resid)
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
    vcov = resvar * xtx_inv
    leverage = np.sum(Q * Q, axis=1)
    std_r, stud_r, cooks = _influence(resid, leverage, sigma, rdf, p)
    coefs = _coefficients(design.column_names, beta, vcov, rdf)
    glance = _glance(y, fitted, rss, n, p, rdf, design.intercept)
    type1 = _anova_type1(effects, design, rss, rdf)
    diag, notes, dwarn = residual_diagnostics(resid, X, perfect)
    warns.extend(dwarn)
    return OlsFit(design, X, y, beta, vcov, xtx_inv, list(design.column_names), rdf, sigma, rss, n,
                  design.intercept, fitted, resid, leverage, std_r, stud_r, cooks, coefs, glance, type1, diag,
                  notes, bool(perfect), warns, effects)


# ---------------------------------------------------------------------------------------------
def _influence(resid, h, sigma, rdf, p):
    """rstandard, rstudent and cooks.distance as R computes them (lm.influence)."""
    h = np.where(h >= _HAT_ONE, 1.0, h)
    one = h == 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = np.sqrt(1.0 - h)
        std_r = resid / (sigma * denom)
        # leave-one-out sigma: ((n-p) s^2 - e^2/(1-h)) / (n-p-1); undefined when rdf = 1
        if rdf > 1:
            s_i2 = (rdf * sigma ** 2 - resid ** 2 / (1.0 - h)) / (rdf - 1)
            stud_r = resid / (np.sqrt(np.maximum(s_i2, 0.0)) * denom)
        else:
            stud_r = np.full_like(resid, np.nan)
        cooks = (resid / (sigma * (1.0 - h))) ** 2 * h / p
    for a in (std_r, stud_r, cooks):
        a[one | ~np.isfinite(a)] = np.nan
    return std_r, stud_r, cooks


def _coefficients(names, beta, vcov, rdf):
    se = np.sqrt(np.maximum(np.diag(vcov), 0.0))
    q = stats.t.ppf(0.5 + CONF_LEVEL / 2, rdf)
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        t = beta / se
    for k, name in enumerate(names):
        out[name] = {"estimate": float(beta[k]), "std_error": float(se[k]), "df": float(rdf),
                     "t_value": float(t[k]), "p_value": float(2 * stats.t.sf(abs(t[k]), rdf)),
                     "ci_lower": float(beta[k] - q * se[k]), "ci_upper": float(beta[k] + q * se[k])}
    return out


def _glance(y, fitted, rss, n, p, rdf, intercept):
    """broom::glance(lm), i.e. summary.lm's R^2 and F plus logLik.lm."""
    df_int = 1 if intercept else 0
    # Without an intercept R compares with the zero model: uncentred sums of squares.
    mss = float(np.sum((fitted - fitted.mean()) ** 2)) if intercept else float(fitted @ fitted)
    resvar = rss / rdf
    if p != df_int:
        r2 = mss / (mss + rss) if mss + rss > 0 else np.nan
        adj = 1 - (1 - r2) * ((n - df_int) / rdf)
        numdf = p - df_int
        with np.errstate(divide="ignore", invalid="ignore"):
            fstat = (mss / numdf) / resvar
        pval = float(stats.f.sf(fstat, numdf, rdf)) if np.isfinite(fstat) else (0.0 if fstat == np.inf else np.nan)
    else:  # intercept only: nothing to test
        r2 = adj = 0.0
        numdf, fstat, pval = 0, np.nan, np.nan
    with np.errstate(divide="ignore"):
        loglik = 0.5 * (-n * (np.log(2 * np.pi) + 1 - np.log(n) + np.log(rss)))
    k = p + 1  # coefficients plus the residual variance
    return {"r_squared": float(r2), "adj_r_squared": float(adj), "sigma": float(np.sqrt(resvar)),
            "statistic": float(fstat), "p_value": pval, "df": int(numdf), "loglik": float(loglik),
            "aic": float(-2 * loglik + 2 * k), "bic": float(-2 * loglik + np.log(n) * k),
            "deviance": float(rss), "df_residual": int(rdf), "nobs": int(n)}


def _anova_type1(effects, design, rss, rdf):
    """Sequential sums of squares: squared QR effects summed over each term's columns (anova.lm)."""
    ms_res = rss / rdf
    rows = []
    for term, cols in zip(design.terms, design.term_columns):
        if not cols:  # every column aliased: R leaves the term out of the table
            continue
        ss = float(np.sum(effects[cols] ** 2))
        df = len(cols)
        ms = ss / df
        with np.errstate(divide="ignore", invalid="ignore"):
            f = ms / ms_res
        rows.append({"term": term, "df": df, "sum_sq": ss, "mean_sq": ms, "f": float(f),
                     "p": float(stats.f.sf(f, df, rdf)) if np.isfinite(f) else np.nan})
    rows.append({"term": "Residuals", "df": int(rdf), "sum_sq": float(rss), "mean_sq": float(ms_res),
                 "f": None, "p": None})
    return rows


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


def _lowess(x, y):
    """R's panel.smooth curve: lowess(f = 2/3, iter = 3), or None when it cannot be computed."""
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0:
        return None
    from statsmodels.nonparametric.smoothers_lowess import lowess

    # few distinct x values make the robustness weights 0/0; then there is no curve worth drawing
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        sm = lowess(y[ok], x[ok], frac=2.0 / 3.0, it=3, delta=0.01 * np.ptp(x[ok]))
    if not np.isfinite(sm).all():
        return None
    return {"x": sm[:, 0], "y": sm[:, 1]}


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


def residuals_by_group(fit: OlsFit, values, standardised: bool = False) -> dict:
    """Residuals split by the values of a column (e.g. a subject or a factor), for a strip or box plot.

    Parameters
    ----------
    fit : OlsFit
    values : array-like (n,)
        One value per row used in the fit, e.g. ``fit.design.frame["Subject"]``.
    standardised : bool
        Use standardised residuals (rstandard) instead of raw ones.

    Returns
    -------
    dict
        ``levels`` (labels in R's order), ``groups`` (residual array per level), ``rows`` (row
        positions per level), ``n``, ``mean``, ``sd`` (per level; sd NaN for a single row),
        ``x_label``, ``y_label``.
    """
    import pandas as pd

    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    if len(series) != fit.nobs:
        raise ValueError(f"residuals_by_group needs one value per row used in the fit ({fit.nobs}), got {len(series)}")
    r = fit.std_residuals if standardised else fit.residuals
    # labels written as R prints levels (8, not 8.0), so they match sorted_levels
    labels = as_labels(series.reset_index(drop=True)).to_numpy()
    levels = sorted_levels(series)
    groups, rows, ns, means, sds = [], [], [], [], []
    for lv in levels:
        idx = np.flatnonzero(labels == lv)
        g = r[idx]
        rows.append(idx)
        groups.append(g)
        ns.append(len(idx))
        means.append(float(np.nanmean(g)) if len(g) else np.nan)
        sds.append(float(np.nanstd(g, ddof=1)) if len(g) > 1 else np.nan)
    name = getattr(values, "name", None)
    return {"levels": levels, "groups": groups, "rows": rows, "n": ns, "mean": np.array(means), "sd": np.array(sds),
            "x_label": str(name) if name is not None else "Group",
            "y_label": "Standardised residuals" if standardised else "Residuals"}


def plot_data(fit: OlsFit) -> dict:
    """Arrays for the residual plots (nothing is drawn here).

    Returns
    -------
    dict
        ``row_labels``: 1-based row numbers in the input table, to identify points.
        ``residuals_vs_fitted``: x, y, x_label, y_label, title, smooth ({x, y} lowess or None).
        ``scale_location``: x (fitted), y (sqrt |standardised residual|), labels, smooth.
        ``normal_qq``: :func:`normal_qq` of the standardised residuals (as R's plot.lm) plus labels.
        ``residuals_vs_leverage``: x (leverage), y (standardised residuals), cooks, labels.
        ``residuals_vs_predictors``: list of {variable, x, y, x_label, y_label, title, smooth},
        one per numeric predictor variable.
        ``residuals_by_factor``: list of :func:`residuals_by_group` results, one per factor predictor.
    """
    d = fit.design
    sqrt_abs = np.sqrt(np.abs(fit.std_residuals))
    out = {
        "row_labels": np.asarray(d.rows) + 1,
        "residuals_vs_fitted": {"x": fit.fitted, "y": fit.residuals, "x_label": "Fitted values",
                                "y_label": "Residuals", "title": "Residuals vs fitted",
                                "smooth": _lowess(fit.fitted, fit.residuals)},
        "scale_location": {"x": fit.fitted, "y": sqrt_abs, "x_label": "Fitted values",
                           "y_label": "\u221a|Standardised residuals|", "title": "Scale-location",
                           "smooth": _lowess(fit.fitted, sqrt_abs)},
        "normal_qq": {**normal_qq(fit.std_residuals), "x_label": "Theoretical quantiles",
                      "y_label": "Standardised residuals", "title": "Normal QQ"},
        "residuals_vs_leverage": {"x": fit.leverage, "y": fit.std_residuals, "cooks": fit.cooks_distance,
                                  "x_label": "Leverage", "y_label": "Standardised residuals",
                                  "title": "Residuals vs leverage"},
        "residuals_vs_predictors": [],
        "residuals_by_factor": [],
    }
    variables = list(dict.fromkeys(v for t in d.term_vars for v in t))
    for v in variables:
        if v in d.factor_levels:
            out["residuals_by_factor"].append(residuals_by_group(fit, d.frame[v]))
        else:
            x = d.frame[v].to_numpy(float)
            out["residuals_vs_predictors"].append(
                {"variable": v, "x": x, "y": fit.residuals, "x_label": v, "y_label": "Residuals",
                 "title": f"Residuals vs {v}", "smooth": _lowess(x, fit.residuals)})
    return out
