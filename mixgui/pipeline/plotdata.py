"""Plot data (arrays and labels, no drawing) for the figures the views and reports show.

Everything here is computed in the worker from a fitted model and its design; :mod:`mixgui.gui.plots` only draws.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from mixgui.engine.ols.fit import normal_qq
from mixgui.results.figures import MAX_GROUPS_DRAWN, MAX_POINTS_DRAWN

#: rows per piece of a per-group pass over millions of rows, between two ``tick`` calls (~0.1-0.3 s each)
CHUNK_ROWS = 1_000_000


def spread(n: int, k: int = MAX_GROUPS_DRAWN) -> np.ndarray:
    """``k`` positions out of ``n`` evenly spaced, first and last included (all of them when n <= k)."""
    if n <= k:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, k)).astype(int))


def qq_data(values, level: float = 0.95) -> dict:
    """Normal QQ plot with R's qqline and a pointwise confidence envelope.

    Delegates to :func:`mixgui.engine.ols.fit.normal_qq` (one algorithm for every model) and names
    the pieces for the views: ``theoretical``, ``sample`` (sorted), ``order`` (index into the input
    of each sorted point), ``line`` (intercept, slope), ``lower``, ``upper``.
    """
    q = normal_qq(values, level)
    return {"theoretical": q["theoretical"], "sample": q["sample"], "order": q["order"],
            "line": (float(q["line_intercept"]), float(q["line_slope"])),
            "lower": q["envelope_lower"], "upper": q["envelope_upper"]}


def point_sample(std, k: int, seed: int = 0, extremes: float | None = 3.0) -> np.ndarray:
    """Positions of at most about ``k`` of the points, sorted: a seeded random sample, plus (``extremes``)
    every point whose standardised residual is beyond that many SDs, so outliers are always drawn."""
    n = len(std)
    if n <= k:
        return np.arange(n)
    keep = np.random.default_rng(seed).choice(n, size=k, replace=False)
    if extremes is not None:
        keep = np.union1d(keep, np.flatnonzero(np.abs(np.nan_to_num(std)) > extremes))
    return np.sort(keep)


def residual_diagnostics(fitted, residuals, scale, max_points: int = MAX_POINTS_DRAWN, tick=None) -> dict:
    """Residual vs fitted, scale-location, QQ and histogram data.

    Parameters
    ----------
    fitted, residuals : array
    scale : float
        Residual SD used to standardise (sigma of the model).
    max_points : int
        Points drawn at most (beyond it a seeded random sample plus every residual beyond 3 SD;
        the QQ plot of a plain random sample, since a QQ plot of the sample reads as the whole's).
        ``positions`` (and ``qq["positions"]``) give the fitted rows of the points kept; the
        histogram always counts every residual.
    tick : callable, optional
        Called between the histogram and the samples (each ~0.3 s on 5,000,000 residuals).
    """
    fitted = np.asarray(fitted, float)
    resid = np.asarray(residuals, float)
    std = resid / scale if scale and np.isfinite(scale) and scale > 0 else resid * np.nan
    counts, edges = np.histogram(resid[np.isfinite(resid)], bins="auto") if len(resid) else (np.empty(0), np.empty(1))
    if tick is not None:
        tick()
    keep = point_sample(std, max_points)
    qq_keep = point_sample(std, max_points, extremes=None)
    qq = dict(qq_data(std[qq_keep]), positions=qq_keep, note="" if len(qq_keep) == len(resid) else
              f"A random sample of {len(qq_keep):,} of the {len(resid):,} residuals; a QQ plot of a random "
              "sample reads as that of all of them.")
    note = "" if len(keep) == len(resid) else (
        f"Showing {len(keep):,} of {len(resid):,} points (a random sample, plus every residual beyond 3 SD).")
    return {"fitted": fitted[keep], "residuals": resid[keep], "standardised": std[keep],
            "scale_location": np.sqrt(np.abs(std[keep])), "qq": qq, "positions": keep, "note": note,
            "histogram": {"counts": counts, "edges": edges}}


def _pieces(counts: np.ndarray) -> np.ndarray:
    """Bounds ``[0, ..., L]`` of consecutive group ranges of about :data:`CHUNK_ROWS` rows each."""
    cum = np.cumsum(counts)
    cuts = np.searchsorted(cum, np.arange(CHUNK_ROWS, cum[-1], CHUNK_ROWS)) + 1 if len(cum) else []
    return np.unique(np.concatenate(([0], cuts, [len(counts)]))).astype(np.intp)


def _group_medians(resid: np.ndarray, codes: np.ndarray, L: int, tick=None) -> np.ndarray:
    """Median of each group's values (NaN for an empty group), ``tick()`` every :data:`CHUNK_ROWS` rows.

    pandas' grouped median (a counting sort of the codes and a selection per group: linear time)
    gives the numbers sorting each group gives: the middle value, or the mean of the two middle ones.
    """
    medians = np.full(L, np.nan)
    if not L or not len(codes):
        return medians
    bounds = _pieces(np.bincount(codes, minlength=L)[:L])
    for a, b in zip(bounds[:-1], bounds[1:]):
        if tick is not None:
            tick()
        rows = slice(None) if a == 0 and b == L else (codes >= a) & (codes < b)
        m = pd.Series(resid[rows]).groupby(codes[rows]).median()
        medians[m.index.to_numpy()] = m.to_numpy()
    return medians


def _rows_by_group(codes: np.ndarray, rows: np.ndarray) -> list:
    """``rows`` split by group code (groups in order of code, rows in their order): one stable sort."""
    c = codes[rows]
    if not len(c):
        return []
    # a radix sort for up to 65,536 groups (numpy sorts 16-bit integers so), else a merge sort
    key = c.astype(np.uint16) if c.max() < 2 ** 16 else c
    order = rows[np.argsort(key, kind="stable")]
    return np.split(order, np.flatnonzero(np.diff(codes[order])) + 1)


def residuals_by_group(residuals, codes, levels, max_groups: int | None = None, tick=None) -> dict:
    """Residuals split by a grouping column (shows clustering, the step that motivates mixed models).

    Parameters
    ----------
    residuals, codes : array
        One residual and the group code (0 .. len(levels) - 1) of each row.
    levels : sequence
        Group labels.
    max_groups : int, optional
        Return at most this many groups, evenly spread from the lowest to the highest median
        (:func:`spread`); the medians still use every group. None: every group.
    tick : callable, optional
        Called every :data:`CHUNK_ROWS` rows or so (a Progress step, which may raise Cancelled).

    Returns
    -------
    dict
        ``levels``, ``values`` (each group's residuals, sorted) and ``medians``, in order of median,
        and ``total``, the number of groups before ``max_groups``.
    """
    resid = np.asarray(residuals, float)
    codes = np.asarray(codes, dtype=np.intp)
    L = len(levels)
    # the medians of all groups in linear time, then the values of the groups returned only:
    # sorting all 5,000,000 residuals by group took 5-7 s with no chance to cancel
    medians = _group_medians(resid, codes, L, tick)
    order = np.argsort(medians, kind="stable")
    if max_groups is not None:
        order = order[spread(L, max_groups)]
    chosen = np.zeros(L, bool)
    chosen[order] = True
    rows = np.flatnonzero(chosen[codes]) if L else np.zeros(0, np.intp)
    groups = {int(codes[g[0]]): g for g in _rows_by_group(codes, rows)}
    values, done = [], 0
    for i in order:
        g = groups.get(int(i), rows[:0])
        values.append(np.sort(resid[g]))
        done += len(g)
        if tick is not None and done >= CHUNK_ROWS:
            tick()
            done = 0
    return {"levels": [str(levels[i]) for i in order], "values": values, "medians": medians[order], "total": L}


def caterpillar(block, blups, blup_sd, term: int = 0, z: float = 1.959963984540054) -> dict:
    """BLUPs of one term of one random-effects block with intervals, sorted by value.

    Intervals are BLUP ± z × conditional SD (95 % by default), as lme4's dotplot(ranef(condVar=TRUE)).
    """
    u = np.asarray(blups, float)[:, term]
    s = np.asarray(blup_sd, float)[:, term]
    order = np.argsort(u, kind="stable")
    return {"group": block.group, "term": block.names[term], "levels": [str(block.levels[i]) for i in order],
            "estimate": u[order], "lower": (u - z * s)[order], "upper": (u + z * s)[order], "order": order}


def shrinkage(design, fit, block_index: int = 0) -> dict:
    """No-pooling per-cluster estimates against the mixed model's (partial-pooling) ones.

    For block k with columns Z_k, the no-pooling deviation of cluster j is the least-squares fit of
    y - X beta - (other blocks' Z u) on Z_k within the cluster; the partial-pooling deviation is the
    BLUP. Both are reported on the coefficient scale (fixed effect of the same column, when the
    fixed part has it, plus the deviation), so the arrows point toward the population value.

    Returns
    -------
    dict with ``levels``, ``n`` (cluster sizes), ``names`` (term names), ``no_pooling`` (L×q, NaN
    where a cluster has too few rows), ``partial_pooling`` (L×q), ``population`` (q,).
    """
    blocks = design.blocks
    block = blocks[block_index]
    resid = design.y - design.X @ fit.beta
    for i, (b, u) in enumerate(zip(blocks, fit.blups)):
        if i != block_index:
            resid = resid - np.einsum("nq,nq->n", b.Z, np.asarray(u)[b.codes])
    q, L = block.q, block.n_levels
    codes = block.codes
    n = np.bincount(codes, minlength=L)
    # Per-cluster normal equations, all clusters at once: (Z'Z)_j and (Z'r)_j; bincount adds in row
    # order as np.add.at does (the same sums) and is ~10 times faster on millions of rows
    Z = block.Z
    ztz = np.empty((L, q, q))
    for a in range(q):
        for b in range(q):
            ztz[:, a, b] = np.bincount(codes, weights=Z[:, a] * Z[:, b], minlength=L)[:L]
    ztr = np.empty((L, q))
    for a in range(q):
        ztr[:, a] = np.bincount(codes, weights=Z[:, a] * resid, minlength=L)[:L]
    no_pool = np.full((L, q), np.nan)
    ok = np.linalg.matrix_rank(ztz) == q if L else np.zeros(0, bool)
    if ok.any():
        no_pool[ok] = np.linalg.solve(ztz[ok], ztr[ok][..., None])[..., 0]
    population = np.array([fit.beta[design.column_names.index(nm)] if nm in design.column_names else 0.0
                           for nm in block.names])
    return {"group": block.group, "levels": [str(v) for v in block.levels], "n": n, "names": list(block.names),
            "no_pooling": population + no_pool, "partial_pooling": population + np.asarray(fit.blups[block_index]),
            "population": population}


def observed_trajectories(x, y, codes, levels, colour_codes=None, max_lines: int | None = None,
                          tick=None) -> dict:
    """Observed values per subject, in order of x (spaghetti plot).

    Parameters
    ----------
    x, y, codes : array
        Per row: the x and y values and the subject's code (0 .. len(levels) - 1).
    levels : sequence
        Subject labels.
    colour_codes : array, optional
        Per row, the colour (line group) code; a line takes that of its first row.
    max_lines : int, optional
        Return at most this many subjects, every n-th in order of code (:func:`spread`). None: all.
    tick : callable, optional
        Called every :data:`CHUNK_ROWS` rows or so (a Progress step, which may raise Cancelled).

    Returns
    -------
    dict
        ``levels``, ``x``, ``y``, ``colour`` and ``rows`` (row positions) per subject with rows,
        and ``total``: how many subjects have rows.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    codes = np.asarray(codes, dtype=np.intp)
    present = np.flatnonzero(np.bincount(codes)) if len(codes) else np.zeros(0, np.intp)
    total = len(present)
    rows = np.arange(len(codes))
    if max_lines is not None and total > max_lines:
        # only the lines drawn are sorted: a plot needs a few hundred subjects, not 50,000
        chosen = np.zeros(int(present[-1]) + 1, bool)
        chosen[present[spread(total, max_lines)]] = True
        rows = np.flatnonzero(chosen[codes])
    idx, done = [], 0
    for g in _rows_by_group(codes, rows):
        idx.append(g[np.argsort(x[g], kind="stable")])  # in order of x, ties in row order (as np.lexsort)
        done += len(g)
        if tick is not None and done >= CHUNK_ROWS:
            tick()
            done = 0
    return {"levels": [str(levels[codes[i[0]]]) for i in idx],
            "x": [x[i] for i in idx], "y": [y[i] for i in idx],
            "colour": [None if colour_codes is None else colour_codes[i[0]] for i in idx],
            "rows": idx, "total": total}
