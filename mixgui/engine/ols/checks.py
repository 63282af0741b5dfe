"""Statistical tests on an ordinary regression: type II / III ANOVA tables and residual checks.

Kept apart from :mod:`mixgui.engine.ols.fit` for size; everything here takes an
:class:`~mixgui.engine.ols.fit.OlsFit` (duck-typed, to avoid a circular import) or plain arrays.
Import the ANOVA functions from either module.

Type II and type III follow ``car::Anova`` for ``lm`` (R's reference for these tables):

* type II tests each term after every term that does not contain it (marginality), which for a
  linear model is the difference in residual sums of squares between the model without the term
  and its higher-order relatives and the model without the relatives only;
* type III with ``coding="treatment"`` tests each term's own columns (Wald F), which is what
  ``car::Anova(type = 3)`` does with R's default treatment contrasts: a main effect is then
  tested at the reference level of the factors it interacts with (and at 0 of a covariate);
* type III with ``coding="sas"`` tests the SAS / SPSS type III hypotheses, which equal
  ``car::Anova(type = 3)`` on the model refitted with sum-to-zero contrasts (``contr.sum``).
"""
from __future__ import annotations

import numpy as np
from scipy import stats

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


def _rss(X, y, cols):
    if not cols:
        return float(y @ y)
    Xs = X[:, cols]
    b = np.linalg.lstsq(Xs, y, rcond=None)[0]
    r = y - Xs @ b
    return float(r @ r)


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
    X, y, p = fit.X, fit.y, fit.X.shape[1]
    ms_res = fit.rss / fit.df_residual
    rows = []
    contained_in = _contains(fit)
    for i, (term, cols) in enumerate(zip(fit.terms, fit.term_columns)):
        rel = {c for j in contained_in[i] for c in fit.term_columns[j]}
        base = [c for c in range(p) if c not in rel]
        without = [c for c in base if c not in set(cols)]
        ss = _rss(X, y, without) - _rss(X, y, base) if cols else None
        rows.append(_row(term, ss, len(cols), ms_res, fit.df_residual))
    rows.append(_residual_row(fit))
    return rows


def _wald_ss(fit, L):
    """Sum of squares of the hypothesis L beta = 0, reduced to L's row space first."""
    L = np.atleast_2d(np.asarray(L, float))
    if L.size == 0:
        return None, 0
    _, sv, vt = np.linalg.svd(L, full_matrices=False)
    rank = int(np.sum(sv > _RANK_TOL * sv[0])) if sv.size and sv[0] > 0 else 0
    if rank == 0:
        return None, 0
    L = vt[:rank]
    Lb = L @ fit.beta
    return float(Lb @ np.linalg.solve(L @ fit.xtx_inv @ L.T, Lb)), rank


def sas_type3_hypotheses(fit) -> list:
    """SAS type III hypothesis matrices, one per term (and the intercept), in the coefficients of X.

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
    ms_res = fit.rss / fit.df_residual
    p = fit.X.shape[1]
    if coding == "treatment":
        hyps = [("(Intercept)", np.eye(p)[[0]])] if fit.intercept else []
        hyps += [(t, np.eye(p)[cols]) for t, cols in zip(fit.terms, fit.term_columns)]
    elif coding == "sas":
        hyps = sas_type3_hypotheses(fit)
    else:
        raise ValueError(f'coding must be "treatment" or "sas", not {coding!r}')
    rows = []
    for term, L in hyps:
        ss, df = _wald_ss(fit, L)
        rows.append(_row(term, ss, df, ms_res, fit.df_residual))
    rows.append(_residual_row(fit))
    return rows


# ---------------------------------------------------------------------------------------------
# Residual checks
def _fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def durbin_watson(resid) -> float:
    """Durbin-Watson statistic (lmtest::dwtest's statistic): sum of squared successive differences / RSS."""
    e = np.asarray(resid, float)
    return float(np.sum(np.diff(e) ** 2) / np.sum(e ** 2))


def breusch_pagan(resid, Z) -> tuple:
    """Studentised (Koenker) Breusch-Pagan test on regressors Z, as ``lmtest::bptest`` by default.

    The squared residuals, centred at their mean, are regressed on Z; the statistic is
    n * (explained sum of squares) / (total sum of squares of the centred squares), referred to a
    chi-square on ncol(Z) - 1 df (Z includes the intercept column).

    Returns
    -------
    (statistic, df, p_value)
    """
    e = np.asarray(resid, float)
    n = len(e)
    w = e ** 2 - np.mean(e ** 2)
    fitted = Z @ np.linalg.lstsq(Z, w, rcond=None)[0]
    stat = float(n * np.sum(fitted ** 2) / np.sum(w ** 2))
    df = Z.shape[1] - 1
    return stat, df, float(stats.chi2.sf(stat, df))


def residual_diagnostics(resid, X, perfect: bool = False) -> tuple:
    """Durbin-Watson, Breusch-Pagan and Shapiro-Wilk on the residuals, with verdict sentences.

    Parameters
    ----------
    resid : ndarray (n,)
        Residuals in the row order of the data (Durbin-Watson depends on it).
    X : ndarray (n, p)
        The model's regressors (Breusch-Pagan's auxiliary regression uses them, as bptest).
    perfect : bool
        The fit is perfect; no test is computed.

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
        bp, bdf, bpp = breusch_pagan(e, X)
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
