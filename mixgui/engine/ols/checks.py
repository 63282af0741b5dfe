"""Statistical tests on an ordinary regression: type II / III ANOVA tables and residual checks.

Kept apart from :mod:`mixgui.engine.ols.fit` for size; everything here takes an
:class:`~mixgui.engine.ols.fit.OlsFit` (duck-typed, to avoid a circular import) or plain arrays.
Import the ANOVA functions from either module.

Every F test of every table is statsmodels' ``RegressionResults.f_test`` on the full fit, given a
hypothesis matrix L built here. statsmodels' own ``anova_lm`` cannot be used as it stands: on a
formula-free fit (ours: the design matrix comes from engine/design.py, with R's coding and names)
its single-model tables need a formula's term layout, and its table of nested models takes each
row's p-value from that row's own residual df, where R's ``anova`` uses the full model's; its
type III is the treatment-coded test only, not the SAS hypotheses. What remains ours is therefore
which linear hypothesis each row tests:

* type I (``anova.lm``): the term's rows of the R factor of X = QR (its columns in model order),
  whose Wald sum of squares is the sequential sum of squares (the squared QR effects);

* type II tests each term after every term that does not contain it (marginality): the same R
  rows with the columns reordered as (the other terms, the term, its higher-order relatives);
* type III with ``coding="treatment"`` tests each term's own columns (Wald F), which is what
  ``car::Anova(type = 3)`` does with R's default treatment contrasts: a main effect is then
  tested at the reference level of the factors it interacts with (and at 0 of a covariate);
* type III with ``coding="sas"`` tests the SAS / SPSS type III hypotheses, which equal
  ``car::Anova(type = 3)`` on the model refitted with sum-to-zero contrasts (``contr.sum``).
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy import stats
from statsmodels.stats.diagnostic import het_breuschpagan
from statsmodels.stats.stattools import durbin_watson as sm_durbin_watson

from mixgui.errors import FitWarning

_RANK_TOL = 1e-8  # relative singular-value cut-off for the rank of a hypothesis matrix


# ---------------------------------------------------------------------------------------------
# ANOVA tables
def _row(term, ss, df, ms_res, rdf):
    if df == 0 or ss is None or not np.isfinite(ss):
        return {"term": term, "df": int(df), "sum_sq": None, "mean_sq": None, "f": None, "p": None}
    ms = ss / df
    with np.errstate(divide="ignore", invalid="ignore"):
        f = ms / ms_res
    p = float(stats.f.sf(f, df, rdf)) if np.isfinite(f) else np.nan
    return {"term": term, "df": int(df), "sum_sq": float(ss), "mean_sq": float(ms), "f": float(f), "p": p}


def _residual_row(fit):
    return {"term": "Residuals", "df": int(fit.df_residual), "sum_sq": float(fit.rss),
            "mean_sq": float(fit.rss / fit.df_residual), "f": None, "p": None}


def _reduced(L):
    """L reduced to an orthonormal basis of its row space (None when it is empty)."""
    L = np.atleast_2d(np.asarray(L, float))
    if L.size == 0:
        return None
    _, sv, vt = np.linalg.svd(L, full_matrices=False)
    rank = int(np.sum(sv > _RANK_TOL * sv[0])) if sv.size and sv[0] > 0 else 0
    return vt[:rank] if rank else None


def _f_row(fit, term, L):
    """One table row: statsmodels' F test of L beta = 0 on the full fit; SS = F * df * MS(residual)."""
    ms_res = fit.rss / fit.df_residual
    L = _reduced(L)
    if L is None:
        return _row(term, None, 0, ms_res, fit.df_residual)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        test = fit.results.f_test(L)
    f, df = float(np.squeeze(test.fvalue)), int(L.shape[0])
    if not np.isfinite(f):  # a perfect fit: no residual variance to test against
        return _row(term, np.nan, df, ms_res, fit.df_residual)
    return {"term": term, "df": df, "sum_sq": f * df * ms_res, "mean_sq": f * ms_res, "f": f,
            "p": float(np.squeeze(test.pvalue))}


def _sequential_hypothesis(X, before, cols, after):
    """L whose Wald sum of squares is SS(cols | before) with ``after`` fitted last (QR of X reordered)."""
    order = list(before) + list(cols) + list(after)
    r = np.linalg.qr(X[:, order], mode="r")
    rows = r[len(before):len(before) + len(cols)]
    L = np.zeros((len(cols), X.shape[1]))
    L[:, order] = rows
    return L


