"""Plots under the results: the right figures after a fit, clicks select data rows, never stale."""
import threading

import numpy as np
from PySide6.QtCore import Qt

from mixgui.data.dataset import Dataset

FIT_TIMEOUT_MS = 60_000


def _fit(qtbot, window):
    with qtbot.waitSignal(window.controller.finished, timeout=FIT_TIMEOUT_MS) as blocker:
        blocker.connect(window.controller.failed)
        window.fit()
    assert blocker.signal_triggered and len(blocker.args) == 3, f"the fit failed: {blocker.args}"
    return blocker.args[1]


def _click(scatter, point):
    """What pyqtgraph does when the user clicks ``point``."""
    scatter.sigClicked.emit(scatter, [point], None)


def _point_with_data(view, value):
    for scatter in view.scatters:
        for p in scatter.points():
            if p.data() == value:
                return scatter, p
    raise AssertionError(f"no point carries {value}")


def test_demo_fit_shows_plot_tabs_under_the_tables(make_window, qtbot):
    w = make_window()
    w.open_example(fit=False)
    _fit(qtbot, w)
    panel = w.results_panel
    keys = [t.figure.key for t in panel.plots.tabs]
    assert {"residuals", "qq", "scale_location", "histogram", "by_group", "shrinkage"} <= set(keys)
    assert keys[0] == "residuals" and panel.plots.tabText(0) == panel.plot_tab("residuals").figure.title
    assert panel.plot_tab("residuals").view.n_points() == 256
    assert panel.plot_tab("qq").view.n_points() == 256
    assert panel.plot_tab("scale_location").view.n_points() == 256
    # the tables above, the plots below, in one splitter of the results pane
    assert panel.splitter.orientation() == Qt.Orientation.Vertical
    assert panel.splitter.widget(0) is panel.scroll and panel.splitter.widget(1) is panel.plots
    assert panel.plots.isVisible() and panel.plots.isEnabled()
    assert panel.plots.height() > 150 and panel.scroll.height() > 150
    assert panel.plots.geometry().top() > panel.scroll.geometry().bottom()


def test_clicking_a_point_selects_its_row_fetching_the_lazy_grid_first(make_window, qtbot):
    w = make_window(batch_size=50)
    w.open_example(fit=False)
    model = w.data_grid.data_model()
    assert model.rowCount() == 50  # the rest is not fetched yet
    _fit(qtbot, w)
    scatter, point = _point_with_data(w.results_panel.plot_tab("residuals").view, 200)
    _click(scatter, point)
    assert model.rowCount() > 200
    assert w.data_grid.selected_rows() == [200]
    assert w.data_grid.currentIndex().row() == 200
    middle = w.data_grid.rowAt(w.data_grid.viewport().height() // 2)
    assert abs(middle - 200) <= 1  # scrolled so the row is in view
    assert w.status.text() == "Row 201 selected"
    trajectories = w.results_panel.plot_tab("trajectories")
    if trajectories is not None:  # its points carry dataset rows too
        scatter, point = _point_with_data(trajectories.view, 17)
        _click(scatter, point)
        assert w.data_grid.selected_rows() == [17]


def test_qq_clicks_select_the_dataset_row_when_rows_were_left_out(make_window, qtbot):
    w = make_window()
    w.open_example(fit=False)
    frame = w.dataset.frame.copy()
    frame.loc[[3, 10, 50], "score"] = np.nan  # three rows the model leaves out
    ds = w.dataset
    w.set_dataset(Dataset(frame, ds.name, dict(ds.levels), dict(ds.labels), ds.source))
    result = _fit(qtbot, w)
    rows = result.design.rows
    assert len(rows) == 253
    tab = w.results_panel.plot_tab("qq")
    scatter = tab.view.scatters[0]
    order = tab.figure.data["order"]  # fitted-row position of each sorted point
    k = len(order) - 1  # the largest standardised residual
    want = int(rows[order[k]])
    assert int(scatter.points()[k].data()) == want
    _click(scatter, scatter.points()[k])
    assert w.data_grid.selected_rows() == [want]
    # a point past the left-out rows: its dataset row differs from its position among fitted rows
    k2 = int(np.flatnonzero(order > 60)[0])
    want = int(rows[order[k2]])
    assert want != int(order[k2])
    _click(scatter, scatter.points()[k2])
    assert w.data_grid.selected_rows() == [want]
    # the residual plot's points carry dataset rows directly
    scatter, point = _point_with_data(w.results_panel.plot_tab("residuals").view, want)
    _click(scatter, point)
    assert w.data_grid.selected_rows() == [want]


class _SlowAfterFirst:
    """The real run; calls after the first wait for :attr:`gate` (cancellable meanwhile)."""

    def __init__(self):
        self.calls = 0
        self.gate = threading.Event()

    def __call__(self, spec, dataset, progress):
        from mixgui.pipeline.run import run

        n, self.calls = self.calls, self.calls + 1
        i = 0
        while n > 0 and not self.gate.wait(0.005):
            progress.step(min(i / 2000, 0.9), "waiting for the test")
            i += 1
        return run(spec, dataset, progress)


def test_plots_grey_while_a_fit_runs_and_are_replaced_as_a_whole(make_window, qtbot, type_formula):
    slow = _SlowAfterFirst()
    w = make_window(run_fn=slow)
    try:
        w.open_example(fit=False)
        _fit(qtbot, w)
        panel = w.results_panel
        old_tabs = list(panel.plots.tabs)
        w.data_grid.clearSelection()
        type_formula(w, "score ~ time + (1 | patient)")
        with qtbot.waitSignal(w.controller.started, timeout=5000):
            w.fit()
        assert panel.is_updating() and not panel.plots.isEnabled()
        veil = panel.plot_veil  # a pale layer over the old plots, covering all of them
        assert veil.isVisible() and veil.geometry() == panel.plots.rect()
        assert not w.can_export()  # stale results are not exported
        scatter, point = _point_with_data(old_tabs[0].view, 30)
        _click(scatter, point)  # a stale point selects nothing
        assert w.data_grid.selected_rows() == []
        with qtbot.waitSignal(w.controller.finished, timeout=FIT_TIMEOUT_MS):
            slow.gate.set()
        assert panel.plots.isEnabled() and not panel.plot_veil.isVisible()
        assert not set(map(id, panel.plots.tabs)) & set(map(id, old_tabs))
        assert panel.plot_tab("by_group").figure.title == "Residuals by patient"
        # a failed fit removes the plots with the tables
        type_formula(w, "visit ~ time")  # visit holds text: the run refuses it
        with qtbot.waitSignal(w.controller.failed, timeout=FIT_TIMEOUT_MS):
            w.fit()
        assert panel.plots.count() == 0 and not panel.plots.isVisible()
    finally:
        slow.gate.set()
