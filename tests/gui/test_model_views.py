"""The pictures that explain a mixed model, drawn from the worker's data: what each view holds."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyqtgraph as pg
import pytest

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.gui.plots import model_views
from mixgui.pipeline import run

SLEEP = Path(__file__).resolve().parents[1] / "reference" / "lmm" / "sleepstudy.csv"


@pytest.fixture(scope="module")
def model_figs():
    data = pd.read_csv(SLEEP)
    res = run(AnalysisSpec(formula="Reaction ~ Days + (Days | Subject)"), Dataset(data, name="sleep"))
    return {f.kind: f for f in res.figures if f.kind in model_views.VIEWS}


def _items(view, kind):
    return [i for i in view.getPlotItem().items if isinstance(i, kind)]


def test_every_model_picture_has_a_view(qtbot, model_figs):
    assert set(model_figs) == set(model_views.VIEWS)
    for kind, fig in model_figs.items():
        view = model_views.VIEWS[kind](fig.data, fig.title)
        qtbot.addWidget(view)
        assert view.getPlotItem().titleLabel.text.startswith(fig.title.split(":")[0])


def test_fitted_lines_draw_one_line_per_cluster_and_the_population_over_its_band(qtbot, model_figs):
    fig = model_figs["fitted_lines"]
    view = model_views.fitted_lines_plot(fig.data, fig.title)
    qtbot.addWidget(view)
    lines = _items(view, pg.PlotDataItem)
    # the cluster lines are a few items (one per colour), each line ended by a NaN break; then the
    # population line (the band's two edges are PlotDataItems owned by the fill item)
    clusters = [ln for ln in lines if ln.opts["pen"].widthF() == 1.0]
    assert 1 <= len(clusters) <= 7
    assert sum(int(np.isnan(ln.yData).sum()) for ln in clusters) == len(fig.data["clusters"]["lines"])
    assert len([ln for ln in lines if ln.opts["pen"].widthF() > 3]) == 1
    assert len(_items(view, pg.FillBetweenItem)) == 1
    assert view.legend is not None and view.legend.brush().color().alpha() > 0  # readable over the lines


def test_pooling_view_keeps_each_clusters_reliability_weight(qtbot, model_figs):
    fig = model_figs["pooling"]
    view = model_views.pooling_plot(fig.data, fig.title)
    qtbot.addWidget(view)
    assert len(view.lambdas) == 18 and np.all((view.lambdas > 0) & (view.lambdas < 1))
    assert len(view.arrowheads.data) == 18  # one arrowhead per cluster, drawn as one item


def test_pooling_view_draws_a_capped_sample_of_many_clusters(qtbot):
    rng = np.random.default_rng(0)
    n = 5000
    d = {"group": "patient", "no_pooling": rng.normal(0, 1, n), "partial_pooling": rng.normal(0, 0.5, n),
         "lambda": rng.uniform(0.1, 0.9, n), "levels": [str(i) for i in range(n)], "n": np.full(n, 4),
         "complete_pooling": 0.0}
    view = model_views.pooling_plot(d, "Pooling: patient")
    qtbot.addWidget(view)
    assert len(view.lambdas) == model_views.MAX_CLUSTERS
    assert "showing 200 of 5,000" in view.getPlotItem().titleLabel.text
    assert len(_items(view, pg.PlotDataItem)) < 10  # segments as one item, not one per cluster


def test_variance_bar_shares_fill_the_whole_bar(qtbot, model_figs):
    fig = model_figs["variance"]
    view = model_views.variance_plot(fig.data, fig.title)
    qtbot.addWidget(view)
    bars = _items(view, pg.BarGraphItem)
    widths = [float(b.opts["x1"][0] - b.opts["x0"][0]) for b in bars]
    assert sum(widths) == pytest.approx(1.0, abs=1e-12) and len(bars) == len(fig.data["parts"])


def test_within_between_says_why_there_is_no_between_slope(qtbot, model_figs):
    fig = model_figs["within_between"]
    assert np.isnan(fig.data["between_slope"])  # every subject has days 0..9
    view = model_views.within_between_plot(fig.data, fig.title)
    qtbot.addWidget(view)
    texts = [t.textItem.toPlainText() for t in _items(view, pg.TextItem)]
    assert any("no between slope" in t for t in texts)
