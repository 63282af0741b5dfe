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
from mixgui.gui.turns import dispose, soon, when_idle
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
        return views.emmeans_plot(d["levels"], d["estimate"], d["lower"], d["upper"], title=fig.title,
                                  x_label=o.get("x_label", ""), y_label=o.get("y_label", ""))
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
    """A figure that has no plot (``figure.kind`` "unavailable"): a sentence saying why."""

    armed = False

    def __init__(self, fig: Figure, text: str, parent=None):
        super().__init__(parent)
        self.figure = fig
        self.view = None
        self.message = _label(text, "message")
        lay = QVBoxLayout(self)
        lay.addWidget(self.message)
        lay.addStretch(1)

    def is_built(self) -> bool:
        return True


class PlotTab(QWidget):
    """One figure with its export buttons, and its note (e.g. which groups are drawn) under it.

    The view is drawn the first time the tab is shown (or its :attr:`view` is asked for), not when
    the result arrives: a result has a dozen figures and drawing them all at once froze the window.
    A view that cannot be drawn becomes a sentence in the tab (:attr:`message`), the other tabs stay.
    """

    def __init__(self, fig: Figure, on_row_clicked=None, parent=None):
        super().__init__(parent)
        self.figure = fig
        self._view = None
        self._built = False
        self._on_row_clicked = on_row_clicked
        self.armed = False  # drawn when shown only once its panel has picked the tab to show
        self.message: QLabel | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(4, 4, 4, 4)
        self.note = _label(fig.note, "footnote") if fig.note else None
        if self.note is not None:
            self._layout.addWidget(self.note)
        self.save_buttons: list = []  # made with the view (a dozen tabs' buttons cost a tenth of a second)

    def is_built(self) -> bool:
        """True once the view was drawn (or found impossible to draw)."""
        return self._built

    @property
    def view(self):
        """The figure's view, drawn now if it was not yet (None when it could not be drawn)."""
        self.build()
        return self._view

    def build(self) -> None:
        """Draw the view (once)."""
        if self._built:
            return
        self._built = True
        try:
            view = make_view(self.figure)
        except DRAW_ERRORS as e:  # a bug of ours in one view: the other plots and the tables stay
            log.exception("the %s plot could not be drawn", self.figure.key)
            self.message = _label(f"This plot could not be drawn ({type(e).__name__}: {e}). The tables and "
                                  "the other plots are not affected; please report it.", "message")
            self._layout.insertWidget(0, self.message, 1, Qt.AlignmentFlag.AlignTop)
            return
        self._view = view
        # the next tab the user opens takes a plot made while nothing else waited (about half its cost)
        when_idle(None, views.make_spare)
        if self._on_row_clicked is not None:
            view.rowClicked.connect(self._on_row_clicked)
        self._layout.insertWidget(0, view, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        for label, suffix in (("Save PNG…", "png"), ("Save SVG…", "svg")):
            b = QPushButton(label)
            b.clicked.connect(lambda _=False, s=suffix: self.save(s))
            self.save_buttons.append(b)
            row.addWidget(b)
        self._layout.addLayout(row)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self.armed and not self._built:
            # drawn in the next turn of the event loop: the click that showed the tab is answered
            # (the tab bar repainted) first, and drawing and painting the view are two short waits
            soon(self, self.build)

    def save(self, suffix: str, path: str | None = None) -> None:
        if self.view is None:
            return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save plot", f"{self.figure.key}.{suffix}",
                                                  f"{suffix.upper()} (*.{suffix})")
            if not path:
                return
        (views.export_png if suffix == "png" else views.export_svg)(self.view, path)


class PlotPanel(QTabWidget):
    """Tabs of plots for the current result; ``rowClicked`` when a point is clicked.

    Only the tab shown is drawn when a result arrives; each other tab is drawn when it is first
    shown (:class:`PlotTab`). The tab of the same figure stays selected from one result to the next.
    """

    rowClicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setDocumentMode(True)
        self.tabs: list = []

    def show_result(self, result) -> None:
        """One tab per figure of ``result`` (its ``figures``, computed with it in the worker)."""
        current = self.currentWidget()
        key = current.figure.key if current is not None else None
        self.clear_plots()
        # the tabs are not armed while they are added, so the first one is not drawn on its way
        for fig in result.figures:
            tab = self._tab(fig)
            self.tabs.append(tab)
            self.addTab(tab, fig.title)
        keys = [t.figure.key for t in self.tabs]
        if key in keys:
            self.setCurrentIndex(keys.index(key))
        for tab in self.tabs:
            tab.armed = True
        current = self.currentWidget()
        if isinstance(current, PlotTab) and current.isVisible():
            # in the next turn of the event loop: the tables are shown (and painted) first
            soon(current, current.build)

    def _tab(self, fig: Figure) -> QWidget:
        if fig.kind == "unavailable":
            return MessageTab(fig, fig.data.get("text", "This plot is not available for this model."))
        return PlotTab(fig, self.rowClicked.emit)

    def clear_plots(self) -> None:
        while self.count():
            w = self.widget(0)
            self.removeTab(0)
            dispose(w)  # one tab per turn of the event loop: a dozen drawn tabs took 0.3 s at once
        self.tabs = []
