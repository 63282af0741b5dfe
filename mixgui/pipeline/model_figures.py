"""The pictures that explain a mixed model, computed from the fit (never on the GUI thread).

- fitted lines: the data with each cluster's fitted line (X beta + Z b_j) and the population line
  (X beta) with its confidence band; a sample of clusters chosen across the spread of their BLUPs;
- pooling: each cluster's own estimate (no pooling), its BLUP-based estimate (partial pooling) and
  the overall estimate (complete pooling), with the reliability weight lambda_j;
- variance: the share of the fixed part, of each random term and of the residual, the ICC and the
  design effect it implies for the clusters in the data;
- within and between: a predictor's slope across cluster means and within clusters.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from mixgui.engine.effects import variance_components, variance_proportions
from mixgui.results.figures import MAX_GROUPS_DRAWN, Figure, shown_note

MAX_CLUSTERS = 30  # lines drawn: enough to see the spread, few enough to read
MAX_POINTS = 5000  # data points under the lines
Z95 = 1.959963984540054


def _sample(order_key: np.ndarray, limit: int) -> np.ndarray:
    """Indices of at most ``limit`` clusters evenly spread over the ranks of ``order_key``."""
    n = len(order_key)
    if n <= limit:
        return np.arange(n)
    ranks = np.argsort(order_key, kind="stable")
    return np.sort(ranks[np.unique(np.round(np.linspace(0, n - 1, limit)).astype(int))])


def _grid_frame(design, x: str, xs: np.ndarray) -> pd.DataFrame:
    """Rows along ``x``; other numbers at their means, factors at their reference level."""
    cols = {}
    for v in dict.fromkeys(v for t in design.term_vars for v in t):
        if v == x:
            cols[v] = xs
        elif v in design.factor_levels:
            cols[v] = [design.factor_levels[v][0]] * len(xs)
        else:
            cols[v] = np.full(len(xs), design.numeric_means.get(v, 0.0))
    return pd.DataFrame(cols)


def fitted_lines_data(design, fit, x: str, limit: int = MAX_CLUSTERS, points: int = 40) -> dict:
    """Population line with band, and the fitted line of a sample of clusters of the first grouping.

    Parameters
    ----------
    design : Design
    fit : fitted mixed model (``beta``, ``vcov``, ``blups`` per block)
    x : str
        A numeric fixed-effect predictor.
    limit : int
        At most this many cluster lines.

    Returns
    -------
    dict
        ``x`` (grid), ``population`` (fit, lower, upper), ``clusters`` (labels, lines (k, points)),
        ``shown``/``total`` clusters, ``points`` (x, y, cluster) of the shown clusters, ``group``.
    """
    xv = design.frame[x].to_numpy(float)
    xs = np.linspace(np.nanmin(xv), np.nanmax(xv), points)
    grid = _grid_frame(design, x, xs)
    X = design.model_matrix(grid)
    beta = np.asarray(fit.beta, float)
    pop = X @ beta
    se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", X, np.asarray(fit.vcov, float), X), 0))
    group = design.blocks[0].group
    blocks = [(k, b) for k, b in enumerate(design.blocks) if b.group == group]
    first = blocks[0][1]
    L = first.n_levels if hasattr(first, "n_levels") else len(first.levels)
    dev = np.zeros((L, len(xs)))
    for k, b in blocks:
        u = np.asarray(fit.blups[k], float)
        for t, name in enumerate(b.names):
            z = np.ones_like(xs) if name == "(Intercept)" else (xs if name == x else
                                                                np.full_like(xs, grid[name][0] if name in grid else 0))
            dev += np.outer(u[:, t], z)
    chosen = _sample(np.asarray(fit.blups[blocks[0][0]], float)[:, 0], limit)
    in_shown = np.isin(first.codes, chosen)
    rows = np.flatnonzero(in_shown)[:MAX_POINTS]
    return {"group": group, "x_label": x, "y_label": design.formula.response, "x": xs,
            "population": {"fit": pop, "lower": pop - Z95 * se, "upper": pop + Z95 * se},
            "clusters": {"labels": [first.levels[j] for j in chosen], "lines": pop[None, :] + dev[chosen]},
            "shown": int(len(chosen)), "total": int(L),
            "points": {"x": xv[rows], "y": design.y[rows], "cluster": first.codes[rows]}}


def pooling_data(design, fit) -> dict | None:
    """No, partial and complete pooling of the first random intercept, with lambda_j per cluster.

    No pooling is the cluster's mean deviation from the fixed part added to the intercept; partial
    pooling adds its BLUP instead, which for a random intercept is lambda_j times that deviation,
    lambda_j = tau00 / (tau00 + sigma^2 / n_j) (exact when the intercept is the only random term).
    """
    k = next((k for k, b in enumerate(design.blocks) if "(Intercept)" in b.names), None)
    if k is None:
        return None
    b = design.blocks[k]
    t = b.names.index("(Intercept)")
    beta = np.asarray(fit.beta, float)
    resid = design.y - design.X @ beta
    L = len(b.levels)
    n = np.bincount(b.codes, minlength=L).astype(float)
    raw = np.bincount(b.codes, weights=resid, minlength=L) / np.maximum(n, 1)
    tau = float(np.atleast_2d(fit.varcorr[k])[t, t])
    sigma2 = float(fit.sigma) ** 2
    lam = tau / (tau + sigma2 / np.maximum(n, 1))
    b0 = beta[design.column_names.index("(Intercept)")] if "(Intercept)" in design.column_names else 0.0
    # both at the cluster's own rows: with random slopes the BLUP intercept alone sits at x = 0
    cond = getattr(fit, "fitted_conditional", None)
    if cond is not None:
        partial = np.bincount(b.codes, weights=np.asarray(cond, float) - design.X @ beta, minlength=L) / np.maximum(n, 1)
    else:
        partial = np.asarray(fit.blups[k], float)[:, t]
    return {"group": b.group, "levels": list(b.levels), "n": n, "lambda": lam,
            "no_pooling": b0 + raw, "partial_pooling": b0 + partial,
            "complete_pooling": float(b0)}


def variance_data(design, fit) -> dict:
    """Shares of the outcome's variance (fixed part, each random term, residual), the ICC and design effect."""
    comps = variance_components(design.X, fit.beta, design.blocks, fit.varcorr, fit.sigma, design.column_names,
                                all_blocks=True)
    rows = variance_proportions(comps)
    random_total = sum(r["variance"] for r in rows if r["component"] == "random")
    icc = random_total / (random_total + comps["var_residual"]) if random_total + comps["var_residual"] > 0 else 0.0
    first = design.blocks[0]
    m = design.nobs / len(first.levels)
    return {"parts": [("Fixed effects" if r["component"] == "fixed" else
                       "Residual" if r["component"] == "residual" else f"{r['group']}") for r in rows],
            "variance": [r["variance"] for r in rows], "share": [r["proportion"] for r in rows],
            "icc": icc, "cluster_size": m, "design_effect": 1 + (m - 1) * icc, "group": first.group}


