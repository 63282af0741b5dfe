"""Plot data (arrays and labels, no drawing) for the figures the views and reports show.

Everything here is computed in the worker from a fitted model and its design; :mod:`mixgui.gui.plots` only draws.
"""
from __future__ import annotations

import numpy as np

from mixgui.engine.ols.fit import normal_qq
from mixgui.results.figures import MAX_POINTS_DRAWN


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


def residual_diagnostics(fitted, residuals, scale, max_points: int = MAX_POINTS_DRAWN) -> dict:
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
    """
    fitted = np.asarray(fitted, float)
    resid = np.asarray(residuals, float)
    std = resid / scale if scale and np.isfinite(scale) and scale > 0 else resid * np.nan
    counts, edges = np.histogram(resid[np.isfinite(resid)], bins="auto") if len(resid) else (np.empty(0), np.empty(1))
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


def residuals_by_group(residuals, codes, levels) -> dict:
    """Residuals split by a grouping column (shows clustering, the step that motivates mixed models)."""
    resid = np.asarray(residuals, float)
    codes = np.asarray(codes)
    # one sort by group then value instead of a pass over the rows per group (50,000 groups took
    # minutes): each group's values are then a slice, its median the middle of the slice
    L = len(levels)
    ordered = resid[np.lexsort((resid, codes))]
    counts = np.bincount(codes, minlength=L)[:L]
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])) if L else np.zeros(0, int)
    groups = np.split(ordered, starts[1:]) if L else []
    medians = np.full(L, np.nan)
    has = counts > 0
    lo, hi = starts[has] + (counts[has] - 1) // 2, starts[has] + counts[has] // 2
    medians[has] = (ordered[lo] + ordered[hi]) / 2
    order = np.argsort(medians, kind="stable")
    return {"levels": [str(levels[i]) for i in order], "values": [groups[i] for i in order],
            "medians": medians[order]}


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
    # Per-cluster normal equations, all clusters at once: (Z'Z)_j and (Z'r)_j
    ztz = np.zeros((L, q, q))
    np.add.at(ztz, codes, block.Z[:, :, None] * block.Z[:, None, :])
    ztr = np.zeros((L, q))
    np.add.at(ztr, codes, block.Z * resid[:, None])
    no_pool = np.full((L, q), np.nan)
    ok = np.linalg.matrix_rank(ztz) == q if L else np.zeros(0, bool)
    if ok.any():
        no_pool[ok] = np.linalg.solve(ztz[ok], ztr[ok][..., None])[..., 0]
    population = np.array([fit.beta[design.column_names.index(nm)] if nm in design.column_names else 0.0
                           for nm in block.names])
    return {"group": block.group, "levels": [str(v) for v in block.levels], "n": n, "names": list(block.names),
            "no_pooling": population + no_pool, "partial_pooling": population + np.asarray(fit.blups[block_index]),
            "population": population}


def observed_trajectories(x, y, codes, levels, colour_codes=None) -> dict:
    """Observed values per subject, in order of x (spaghetti plot)."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    codes = np.asarray(codes)
    order = np.lexsort((x, codes))
    splits = np.flatnonzero(np.diff(codes[order])) + 1
    idx = np.split(order, splits)
    return {"levels": [str(levels[codes[i[0]]]) for i in idx if len(i)],
            "x": [x[i] for i in idx if len(i)], "y": [y[i] for i in idx if len(i)],
            "colour": [None if colour_codes is None else colour_codes[i[0]] for i in idx if len(i)],
            "rows": [i for i in idx if len(i)]}
