"""The window under stress: close during a fit, new data during a fit, cancel ten times, a million rows,
and a storm of model edits, analysis switches and undos while the results refit after each.

Real fits (``mixgui.pipeline.run.run``) on data big enough to take a while, plus the gated fake
fits of tests/gui where a test must decide when a fit ends. The fixtures are tests/gui's own
(imported below), so the same leak check runs after every test here: no window left open, no fit
thread left running. A "QThread destroyed while running" would abort the whole pytest process,
so merely finishing this module is part of the check.
"""
from __future__ import annotations

import importlib.util
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.spec import AnalysisSpec, DataRef
from mixgui.data.dataset import Dataset


def _gui_conftest():
    """tests/gui/conftest.py as a module, loaded once, for its fixtures and fakes."""
    name = "_mixgui_gui_conftest"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "gui" / "conftest.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


# tests/gui's fixtures, registered for this module (autouse ones included: styled app, private
# recovery folder, no close question, the leak check)
_gui = _gui_conftest()
for _name in dir(_gui):
    _obj = getattr(_gui, _name)
    if type(_obj).__name__ in ("FixtureFunctionDefinition", "FixtureFunctionMarker") or hasattr(_obj, "_pytestfixturefunction"):
        globals()[_name] = _obj
GatedRun = _gui.GatedRun

TIMEOUT = 20_000  # ms: generous for a loaded CI machine; the assertions on speed are separate


def _slow_dataset(n_groups: int = 400, per_group: int = 50, seed: int = 3) -> Dataset:
    """Crossed random effects on 20,000 rows: a real fit that takes a few seconds."""
    rng = np.random.default_rng(seed)
    n = n_groups * per_group
    g = np.repeat(np.arange(n_groups), per_group)
    k = rng.integers(0, 60, n)
    x = rng.normal(size=n)
    y = 1 + 0.5 * x + rng.normal(size=n_groups)[g] + rng.normal(size=60)[k] + rng.normal(size=n)
    frame = pd.DataFrame({"score": y, "dose": x, "patient": [f"P{i}" for i in g], "site": [f"S{i}" for i in k]})
    return Dataset(frame, name="slow")


SLOW_SPEC = AnalysisSpec(formula="score ~ dose + (dose | patient) + (1 | site)", df_method="kenward-roger",
                         random_effect_tests=True, data=DataRef("slow.csv"))


def _show(window, dataset: Dataset, spec: AnalysisSpec) -> None:
    window.set_dataset(dataset)
    window.builder.set_spec(spec)  # the model pane is the builder
    assert window.builder.formula_error() is None and window.builder.spec() == spec


def test_closing_the_window_during_a_real_fit_stops_its_thread(make_window, qtbot):
    w = make_window()
    _show(w, _slow_dataset(), SLOW_SPEC)
    with qtbot.waitSignal(w.controller.progress, timeout=TIMEOUT):
        w.fit()
    controller = w.controller
    assert controller.is_running()
    t0 = time.perf_counter()
    w.close()
    assert time.perf_counter() - t0 < 10, "closing waited too long for the fit to stop"
    assert not controller.is_running()
    assert controller._pool.activeThreadCount() == 0


def test_loading_new_data_during_a_fit_drops_the_old_fit(make_window, qtbot):
    w = make_window()
    _show(w, _slow_dataset(), SLOW_SPEC)
    finished = []
    w.controller.finished.connect(lambda rev, result, s: finished.append(result))
    with qtbot.waitSignal(w.controller.progress, timeout=TIMEOUT):
        old = w.fit()
    # new data while the fit runs: the fit is cancelled, its results never shown
    small = pd.read_csv(Path(__file__).resolve().parents[1] / "reference" / "cli" / "sleepstudy.csv")
    with qtbot.waitSignal(w.controller.cancelled, timeout=TIMEOUT, check_params_cb=lambda r: r == old):
        w.set_dataset(Dataset(small, name="sleepstudy"))
    assert finished == [] and w.results_panel.table_keys() == []
    w.builder.set_spec(AnalysisSpec(formula="Reaction ~ Days + (Days | Subject)", data=DataRef("sleepstudy.csv")))
    with qtbot.waitSignal(w.controller.finished, timeout=TIMEOUT) as done:
        new = w.fit()
    assert done.args[0] == new and new > old
    assert done.args[1].data["data_name"] == "sleepstudy" and done.args[1].data["nobs"] == 180
    assert "fixed_effects" in w.results_panel.table_keys()


