"""The plot tabs draw the figures computed with the result; a capped figure says how many groups it shows,
and a figure that cannot be drawn becomes a sentence without taking the other plots with it."""
import numpy as np

from mixgui.analysis.spec import AnalysisSpec
from mixgui.results.figures import Figure
from mixgui.results.result import FitResult, ModelInfo


def _result(figures):
    return FitResult(AnalysisSpec(formula="y ~ x"), ModelInfo("lm", "OLS", "residual", 3), figures=figures)


def test_notes_and_unavailable_figures_are_sentences(qtbot):
    from mixgui.gui.plots.panel import MessageTab, PlotPanel, PlotTab

    by_group = Figure("by_group", "Residuals by g", "by_group",
                      {"levels": ["a", "b"], "values": [np.array([0.1, -0.2]), np.array([0.3])],
                       "medians": np.array([-0.05, 0.3])}, {"group": "g"}, note="Showing 2 of 600 g groups (spread).")
    missing = Figure("trajectories", "Trajectories", "unavailable", {"text": "The trajectories could not be computed."})
    broken = Figure("histogram", "Histogram", "histogram", {"no histogram": None})  # data a view cannot draw
    panel = PlotPanel()
    qtbot.addWidget(panel)
    panel.show_result(_result([by_group, missing, broken]))
    tabs = {t.figure.key: t for t in panel.tabs}
    assert isinstance(tabs["by_group"], PlotTab) and tabs["by_group"].note.text() == by_group.note
    assert tabs["by_group"].view.n_points() == 3
    assert isinstance(tabs["trajectories"], MessageTab)
    assert tabs["trajectories"].message.text() == "The trajectories could not be computed."
    # a view that cannot be drawn says so in its tab when it is drawn (tabs are drawn when first shown)
    assert tabs["histogram"].view is None and "could not be drawn" in tabs["histogram"].message.text()
    assert not tabs["histogram"].save_buttons  # nothing to save
    assert [b.text() for b in tabs["by_group"].save_buttons] == ["Save PNG…", "Save SVG…"]
    assert [panel.tabText(i) for i in range(panel.count())] == ["Residuals by g", "Trajectories", "Histogram"]
