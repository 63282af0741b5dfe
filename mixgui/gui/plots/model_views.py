"""pyqtgraph views of the pictures that explain a mixed model (data from mixgui.pipeline.model_figures).

Drawing only: every array comes computed and capped (at most 30 cluster lines, 5,000 points).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from mixgui.gui.plots.views import ACCENT, GREY, PALETTE, PlotView, _category_axis, colour, new_view


def fitted_lines_plot(d: dict, title: str) -> PlotView:
    """The data, one fitted line per cluster (thin) and the population line with its band (thick)."""
    v = new_view(title, d["x_label"], d["y_label"])
    pts = d["points"]
    v.add_points(pts["x"], pts["y"], colour_=GREY, size=4)
    # the cluster lines of one colour are one line item broken by NaN: an item per line cost ~10 ms each
    lines = np.asarray(d["clusters"]["lines"], float).reshape(-1, len(d["x"]))
    xs = np.append(np.asarray(d["x"], float), np.nan)
    for c in range(min(len(lines), len(PALETTE) - 1)):
        mine = lines[c::len(PALETTE) - 1]
        ys = np.column_stack([mine, np.full(len(mine), np.nan)]).ravel()
        v.add_line(np.tile(xs, len(mine)), ys, colour_=colour(c + 1), width=1.0,
                   name="Each cluster (conditional)" if c == 0 else None, connect="finite")
    pop = d["population"]
    v.add_band(d["x"], pop["lower"], pop["upper"])
    v.add_line(d["x"], pop["fit"], colour_=ACCENT, width=3.5, name="Population (fixed part) with 95% band")
    return v


MAX_CLUSTERS = 200  # clusters drawn in the pooling view: more become a band of ink and a frozen window


def pooling_plot(d: dict, title: str) -> PlotView:
    """Each cluster's own estimate, its partial-pooling estimate and an arrow between.

    With more than :data:`MAX_CLUSTERS` clusters an even sample along the sorted estimates is drawn
    (the spread stays visible) and the title says how many; the arrows are one line item and one
    scatter of arrowheads, whatever their number.
    """
    order = np.argsort(d["no_pooling"], kind="stable")
    total = len(order)
    if total > MAX_CLUSTERS:
        order = order[np.unique(np.linspace(0, total - 1, MAX_CLUSTERS).round().astype(int))]
        title = f"{title} (showing {len(order)} of {total:,})"
    v = new_view(title, f"{d['group']} (sorted by own estimate)", "Estimate")
    x = np.arange(len(order), dtype=float)
    own, partial = np.asarray(d["no_pooling"])[order], np.asarray(d["partial_pooling"])[order]
    lam = np.asarray(d["lambda"])[order]
    v.addItem(pg.PlotDataItem(np.repeat(x, 2), np.column_stack([own, partial]).ravel(), connect="pairs",
                              pen=pg.mkPen(GREY, width=1)))
    v.arrowheads = pg.ScatterPlotItem(x=x, y=partial, symbol=["t" if a > b else "t1" for a, b in zip(own, partial)],
                                      size=8, brush=pg.mkBrush(GREY), pen=pg.mkPen(None))
    v.addItem(v.arrowheads)
    levels = [d["levels"][i] for i in order]
    tips = [f"{lv}: n = {int(d['n'][i])}, λ = {d['lambda'][i]:.2f} (weight of its own data)" for lv, i in
            zip(levels, order)]
    v.add_points(x, own, tips=tips, colour_=colour(1), name="No pooling (its own data)")
    v.add_points(x, partial, tips=tips, colour_=ACCENT, name="Partial pooling (mixed model)")
    v.add_line([x.min() - 0.5, x.max() + 0.5], [d["complete_pooling"]] * 2, colour_="#222", width=1.5,
               style=Qt.DashLine, name="Complete pooling (one estimate)")
    if len(levels) <= 40:
        _category_axis(v, levels)
    v.lambdas = lam
    return v


def variance_plot(d: dict, title: str) -> PlotView:
    """One stacked bar: the share of the fixed part, of each random term and of the residual."""
    v = new_view(title, "", "Share of the outcome's variance")
    left = 0.0
    for k, (part, share) in enumerate(zip(d["parts"], d["share"])):
        bar = pg.BarGraphItem(x0=[left], x1=[left + share], y0=[0], y1=[1], brush=colour(k), pen=pg.mkPen("w"))
        v.addItem(bar)
        label = pg.TextItem(f"{part}\n{share:.0%}", color="#111", anchor=(0.5, 0.5))
        label.setPos(left + share / 2, 0.5)
        v.addItem(label)
        left += share
    note = pg.TextItem(f"ICC = {d['icc']:.2f}: with {d['cluster_size']:.1f} observations per {d['group']}, "
                       f"the design effect is {d['design_effect']:.2f}", color="#222", anchor=(0, 0))
    note.setPos(0, 1.25)
    v.addItem(note)
    v.setXRange(0, 1)
    v.setYRange(-0.1, 1.3)
    v.getPlotItem().hideAxis("left")
    return v


def within_between_plot(d: dict, title: str) -> PlotView:
    """The data, the cluster means, and the between-cluster and within-cluster slopes."""
    v = new_view(title, d["x_label"], d["y_label"])
    v.add_points(d["x"], d["y"], colour_=GREY, size=4)
    v.add_points(d["cluster_x"], d["cluster_y"], colour_=colour(1), size=10, name=f"{d['group']} means")
    xs = np.array([np.nanmin(d["x"]), np.nanmax(d["x"])])
    if np.isfinite(d["between_slope"]):
        v.add_line(xs, d["between_intercept"] + d["between_slope"] * xs, colour_=colour(1), width=3,
                   name=f"Between {d['group']}: slope {d['between_slope']:.3g}")
    else:  # say why the between line is missing rather than leave the reader looking for it
        note = pg.TextItem(f"{d['x_label']} has the same mean in every {d['group']}: there is no between slope",
                           color="#555", anchor=(0, 1))
        note.setPos(float(xs[0]), float(np.nanmin(d["y"])))
        v.addItem(note)
    # the within line passes through the mean of every cluster mean (only a sample of them is drawn)
    mx, my = d.get("mean_x", np.mean(d["cluster_x"])), d.get("mean_y", np.mean(d["cluster_y"]))
    if np.isfinite(d["within_slope"]):
        v.add_line(xs, my + d["within_slope"] * (xs - mx), colour_=ACCENT, width=3, style=Qt.DashLine,
                   name=f"Within {d['group']}: slope {d['within_slope']:.3g}")
    return v


VIEWS = {"fitted_lines": fitted_lines_plot, "pooling": pooling_plot, "variance": variance_plot,
         "within_between": within_between_plot}
