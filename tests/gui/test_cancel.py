"""Cancel, supersede and close while a fit runs: only the newest request's results are ever shown."""
import pytest
from PySide6.QtCore import Qt

TIMEOUT = 10_000


def _row_label(window):
    model = window.results_panel.model("fixed_effects")
    return None if model is None else model.data(model.index(0, 0))


@pytest.fixture
def demo_window(make_window, gated_run):
    window = make_window(run_fn=gated_run)
    assert window.open_example(fit=False)
    return window


def test_cancel_button_stops_the_fit_and_a_new_fit_succeeds(demo_window, gated_run, qtbot):
    w = demo_window
    gated_run.release(0)  # a first, finished fit whose results stay on screen
    with qtbot.waitSignal(w.controller.finished, timeout=TIMEOUT):
        w.fit()
    assert _row_label(w) == "call 0"

    with qtbot.waitSignal(w.controller.progress, timeout=TIMEOUT):
        rev = w.fit()
    assert w.status.cancel_button.isVisible() and w.status.progress_bar.isVisible()
    assert w.results_panel.is_updating()
    assert not w.results_panel.card("fixed_effects").isEnabled()  # old results greyed, not mixed
    with qtbot.waitSignal(w.controller.cancelled, timeout=TIMEOUT,
                          check_params_cb=lambda r: r == rev):
        qtbot.mouseClick(w.status.cancel_button, Qt.MouseButton.LeftButton)
    assert gated_run.cancelled_calls == [1]
    assert w.results_panel.revision != rev
    assert _row_label(w) == "call 0"  # the previous result, still marked as stale
    assert w.results_panel.is_updating()
    assert not w.status.cancel_button.isVisible()
    assert w.status.text() == "Ready · fit cancelled"

    gated_run.release(2)
    with qtbot.waitSignal(w.controller.finished, timeout=TIMEOUT) as blocker:
        qtbot.mouseClick(w.model_panel.fit_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0] == w.results_panel.revision
    assert _row_label(w) == "call 2"
    assert not w.results_panel.is_updating()
    assert w.results_panel.card("fixed_effects").isEnabled()


def test_second_fit_cancels_the_first_and_only_its_results_show(demo_window, gated_run, qtbot):
    w = demo_window
    first = w.fit()
    qtbot.waitUntil(gated_run.entered[0].is_set, timeout=5000)  # the worker starts a turn later
    gated_run.release(1)
    with qtbot.waitSignals([w.controller.cancelled, w.controller.finished], timeout=TIMEOUT):
        second = w.fit()
    assert second == first + 1
    assert gated_run.cancelled_calls == [0]
    assert w.results_panel.revision == second
    assert _row_label(w) == "call 1"


def test_result_of_a_superseded_fit_that_ignored_cancel_is_dropped(make_window, qtbot, gated_run_class):
    run = gated_run_class(ignore_cancel=True)
    w = make_window(run_fn=run)
    try:
        w.open_example(fit=False)
        first = w.fit()
        qtbot.waitUntil(run.entered[0].is_set, timeout=5000)  # the worker starts a turn later
        run.release(1)
        with qtbot.waitSignal(w.controller.finished, timeout=TIMEOUT) as done:
            second = w.fit()
        assert done.args[0] == second
        # now the first computation ends with a result: it must be dropped, never shown
        finished = []
        w.controller.finished.connect(lambda rev, *_: finished.append(rev))
        with qtbot.waitSignal(w.controller.cancelled, timeout=TIMEOUT,
                              check_params_cb=lambda r: r == first):
            run.release(0)
        assert finished == []
        assert w.results_panel.revision == second and _row_label(w) == "call 1"
    finally:
        run.release_all()


def test_failures_become_a_message_in_the_results_pane(make_window, qtbot):
    from mixgui.errors import ModelError

    def bad(spec, dataset, progress):
        raise ModelError("clinic has only one level; a grouping factor needs at least two")

    def buggy(spec, dataset, progress):
        raise ZeroDivisionError("division by zero")

    w = make_window(run_fn=bad)
    w.open_example(fit=False)
    with qtbot.waitSignal(w.controller.failed, timeout=TIMEOUT):
        w.fit()
    assert w.results_panel.message().startswith("clinic has only one level")
    assert w.results_panel.table_keys() == []
    assert w.error_box is None  # no dialog from a fit

    w.controller._run_fn = buggy
    with qtbot.waitSignal(w.controller.failed, timeout=TIMEOUT):
        w.fit()
    message = w.results_panel.message()
    assert "ZeroDivisionError" in message and "\n" not in message


def test_close_during_a_running_fit_stops_the_thread(make_window, gated_run, qtbot):
    w = make_window(run_fn=gated_run)
    w.open_example(fit=False)
    with qtbot.waitSignal(w.controller.progress, timeout=TIMEOUT):
        w.fit()
    controller = w.controller
    assert controller.is_running()
    w.close()
    assert not controller.is_running()
    assert controller._pool.activeThreadCount() == 0
    assert gated_run.cancelled_calls == [0]


def test_close_during_a_real_fit(make_window, qtbot):
    w = make_window()
    w.open_example(fit=False)
    w.fit()
    controller = w.controller
    w.close()  # waits for (or cancels) the real fit; must not crash or leave a thread
    assert controller._pool.activeThreadCount() == 0


def test_a_flood_of_progress_reports_reaches_the_window_throttled():
    """Thousands of reports a second would queue as many signals; repeats are thinned, stages kept."""
    from mixgui.gui import workers
    got = []
    emit = workers._throttled(lambda fraction, message: got.append(message))
    for _ in range(10000):
        emit(None, "working")
    emit(0.9, "figures")
    # a tight loop takes far less than a second here: the first "working" and the new stage pass
    assert got[0] == "working" and got[-1] == "figures"
    assert len(got) <= 2 + workers.PROGRESS_PER_SECOND * 2  # generous for a slow machine


def test_the_worker_starts_after_the_window_shows_it_is_updating(demo_window, gated_run, qtbot):
    # the window paints "Updating…" before the worker takes a processor: on two cores a 200,000-row
    # design build delayed that paint by 0.1-0.2 s when both started in the same turn
    w = demo_window
    k = gated_run.calls  # this fit's call number (the fixture's window may have fitted already)
    w.fit()
    assert w.status.cancel_button.isVisible() or w.results_panel.is_updating()  # shown at once
    assert not gated_run.entered[k].is_set()  # not started within the click's own turn
    qtbot.waitUntil(gated_run.entered[k].is_set, timeout=5000)
    gated_run.release(k)
    qtbot.waitUntil(lambda: not w.controller.is_running(), timeout=TIMEOUT)
