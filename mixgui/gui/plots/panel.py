"""The plots under the results: one tab per figure of the result, each with PNG/SVG export."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QPushButton, QTabWidget, QVBoxLayout, QWidget

from mixgui.gui.plots import model_views, views
from mixgui.results.figures import Figure, figures


def make_view(fig: Figure) -> views.PlotView:
    """The pyqtgraph view for one figure."""
    d, o = fig.data, fig.options
    if fig.kind == "residual":
        return views.residual_plot(d, o.get("rows"), title=fig.title)
    if fig.kind == "qq":
        # sorted points carry their dataset row (rows with missing values were left out of the fit)
        rows = o.get("rows")
        return views.qq_plot(d, rows=None if rows is None else np.asarray(rows)[d["order"]])
    if fig.kind == "scale_location":
        return views.scale_location_plot(d, o.get("rows"))
    if fig.kind == "histogram":
        return views.histogram_plot(d)
    if fig.kind == "by_group":
        return views.by_group_plot(d, o.get("group", "group"))
    if fig.kind == "caterpillar":
        return views.caterpillar_plot(d)
    if fig.kind == "shrinkage":
        return views.shrinkage_plot(d, o.get("i", 0), o.get("j"))
    if fig.kind == "trajectory":
        return views.trajectory_plot(d["observed"], o.get("x_label", ""), o.get("y_label", ""), d["population"])
    if fig.kind == "heatmap":
        return views.heatmap_plot(d["matrix"], d["labels"])
    if fig.kind == "emmeans":
        return views.emmeans_plot(d["levels"], d["estimate"], d["lower"], d["upper"])
    if fig.kind in model_views.VIEWS:
        return model_views.VIEWS[fig.kind](fig.data, fig.title)
    raise ValueError(f"no view for figure kind {fig.kind!r}")


class PlotTab(QWidget):
    """One figure with its export buttons."""

    def __init__(self, fig: Figure, parent=None):
        super().__init__(parent)
        self.figure = fig
        self.view = make_view(fig)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.view)
        row = QHBoxLayout()
        row.addStretch(1)
        for label, suffix in (("Save PNG…", "png"), ("Save SVG…", "svg")):
            b = QPushButton(label)
            b.clicked.connect(lambda _=False, s=suffix: self.save(s))
            row.addWidget(b)
        lay.addLayout(row)

    def save(self, suffix: str, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save plot", f"{self.figure.key}.{suffix}",
                                                  f"{suffix.upper()} (*.{suffix})")
            if not path:
                return
        (views.export_png if suffix == "png" else views.export_svg)(self.view, path)


class PlotPanel(QTabWidget):
    """Tabs of plots for the current result; ``rowClicked`` when a point is clicked."""

    rowClicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setDocumentMode(True)
        self.tabs: list = []

    def show_result(self, result) -> None:
        self.clear_plots()
        for fig in figures(result):
            tab = PlotTab(fig)
            tab.view.rowClicked.connect(self.rowClicked)
            self.tabs.append(tab)
            self.addTab(tab, fig.title)

    def clear_plots(self) -> None:
        while self.count():
            w = self.widget(0)
            self.removeTab(0)
            w.deleteLater()
        self.tabs = []