def within_between_data(design, x: str) -> dict:
    """The slope of ``x`` across cluster means (between) and within clusters, on the data."""
    b = design.blocks[0]
    xv = design.frame[x].to_numpy(float)
    y = design.y
    L = len(b.levels)
    n = np.maximum(np.bincount(b.codes, minlength=L), 1)
    xm = np.bincount(b.codes, weights=xv, minlength=L) / n
    ym = np.bincount(b.codes, weights=y, minlength=L) / n
    dx, dy = xv - xm[b.codes], y - ym[b.codes]
    # "no variation" relative to x's own spread: rounding leaves ~1e-30 where the means are all equal
    tiny = 1e-12 * max(float(np.sum((xv - xv.mean()) ** 2)), 1e-300)
    within = float(dx @ dy / (dx @ dx)) if dx @ dx > tiny else float("nan")
    cx = xm - xm.mean()
    between = float(cx @ (ym - ym.mean()) / (cx @ cx)) if cx @ cx > tiny / len(xv) * L else float("nan")
    # the slopes use every cluster; the picture draws at most MAX_GROUPS_DRAWN cluster means, spread
    # over x (5,000 large markers hid the lines and the data under one blot)
    shown = _sample(xm, MAX_GROUPS_DRAWN)
    return {"group": b.group, "x_label": x, "y_label": design.formula.response, "x": xv[:MAX_POINTS],
            "y": y[:MAX_POINTS], "cluster_x": xm[shown], "cluster_y": ym[shown], "within_slope": within,
            "between_slope": between, "between_intercept": float(ym.mean() - between * xm.mean()),
            "clusters_shown": int(len(shown)), "clusters_total": int(L),
            "mean_x": float(xm.mean()), "mean_y": float(ym.mean())}


def model_figures(design, fit, tick=None) -> list:
    """The explanatory figures of a mixed model with random terms (empty for other models).

    ``tick`` (a Progress step, which may raise Cancelled) is called between them: each takes up
    to ~0.5 s on millions of rows.
    """
    if design is None or fit is None or not design.blocks or getattr(fit, "blups", None) is None:
        return []
    tick = tick or (lambda: None)
    out = []
    numeric = [v for v in dict.fromkeys(v for t in design.term_vars for v in t) if v not in design.factor_levels]
    for x in numeric[:3]:
        d = fitted_lines_data(design, fit, x)
        title = f"Fitted lines: {x}" + (f" (showing {d['shown']} of {d['total']:,} {d['group']})"
                                        if d["shown"] < d["total"] else "")
        out.append(Figure(f"fitted_lines_{x}", title, "fitted_lines", d, {}))
        tick()
    pool = pooling_data(design, fit)
    if pool is not None:
        out.append(Figure("pooling", f"Pooling: {pool['group']}", "pooling", pool, {}))
    tick()
    out.append(Figure("variance", "Variance, pictured", "variance", variance_data(design, fit), {}))
    tick()
    for x in numeric[:1]:
        d = within_between_data(design, x)
        note = "" if d["clusters_shown"] == d["clusters_total"] else shown_note(
            d["clusters_shown"], d["clusters_total"], f"{d['group']} means", "spread over their mean of " + x)
        out.append(Figure(f"within_between_{x}", f"Within and between: {x}", "within_between", d, {}, note))
    return out
