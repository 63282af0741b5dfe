"""The window keeps answering with many groups: plot tabs are drawn when first shown, and the random
effects per group (tens of thousands of rows) are a lazy table model in a view of fixed height."""
import json
import time

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QAbstractTableModel, Qt, QTimer
from PySide6.QtWidgets import QTableWidget

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.pipeline.run import run

FIT_TIMEOUT_MS = 120_000
#: the longest event-loop gap allowed while a result arrives and every plot tab is shown, on a study of
#: 4,000 rows and 1,000 groups. Drawing all 13 views at once took 1.2-1.9 s here; the longest single
#: step now (drawing one view, or showing the tables) takes ~0.1-0.2 s alone. A 2-core CI machine
#: shared with other jobs runs 3-4 times slower, hence 1 s: it fails the old behaviour, not the load.
MAX_GAP_MS = 1000


def _study(rows: int, groups: int, seed: int = 1, balanced: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    patient = np.arange(rows) * groups // rows if balanced else np.sort(rng.integers(0, groups, rows))
    time_ = rng.integers(0, 6, rows).astype(float)
    treat = np.where(patient % 2 == 0, "control", "active")
    y = 10 + 0.5 * time_ + (treat == "active") * 0.3 * time_ + rng.normal(0, 2, groups)[patient] + rng.normal(0, 1.5, rows)
    return pd.DataFrame({"patient": patient + 1, "time": time_, "treat": treat, "y": y.round(3)})


class GapMeter:
    """A 20 ms timer; :attr:`worst` is the longest gap between two of its ticks beyond the 20 ms."""

    def __init__(self):
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._tick)
        self.last = time.perf_counter()
        self.worst = 0.0
        self.ticks = 0
        self.timer.start()

    def _tick(self):
        now = time.perf_counter()
        self.worst = max(self.worst, (now - self.last) * 1000 - 20)
        self.last = now
        self.ticks += 1


def test_only_the_visible_plot_is_drawn_and_each_tab_answers_quickly(make_window, qtbot, tmp_path):
    from mixgui.gui.plots.views import PlotView

    _study(4000, 1000).to_csv(tmp_path / "study.csv", index=False)
    analysis = tmp_path / "study.analysis.json"
    analysis.write_text(json.dumps({"format": "mixgui-analysis", "version": 2, "data": {"path": "study.csv"},
                                    "formula": "y ~ time * treat + (1 | patient)", "factors": ["patient"]}))
    w = make_window()
    assert w.open_analysis(str(analysis), fit=False)
    meter = GapMeter()
    with qtbot.waitSignal(w.controller.finished, timeout=FIT_TIMEOUT_MS):
        w.fit()
    plots = w.results_panel.plots
    assert plots.count() >= 10
    # only the tab shown is drawn: one view, not one per figure (all 13 were drawn at once before)
    qtbot.waitUntil(lambda: len(plots.findChildren(PlotView)) >= 1)
    assert len(plots.findChildren(PlotView)) == 1
    current = plots.currentWidget()
    assert [t.is_built() for t in plots.tabs] == [t is current for t in plots.tabs]
    for i, tab in enumerate(plots.tabs):
        plots.setCurrentIndex(i)
        qtbot.waitUntil(tab.is_built)
        ticks = meter.ticks
        qtbot.waitUntil(lambda t=ticks: meter.ticks >= t + 2)  # painted, and the timer heard again
        assert tab.view is None or tab.view.isVisible()
    assert len(plots.findChildren(PlotView)) == plots.count()
    meter.timer.stop()
    assert meter.worst < MAX_GAP_MS, f"the event loop stalled {meter.worst:.0f} ms"


def test_a_new_result_keeps_the_tab_shown_and_draws_only_it(qtbot):
    from mixgui.gui.plots.panel import PlotPanel
    from mixgui.gui.plots.views import PlotView

    spec = AnalysisSpec.from_dict({"data": {"path": "x.csv"}, "formula": "y ~ time + (1 | patient)",
                                   "factors": ["patient"]})
    result = run(spec, Dataset(_study(600, 60), name="study"))
    panel = PlotPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.show_result(result)
    keys = [t.figure.key for t in panel.tabs]
    panel.setCurrentIndex(keys.index("by_group"))
    qtbot.waitUntil(panel.currentWidget().is_built)
    panel.show_result(result)  # a refit: the same figure stays in view, drawn anew, and only it
    assert panel.currentWidget().figure.key == "by_group"
    qtbot.waitUntil(panel.currentWidget().is_built)
    assert [t.figure.key for t in panel.tabs if t.is_built() and t.view is not None] == ["by_group"]
    qtbot.waitUntil(lambda: len(panel.findChildren(PlotView)) == 1)  # the old views are deleted


@pytest.fixture(scope="module")
def many_groups():
    """A random-intercept fit of 20,000 patients with two rows each."""
    spec = AnalysisSpec.from_dict({"data": {"path": "x.csv"}, "formula": "y ~ time + (1 | patient)",
                                   "factors": ["patient"]})
    frame = _study(40_000, 20_000, seed=3, balanced=True)
    return run(spec, Dataset(frame, name="study"))


def test_random_effects_of_20000_groups_are_a_lazy_table(qtbot, many_groups):
    from mixgui.gui.widgets.results_panel import ResultsPanel

    blups = many_groups.blups["patient"]
    assert len(blups["levels"]) == 20_000
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 800)
    panel.show()
    panel.show_result(1, many_groups)
    qtbot.waitUntil(lambda: panel.blup_card("patient") is not None)
    card = panel.blup_card("patient")
    model = card.model
    assert isinstance(model, QAbstractTableModel) and not card.findChildren(QTableWidget)
    assert model.rowCount() == 20_000 and model.columnCount() == 3
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(3)] == \
        ["patient", "(Intercept)", "SD"]
    for row in (0, 19_999):
        assert model.data(model.index(row, 0)) == str(blups["levels"][row])
        assert model.data(model.index(row, 1), Qt.ItemDataRole.UserRole) == pytest.approx(blups["(Intercept)"][row],
                                                                                          rel=1e-15)
        assert model.data(model.index(row, 2), Qt.ItemDataRole.UserRole) == pytest.approx(
            blups["se_(Intercept)"][row], rel=1e-15)
    # a view of fixed height that scrolls, not a widget as tall as 20,000 rows
    assert card.view.height() < 600 and card.view.verticalScrollBar().maximum() > 0
    # it sits right under the random-effect variances
    layout = panel._body_layout
    order = [layout.itemAt(i).widget() for i in range(layout.count() - 1)]
    assert order.index(card) == order.index(panel.card("variance_components")) + 1
    # Copy puts every row on the clipboard, full precision
    tsv = model.to_tsv().splitlines()
    assert len(tsv) == 20_001 and tsv[0].split("\t") == ["patient", "(Intercept)", "SD"]
    last = tsv[-1].split("\t")
    assert last[0] == str(blups["levels"][-1]) and float(last[1]) == pytest.approx(blups["(Intercept)"][-1], rel=1e-9)