def test_new_data_while_a_fake_fit_ignores_cancel_never_shows_its_result(make_window, qtbot):
    run = GatedRun(ignore_cancel=True)
    w = make_window(run_fn=run)
    try:
        _show(w, _slow_dataset(20, 5), SLOW_SPEC)
        old = w.fit()
        qtbot.waitUntil(run.entered[0].is_set, timeout=5000)  # the worker starts a turn later
        w.set_dataset(_slow_dataset(10, 5, seed=4))
        shown = []
        w.controller.finished.connect(lambda rev, *_: shown.append(rev))
        with qtbot.waitSignal(w.controller.cancelled, timeout=TIMEOUT, check_params_cb=lambda r: r == old):
            run.release(0)  # the old computation ends with a result: dropped
        assert shown == [] and w.results_panel.table_keys() == []
    finally:
        run.release_all()


def test_cancelling_ten_times_in_a_row_then_a_fit_succeeds(make_window, qtbot):
    w = make_window()
    _show(w, _slow_dataset(), SLOW_SPEC)
    revisions = []
    for _ in range(10):
        with qtbot.waitSignal(w.controller.progress, timeout=TIMEOUT):
            rev = w.fit()
        revisions.append(rev)
        with qtbot.waitSignal(w.controller.cancelled, timeout=TIMEOUT, check_params_cb=lambda r, rev=rev: r == rev):
            w.cancel_fit()
        assert not w.controller.is_current_running()
        assert w.status.text() == "Ready · fit cancelled"
    assert revisions == list(range(revisions[0], revisions[0] + 10))
    assert w.results_panel.table_keys() == []  # nothing half-made was shown
    qtbot.waitUntil(lambda: not w.controller.is_running(), timeout=TIMEOUT)
    # the window still works: a small fit runs to the end
    small = pd.read_csv(Path(__file__).resolve().parents[1] / "reference" / "cli" / "sleepstudy.csv")
    w.set_dataset(Dataset(small, name="sleepstudy"))
    w.builder.set_spec(AnalysisSpec(formula="Reaction ~ Days + (1 | Subject)", data=DataRef("sleepstudy.csv")))
    with qtbot.waitSignal(w.controller.finished, timeout=TIMEOUT):
        w.fit()
    assert "fixed_effects" in w.results_panel.table_keys()


def test_cancel_pressed_rapidly_without_waiting(make_window, qtbot):
    """Ten fit/cancel pairs without waiting in between: one fit (the last) is left, and it finishes."""
    w = make_window()
    small = pd.read_csv(Path(__file__).resolve().parents[1] / "reference" / "cli" / "sleepstudy.csv")
    w.set_dataset(Dataset(small, name="sleepstudy"))
    w.builder.set_spec(AnalysisSpec(formula="Reaction ~ Days + (Days | Subject)", data=DataRef("sleepstudy.csv")))
    for _ in range(10):
        w.fit()
        w.cancel_fit()
    with qtbot.waitSignal(w.controller.finished, timeout=TIMEOUT) as done:
        last = w.fit()
    assert done.args[0] == last
    qtbot.waitUntil(lambda: not w.controller.is_running(), timeout=TIMEOUT)


# -- a million rows ---------------------------------------------------------------------------
N = 1_000_000


@pytest.fixture(scope="module")
def million() -> Dataset:
    rng = np.random.default_rng(11)
    g = rng.integers(0, 2000, N)
    x = rng.normal(size=N)
    frame = pd.DataFrame({"outcome score": 1 + 0.3 * x + rng.normal(size=2000)[g] + rng.normal(size=N),
                          "dose": x, "patient id": np.char.add("P", g.astype(str)).astype(object),
                          "arm": np.where(rng.random(N) < 0.5, "control", "treated")})
    return Dataset(frame, name="million")