def anova_type1(fit) -> list:
    """Sequential (type I) ANOVA table, as R's ``anova(lm)``.

    Returns
    -------
    list of dict
        {term, df, sum_sq, mean_sq, f, p} per term in model order (a term whose columns were all
        aliased is left out, as R does), then ``Residuals``.
    """
    r = np.linalg.qr(fit.X, mode="r")
    rows = []
    for term, cols in zip(fit.terms, fit.term_columns):
        if cols:  # r is upper triangular: the term's rows only involve it and later columns
            rows.append(_f_row(fit, term, r[cols]))
    rows.append(_residual_row(fit))
    return rows


def _contains(fit):
    """For each term, the indices of the other terms whose variables include all of its own."""
    vs = [set(t) for t in fit.term_vars]
    return [[j for j in range(len(vs)) if vs[i] < vs[j]] for i in range(len(vs))]


def anova_type2(fit) -> list:
    """Type II ANOVA table, as ``car::Anova(lm, type = 2)``.

    Each term is tested after all terms that do not contain it: the sum of squares is the drop in
    residual sum of squares when the term is added to the model without its higher-order
    relatives (the intercept always stays in). F uses the full model's residual mean square.

    Parameters
    ----------
    fit : OlsFit

    Returns
    -------
    list of dict
        {term, df, sum_sq, mean_sq, f, p} per term in the model's order, then ``Residuals``.
        A term whose columns were all aliased has df 0 and None elsewhere.
    """
    p = fit.X.shape[1]
    rows = []
    contained_in = _contains(fit)
    for i, (term, cols) in enumerate(zip(fit.terms, fit.term_columns)):
        rel = [c for j in contained_in[i] for c in fit.term_columns[j]]
        before = [c for c in range(p) if c not in set(rel) and c not in set(cols)]
        L = _sequential_hypothesis(fit.X, before, cols, rel) if cols else None
        rows.append(_f_row(fit, term, L) if cols else _row(term, None, 0, 1.0, fit.df_residual))
    rows.append(_residual_row(fit))
    return rows


def sas_type3_hypotheses(fit) -> list:
    """SAS type III hypothesis matrices, one per term (and the intercept), in the coefficients of X.

    Ours because statsmodels has no SAS type III: its ``anova_lm(typ=3)`` tests each term's own
    treatment-coded columns (``coding="treatment"`` below), which is not what SAS or SPSS print.

    Built as lmerTest does for merMod and lm fits: with rdX the over-parametrised design (every
    level of every factor, :meth:`Design.full_indicator_matrix`) and X the fitted (treatment-coded)
    design, ``A = pinv(X) rdX`` gives each coefficient of X as a function of rdX's parameters. For
    each term, its functions (columns of A') are made orthogonal to those of the terms containing
    it, higher-order terms first, so a main effect is averaged over the levels it interacts with
    rather than taken at a reference level. A function of rdX's parameters is turned back into one
    of X's coefficients through ``pinv(rdX) X``; this needs no name matching between the two
    parametrisations. The intercept is treated as contained in every term.

    Returns
    -------
    list of (str, ndarray)
        (term, L) with L of shape (k, p); ``(Intercept)`` first when the model has one.
    """
    X = fit.X
    rdX, _, rd_term_cols = fit.design.full_indicator_matrix()
    A = np.linalg.pinv(X) @ rdX          # p x q: X's coefficient k = A[k] . theta
    L = A.T.copy()                       # q x p: column k is coefficient k as a function of theta
    back = np.linalg.pinv(rdX) @ X       # q x p: theta-function l  ->  coefficient function l @ back
    contained_in = _contains(fit)
    order = sorted(range(len(fit.terms)), key=lambda i: -len(fit.term_vars[i]))
    for i in order:
        cols = fit.term_columns[i]
        outer = [c for j in contained_in[i] for c in fit.term_columns[j]]
        if cols and outer:
            C = L[:, outer]
            T = L[:, cols]
            L[:, cols] = T - C @ np.linalg.lstsq(C, T, rcond=None)[0]
    hyps = []
    if fit.intercept:
        allc = [c for cols in fit.term_columns for c in cols]
        T = L[:, [0]]
        if allc:
            C = L[:, allc]
            T = T - C @ np.linalg.lstsq(C, T, rcond=None)[0]
        hyps.append(("(Intercept)", T.T @ back))
    for term, cols in zip(fit.terms, fit.term_columns):
        H = L[:, cols].T @ back if cols else np.empty((0, X.shape[1]))
        hyps.append((term, H))
    return hyps


