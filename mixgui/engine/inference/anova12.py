"""Type I (sequential) and type II hypotheses of the fixed terms of a mixed model.

Both are built from a Doolittle (LU without pivoting) factorisation of a cross-product matrix ``M``
of the fixed-effects design, as lmerTest's ``get_contrasts_type1`` / ``get_contrasts_type2``:

* type I: the rows of L' (``M = L D L'``) belonging to each term; each term is tested after the
  terms before it in the formula;
* type II: a term contained in no other term gets its own coefficients (tested after every other
  term); any other term is tested after every term that does not contain it, by moving its columns
  and those of the terms containing it to the end before the factorisation.

Which ``M``: lmerTest uses the unweighted ``X'X`` for lmer models; nlme's sequential anova of a gls
model and car's type II Wald tests use the generalized-least-squares metric ``X'V^-1X``. With a
repeated (R-side) structure we follow nlme, car and SAS (``X'V^-1X``); with random effects only we
follow lmerTest (``X'X``). On a balanced design the two agree.
"""
from __future__ import annotations

import numpy as np

from mixgui.engine.inference.anova3 import _contains, _doolittle_L, contrast_coded, f_test_rows


def _small(design) -> bool:
    p = design.X.shape[1]
    return p <= 1 or len(design.terms) <= 1


def type1_hypotheses(design, M=None) -> dict:
    """Sequential hypotheses of each term over X's columns.

    Parameters
    ----------
    design : Design
    M : ndarray (p, p), optional
        The cross-product to factorise (default ``X'X``, lmerTest's).

    Returns
    -------
    dict
        term label -> ndarray (k, p).
    """
    X = np.asarray(design.X, float)
    p = X.shape[1]
    if p == 0 or (p == 1 and design.intercept):
        return {t: np.zeros((0, p)) for t in design.terms}
    M = X.T @ X if M is None else np.asarray(M, float)
    Lt = np.ones((1, 1)) if p == 1 else _doolittle_L(M).T
    return {t: Lt[cols, :] for t, cols in zip(design.terms, design.term_columns)}


def type2_hypotheses(design, M=None) -> dict:
    """Type II hypotheses (lmerTest's ``get_contrasts_type2_unfolded``) over X's columns.

    Parameters
    ----------
    design : Design
    M : ndarray (p, p), optional
        The cross-product (default ``X'X``).

    Returns
    -------
    dict
        term label -> ndarray (k, p).
    """
    if _small(design):
        return type1_hypotheses(design, M)
    X = np.asarray(design.X, float)
    p = X.shape[1]
    M = X.T @ X if M is None else np.asarray(M, float)
    terms = list(design.terms)
    cols = dict(zip(terms, design.term_columns))
    numeric = {v for vars_ in design.term_vars for v in vars_ if v not in design.factor_levels}
    coded = dict(zip(terms, contrast_coded([tuple(v) for v in design.term_vars])))
    out = {}
    for t in terms:
        containing = [b for b in terms if _contains(coded[t], coded[b], numeric)]
        if not containing:  # marginal: the term's own coefficients, after everything else
            out[t] = np.eye(p)[cols[t], :]
            continue
        last = list(cols[t]) + [c for b in containing for c in cols[b]]
        order = [c for c in range(p) if c not in last] + last
        L = _doolittle_L(M[np.ix_(order, order)]).T    # rows and columns in the new order
        rows = [order.index(c) for c in cols[t]]
        H = np.zeros((len(rows), p))
        H[:, order] = L[rows, :]                         # columns back in X's order
        out[t] = H
    return out


def anova_rows(design, inference, hypotheses: dict) -> list:
    """F tests of ``hypotheses`` under ``inference``'s df method, rows as the contract's ``anova``."""
    # rows that came out as zero (a hypothesis already spent on earlier terms) test nothing
    kept = {term: (L[np.abs(L).sum(axis=1) > 1e-8] if L.size else L) for term, L in hypotheses.items()}
    return f_test_rows(design, inference, kept)


def anova_table_of_type(design, inference, kind: int, gls_metric: bool, model_vcov=None) -> list:
    """The type I or II table of a mixed model.

    Parameters
    ----------
    design : Design
    inference : Inference
    kind : int
        1 (sequential) or 2.
    gls_metric : bool
        Build the hypotheses on ``X'V^-1X`` (nlme, car, SAS: models with a repeated structure),
        otherwise on ``X'X`` (lmerTest).
    model_vcov : ndarray, optional
        The model-based covariance of beta, ``(X'V^-1X)^-1`` up to scale (needed when
        ``gls_metric``); its inverse is the metric.

    Returns
    -------
    list of dict
        ``term, num_df, den_df, f_value, p_value`` per term.
    """
    M = None
    if gls_metric:
        M = np.linalg.inv(np.asarray(model_vcov, float))
        M = M / np.mean(np.diag(M))  # the Doolittle cut-offs are absolute; L does not depend on the scale
    hyp = type1_hypotheses(design, M) if kind == 1 else type2_hypotheses(design, M)
    return anova_rows(design, inference, hyp)
