"""Which figures a result has, and their data: one list that the window, the reports and
``mixgui fit --plots`` share."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixgui.results import plotdata


@dataclass
class Figure:
    """A figure to draw: ``kind`` picks the view, ``data`` is its plot data, ``title`` names the tab."""

    key: str
    title: str
    kind: str
    data: dict
    options: dict


def _fitted_and_residuals(result):
    fit = result.fit
    for f_name, r_name in (("fitted_conditional", "residuals"), ("fitted", "residuals"), ("fittedvalues", "resid")):
        f, r = getattr(fit, f_name, None), getattr(fit, r_name, None)
        if f is not None and r is not None:
            return np.asarray(f, float), np.asarray(r, float)
    return None, None


def figures(result) -> list:
    """Figures available for a fitted result, in the order the plot tabs show them."""
    out: list = []
    design, fit = result.design, result.fit
    if design is None or fit is None:
        return out
    fitted, resid = _fitted_and_residuals(result)
    sigma = float(getattr(fit, "sigma", np.nan) or np.nan)
    rows = design.rows
    if fitted is not None:
        diag = plotdata.residual_diagnostics(fitted, resid, sigma if np.isfinite(sigma) else np.std(resid, ddof=1))
        title = "Conditional residuals vs fitted" if design.blocks else "Residuals vs fitted"
        out.append(Figure("residuals", title, "residual", diag, {"rows": rows}))
        out.append(Figure("qq", "Normal QQ", "qq", diag["qq"], {"rows": rows}))
        out.append(Figure("scale_location", "Scale-location", "scale_location", diag, {"rows": rows}))
        out.append(Figure("histogram", "Histogram", "histogram", diag, {}))
        if getattr(fit, "fitted_marginal", None) is not None:
            marg = design.y - np.asarray(fit.fitted_marginal, float)
            mdiag = plotdata.residual_diagnostics(fit.fitted_marginal, marg, np.std(marg, ddof=1))
            out.append(Figure("marginal_residuals", "Marginal residuals (fixed part only) vs fitted", "residual", mdiag,
                              {"rows": rows}))
    for b in design.blocks[:1]:
        out.append(Figure("by_group", f"Residuals by {b.group}", "by_group",
                          plotdata.residuals_by_group(resid, b.codes, b.levels), {"group": b.group}))
    blups = getattr(fit, "blups", None)
    if blups is not None and design.blocks:
        for k, b in enumerate(design.blocks):
            for t, name in enumerate(b.names):
                out.append(Figure(f"caterpillar_{k}_{t}", f"BLUPs: {name} | {b.group}", "caterpillar",
                                  plotdata.caterpillar(b, fit.blups[k], fit.blup_sd[k], t), {}))
        s = plotdata.shrinkage(design, fit, 0)
        out.append(Figure("shrinkage", f"Shrinkage: {design.blocks[0].group}", "shrinkage", s,
                          {"i": 0, "j": 1 if design.blocks[0].q > 1 else None}))
    traj = _trajectory_figure(result)
    if traj is not None:
        out.append(traj)
    rep = result.data.get("repeated")
    if rep and rep.get("correlation"):
        out.append(Figure("correlation", "Correlation structure", "heatmap",
                          {"matrix": np.asarray(rep["correlation"]), "labels": rep.get("positions") or []}, {}))
    from mixgui.results.model_figures import model_figures

    out += model_figures(design, fit)
    for i, block in enumerate(result.data.get("emmeans") or []):
        rows_ = [r for r in block.get("emmeans", []) if r.get("emmean") is not None]
        if rows_:
            out.append(Figure(f"emmeans_{i}", f"Means: {block.get('specs')}", "emmeans",
                              {"levels": [r["level"] for r in rows_], "estimate": [r["emmean"] for r in rows_],
                               "lower": [r["lower"] for r in rows_], "upper": [r["upper"] for r in rows_]}, {}))
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


def _trajectory_figure(result):
    """Observed values per subject (thin lines) with the population fit and its band per group."""
    from mixgui.engine.emmeans.trajectories import population_trajectory

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
    except Exception:  # a plot is never worth a failed result: leave this one out
        return None
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
        colour = frame[group].map({g: i for i, g in enumerate(glev)}).to_numpy()
    obs = plotdata.observed_trajectories(np.asarray(xv, float), design.y, codes, labels, colour)
    obs["rows"] = [design.rows[r] for r in obs["rows"]]
    return Figure("trajectories", "Trajectories", "trajectory",
                  {"observed": obs, "population": population},
                  {"x_label": x, "y_label": design.formula.response})
