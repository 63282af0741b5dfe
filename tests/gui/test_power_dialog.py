"""The "Plan a study" window: a run shows power, limits and curves; Cancel stops; bad input is said in words."""
import pytest

from mixgui.errors import Progress
from mixgui.gui.widgets.power_dialog import PowerDialog

pytestmark = pytest.mark.gui


@pytest.fixture
def dialog(qtbot):
    d = PowerDialog()
    qtbot.addWidget(d)
    yield d
    d.controller.shutdown()


def test_run_shows_power_and_curves(qtbot, dialog):
    dialog.clusters.setValue(12)
    dialog.per_cluster.setValue(8)
    dialog.icc.setValue(0.1)
    dialog.simulations.setValue(200)
    with qtbot.waitSignal(dialog.controller.finished, timeout=120000):
        dialog.run_button.click()
    r = dialog.result
    assert r["simulations"] == 200 and r["clusters"] == 12
    text = dialog.numbers.text()
    assert f"{100 * r['power']:.1f} %" in text and "Monte Carlo limits" in text and "Design effect" in text
    assert "noncentral t" in text and "Fewest clusters" in text
    # both designs drawn on the cluster-count plot: 2 simulated lines + 2 formula lines
    assert len(dialog.plot_clusters.listDataItems()) == 4
    assert dialog.run_button.isEnabled() and not dialog.cancel_button.isEnabled()


def test_hopeless_design_warning_is_shown(qtbot, dialog):
    dialog.clusters.setValue(6)
    dialog.simulations.setValue(50)
    dialog.curves.setChecked(False)
    with qtbot.waitSignal(dialog.controller.finished, timeout=60000):
        dialog.run()
    assert "clusters per arm" in dialog.warnings.text()


def test_bad_input_is_said_in_words(qtbot, dialog):
    dialog.clusters.setValue(2)
    dialog.run()
    assert "fewer than 2 clusters per arm" in dialog.message.text()
    assert not dialog.controller.is_running()
    dialog.clusters.setValue(20)
    dialog.icc.setValue(1.0)
    dialog.run()
    assert "ICC must be at least 0 and below 1" in dialog.message.text()


def test_inputs_are_explained():
    d = PowerDialog()
    try:
        assert "0.05 means 5 %" in d.icc.toolTip()
        assert "standard deviations" in d.effect.toolTip()
    finally:
        d.controller.shutdown()
        d.deleteLater()


def test_cancel_stops_a_long_run(qtbot):
    started = []

    def slow(raw, _unused, progress: Progress):
        started.append(True)
        while True:  # stands for a long simulation that checks its progress object
            progress.step(None, "working")
    d = PowerDialog(run_fn=slow)
    qtbot.addWidget(d)
    d.run()
    qtbot.waitUntil(lambda: bool(started) and d.cancel_button.isEnabled(), timeout=10000)
    with qtbot.waitSignal(d.controller.cancelled, timeout=10000):
        d.cancel_button.click()
    assert d.status.text() == "Cancelled." and d.run_button.isEnabled()
    d.controller.shutdown()


def test_real_run_can_be_cancelled(qtbot, dialog):
    dialog.design.setCurrentIndex(dialog.design.findData("longitudinal"))
    dialog.clusters.setValue(40)
    dialog.per_cluster.setValue(4)
    dialog.simulations.setValue(500)
    dialog.run()
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Simulating"), timeout=10000)
    with qtbot.waitSignal(dialog.controller.cancelled, timeout=30000):
        dialog.cancel()
    assert dialog.result is None


def test_menu_opens_the_window(make_window):
    w = make_window()
    menu = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Analysis")
    act = next(a for a in menu.actions() if a.text() == "&Plan a study…")
    act.trigger()
    dlg = w.power_dialog
    assert dlg.isVisible() and dlg.windowTitle() == "Plan a study"
    dlg.close()


def test_from_the_analysis_shown(qtbot):
    """The fitted model's estimates as the truth, with more clusters (simr's extend)."""
    import numpy as np

    from mixgui.engine.covmodel import RandomBlock
    from mixgui.engine.lmm import fit_lmm

    rng = np.random.default_rng(2)
    g = np.repeat(np.arange(8), 5)
    trt = (g % 2).astype(float)
    y = 0.8 * trt + rng.normal(0, 0.6, 8)[g] + rng.normal(size=40)
    fit = fit_lmm(y, np.column_stack([np.ones(40), trt]),
                  [RandomBlock("ward", g, [f"w{i}" for i in range(8)], np.ones((40, 1)), ["(Intercept)"])],
                  column_names=["(Intercept)", "trt"])
    d = PowerDialog(fit=fit)
    qtbot.addWidget(d)
    d.design.setCurrentIndex(d.design.findData("from_analysis"))
    assert d.per_cluster.value() == 5 and not d.icc.isEnabled()
    d.clusters.setValue(12)
    d.simulations.setValue(10)
    d.curves.setChecked(False)
    with qtbot.waitSignal(d.controller.finished, timeout=120000):
        d.run()
    r = d.result
    assert r["design"] == "from_analysis" and r["clusters"] == 12 and r["test"] == "trt"
    assert r["simulations"] == 10 and "Power:" in d.numbers.text()
    d.controller.shutdown()
