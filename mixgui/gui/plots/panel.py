"""The plots under the results: one tab per figure of the result, each with PNG/SVG export.

The figures' data come with the result (computed in the worker, :mod:`mixgui.pipeline.figures`);
this module only draws them. A figure that cannot be drawn becomes a tab with a sentence saying
why, and never takes the tables or the other plots with it.
"""
from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QTabWidget, QVBoxLayout, QWidget

from mixgui.gui.plots import glmm_views, model_views, views
from mixgui.results.figures import Figure

log = logging.getLogger(__name__)

#: what drawing a figure's data can raise when the data are not what the view expects
DRAW_ERRORS = (ValueError, KeyError, IndexError, TypeError)


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
    if fig.kind in glmm_views.VIEWS:
        return glmm_views.VIEWS[fig.kind](fig.data, fig.title)
    raise ValueError(f"no view for figure kind {fig.kind!r}")


def _label(text: str, name: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class MessageTab(QWidget):
    """A figure that has no plot: a sentence saying why (``figure.kind`` "unavailable", or a drawing error)."""

    def __init__(self, fig: Figure, text: str, parent=None):
        super().__init__(parent)
        self.figure = fig
        self.view = None
        self.message = _label(text, "message")
        lay = QVBoxLayout(self)
        lay.addWidget(self.message)
        lay.addStretch(1)


class PlotTab(QWidget):
    """One figure with its export buttons, and its note (e.g. which groups are drawn) under it."""

    def __init__(self, fig: Figure, parent=None):
        super().__init__(parent)
        self.figure = fig
        self.view = make_view(fig)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.view)
        self.note = _label(fig.note, "footnote") if fig.note else None
        if self.note is not None:
            lay.addWidget(self.note)
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
        """One tab per figure of ``result`` (its ``figures``, computed with it in the worker)."""
        self.clear_plots()
        for fig in result.figures:
            tab = self._tab(fig)
            if tab.view is not None:
                tab.view.rowClicked.connect(self.rowClicked)
            self.tabs.append(tab)
            self.addTab(tab, fig.title)

    @staticmethod
    def _tab(fig: Figure) -> QWidget:
        if fig.kind == "unavailable":
            return MessageTab(fig, fig.data.get("text", "This plot is not available for this model."))
        try:
            return PlotTab(fig)
        except DRAW_ERRORS as e:  # a bug of ours in one view: the other plots and the tables stay
            log.exception("the %s plot could not be drawn", fig.key)
            return MessageTab(fig, f"This plot could not be drawn ({type(e).__name__}: {e}). The tables and "
                                   "the other plots are not affected; please report it.")

    def clear_plots(self) -> None:
        while self.count():
            w = self.widget(0)
            self.removeTab(0)
            w.deleteLater()
        self.tabs = []