def anova_type3(fit, coding: str = "treatment") -> list:
    """Type III ANOVA table with Wald F tests.

    Parameters
    ----------
    fit : OlsFit
    coding : {"treatment", "sas"}
        ``"treatment"``: each term's own columns of the fitted (treatment-coded) design are tested
        to be zero, exactly ``car::Anova(lm, type = 3)`` with R's default contrasts. A main effect
        that takes part in an interaction is then tested at the reference level of the other
        factor (or at 0 of a covariate): R users compare with this, but it is not what SAS or
        SPSS print.
        ``"sas"``: the SAS / SPSS type III hypotheses (main effects averaged over the levels of the
        factors they interact with, unweighted), built from the over-parametrised design, see
        :func:`sas_type3_hypotheses`. These equal ``car::Anova(type = 3)`` on the model fitted
        with sum-to-zero contrasts (``contr.sum``); a covariate's effects are still at 0 of the
        covariate, as in SAS.

    Returns
    -------
    list of dict
        {term, df, sum_sq, mean_sq, f, p}: ``(Intercept)`` (when the model has one), each term,
        then ``Residuals``. sum_sq is F * df * residual mean square, as car reports it.
    """
    p = fit.X.shape[1]
    if coding == "treatment":
        hyps = [("(Intercept)", np.eye(p)[[0]])] if fit.intercept else []
        hyps += [(t, np.eye(p)[cols]) for t, cols in zip(fit.terms, fit.term_columns)]
    elif coding == "sas":
        hyps = sas_type3_hypotheses(fit)
    else:
        raise ValueError(f'coding must be "treatment" or "sas", not {coding!r}')
    rows = [_f_row(fit, term, L) for term, L in hyps]
    rows.append(_residual_row(fit))
    return rows


# ---------------------------------------------------------------------------------------------
# Residual checks
def _fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def durbin_watson(resid) -> float:
    """Durbin-Watson statistic (lmtest::dwtest's statistic), by statsmodels."""
    return float(sm_durbin_watson(np.asarray(resid, float)))


def breusch_pagan(resid, Z, intercept: bool = True) -> tuple:
    """Studentised (Koenker) Breusch-Pagan test on regressors Z, as ``lmtest::bptest`` by default.

    With an intercept this is statsmodels' ``het_breuschpagan(robust=True)``: n R^2 of the
    squared residuals regressed on Z, chi-square on ncol(Z) - 1 df. Without an intercept
    statsmodels refuses (it wants a constant column) while bptest still regresses the centred
    squared residuals on Z through the origin; that case is computed here as bptest does.

    Returns
    -------
    (statistic, df, p_value)
    """
    e = np.asarray(resid, float)
    if intercept:
        stat, p, _, _ = het_breuschpagan(e, Z, robust=True)
        return float(stat), Z.shape[1] - 1, float(p)
    n = len(e)
    w = e ** 2 - np.mean(e ** 2)
    fitted = Z @ np.linalg.lstsq(Z, w, rcond=None)[0]
    stat = float(n * np.sum(fitted ** 2) / np.sum(w ** 2))
    df = Z.shape[1] - 1
    return stat, df, float(stats.chi2.sf(stat, df))