def test_a_million_row_grid_model_is_made_fast_in_bounded_memory(million):
    from mixgui.gui.models.data_model import DataFrameModel

    tracemalloc.start()
    try:
        t0 = time.perf_counter()
        model = DataFrameModel(million.frame, batch_size=1000)
        seconds = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seconds < 1.0, f"making the grid model took {seconds:.2f} s"
    assert peak < 200e6, f"making the grid model allocated {peak / 1e6:.0f} MB at its peak"
    assert model.rowCount() == 1000 and model.total_rows == N


def test_a_million_rows_in_the_window_stay_responsive(make_window, qtbot, million):
    w = make_window()
    tracemalloc.start()
    try:
        t0 = time.perf_counter()
        w.set_dataset(million)
        shown = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert shown < 5.0, f"showing a million rows took {shown:.2f} s"  # the grid model alone is < 1 s
    assert peak < 200e6, f"showing a million rows allocated {peak / 1e6:.0f} MB at its peak"
    model = w.data_grid.data_model()
    assert model.total_rows == N and model.rowCount() <= 10_000  # rows arrive in batches, never all at once
    # a fit on all rows starts and is cancelled within a few seconds
    w.builder.set_spec(AnalysisSpec(formula="`outcome score` ~ dose + arm + (1 | `patient id`)",
                                    data=DataRef("million.csv")))
    t0 = time.perf_counter()
    with qtbot.waitSignal(w.controller.started, timeout=TIMEOUT):
        rev = w.fit()
    assert rev is not None
    with qtbot.waitSignal(w.controller.cancelled, timeout=TIMEOUT, check_params_cb=lambda r: r == rev):
        w.cancel_fit()
    assert time.perf_counter() - t0 < 10, "a fit on a million rows took too long to start and cancel"
    assert w.status.text() == "Ready · fit cancelled"


# -- live refits under a storm of edits -------------------------------------------------------------

FORMULAS = ("score ~ time + (1 | patient)", "score ~ time * treatment + (1 | clinic/patient)",
            "score ~ age + (1 | clinic)", "score ~ time")


def test_edits_switches_and_undo_in_any_order_never_show_a_result_under_another_model(make_window, qtbot):
    """300 random edits, analysis switches, undos, redos and Fit presses, with fits landing in between.

    After every step: a result shown without the "stale" banner is the fit of exactly the model the
    builder shows, for the analysis shown. At the end the results catch up with the last model.
    """
    import random

    run = GatedRun(open_from=0, max_calls=400)  # results come back at once, from the worker thread
    w = make_window(run_fn=run, refit_delay_ms=15)
    w.open_example(fit=False)
    b, analyses, panel, rng = w.builder, w.model_panel.analyses, w.results_panel, random.Random(7)
    actions = [
        lambda: b.estimation_box.method_buttons[rng.choice(["ML", "REML"])].click(),
        lambda: _gui.choose_option(b.estimation_box.df_combo, rng.choice(["satterthwaite", "kenward-roger"])),
        lambda: _gui.type_formula_into(w, rng.choice(FORMULAS)),
        lambda: analyses.duplicate() if len(w.session.analyses) < 4 else analyses.remove(),
        lambda: analyses.list.setCurrentRow(rng.randrange(len(w.session.analyses))),
        lambda: w.undo_action.trigger(),
        lambda: w.redo_action.trigger(),
        lambda: w.fit(),
    ]

    def check(step):
        if panel.result is not None and not panel.is_updating():
            assert panel.result.spec == b.spec(), f"step {step}: a result under another model"
            assert w.live.shows_current(), f"step {step}: another analysis's result"

    try:
        for step in range(300):
            rng.choice(actions)()
            check(step)
            if rng.random() < 0.3:
                qtbot.wait(rng.choice([0, 5, 40]))  # let some fits land and some refit timers fire
                check(step)
        qtbot.waitUntil(lambda: panel.is_current() and not w.live.pending() and not w.controller.is_running(),
                        timeout=TIMEOUT)
        assert panel.result.spec == b.spec() and w.live.shows_current()
        assert run.calls < 300  # quick edits share one refit
    finally:
        run.release_all()
