"""A generalized mixed model in the window: its tables (odds ratios, likelihood-ratio tests of the fixed
terms), its plot of the predicted probability per arm, and Cancel during a large binary fit."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt

from mixgui.gui.plots.panel import PlotTab

BACTERIA = Path(__file__).resolve().parents[1] / "reference" / "glmm" / "bacteria.csv"
FIT_TIMEOUT_MS = 120_000


def _analysis(folder: Path, data: str, formula: str, **extra) -> Path:
    path = folder / "analysis.json"
    path.write_text(json.dumps({"data": {"path": data}, "formula": formula, "family": "binomial", **extra}))
    return path


def _cells(model, key: str) -> list:
    col = next(j for j, c in enumerate(model.table.columns) if c.key == key)
    return [model.data(model.index(i, col), Qt.ItemDataRole.UserRole) for i in range(model.rowCount())]


def test_binary_glmm_shows_odds_ratios_fixed_term_tests_and_the_probability_plot(make_window, qtbot, tmp_path):
    (tmp_path / "bacteria.csv").write_bytes(BACTERIA.read_bytes())
    w = make_window()
    assert w.open_analysis(_analysis(tmp_path, "bacteria.csv", "y ~ trt * week + (1 | ID)",
                                     reference_levels={"trt": "placebo"}), fit=False)
    failures = []
    w.controller.failed.connect(lambda rev, message: failures.append(message))
    with qtbot.waitSignal(w.controller.finished, timeout=FIT_TIMEOUT_MS) as blocker:
        blocker.connect(w.controller.failed)
        qtbot.mouseClick(w.model_panel.fit_button, Qt.MouseButton.LeftButton)
    assert not failures, failures
    result = blocker.args[1]
    assert result.data["model"] == "glmm" and result.data["family"] == "binomial"

    fixed = w.results_panel.model("fixed_effects")
    labels = [c.label for c in fixed.table.columns]
    assert "Odds ratio" in labels and "95% CI (odds ratio)" in labels and "z" in labels
    want = {r["term"]: r for r in result.data["fixed_effects"]}
    terms = _cells(fixed, "term")
    for term, odds in zip(terms, _cells(fixed, "exp_estimate")):
        assert odds == pytest.approx(np.exp(want[term]["estimate"]), rel=1e-12)

    tests = w.results_panel.model("fixed_effect_tests")
    assert tests is not None, w.results_panel.table_keys()
    assert _cells(tests, "term") == ["trt:week"]  # marginality: the main effects are inside the interaction
    assert _cells(tests, "df") == [2]
    assert _cells(tests, "chisq")[0] == pytest.approx(result.data["fixed_effect_tests"][0]["chisq"])

    tab = w.results_panel.plot_tab("response_trajectory")
    assert isinstance(tab, PlotTab)  # drawn, not a "could not be drawn" message
    lines = [i for i in tab.view.getPlotItem().items if isinstance(i, pg.PlotDataItem) and i.name()]
    assert sorted(i.name() for i in lines) == ["drug", "drug+", "placebo"]
    y = np.concatenate([i.getData()[1] for i in lines])
    assert np.all((y > 0) & (y < 1))  # probabilities
    assert "probability" in tab.view.getPlotItem().getAxis("left").labelText
    assert "link scale (log-odds)" in w.results_panel.plot_tab("caterpillar_0_0").view.getPlotItem().getAxis("bottom").labelText
    # the same figures as files (what ``mixgui fit --plots DIR`` writes)
    from mixgui.gui.plots.render import write_pngs
    paths = {p.name: p for p in write_pngs(result, tmp_path / "plots")}
    assert paths["response_trajectory.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def big_binary(tmp_path) -> Path:
    """20,000 rows (2,000 patients x 10 visits) of a binary outcome with a patient effect."""
    rng = np.random.default_rng(18)
    n_pat, n_vis = 2000, 10
    pat = np.repeat(np.arange(n_pat), n_vis)
    time = np.tile(np.arange(n_vis, dtype=float), n_pat)
    treat = np.repeat(rng.integers(0, 2, n_pat), n_vis)
    eta = -0.5 + 0.1 * time - 0.4 * treat + 0.05 * time * treat + np.repeat(rng.normal(0, 1.2, n_pat), n_vis)
    y = (rng.uniform(size=len(eta)) < 1 / (1 + np.exp(-eta))).astype(int)
    frame = pd.DataFrame({"patient": [f"p{p}" for p in pat], "time": time,
                          "treat": np.where(treat == 1, "active", "control"), "y": y})
    frame.to_csv(tmp_path / "binary_20k.csv", index=False)
    return _analysis(tmp_path, "binary_20k.csv", "y ~ time * treat + (1 | patient)")


def test_cancel_during_a_large_glmm_fit_stops_it_and_the_window_stays_usable(make_window, qtbot, big_binary,
                                                                              tmp_path):
    w = make_window()
    assert w.open_analysis(big_binary, fit=False)
    # Cancel once the optimiser itself reports (not while the design is built)
    with qtbot.waitSignal(w.controller.progress, timeout=FIT_TIMEOUT_MS,
                          check_params_cb=lambda r, f, m: m == "Fitting the generalized mixed model"):
        rev = w.fit()
    assert w.status.cancel_button.isVisible()
    with qtbot.waitSignal(w.controller.cancelled, timeout=FIT_TIMEOUT_MS, check_params_cb=lambda r: r == rev):
        qtbot.mouseClick(w.status.cancel_button, Qt.MouseButton.LeftButton)
    assert not w.controller.is_running()
    assert w.status.text() == "Ready · fit cancelled"
    # usable: a small model on the same window fits and shows its results
    (tmp_path / "bacteria.csv").write_bytes(BACTERIA.read_bytes())
    assert w.open_analysis(_analysis(tmp_path, "bacteria.csv", "y ~ trt + week2 + (1 | ID)"), fit=False)
    with qtbot.waitSignal(w.controller.finished, timeout=FIT_TIMEOUT_MS):
        w.fit()
    assert w.results_panel.model("fixed_effect_tests") is not None
