"""Which figures a result has, and their data, computed in the worker (never on the window's thread).

One list shared by the window's plot tabs, the reports and ``mixgui fit --plots``. Figures with a
row, point or line per group draw at most :data:`~mixgui.results.figures.MAX_GROUPS_DRAWN` groups,
spread over the whole range, and say so; the tables and the fit always use every group.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from mixgui.engine.emmeans.trajectories import population_trajectory
from mixgui.errors import MixGUIError
from mixgui.pipeline import plotdata
from mixgui.pipeline.glmm_figures import caterpillar_label, response_trajectory_figure
from mixgui.pipeline.model_figures import model_figures
from mixgui.pipeline.plotdata import spread
from mixgui.results.figures import MAX_GROUPS_DRAWN, Figure, shown_note

log = logging.getLogger(__name__)


def _fitted_and_residuals(fit):
    for f_name, r_name in (("fitted_conditional", "residuals"), ("fitted", "residuals"), ("fittedvalues", "resid")):
        f, r = getattr(fit, f_name, None), getattr(fit, r_name, None)
        if f is not None and r is not None:
            return np.asarray(f, float), np.asarray(r, float)
    return None, None


def _by_group(resid, block, tick=None) -> Figure:
    d = plotdata.residuals_by_group(resid, block.codes, block.levels, max_groups=MAX_GROUPS_DRAWN, tick=tick)
    note, total = "", d.pop("total")
    if total > MAX_GROUPS_DRAWN:
        note = shown_note(len(d["levels"]), total, f"{block.group} groups", "evenly spread from the lowest to the "
                          "highest median")
    return Figure("by_group", f"Residuals by {block.group}", "by_group", d, {"group": block.group}, note)


def _caterpillar(k, t, block, blups, blup_sd, link=None) -> Figure:
    c = plotdata.caterpillar(block, blups, blup_sd, t)
    if link is not None:  # a generalized model's random effects are on the link scale: the axis says which
        c["x_label"] = caterpillar_label(link)
    note, total = "", len(c["levels"])
    if total > MAX_GROUPS_DRAWN:
        keep = spread(total)  # rows are sorted by value: the spread keeps both tails
        c = dict(c, levels=[c["levels"][i] for i in keep],
                 **{key: np.asarray(c[key])[keep] for key in ("estimate", "lower", "upper", "order")})
        note = shown_note(len(keep), total, f"{block.group} levels", "evenly spread from the lowest to the highest")
    name = block.names[t]
    return Figure(f"caterpillar_{k}_{t}", f"BLUPs: {name} | {block.group}", "caterpillar", c, {}, note)


def _shrinkage(design, fit) -> Figure:
    s = plotdata.shrinkage(design, fit, 0)
    block = design.blocks[0]
    note, total = "", len(s["levels"])
    if total > MAX_GROUPS_DRAWN:
        order = np.argsort(np.asarray(s["partial_pooling"])[:, 0], kind="stable")
        keep = np.sort(order[spread(total)])
        s = dict(s, levels=[s["levels"][i] for i in keep], n=np.asarray(s["n"])[keep],
                 no_pooling=np.asarray(s["no_pooling"])[keep], partial_pooling=np.asarray(s["partial_pooling"])[keep])
        note = shown_note(len(keep), total, f"{block.group} groups", "evenly spread over the mixed model's estimates")
    return Figure("shrinkage", f"Shrinkage: {block.group}", "shrinkage", s,
                  {"i": 0, "j": 1 if block.q > 1 else None}, note)


def compute_figures(result, progress=None) -> list:
    """Figures of a fitted result, in the order the plot tabs show them.

    Parameters
    ----------
    result : FitResult
        With its engine objects (``design``, ``fit``, ``inference``).
    progress : mixgui.errors.Progress, optional
        Told between figures, so that Cancel answers while the figures of millions of rows are computed.

    Returns
    -------
    list of Figure
        A figure whose data cannot be computed is a ``kind="unavailable"`` figure whose
        ``data["text"]`` says why, so the window shows a sentence instead of the plot.
    """
    out: list = []
    design, fit = result.design, result.fit
    if design is None or fit is None:
        return out

    def tick():
        if progress is not None:
            progress.step(None, "figures")  # raises Cancelled when the user cancelled

    fitted, resid = _fitted_and_residuals(fit)
    sigma = float(getattr(fit, "sigma", np.nan) or np.nan)
    rows = design.rows
    if fitted is not None:
        diag = plotdata.residual_diagnostics(fitted, resid, sigma if np.isfinite(sigma) else np.std(resid, ddof=1),
                                             tick=tick)
        title = "Conditional residuals vs fitted" if design.blocks else "Residuals vs fitted"
        # every point carries its dataset row (clicks select it in the data grid)
        drawn = np.asarray(rows)[diag["positions"]]
        out.append(Figure("residuals", title, "residual", diag, {"rows": drawn}, diag["note"]))
        out.append(Figure("qq", "Normal QQ", "qq", diag["qq"], {"rows": np.asarray(rows)[diag["qq"]["positions"]]},
                          diag["qq"]["note"]))
        out.append(Figure("scale_location", "Scale-location", "scale_location", diag, {"rows": drawn}, diag["note"]))
        out.append(Figure("histogram", "Histogram", "histogram", diag, {}))
        tick()
        if getattr(fit, "fitted_marginal", None) is not None:
            marg = design.y - np.asarray(fit.fitted_marginal, float)
            mdiag = plotdata.residual_diagnostics(fit.fitted_marginal, marg, np.std(marg, ddof=1), tick=tick)
            out.append(Figure("marginal_residuals", "Marginal residuals (fixed part only) vs fitted", "residual", mdiag,
                              {"rows": np.asarray(rows)[mdiag["positions"]]}, mdiag["note"]))
    tick()
    if resid is not None:
        for b in design.blocks[:1]:
            out.append(_by_group(resid, b, tick))
            tick()
    blups = getattr(fit, "blups", None)
    glmm = result.info.model == "glmm"
    if blups is not None and design.blocks:
        for k, b in enumerate(design.blocks):
            for t in range(len(b.names)):
                out.append(_caterpillar(k, t, b, fit.blups[k], fit.blup_sd[k], fit.link if glmm else None))
                tick()
        if not glmm:  # raw cluster estimates of a 0/1 or count outcome are not on the BLUPs' (link) scale
            out.append(_shrinkage(design, fit))
    if glmm:
        x, group = _trajectory_axes(design, result.spec)
        if x is not None:
            out.append(response_trajectory_figure(design, fit, x, group))
        out += _emmeans_figures(result)
        return out  # the linear model's explanatory pictures assume a normal outcome (glmm_figures)
    tick()
    traj = _trajectory_figure(result, tick)
    if traj is not None:
        out.append(traj)
    tick()
    rep = result.repeated
    if rep is not None and rep.correlation:
        out.append(Figure("correlation", "Correlation structure", "heatmap",
                          {"matrix": np.asarray(rep.correlation), "labels": rep.positions}, {}))
    out += model_figures(design, fit, tick)
    tick()
    return out + _emmeans_figures(result)


def _emmeans_figures(result) -> list:
    out = []
    for i, block in enumerate(result.section("emmeans") or []):
        key = "response" if block.get("type") == "response" else "emmean"  # probabilities / rates of a GLMM
        rows_ = [r for r in block.get("emmeans", []) if r.get(key) is not None]
        if rows_:
            specs = block.get("specs")
            name = specs if isinstance(specs, str) else " × ".join(specs or [])
            family = result.info.get("family")
            y_label = ("Mean" if key == "emmean" else "Probability" if family == "binomial" else "Rate")
            out.append(Figure(f"emmeans_{i}", f"Means: {name}", "emmeans",
                              {"levels": [r["level"] for r in rows_], "estimate": [r[key] for r in rows_],
                               "lower": [r["lower"] for r in rows_], "upper": [r["upper"] for r in rows_]},
                              {"x_label": name, "y_label": y_label}))
    return out


def _trajectory_axes(design, spec):
    """Which variable is time (x) and which factor splits the lines (group), from the model itself.

    x: the repeated-measures index when there is one, else a numeric predictor that interacts with
    a factor, else the first numeric predictor; group: a factor that interacts with x, else none.
    """
    fixed_vars = [v for t in design.term_vars for v in t]
    numeric = [v for v in dict.fromkeys(fixed_vars) if v not in design.factor_levels]
    factors = [v for v in dict.fromkeys(fixed_vars) if v in design.factor_levels]
    x = None
    if spec.repeated is not None and spec.repeated.index in fixed_vars:
        x = spec.repeated.index
    if x is None:
        inter = [v for t in design.term_vars if len(t) > 1 for v in t if v in numeric]
        x = inter[0] if inter else (numeric[0] if numeric else None)
    if x is None:
        return None, None
    partners = [v for t in design.term_vars if x in t and len(t) > 1 for v in t if v in factors and v != x]
    return x, (partners[0] if partners else None)


def _trajectory_figure(result, tick=None):
    """Observed values per subject (thin lines) with the population fit and its band per group."""
    design, fit, spec = result.design, result.fit, result.spec
    x, group = _trajectory_axes(design, spec)
    if x is None:
        return None
    inference = result.inference
    vcov = inference.vcov if inference is not None else fit.vcov
    if inference is not None:
        df_fn = inference.df
    else:
        df_res = float(getattr(fit, "df_residual", np.inf))

        def df_fn(_L):
            return df_res
    try:
        pop = population_trajectory(design, fit.beta, vcov, df_fn, x, group=group)
    except (MixGUIError, np.linalg.LinAlgError, ValueError, KeyError) as e:
        # a plot is never worth a failed result: this one is replaced by a sentence saying why
        log.info("trajectory figure left out: %s", e)
        return Figure("trajectories", "Trajectories", "unavailable",
                      {"text": f"The trajectories over {x} could not be computed for this model ({e})."})
    xs = np.asarray(pop["x_values"], float)
    population = {}
    for line in pop["lines"]:
        if np.all(line.get("estimable", True)):
            population[line["label"] or design.formula.response] = {
                "x": xs, "estimate": np.asarray(line["fit"], float),
                "lower": np.asarray(line["lower"], float), "upper": np.asarray(line["upper"], float)}
    frame = design.frame
    xv = frame[x]
    if x in design.factor_levels:
        levels = design.factor_levels[x]
        pos = dict(zip(levels, xs if len(xs) == len(levels) else np.arange(len(levels), dtype=float)))
        xv = xv.map(pos)
    subject = spec.repeated.subject if spec.repeated is not None else (design.blocks[0].group if design.blocks else None)
    if design.blocks and subject == design.blocks[0].group:
        codes, labels = design.blocks[0].codes, design.blocks[0].levels
    elif subject is not None and subject in frame:
        cat = frame[subject].astype(str).astype("category")
        codes, labels = cat.cat.codes.to_numpy(), list(cat.cat.categories)
    else:
        codes, labels = np.zeros(len(frame), dtype=int), ["all"]
    colour = None
    if group is not None:
        glev = design.factor_levels[group]
        # a hash lookup of the whole column: Series.map with a dict held the GIL (so froze the window)
        # for ~0.4 s on 200,000 rows; the fitted rows all have a level, so no -1 here
        colour = pd.Index(glev).get_indexer(frame[group])
    if tick is not None:
        tick()
    obs = plotdata.observed_trajectories(np.asarray(xv, float), design.y, codes, labels, colour,
                                         max_lines=MAX_GROUPS_DRAWN, tick=tick)
    obs["rows"] = [design.rows[r] for r in obs["rows"]]
    note, total = "", obs.pop("total")
    if total > MAX_GROUPS_DRAWN:
        note = shown_note(len(obs["levels"]), total, f"{subject or 'subject'} lines", "every n-th in order")
    return Figure("trajectories", "Trajectories", "trajectory", {"observed": obs, "population": population},
                  {"x_label": x, "y_label": design.formula.response}, note)
