"""The GUI controllers work on a bare Session, with no main window anywhere.

LiveFit (refits after edits, kept fits shown again on undo), RecoveryManager (autosave after each
change, restore), DocumentActions (open, save, errors as sentences) and MenuDialogs are built here
from a Session, a FitController and the few widgets they show things in; a signature check keeps
any controller or widget from taking the main window again.
"""
import importlib
import inspect
import pkgutil
import re

import pytest

from mixgui.analysis import builder as B
from mixgui.data.reshape import LongToWide
from mixgui.session.document import Session
from mixgui.session.files import example_path
from mixgui.session.project import load_project

TIMEOUT = 20_000


def test_no_controller_or_widget_takes_the_main_window():
    import mixgui.gui

    offenders = []
    for info in pkgutil.walk_packages(mixgui.gui.__path__, "mixgui.gui."):
        if info.name in ("mixgui.gui.main_window", "mixgui.gui.app"):
            continue  # the window itself, and the function that starts it
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if getattr(obj, "__module__", None) != module.__name__:
                continue
            targets = [obj.__init__] if inspect.isclass(obj) else [obj] if inspect.isfunction(obj) else []
            for fn in targets:
                try:
                    params = inspect.signature(fn).parameters
                except (TypeError, ValueError):
                    continue
                offenders += [f"{info.name}.{name}({p})" for p in params if "window" in p.lower()]
        source = open(module.__file__, encoding="utf-8").read()
        assert not re.search(r"\bMainWindow\b|self\.window\b|main_window", source), info.name
    assert offenders == []


@pytest.fixture
def parts(qtbot, gated_run_class):
    """A session with the widgets a LiveFit shows things in, and a gated fake fit."""
    from mixgui.gui.live_fit import LiveFit
    from mixgui.gui.widgets.model_pane import ModelPane
    from mixgui.gui.widgets.results_panel import ResultsPanel
    from mixgui.gui.widgets.status_bar import FitStatusBar
    from mixgui.gui.workers import FitController

    run = gated_run_class(open_from=0)
    session = Session()
    pane, panel, status = ModelPane(session), ResultsPanel(), FitStatusBar()
    for w in (pane, panel, status):
        qtbot.addWidget(w)
    controller = FitController(run)
    live = LiveFit(session, controller, pane, panel, status, delay_ms=50)
    yield session, live, controller, panel, run
    live.stop()
    controller.shutdown()


def _open_example(session):
    from mixgui.session import files

    files.open_analysis(session, example_path())


def test_live_fit_refits_after_an_edit_and_shows_the_kept_fit_after_undo(qtbot, parts):
    session, live, controller, panel, run = parts
    _open_example(session)
    assert live.reason() is None and panel.result is None
    with qtbot.waitSignal(panel.shown, timeout=TIMEOUT):
        assert live.fit() is not None
    first = panel.result
    assert live.shows_current() and live.can_export() and run.calls == 1
    draft = B.add_to_role(session.current_analysis.draft or B.spec_to_draft(session.current_analysis.spec,
                          session.dataset.columns, session.dataset.levels), "covariates", ["visit"])
    with qtbot.waitSignal(panel.shown, timeout=TIMEOUT):
        session.edit_draft(draft, "Add visit to Covariates")  # the refit follows by itself
    assert run.calls == 2 and panel.result is not first and not live.pending()
    session.undo_stack.undo()  # back to the first model: its kept fit, at once, without fitting again
    assert panel.result is first and run.calls == 2 and not live.pending()


def test_live_fit_shows_the_kept_fit_again_when_a_reshape_is_undone(qtbot, parts):
    session, live, controller, panel, run = parts
    _open_example(session)
    with qtbot.waitSignal(panel.shown, timeout=TIMEOUT):
        live.fit()
    first = panel.result
    session.reshape(LongToWide("patient", "time", ("score",)))
    assert panel.result is None and live.reason() is not None  # other rows: the old fit does not apply
    session.undo_stack.undo()
    assert panel.result is first and run.calls == 1


def test_live_fit_says_why_it_cannot_fit(qtbot, parts):
    session, live, controller, panel, run = parts
    assert live.fit() is None and "Open a data file first" in panel.message()
    _open_example(session)
    session.edit_analysis(spec=session.current_analysis.spec.with_(formula=""))
    assert live.fit() is None and "no outcome yet" in panel.message() and run.calls == 0


def test_recovery_manager_autosaves_each_change_of_a_bare_session_and_restores_it(qtbot, tmp_path):
    from mixgui.gui.recovery import RecoveryManager

    folder = tmp_path / "recovery"
    session = Session()
    manager = RecoveryManager(session, folder, delay=0.05)
    try:
        _open_example(session)
        assert not manager.timer.isActive()  # just opened: nothing to lose
        with qtbot.waitSignal(manager.saved, timeout=TIMEOUT) as saved:
            session.set_level("visit", "ordinal")
        copy = load_project(saved.args[0])
        assert copy.dataset.levels["visit"] == "ordinal"
        session.mark_saved()
        manager.discard()
        assert not manager.autosaver.path.exists()
    finally:
        manager.clean_exit()

    # a copy left by a session that died (its pid no longer runs) is offered to the next one
    dead = folder / "recovery-4194311.mixgui"
    from mixgui.session.files import save_project

    s2 = Session()
    _open_example(s2)
    s2.set_level("visit", "ordinal")
    save_project(s2, dead)
    fresh = Session()
    other = RecoveryManager(fresh, folder)
    try:
        assert other.check() == dead
        restored = []
        other.restored.connect(lambda: restored.append(True))
        assert other.restore() and restored == [True]
        assert fresh.dataset.levels["visit"] == "ordinal" and fresh.is_unsaved() and not dead.exists()
    finally:
        other.clean_exit()


def test_document_actions_and_menu_dialogs_work_without_a_window(qtbot, tmp_path, parts, settings):
    from mixgui.gui.documents import DocumentActions
    from mixgui.gui.menus import MenuDialogs
    from mixgui.gui.recovery import RecoveryManager

    session, live, controller, panel, run = parts
    recovery = RecoveryManager(session, tmp_path / "recovery", delay=60)
    actions = DocumentActions(session, live, recovery, panel)
    dialogs = MenuDialogs(session, actions, settings)
    errors, messages = [], []
    actions.error.connect(lambda title, text: errors.append(text))
    actions.message.connect(messages.append)
    try:
        assert not actions.open_analysis(tmp_path / "missing.json", fit=False)
        assert len(errors) == 1 and "missing.json" in errors[0]
        assert actions.open_example(fit=False) and messages[-1].startswith("Opened")
        assert actions.set_level("visit", "ordinal") and session.is_unsaved()
        assert not actions.set_level("treatment", "continuous") and messages[-1] == \
            "treatment holds text, so it cannot be continuous"
        dialogs.ask_unsaved = lambda: "discard"
        assert not dialogs.keep_work()  # the user discards
        dialogs.ask_unsaved = lambda: "cancel"
        assert dialogs.keep_work()
        assert actions.save_project(tmp_path / "p.mixgui") and not session.is_unsaved()
        assert dialogs.recent_files()[0].endswith("p.mixgui")
        assert not actions.can_export()  # nothing fitted yet
    finally:
        recovery.clean_exit()
