"""A grouping as a fixed factor versus as a random effect: no, partial and complete pooling.

The comparison the primer walks through: fitting ``y ~ group`` by least squares gives every group
its own estimate from its own rows (no pooling); ignoring the groups gives every group the grand
mean (complete pooling); the mixed model ``y ~ 1 + (1 | group)`` gives the overall estimate plus
the group's BLUP, pulled toward the overall estimate the more, the less a group's own rows say
(partial pooling).

Inputs are plain numbers and arrays (the mixed model's fixed intercept and BLUPs), so this
module does not depend on the mixed-model engine.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from mixgui.data.levels import as_labels, sorted_levels
from mixgui.errors import ModelError


def _reference_frame(design, group_column, levels):
    """One row per level of the group; other factors at their reference level, numbers at 0."""
    cols = {}
    variables = dict.fromkeys(v for t in design.term_vars for v in t)
    for v in variables:
        if v == group_column:
            cols[v] = list(levels)
        elif v in design.factor_levels:
            cols[v] = [design.factor_levels[v][0]] * len(levels)
        else:
            cols[v] = [0.0] * len(levels)
    return pd.DataFrame(cols)


def pooling_comparison(design_fixed_group, ols_fit, group_column: str, blups, blup_levels,
                       fixed_intercept: float) -> dict:
    """Per-group estimates with no, partial and complete pooling.

    Parameters
    ----------
    design_fixed_group : Design
        Design of the model with ``group_column`` as a fixed factor (e.g. ``y ~ group`` or
        ``y ~ group + x``).
    ols_fit : OlsFit
        Its least-squares fit (needs ``beta`` and ``vcov``).
    group_column : str
        The grouping column; a main-effect factor of that design.
    blups : array-like
        The mixed model's random-intercept BLUPs for this grouping, aligned with ``blup_levels``.
    blup_levels : sequence of str
        Level labels of the BLUPs (as in the results file's ``blups[group]["levels"]``).
    fixed_intercept : float
        The mixed model's fixed-effect estimate at the same reference point (the intercept of
        ``y ~ 1 + (1 | group)``, or of ``y ~ x + (1 | group)`` at x = 0).

    Returns
    -------
    dict
        ``group`` (column name); ``rows``: one dict per level in R's level order with ``group``,
        ``n``, ``raw_mean`` (mean outcome of its rows), ``no_pooling`` and ``no_pooling_se`` (the
        fixed model's estimate for the group: intercept + group coefficient, at the reference of
        the other predictors), ``partial_pooling`` (fixed_intercept + BLUP, None without a BLUP),
        ``complete_pooling`` (grand mean) and ``pulled`` (share of the way from the own-group
        estimate to the overall estimate the partial-pooling estimate moved: 0 = not at all,
        1 = all the way; None when the two coincide); ``grand_mean``; ``fixed_intercept``;
        ``arrays`` (the same columns as numpy arrays, for a plot); ``explanation`` (plain text);
        ``notes`` (list of str, e.g. levels without a BLUP).

    Raises
    ------
    ModelError
        ``group_column`` is not a main-effect factor of the design, or the BLUPs and their labels
        differ in length.
    """
    d = design_fixed_group
    if group_column not in d.factor_levels or (group_column,) not in [tuple(t) for t in d.term_vars]:
        raise ModelError(f"{group_column} is not a factor of the fixed-effects model; use a model with "
                         f"{group_column} as a categorical predictor for the pooling comparison")
    blups = np.asarray(blups, float).ravel()
    blup_levels = [str(v) for v in blup_levels]
    if len(blups) != len(blup_levels):
        raise ModelError(f"{len(blups)} BLUPs but {len(blup_levels)} level labels; they must match one to one")
    blup_of = dict(zip(blup_levels, blups))
    labels = as_labels(d.frame[group_column]).to_numpy()
    levels = sorted_levels(d.frame[group_column])
    y = np.asarray(d.y, float)
    grand = float(np.mean(y))

    X0 = d.model_matrix(_reference_frame(d, group_column, levels))
    no_pool = X0 @ ols_fit.beta
    no_pool_se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", X0, ols_fit.vcov, X0), 0.0))

    rows, notes = [], []
    for k, lv in enumerate(levels):
        mask = labels == lv
        b = blup_of.get(lv)
        partial = None if b is None else float(fixed_intercept + b)
        gap = no_pool[k] - fixed_intercept
        pulled = None
        if partial is not None and abs(gap) > 1e-12 * max(1.0, abs(fixed_intercept)):
            pulled = float(1.0 - b / gap)
        rows.append({"group": lv, "n": int(mask.sum()), "raw_mean": float(np.mean(y[mask])),
                     "no_pooling": float(no_pool[k]), "no_pooling_se": float(no_pool_se[k]),
                     "partial_pooling": partial, "complete_pooling": grand, "pulled": pulled})
    missing = [lv for lv in levels if lv not in blup_of]
    if missing:
        notes.append(f"No BLUP given for {len(missing)} level(s) of {group_column} "
                     f"({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''}); their partial-pooling "
                     "estimate is left empty.")
    extra = [lv for lv in blup_levels if lv not in set(levels)]
    if extra:
        notes.append(f"{len(extra)} BLUP level(s) are not levels of {group_column} in the fixed model's rows "
                     f"({', '.join(extra[:5])}); they were ignored.")

    def col(key):
        return np.array([np.nan if r[key] is None else r[key] for r in rows], float)

    arrays = {"levels": list(levels), "n": col("n"), "raw_mean": col("raw_mean"), "no_pooling": col("no_pooling"),
              "no_pooling_se": col("no_pooling_se"), "partial_pooling": col("partial_pooling"),
              "pulled": col("pulled")}
    return {"group": group_column, "rows": rows, "grand_mean": grand, "fixed_intercept": float(fixed_intercept),
            "arrays": arrays, "explanation": _explanation(d, group_column, rows, grand, fixed_intercept),
            "notes": notes}


def _explanation(design, group, rows, grand, fixed_intercept) -> str:
    others = [v for v in dict.fromkeys(v for t in design.term_vars for v in t) if v != group]
    text = (
        f"Three ways to estimate each {group}'s value. No pooling treats {group} as a fixed factor: each group "
        "gets its own estimate from its own rows only, so groups with few rows get noisy estimates. Complete "
        f"pooling ignores the groups: every group gets the grand mean ({grand:.4g}). Partial pooling treats "
        f"{group} as a random effect: each estimate is the overall estimate ({fixed_intercept:.4g}) plus the "
        "group's predicted deviation (its BLUP), which is pulled toward the overall estimate the more, the fewer "
        "rows the group has and the smaller the variance between groups is compared with the residual variance.")
    pulled = [(r["pulled"], r) for r in rows if r["pulled"] is not None]
    if pulled:
        avg = float(np.mean([p for p, _ in pulled]))
        p_max, r_max = max(pulled, key=lambda t: t[0])
        text += (f" Here the estimates moved on average {avg:.0%} of the way from the group's own estimate to the "
                 f"overall estimate; the most for {group} {r_max['group']} ({p_max:.0%}, n = {r_max['n']}).")
    if others:
        text += (f" The no-pooling estimates are at the reference level of the other factors and at 0 of the "
                 f"numeric predictors ({', '.join(others)}); the partial-pooling ones are at the point the mixed "
                 "model's intercept refers to, which should be the same.")
    return text