def residual_diagnostics(resid, X, perfect: bool = False, intercept: bool = True) -> tuple:
    """Durbin-Watson, Breusch-Pagan and Shapiro-Wilk on the residuals, with verdict sentences.

    Parameters
    ----------
    resid : ndarray (n,)
        Residuals in the row order of the data (Durbin-Watson depends on it).
    X : ndarray (n, p)
        The model's regressors (Breusch-Pagan's auxiliary regression uses them, as bptest).
    perfect : bool
        The fit is perfect; no test is computed.
    intercept : bool
        Whether X holds the intercept (see :func:`breusch_pagan`).

    Returns
    -------
    (dict, dict, list)
        Numbers (durbin_watson, breusch_pagan, breusch_pagan_df, breusch_pagan_p, shapiro_wilk,
        shapiro_wilk_p; None when not computable), verdicts (durbin_watson, breusch_pagan,
        shapiro_wilk) and FitWarnings for tests that could not be computed.
    """
    e = np.asarray(resid, float)
    n = len(e)
    keys = ("durbin_watson", "breusch_pagan", "breusch_pagan_df", "breusch_pagan_p", "shapiro_wilk",
            "shapiro_wilk_p")
    out = dict.fromkeys(keys)
    notes, warns = {}, []
    if perfect:
        msg = "Not computed: the model fits perfectly, so there are no residuals to check."
        return out, {"durbin_watson": msg, "breusch_pagan": msg, "shapiro_wilk": msg}, warns

    # Durbin-Watson: a rule of thumb rather than lmtest's exact p-value, which needs the Pan algorithm.
    dw = durbin_watson(e) if n >= 2 else np.nan
    out["durbin_watson"] = dw
    if not np.isfinite(dw):
        notes["durbin_watson"] = "Not computed: too few rows."
    elif dw < 1.5:
        notes["durbin_watson"] = (
            f"Residuals of neighbouring rows are positively correlated (Durbin-Watson {dw:.2f}; 2 means none). "
            "When rows are in time order or grouped (several rows per subject, school, ...), the observations "
            "are not independent and the standard errors are too small: consider a mixed model or a "
            "repeated-measures structure.")
    elif dw > 2.5:
        notes["durbin_watson"] = (
            f"Residuals of neighbouring rows are negatively correlated (Durbin-Watson {dw:.2f}; 2 means none). "
            "If the row order means something (time, position), the observations are not independent.")
    else:
        notes["durbin_watson"] = (
            f"No sign that residuals of neighbouring rows are correlated (Durbin-Watson {dw:.2f}; 2 means none). "
            "This only concerns the order of the rows in the data.")

    if X.shape[1] < 2:
        notes["breusch_pagan"] = "Not computed: the model has no predictor the residual variance could depend on."
    elif np.ptp(e ** 2) == 0:
        notes["breusch_pagan"] = "Not computed: all squared residuals are equal."
    else:
        bp, bdf, bpp = breusch_pagan(e, X, intercept)
        out.update(breusch_pagan=bp, breusch_pagan_df=bdf, breusch_pagan_p=bpp)
        if bpp < 0.05:
            notes["breusch_pagan"] = (
                f"The residual variance seems to change with the predictors (Breusch-Pagan {_fmt_p(bpp)}), so "
                "standard errors and p-values may be off. Look at the scale-location plot; a transformation of "
                "the outcome or a model that lets the variance differ may help.")
        else:
            notes["breusch_pagan"] = (
                f"No sign that the residual variance changes with the predictors (Breusch-Pagan {_fmt_p(bpp)}). "
                "A test is only a test: look at the residual plot too.")

    if not 3 <= n <= 5000:
        msg = (f"The Shapiro-Wilk test needs between 3 and 5000 residuals and there are {n}, so it was not "
               "computed; judge normality from the QQ plot.")
        notes["shapiro_wilk"] = msg
        warns.append(FitWarning("diagnostic_unavailable", msg, "diagnostics"))
    elif np.ptp(e) < 1e-10:
        msg = "The Shapiro-Wilk test was not computed: all residuals are equal."
        notes["shapiro_wilk"] = msg
        warns.append(FitWarning("diagnostic_unavailable", msg, "diagnostics"))
    else:
        # scipy's swilk is the same algorithm (Royston 1995, AS R94) as R's shapiro.test
        w, swp = stats.shapiro(e)
        out.update(shapiro_wilk=float(w), shapiro_wilk_p=float(swp))
        if swp < 0.05:
            notes["shapiro_wilk"] = (
                f"The residuals do not look normally distributed (Shapiro-Wilk {_fmt_p(swp)}). Look at the normal "
                "QQ plot: a few outliers or a skewed outcome are the usual causes. With many rows the tests of "
                "the coefficients are still roughly right.")
        else:
            notes["shapiro_wilk"] = (
                f"No sign that the residuals are far from normal (Shapiro-Wilk {_fmt_p(swp)}). Look at the normal "
                "QQ plot too; with few rows the test rarely objects.")
    if out["durbin_watson"] is not None and not np.isfinite(out["durbin_watson"]):
        out["durbin_watson"] = None
    return out, notes, warns
