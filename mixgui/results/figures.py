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
        out.append(Figure("residuals", "Residuals vs fitted", "residual", diag, {"rows": rows}))
        out.append(Figure("qq", "Normal QQ", "qq", diag["qq"], {"rows": rows}))
        out.append(Figure("scale_location", "Scale-location", "scale_location", diag, {"rows": rows}))
        out.append(Figure("histogram", "Histogram", "histogram", diag, {}))
        if getattr(fit, "fitted_marginal", None) is not None:
            marg = design.y - np.asarray(fit.fitted_marginal, float)
            mdiag = plotdata.residual_diagnostics(fit.fitted_marginal, marg, np.std(marg, ddof=1))
            out.append(Figure("marginal_residuals", "Marginal residuals", "residual", mdiag, {"rows": rows}))
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
    rep = result.data.get("repeated")
    if rep and rep.get("correlation"):
        out.append(Figure("correlation", "Correlation structure", "heatmap",
                          {"matrix": np.asarray(rep["correlation"]), "labels": rep.get("positions") or []}, {}))
    for i, block in enumerate(result.data.get("emmeans") or []):
        rows_ = [r for r in block.get("emmeans", []) if r.get("emmean") is not None]
        if rows_:
            out.append(Figure(f"emmeans_{i}", f"Means: {block.get('specs')}", "emmeans",
                              {"levels": [r["level"] for r in rows_], "estimate": [r["emmean"] for r in rows_],
                               "lower": [r["lower"] for r in rows_], "upper": [r["upper"] for r in rows_]}, {}))
    return out
