"""Compare finished analyses of the same rows: R's ``anova(m0, m1, ...)`` across analyses.

Likelihoods are comparable only on the same rows of the same outcome, and REML likelihoods only
between models with the same fixed effects; otherwise every model is refitted by ML first (as
R's ``anova`` does) and the table says so.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixgui.engine.inference.lrt import compare_models, lm_loglik, ml_refit_needed
from mixgui.errors import MixGUIError
from mixgui.pipeline import contract as C
from mixgui.results.tables import Column, Table


@dataclass
class _Likelihood:
    """What :func:`compare_models` needs of one fit."""

    loglik: float
    reml: bool
    X: np.ndarray
    npar: int
    nobs: int


def _likelihood(result, ml: bool = False) -> _Likelihood:
    design, fit = result.design, result.fit
    n = design.nobs
    if result.info.model == "lm":
        # ML log-likelihood of lm (what R's logLik gives); parameters: coefficients and sigma
        return _Likelihood(lm_loglik(design.y, design.X), False, design.X, design.X.shape[1] + 1, n)
    if ml and fit.reml:
        fit = C.fit_mixed(result.spec, design, None, reml=False)
    return _Likelihood(float(fit.loglik), bool(fit.reml), np.asarray(fit.X, float),
                       len(np.ravel(fit.beta)) + len(np.ravel(fit.varpar)), n)


def check_same_rows(results, labels) -> None:
    """Refuse analyses that are not fitted to the same rows of the same outcome.

    Raises
    ------
    MixGUIError
        Different data files, numbers of rows, rows or outcomes, said in one sentence.
    """
    a, la = results[0], labels[0]
    for b, lb in zip(results[1:], labels[1:]):
        da, db = a.info.get("data_name"), b.info.get("data_name")
        if da != db:
            raise MixGUIError(f'"{la}" uses the data {da} and "{lb}" uses {db}; models can be compared only when '
                              "they are fitted to the same data")
        if a.design.nobs != b.design.nobs or not np.array_equal(a.design.rows, b.design.rows):
            raise MixGUIError(f'"{la}" uses {a.design.nobs} rows of {da} and "{lb}" {b.design.nobs}, not the same '
                              "rows (a missing value in a column only one model uses drops the row from that "
                              "model); leave those rows out of the data so both models use the same rows")
        ya, yb = a.design.formula.response, b.design.formula.response
        if ya != yb or not np.array_equal(a.design.y, b.design.y):
            raise MixGUIError(f'"{la}" models {ya} and "{lb}" models {yb}; likelihoods of different outcomes '
                              "cannot be compared")


def compare_analyses(results, labels=None) -> tuple:
    """Likelihood-ratio comparison of two or more finished analyses.

    Parameters
    ----------
    results : list of FitResult
        Fitted to the same rows of the same data (ordinary regressions, mixed and
        repeated-measures models can be mixed).
    labels : list of str, optional
        One name per analysis (default: its title, else "Model 1", "Model 2", ...).

    Returns
    -------
    (Table, dict)
        The table (rows ordered by number of parameters, each tested against the row above) and
        its data: ``models`` (``label, formula, method``), ``rows`` (``model, formula, npar, aic,
        bic, loglik, deviance, chisq, df, p_value``), ``refitted_ml`` (bool), ``method`` ("ML" or
        "REML": the likelihoods compared), ``nobs``, ``data_name`` and ``notes``.

    Raises
    ------
    MixGUIError
        Fewer than two analyses, labels that do not match, or analyses not on the same rows.
    """
    results = list(results)
    if len(results) < 2:
        raise MixGUIError("a comparison needs at least two analyses; give two or more analysis files")
    labels = list(labels) if labels is not None else [r.spec.title or f"Model {i + 1}" for i, r in enumerate(results)]
    if len(labels) != len(results) or len(set(labels)) != len(labels):
        raise MixGUIError("give each analysis its own label, one per analysis")
    check_same_rows(results, labels)
    fits = [_likelihood(r) for r in results]
    # mixed methods (REML beside ML, or beside lm's ML) are as incomparable as different fixed effects
    refit = ml_refit_needed(fits) or len({f.reml for f in fits}) > 1
    if refit:
        fits = [_likelihood(r, ml=True) for r in results]
    out = compare_models(fits, labels)
    formula = {lab: r.info.get("formula", r.spec.formula) for lab, r in zip(labels, results)}
    rows = [dict(row, formula=formula[row["model"]]) for row in out["rows"]]
    method = "REML" if out["reml"] else "ML"
    notes = ["Models are ordered by their number of parameters; each is tested against the one above it, which "
             "is valid when the smaller model is nested in the larger. A random term tested at a variance of zero "
             "gets a conservative χ² p-value."]
    if refit:
        notes.append("The models differ in their fixed effects (or in their fitting method), so their REML "
                     "likelihoods are not comparable: every model was refitted by maximum likelihood (ML) for this "
                     "table, as R's anova() does.")
    elif method == "REML":
        notes.append("The models have the same fixed effects, so their REML likelihoods are compared (R's "
                     "anova(..., refit = FALSE)); R's default anova() refits with ML and gives other numbers.")
        if any(r.spec.repeated is not None for r in results):
            # nlme's REML BIC (shown in each analysis' own table) counts log(n - p); lme4's anova log(n)
            notes.append("BIC here uses log(number of rows), as lme4's anova(); the REML BIC of a "
                         "repeated-measures model in its own table uses log(rows − fixed effects), as nlme.")
    data = {"models": [{"label": lab, "formula": formula[lab], "method": r.info.method}
                       for lab, r in zip(labels, results)],
            "rows": rows, "refitted_ml": bool(refit), "method": method, "nobs": results[0].design.nobs,
            "data_name": results[0].info.get("data_name"), "notes": notes}
    return comparison_table(data), data


def comparison_table(data: dict) -> Table:
    """The table of :func:`compare_analyses` from its data dict."""
    cols = [Column("model", "Model", "text"), Column("formula", "Formula", "text"), Column("npar", "Parameters", "int"),
            Column("aic", "AIC"), Column("bic", "BIC"), Column("loglik", f"Log-likelihood ({data.get('method')})"),
            Column("chisq", "LR χ²"), Column("df", "df", "df"), Column("p_value", "p", "p")]
    return Table("model_comparison", "Model comparison (likelihood-ratio tests)", cols, data["rows"],
                 list(data.get("notes") or []))
