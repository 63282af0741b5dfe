"""Predicted trajectories for plots: population curves with confidence bands, and per-cluster fits.

:func:`population_trajectory` gives the model's mean over the values of a covariate or the levels
of a factor (typically time), one line per level of a chosen factor, other factors averaged with
equal weights and covariates at their means: the same reference-grid means as
:mod:`mixgui.engine.emmeans.means`, so a point on a curve equals the marginal mean emmeans would give.
:func:`cluster_trajectories` arranges each observed cluster's fitted values in order of x.
Both return plain dicts of numpy arrays and labels, for the plot views to draw.
"""
from __future__ import annotations

import numpy as np

from mixgui.engine.design import Design
from mixgui.engine.emmeans.contrasts import looks_numeric
from mixgui.engine.emmeans.means import estimate_rows, is_estimable, nonestimable_basis, reference_grid, value_label
from mixgui.errors import SpecError

__all__ = ["population_trajectory", "cluster_trajectories"]

N_POINTS = 25  # points along a covariate when the caller gives none: smooth enough for a line


def _factor_positions(levels: list) -> np.ndarray:
    """Where factor levels sit on the x axis: their values when they read as numbers (8, 10, 12),
    else 0, 1, 2 ... in level order."""
    if looks_numeric(levels):
        return np.array([float(v) for v in levels])
    return np.arange(len(levels), dtype=float)


def population_trajectory(design: Design, beta, vcov, df_fn, x: str, over_values=None, group: str | None = None,
                          level: float = 0.95, at: dict | None = None, n_points: int = N_POINTS) -> dict:
    """Model-predicted means along ``x``, one line per level of ``group``, with confidence bands.

    Parameters
    ----------
    design : Design
    beta, vcov : ndarray
        Fixed effects and their covariance (Kenward-Roger's adjusted one when that df method is used).
    df_fn : callable
        ``df_fn(L_row) -> float``, the df of each point's t interval (``inf`` for z).
    x : str
        A covariate or a factor of the fixed part (e.g. time).
    over_values : sequence, optional
        Values of a covariate (default: ``n_points`` evenly spaced over its observed range) or the
        levels of a factor to show (default: all, in level order).
    group : str, optional
        A factor of the fixed part: one line per level. Without it, a single line.
    level : float
        Confidence level of the bands.
    at : dict, optional
        Other covariates held at given values (default: their means), see
        :func:`~mixgui.engine.emmeans.means.reference_grid`.
    n_points : int

    Returns
    -------
    dict
        ``x`` (name), ``kind`` (``"numeric"`` or ``"factor"``), ``x_values`` (ndarray: covariate
        values, or factor positions), ``x_labels`` (list of str), ``group`` (name or None),
        ``level``, ``averaged_over``, ``covariates``, and ``lines``: one dict per group level with
        ``label`` (None without a group), ``fit``, ``se``, ``df``, ``lower``, ``upper`` (ndarrays;
        NaN where a mean cannot be estimated) and ``estimable`` (bool ndarray).
    """
    at = dict(at or {})
    if group is not None and group == x:
        raise SpecError(f"the trajectory of {x} cannot also be split by {x}; choose another factor for the lines")
    is_factor = x in design.factor_levels
    if is_factor:
        if over_values is not None:
            at[x] = [value_label(v) for v in over_values]
    else:
        if x not in design.numeric_means:
            raise SpecError(f'"{x}" is not a predictor in the fixed part of the model, so it cannot be the x axis')
        if over_values is None:
            col = design.frame[x].to_numpy(float)
            over_values = np.linspace(np.min(col), np.max(col), max(2, int(n_points)))
        at[x] = [float(v) for v in over_values]
    grid = reference_grid(design, (x,), (group,) if group else (), at)
    L, L_full = grid.attrs["L"], grid.attrs["L_full"]
    ok = is_estimable(L_full, nonestimable_basis(design))
    res = estimate_rows(L, ok, beta, vcov, df_fn, level)

    xs = list(dict.fromkeys(grid[x]))  # grid order: x varies fastest
    nx = len(xs)
    x_labels = [value_label(v) for v in xs]
    x_values = _factor_positions(x_labels) if is_factor else np.array(xs, dtype=float)
    lines = []
    for start in range(0, len(grid), nx):
        sl = slice(start, start + nx)
        lines.append({
            "label": value_label(grid.iloc[start][group]) if group else None,
            "fit": res["estimate"][sl], "se": res["std_error"][sl], "df": res["df"][sl],
            "lower": res["lower"][sl], "upper": res["upper"][sl], "estimable": ok[sl].copy()})
    return {"x": x, "kind": "factor" if is_factor else "numeric", "x_values": x_values, "x_labels": x_labels,
            "group": group, "level": level, "averaged_over": list(grid.attrs["averaged_over"]),
            "covariates": grid.attrs["covariates"], "lines": lines}


def cluster_trajectories(design: Design, fitted_conditional, group_codes, x: str | None = None,
                         group_labels=None) -> dict:
    """Each observed cluster's fitted values in order of ``x``.

    Parameters
    ----------
    design : Design
    fitted_conditional : array (n,)
        Fitted values including the random effects, one per row of the design.
    group_codes : array of int (n,)
        Cluster of each row (e.g. ``RandomBlock.codes``); negative codes are left out.
    x : str, optional
        Variable to order by and plot against: a covariate (its values) or a factor (its values
        when the levels read as numbers, else level positions). Default: row order.
    group_labels : sequence of str, optional
        Label of each code (e.g. ``RandomBlock.levels``); default the code itself.

    Returns
    -------
    dict
        ``x`` (name or None), ``x_labels`` (level labels for a factor x, else None) and
        ``clusters``: one dict per cluster (in code order) with ``label``, ``x``, ``fitted``,
        ``observed`` (ndarrays, sorted by x) and ``rows`` (their positions in the design).
    """
    fitted = np.asarray(fitted_conditional, float).ravel()
    codes = np.asarray(group_codes).ravel().astype(np.int64)
    n = design.nobs
    if len(fitted) != n or len(codes) != n:
        raise ValueError(f"fitted values ({len(fitted)}) and cluster codes ({len(codes)}) must have one entry "
                         f"per row of the design ({n})")
    x_labels = None
    if x is None:
        xv = np.arange(n, dtype=float)
    elif x in design.factor_levels:
        x_labels = list(design.factor_levels[x])
        pos = _factor_positions(x_labels)
        index = {lab: i for i, lab in enumerate(x_labels)}
        xv = pos[np.array([index[str(v)] for v in design.frame[x]])]
    elif x in design.frame.columns:
        xv = design.frame[x].to_numpy(float)
    else:
        raise SpecError(f'"{x}" is not a column of the model, so clusters cannot be drawn against it')
    # One sort by (cluster, x) and a split: fast for many clusters; ties keep row order.
    keep = np.flatnonzero(codes >= 0)
    order = keep[np.lexsort((keep, xv[keep], codes[keep]))]
    sorted_codes = codes[order]
    cuts = np.flatnonzero(np.diff(sorted_codes)) + 1
    clusters = []
    for rows in np.split(order, cuts):
        if len(rows) == 0:
            continue
        c = int(codes[rows[0]])
        label = str(group_labels[c]) if group_labels is not None else str(c)
        clusters.append({"label": label, "x": xv[rows], "fitted": fitted[rows], "observed": design.y[rows],
                         "rows": rows})
    return {"x": x, "x_labels": x_labels, "clusters": clusters}
