"""pyqtgraph views of a generalized linear mixed model's own figures (data from mixgui.pipeline.glmm_figures).

Drawing only: the curves, bands and observed proportions come computed by the worker.
"""
from __future__ import annotations

from mixgui.gui.plots.views import PlotView, colour, new_view


def response_trajectory_plot(d: dict, title: str) -> PlotView:
    """Predicted probability (or rate) over time, one line per arm over its confidence band, and the
    observed proportion (or mean count) per arm at each time as points of the same colour."""
    v = new_view(title, d.get("x_label", ""), d.get("y_label", ""))
    for g, (lab, curve) in enumerate(d["lines"].items()):
        v.add_band(curve["x"], curve["lower"], curve["upper"], colour(g))
        v.add_line(curve["x"], curve["estimate"], colour(g), width=3, name=str(lab))
        obs = (d.get("observed") or {}).get(lab)
        if obs is not None and len(obs["x"]):
            what = "observed proportion" if d.get("scale") == "probability" else "observed mean"
            tips = [f"{lab}: {what} {val:.3g} (n = {n})" for val, n in zip(obs["value"], obs["n"])]
            v.add_points(obs["x"], obs["value"], tips=tips, colour_=colour(g), size=7)
    if d.get("scale") == "probability":
        v.setYRange(0, 1)  # a probability axis shows the whole of [0, 1], so small changes are not magnified
    v.add_legend()
    return v


VIEWS = {"response_trajectory": response_trajectory_plot}
