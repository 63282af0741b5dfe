"""Type III hypotheses of the fixed terms, as lmerTest's ``anova(type = 3)`` builds them.

For treatment-coded factors a coefficient is not the term's effect (it is a contrast at the
reference level of every other factor), so the hypothesis of a term is built on the
over-parametrised design ``rdX`` (every level of every factor in every term, SAS's approach):

1. ``M = (pinv(X) rdX)'``: each over-parametrised effect written over X's coefficients;
   rows are the effects, columns X's columns.
2. Terms are visited from the highest order down; a term contained in others (its variables are
   a proper subset of theirs and it has the same numeric variables, lmerTest's ``containment``;
   "variables" are those R codes by contrasts, see :func:`contrast_coded`)
   gets its columns of ``M`` replaced by the least-squares residuals on the columns of the terms
   containing it. That makes the hypothesis of a main effect orthogonal to its interactions.
3. The rows of ``M`` that are X's own columns are kept (a p x p matrix); the hypothesis of a term
   is the transpose of its columns, without rows that are all (nearly) zero.

As in lmerTest, values are passed through R's ``zapsmall`` (7 significant digits) so tiny
round-off does not become a spurious hypothesis row; and a model with at most one column or one
term uses the type I (sequential, Doolittle) hypotheses, which for a single term test the same
thing but with lmerTest's basis (the Satterthwaite F df depend on the basis).
"""
from __future__ import annotations

import numpy as np

from mixgui.engine.numerics import zapsmall

ROW_TOL = 1e-8  # lmerTest drops hypothesis rows whose absolute sum is below this


def _doolittle_L(A, eps=1e-6) -> np.ndarray:
    """Unit lower-triangular factor of A = L U without pivoting (lmerTest's ``doolittle``)."""
    n = A.shape[0]
    L = np.eye(n)
    U = np.zeros((n, n))
    for i in range(n):
        U[i, :] = A[i, :] - L[i, :i] @ U[:i, :]
        for j in range(i + 1, n):
            v = A[j, i] - L[j, :i] @ U[:i, i]
            L[j, i] = 0.0 if abs(U[i, i]) < eps else v / U[i, i]
    L[np.abs(L) < eps] = 0.0
    return L


def type1_hypotheses(design) -> dict:
    """Sequential (type I) hypotheses, lmerTest's ``get_contrasts_type1``."""
    X = np.asarray(design.X, float)
    p = X.shape[1]
    if p == 0 or (p == 1 and design.intercept):
        return {t: np.zeros((0, p)) for t in design.terms}
    Lt = np.ones((1, 1)) if p == 1 else _doolittle_L(X.T @ X).T
    return {t: Lt[cols, :] for t, cols in zip(design.terms, design.term_columns)}


def contrast_coded(term_vars) -> list:
    """The variables of each term that R codes by contrasts (a 1 in ``attr(terms, "factors")``).

    R's rule (``TermCode``, Statistical Models in S p. 38): variable v of term T is coded by
    contrasts when T without v is empty or lies within a preceding term; otherwise it gets a
    dummy for every level (a 2). In ``y ~ x + x:B`` the term ``x:B`` has B coded 1 and x coded 2.
    """
    out = []
    for k, t in enumerate(term_vars):
        t = set(t)
        out.append({v for v in t if not (t - {v}) or any((t - {v}) <= set(u) for u in term_vars[:k])})
    return out


def _contains(a_vars, b_vars, numeric) -> bool:
    """lmerTest's rule: a is in b when a's variables are a proper subset with the same numerics.

    The variables are those coded 1 in R's factors matrix (:func:`contrast_coded`).
    """
    a, b = set(a_vars), set(b_vars)
    return a < b and {v for v in a if v in numeric} == {v for v in b if v in numeric}


def type3_hypotheses(design) -> dict:
    """Type III hypothesis matrix of each fixed term.

    Parameters
    ----------
    design : Design
        Treatment-coded design (``X``, ``column_names``, ``terms``, ``term_vars``,
        ``term_columns``, ``intercept``, ``full_indicator_matrix()``, ``factor_levels``).

    Returns
    -------
    dict
        term label -> ndarray (k, p) over X's columns; k = 0 when the term cannot be tested
        (all its columns aliased, or an intercept-only model).
    """
    X = np.asarray(design.X, float)
    if X.shape[1] <= 1 or len(design.terms) <= 1:
        return type1_hypotheses(design)
    rdX, rd_names, _ = design.full_indicator_matrix()
    M = zapsmall((np.linalg.pinv(X) @ rdX).T)  # rows: over-parametrised effects; columns: X's columns
    numeric = {v for vars_ in design.term_vars for v in vars_ if v not in design.factor_levels}
    terms = list(design.terms)
    cols = dict(zip(terms, design.term_columns))
    vars_of = dict(zip(terms, design.term_vars))
    coded = dict(zip(terms, contrast_coded([tuple(v) for v in design.term_vars])))
    # highest order first; a stable sort keeps R's order among terms of the same order
    for t in sorted(terms, key=lambda t: -len(vars_of[t])):
        containing = [b for b in terms if _contains(coded[t], coded[b], numeric)]
        by = [c for b in containing for c in cols[b]]
        if not containing or not cols[t] or not by:
            continue
        A, Y = M[:, by], M[:, cols[t]]
        coef = np.linalg.lstsq(A, Y, rcond=None)[0]
        M[:, cols[t]] = zapsmall(Y - A @ coef)
    pos = {name: i for i, name in enumerate(rd_names)}
    missing = [c for c in design.column_names if c not in pos]
    if missing:
        raise ValueError(f"columns of X not in the over-parametrised design: {missing}")
    Msel = M[[pos[c] for c in design.column_names], :]  # (p, p): rows follow X's columns
    out = {}
    for t in terms:
        L = Msel[:, cols[t]].T
        out[t] = L[np.abs(L).sum(axis=1) > ROW_TOL]
    return out


def anova_table(design, inference) -> list:
    """Type III F tests of every fixed term.

    Parameters
    ----------
    design : Design
    inference : Inference
        Carries the df method (:class:`mixgui.engine.inference.core.Inference`).

    Returns
    -------
    list of dict
        ``term, num_df, den_df, f_value, p_value`` in the terms' order; a term without a testable
        hypothesis gets ``num_df`` 0 and NaN statistics (lmerTest's NA row).
    """
    return f_test_rows(design, inference, type3_hypotheses(design))


def f_test_rows(design, inference, hypotheses: dict) -> list:
    """F tests of ``hypotheses`` (term -> L) under ``inference``'s df method, rows as ``anova``.

    A term without a testable hypothesis gets ``num_df`` 0 and NaN statistics (lmerTest's NA
    row); an intercept-only model gets no rows, as lmerTest's table is then empty.
    """
    rows = []
    for term, L in hypotheses.items():
        if L.shape[0] == 0:
            if design.X.shape[1] <= 1:
                continue
            rows.append({"term": term, "num_df": 0, "den_df": np.nan, "f_value": np.nan, "p_value": np.nan})
            continue
        F, q, ddf, p = inference.ftest(L)
        rows.append({"term": term, "num_df": int(q), "den_df": float(ddf), "f_value": float(F),
                     "p_value": float(p)})
    return rows
