"""Estimated marginal means and their contrasts, with R's emmeans's numbers.

The reference grid holds every combination of the levels of the ``specs`` and ``by`` factors;
each grid row's linear function L over the fixed effects is the average, with equal weights, of
the model-matrix rows over all levels of the other factors, with covariates at their means (or at
values the caller gives). A mean is L beta with standard error sqrt(L V L') and the df the caller's
``df_fn`` gives for L, so the same code serves mixed models (Satterthwaite, Kenward-Roger with V the
adjusted covariance), repeated-measures models and ordinary regression (residual df).

When the design dropped aliased columns, a mean is estimable only if its L (over all columns,
before the drop) lies in the row space of the full model matrix; otherwise it is reported as
missing with a :class:`~mixgui.errors.FitWarning` of kind ``non_estimable``, as emmeans prints
``nonEst``.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
from scipy import stats

from mixgui.analysis.spec import EmmeansRequest
from mixgui.engine.design import Design, _fixed_columns
from mixgui.engine.emmeans.adjust import ci_message, ci_method, correlation, critical_values
from mixgui.engine.emmeans.contrasts import (
    adjust_pvalues,
    adjustment_message,
    contrast_family,
    contrast_level_labels,
    two_sided_p,
)
from mixgui.errors import FitWarning, SpecError

__all__ = ["reference_grid", "emmeans", "estimate_rows", "full_model_matrix", "nonestimable_basis",
           "is_estimable", "value_label"]

ESTIMABLE_TOL = 1e-8  # estimability::is.estble's tolerance (relative squared length off the row space)


# -- the full (pre-drop) model matrix and estimability ---------------------------------------
def full_model_matrix(design: Design, frame: pd.DataFrame) -> np.ndarray:
    """Model-matrix rows for ``frame`` over every column of the design, aliased ones included.

    Columns are in the order of the design before aliased columns were dropped; the kept ones
    are ``design._keep``.
    """
    cols = _fixed_columns(design.formula.terms, design.intercept, frame, design.factor_levels)
    return np.column_stack([c for _, c in cols]) if cols else np.empty((len(frame), 0))


def _kept(design: Design) -> list:
    keep = list(getattr(design, "_keep", []) or [])
    return keep if keep else list(range(len(design.column_names)))


def nonestimable_basis(design: Design) -> np.ndarray | None:
    """Orthonormal basis of the null space of the full model matrix (None when X has full rank).

    A linear function L over all columns is estimable when L is orthogonal to this basis, the
    same test as emmeans's ``nonest.basis`` / ``is.estble``.
    """
    if not design.dropped_columns:
        return None
    X = full_model_matrix(design, design.frame)
    p = X.shape[1]
    rank = len(_kept(design))
    # The null space of X is that of its R factor; the SVD of the small R is cheap for any n.
    r = np.linalg.qr(X, mode="r")
    _, _, vt = np.linalg.svd(r)
    return vt[rank:].T if rank < p else None


def is_estimable(L_full: np.ndarray, basis: np.ndarray | None, tol: float = ESTIMABLE_TOL) -> np.ndarray:
    """Whether each row of ``L_full`` (over all columns) is estimable (see :func:`nonestimable_basis`)."""
    L_full = np.atleast_2d(np.asarray(L_full, float))
    if basis is None or basis.size == 0:
        return np.ones(L_full.shape[0], dtype=bool)
    off = L_full @ basis
    ssq = np.sum(L_full * L_full, axis=1)
    ssq = np.where(ssq < tol, 1.0, ssq)
    return np.sum(off * off, axis=1) < tol * ssq


# -- the reference grid ---------------------------------------------------------------------
def value_label(v) -> str:
    """A grid value as R prints it in a label: ``8`` not ``8.0``; 15 significant digits otherwise."""
    if isinstance(v, str):
        return v
    x = float(v)
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.15g}"


def _fixed_variables(design: Design) -> list:
    return list(dict.fromkeys(v for term in design.formula.terms for v in term))


def _grid_values(design: Design, var: str, at: dict) -> list:
    """Values a variable takes in the grid: factor levels (all, or those in ``at``) or numbers."""
    if var in design.factor_levels:
        levels = design.factor_levels[var]
        if var not in at:
            return list(levels)
        want = at[var]
        want = [want] if isinstance(want, (str, int, float)) else list(want)
        out = []
        for w in want:
            lab = value_label(w) if not isinstance(w, str) else w
            if lab not in levels:
                raise SpecError(f'"{lab}" is not a level of {var} (its levels are {", ".join(levels[:10])})')
            out.append(lab)
        return out
    if var in at:
        want = at[var]
        want = [want] if np.isscalar(want) else list(want)
        try:
            return [float(w) for w in want]
        except (TypeError, ValueError):
            raise SpecError(f"values of {var} for the marginal means must be numbers") from None
    return [design.numeric_means[var]]


def _check_variables(design: Design, specs, by) -> None:
    fixed = _fixed_variables(design)
    if not specs:
        raise SpecError('marginal means need "specs": the factor whose levels to compare')
    for v in list(specs) + list(by):
        if v not in fixed:
            factors = [f for f in fixed if f in design.factor_levels]
            hint = (f"; use one of {', '.join(factors)}" if factors else "; the model has no factor")
            raise SpecError(f'"{v}" is not a predictor in the fixed part of the model, so it has no marginal means{hint}')
    dup = set(specs) & set(by)
    if dup or len(set(specs)) != len(specs) or len(set(by)) != len(by):
        raise SpecError(f"a variable appears twice in specs and by ({', '.join(sorted(dup) or specs)}); list each once")


def _combos(lists: list) -> list:
    """Every combination, the first list varying fastest (R's expand.grid order)."""
    return [c[::-1] for c in itertools.product(*reversed(lists))]


def reference_grid(design: Design, specs, by=(), at: dict | None = None) -> pd.DataFrame:
    """The grid of means: every combination of the levels of ``specs`` and ``by``.

    Parameters
    ----------
    design : Design
    specs : sequence of str
        Variables whose means are wanted (usually factors).
    by : sequence of str
        Variables within whose levels the means (and their contrasts) are grouped.
    at : dict, optional
        Variable -> value(s): covariates held at these values instead of their means (several
        values of a covariate in ``specs``/``by`` make grid rows; several values of another one
        are averaged over), factors restricted to these levels.

    Returns
    -------
    DataFrame
        One row per mean, one column per variable of ``specs`` then ``by`` (factor levels as
        labels, covariates as numbers), the first variable varying fastest, levels in the
        factor's order (reference level first), as emmeans lists them. ``attrs`` holds:

        ``L``            ndarray (rows, p) over ``design.column_names``
        ``L_full``       ndarray (rows, p_all) over the columns before aliased ones were dropped
        ``cells``        ndarray (rows, c, p_all): the model-matrix rows averaged into each L
        ``cell_values``  list of c dicts: the values of the averaged-over variables for each cell
        ``averaged_over`` list of the factors averaged over (equal weights)
        ``covariates``   dict covariate -> the value(s) it is held at
    """
    specs, by, at = tuple(specs), tuple(by), dict(at or {})
    _check_variables(design, specs, by)
    variables = list(specs) + list(by)
    values = [_grid_values(design, v, at) for v in variables]
    grid = pd.DataFrame(_combos(values), columns=variables)
    for v in variables:
        grid[v] = grid[v].astype(object if v in design.factor_levels else float)

    others = [v for v in _fixed_variables(design) if v not in variables]
    other_values = [_grid_values(design, v, at) for v in others]
    cells = _combos(other_values) if others else [()]
    averaged = [v for v, vals in zip(others, other_values) if len(vals) > 1 or v in design.factor_levels]

    # One big frame: every grid row with every combination of the other variables.
    g, c = len(grid), len(cells)
    big = {}
    for v in variables:
        big[v] = np.repeat(grid[v].to_numpy(object), c)
    for j, v in enumerate(others):
        big[v] = np.tile(np.array([cell[j] for cell in cells], dtype=object), g)
    frame = pd.DataFrame(big)
    for v in frame.columns:
        if v not in design.factor_levels:
            frame[v] = frame[v].astype(float)
    X = full_model_matrix(design, frame).reshape(g, c, -1)
    L_full = X.mean(axis=1)
    grid.attrs.update(
        L=L_full[:, _kept(design)], L_full=L_full, cells=X,
        cell_values=[dict(zip(others, cell)) for cell in cells], averaged_over=averaged,
        covariates={v: (vals[0] if len(vals) == 1 else vals) for v, vals in zip(others, other_values)
                    if v not in design.factor_levels})
    for v in variables:
        if v not in design.factor_levels:
            grid.attrs["covariates"][v] = list(dict.fromkeys(grid[v]))
    return grid


# -- estimates ------------------------------------------------------------------------------
def _t_quantile(level: float, df: float) -> float:
    q = 0.5 + level / 2
    return float(stats.norm.ppf(q) if not np.isfinite(df) else stats.t.ppf(q, df))


def estimate_rows(L: np.ndarray, ok: np.ndarray, beta, vcov, df_fn, level: float = 0.95) -> dict:
    """Estimates, standard errors, df and confidence limits of linear functions L beta.

    Parameters
    ----------
    L : ndarray (r, p)
        Over the kept columns (those of ``beta``).
    ok : ndarray of bool (r,)
        Estimable rows; the others get NaN and ``df_fn`` is not called for them.
    beta : ndarray (p,)
    vcov : ndarray (p, p)
    df_fn : callable
        ``df_fn(L_row) -> float`` (``inf`` for z intervals).
    level : float
        Confidence level.

    Returns
    -------
    dict of ndarray (r,)
        ``estimate``, ``std_error``, ``df``, ``lower``, ``upper``, ``t_value``.
    """
    beta = np.asarray(beta, float)
    V = np.asarray(vcov, float)
    L = np.atleast_2d(np.asarray(L, float))
    if L.shape[1] != len(beta) or V.shape != (len(beta), len(beta)):
        raise ValueError(f"L has {L.shape[1]} columns, beta {len(beta)} entries and vcov shape {V.shape}")
    r = L.shape[0]
    out = {k: np.full(r, np.nan) for k in ("estimate", "std_error", "df", "lower", "upper", "t_value")}
    for i in np.flatnonzero(ok):
        est = float(L[i] @ beta)
        var = float(L[i] @ V @ L[i])
        se = math.sqrt(var) if var >= 0 else float("nan")
        df = float(df_fn(L[i]))
        half = _t_quantile(level, df) * se
        out["estimate"][i], out["std_error"][i], out["df"][i] = est, se, df
        out["lower"][i], out["upper"][i] = est - half, est + half
        out["t_value"][i] = est / se if se > 0 else float("nan")
    return out


def _num(x):
    """A plain float, or None for NaN (a non-estimable value); infinity stays (df of z tests)."""
    x = float(x)
    return None if math.isnan(x) else x


def _one_or_list(t):
    return None if not t else (t[0] if len(t) == 1 else list(t))


def _describe(values: dict) -> str:
    return ", ".join(f"{v} {value_label(x)}" for v, x in values.items())


def _nonest_warning(design: Design, grid: pd.DataFrame, i: int, label: str, basis) -> FitWarning:
    """Say which cell makes a mean non-estimable and whether it simply has no data."""
    row = {v: grid.iloc[i][v] for v in grid.columns}
    cells = grid.attrs["cells"][i]
    bad = np.flatnonzero(~is_estimable(cells, basis))
    cell = dict(row)
    if len(bad):
        cell.update(grid.attrs["cell_values"][bad[0]])
    factors = {v: x for v, x in cell.items() if v in design.factor_levels}
    empty = bool(factors) and not np.any(
        np.logical_and.reduce([design.frame[v].astype(str).to_numpy() == str(x) for v, x in factors.items()]))
    averaged = len(cells) > 1 and len(bad)
    if empty and averaged:
        why = f"it averages over {_describe(factors)}, a combination with no data."
    elif empty:
        why = "that combination has no data."
    else:
        why = (f"it depends on columns of the model that were dropped as aliased "
               f"({', '.join(design.dropped_columns)}).")
    return FitWarning("non_estimable", f"The mean for {label} cannot be estimated: {why}", "emmeans")


def emmeans(design: Design, beta, vcov, df_fn, request: EmmeansRequest, level: float = 0.95,
            at: dict | None = None, df_method: str | None = None, df_fn_multi=None) -> dict:
    """Marginal means over ``request.specs`` (within ``request.by``) and the requested contrasts.

    Parameters
    ----------
    design : Design
    beta : ndarray (p,)
        Fixed effects over ``design.column_names``.
    vcov : ndarray (p, p)
        Their covariance (Kenward-Roger's adjusted one when that df method is used).
    df_fn : callable
        ``df_fn(L_row) -> float``: denominator df for one linear function (residual df for an
        ordinary regression, ``inf`` for z tests).
    request : EmmeansRequest
    level : float
        Confidence level of the intervals of the means.
    at : dict, optional
        Covariate values (or factor levels) to use, see :func:`reference_grid`.
    df_method : str, optional
        Echoed in the result.
    df_fn_multi : callable, optional
        Unused; reserved for joint tests.

    Returns
    -------
    dict
        ``specs`` (str, or list for several), ``by`` (str, list or None), ``df_method`` (when given),
        ``confidence_level``, ``averaged_over`` (factors averaged with equal weights), ``covariates``
        (covariate -> value(s) it is held at),
        ``emmeans``: rows ``{"level", "levels", "emmean", "std_error", "df", "lower", "upper"}``
        (``level`` the values joined with ", "; ``levels`` variable -> value; ``by`` variable ->
        value when there is a ``by``), ``contrasts``: one block per requested family
        ``{"method", "adjust", "adjust_used", "name", "family_size", "n_means", "note", "message",
        "confidence_level", "ci_adjust_used", "ci_message",
        "rows": [{"contrast", ("by",) "estimate", "std_error", "df", "t_value", "p_value",
        "p_value_unadjusted", "lower", "upper"}]}`` (``by`` a dict variable -> value; ``lower`` and
        ``upper`` the confidence limits adjusted as emmeans' ``confint`` adjusts them, see
        :func:`mixgui.engine.emmeans.adjust.ci_method`), and ``warnings``: a list of
        :class:`~mixgui.errors.FitWarning` (table ``emmeans``; kind ``non_estimable``, or
        ``averaged_over_interaction`` when the means average over a factor they interact with).
        Non-estimable values are None; an infinite df stays ``inf``.

    Raises
    ------
    SpecError
        An unknown variable, a control level that does not exist, custom weights of the wrong
        length or not summing to zero.
    """
    specs, by = tuple(request.specs), tuple(request.by)
    grid = reference_grid(design, specs, by, at)
    L, L_full = grid.attrs["L"], grid.attrs["L_full"]
    basis = nonestimable_basis(design)
    ok = is_estimable(L_full, basis)
    res = estimate_rows(L, ok, beta, vcov, df_fn, level)

    variables = list(specs) + list(by)
    labels = [", ".join(value_label(grid.iloc[i][v]) for v in variables) for i in range(len(grid))]
    rows, warnings = [], []
    for i in range(len(grid)):
        row = {"level": labels[i], "levels": {v: value_label(grid.iloc[i][v]) for v in variables}}
        if by:
            row["by"] = {v: value_label(grid.iloc[i][v]) for v in by}
        row.update(emmean=_num(res["estimate"][i]), std_error=_num(res["std_error"][i]), df=_num(res["df"][i]),
                   lower=_num(res["lower"][i]), upper=_num(res["upper"][i]))
        rows.append(row)
        if not ok[i]:
            warnings.append(_nonest_warning(design, grid, i, _describe({v: grid.iloc[i][v] for v in variables}),
                                            basis))

    # Means of one `by` group are consecutive (the spec variables vary fastest).
    k = int(np.prod([len(set(map(value_label, grid[v]))) for v in specs])) if len(grid) else 0
    groups = [list(range(s, s + k)) for s in range(0, len(grid), k)] if k else []
    first = grid.iloc[groups[0]] if groups else grid
    con_labels = contrast_level_labels({v: [value_label(x) for x in first[v]] for v in specs})
    raw_labels = [", ".join(value_label(first.iloc[j][v]) for v in specs) for j in range(len(first))]
    what = " x ".join(specs)

    blocks = [_contrast_block(c, groups, con_labels, raw_labels, what, L, ok, beta, vcov, df_fn, grid, by, level)
              for c in request.contrasts]
    note = interaction_warning(design, specs, by, grid.attrs["covariates"])
    if note is not None:
        warnings.append(note)
    out = {"specs": _one_or_list(specs), "by": _one_or_list(by)}
    if df_method is not None:
        out["df_method"] = df_method
    out.update(confidence_level=level, averaged_over=list(grid.attrs["averaged_over"]), covariates=grid.attrs["covariates"],
               emmeans=rows, contrasts=blocks, warnings=warnings)
    return out


def interaction_warning(design: Design, specs, by, covariates: dict | None = None) -> FitWarning | None:
    """emmeans' "Results may be misleading due to involvement in interactions", in plain words.

    Given when a term of the model holds every variable of ``specs`` and ``by`` and more (emmeans'
    ``.some.term.contains``): the means are then averaged over (or, for a covariate, taken at one
    value of) a variable that changes the differences between them.
    """
    facs = set(specs) | set(by)
    others: list = []
    for term in design.formula.terms:
        if facs <= set(term) and len(set(term)) > len(facs):
            others += [v for v in term if v not in facs and v not in others]
    if not others:
        return None
    covariates = covariates or {}
    what = " x ".join(specs)
    parts = []
    for v in others:
        if v in design.factor_levels:
            parts.append(f"averaged over the levels of {v}")
        else:
            at = covariates.get(v, design.numeric_means.get(v))
            shown = value_label(at) if np.isscalar(at) else ", ".join(map(value_label, at))
            parts.append(f"taken at {v} = {shown}")
    factors = [v for v in others if v in design.factor_levels]
    remedy = (f'ask for the means of {what} at each level of {" and ".join(factors)} instead (choose '
              f'{" and ".join(factors)} under "by")' if factors else
              f"compare {what} at several chosen values of {', '.join(others)} instead")
    return FitWarning(
        "averaged_over_interaction",
        f"The means of {what} are {' and '.join(parts)}, although the model lets the differences between them "
        f"change with {' and '.join(others)} (an interaction), so these means may be misleading; {remedy}.",
        "emmeans")


def _contrast_block(contrast, groups, con_labels, raw_labels, what, L, ok, beta, vcov, df_fn, grid, by,
                    level=0.95) -> dict:
    fam = contrast_family(contrast, con_labels, raw_labels, what)
    k, m = fam.coef.shape
    V = np.asarray(vcov, float)
    rows, used, note = [], "none", None
    ci_used = ci_method(contrast.adjust, m, fam.pairs) if groups else "none"
    for g in groups:
        Lc = fam.coef.T @ L[g]
        # A contrast touching a non-estimable mean is not estimable either (emmeans's rule).
        okc = np.array([not np.any((fam.coef[:, j] != 0) & ~ok[g]) for j in range(m)], dtype=bool)
        r = estimate_rows(Lc, okc, beta, vcov, df_fn)
        corr = correlation(Lc[okc] @ V @ Lc[okc].T) if contrast.adjust == "mvt" else None
        p_raw = two_sided_p(r["t_value"], r["df"])
        p_adj, used, note = adjust_pvalues(r["t_value"], r["df"], p_raw, contrast.adjust, k, fam.pairs, corr)
        # limits adjusted as emmeans' confint() adjusts them (Bonferroni for Holm, FDR, Hommel)
        crit = critical_values(ci_used, level, r["df"], k, m, corr)
        for j in range(m):
            row = {"contrast": fam.names[j]}
            if by:
                row["by"] = {v: value_label(grid.iloc[g[0]][v]) for v in by}
            half = crit[j] * r["std_error"][j]
            row.update(estimate=_num(r["estimate"][j]), std_error=_num(r["std_error"][j]), df=_num(r["df"][j]),
                       t_value=_num(r["t_value"][j]), p_value=_num(p_adj[j]), p_value_unadjusted=_num(p_raw[j]),
                       lower=_num(r["estimate"][j] - half), upper=_num(r["estimate"][j] + half))
            rows.append(row)
    if m <= 1 or not groups:
        used = "none"
    if k < 2:
        note = (f"{what} has a single value in the grid, so there is nothing to compare; give it several "
                "values (a factor, or covariate values in at)")
    return {"method": contrast.method, "adjust": contrast.adjust, "adjust_used": used,
            "name": contrast.name, "family_size": m, "n_means": k, "note": note,
            "message": adjustment_message(used, k, m), "confidence_level": level, "ci_adjust_used": ci_used,
            "ci_message": ci_message(ci_used, k, m), "rows": rows}
