"""Projects, autosave and recovery, the crash handler, closing with unsaved work, menus and keys."""
import faulthandler
import os
import sys
import threading

import pandas as pd
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from mixgui.data.computed import Center

FIT_TIMEOUT_MS = 60_000
TIMEOUT = 20_000
DEAD_PID = 4_194_311  # above Linux's largest possible pid: a session that is no longer running


def _fit(qtbot, window, start=None):
    with qtbot.waitSignal(window.controller.finished, timeout=FIT_TIMEOUT_MS) as blocker:
        blocker.connect(window.controller.failed)
        (start or window.fit)()
    assert len(blocker.args) == 3, f"the fit failed: {blocker.args}"
    return blocker.args[1]


def _estimates(result) -> dict:
    return {r["term"]: r["estimate"] for r in result.data["fixed_effects"]}


def test_project_round_trip_gives_the_same_data_analysis_and_results(make_window, qtbot, tmp_path, type_formula):
    w = make_window()
    w.open_example(fit=False)
    assert w.documents.add_recipe(Center("age_c", "age"))
    type_formula(w, "score ~ time * treatment + age_c + (1 | clinic/patient)")
    w.builder.estimation_box.method_buttons["ML"].click()
    first = _fit(qtbot, w)
    assert w.is_dirty()
    path = tmp_path / "study.mixgui"
    assert w.save_project(path)
    assert not w.is_dirty() and w.session.project_path == path

    w2 = make_window()
    second = _fit(qtbot, w2, lambda: w2.open_project(path))
    pd.testing.assert_frame_equal(w2.dataset.frame, w.dataset.frame)
    assert w2.dataset.levels == w.dataset.levels
    assert w2.session.provenance.recipes == (Center("age_c", "age"),)
    spec, spec2 = w.model_panel.spec(), w2.model_panel.spec()
    assert (spec2.formula, spec2.method, spec2.factors, spec2.reference_levels) == \
           (spec.formula, spec.method, spec.factors, spec.reference_levels)
    assert _estimates(second) == pytest.approx(_estimates(first), rel=1e-10)
    assert w2.results_panel.plot_tab("residuals").view.n_points() == 256
    assert not w2.is_dirty() and w2.session.project_path == path
    recent = w2.dialogs.recent_files()
    assert recent[0] == str(path.resolve()) and len(recent) <= 8


def test_autosave_after_each_change_and_restore_in_a_new_window(make_window, qtbot, recovery_folder, type_formula,
                                                                choose):
    w = make_window(recovery_folder=recovery_folder, autosave_delay=0.05)
    assert w.recovery.folder == recovery_folder
    w.open_example(fit=False)
    assert not w.recovery.timer.isActive()  # just opened: nothing to lose
    with qtbot.waitSignal(w.recovery.saved, timeout=TIMEOUT):
        type_formula(w, "score ~ time + age + (1 | patient)")
    saved = w.recovery.autosaver.path
    assert saved.parent == recovery_folder and saved.exists()
    w.save_project(recovery_folder.parent / "saved.mixgui")
    assert not saved.exists()  # saved properly: the recovery copy is no longer needed
    type_formula(w, "score ~ time + age + (1 | patient)")  # the same model: no change, nothing to copy
    assert not w.recovery.timer.isActive() and not saved.exists()
    with qtbot.waitSignal(w.recovery.saved, timeout=TIMEOUT):
        choose(w.builder.estimation_box.df_combo, "kenward-roger")
    assert saved.exists()
    # the session "dies": its copy now belongs to a process that no longer runs
    crashed = recovery_folder / f"recovery-{DEAD_PID}.mixgui"
    saved.rename(crashed)

    w2 = make_window(recovery_folder=recovery_folder)
    banner = w2.recovery.banner
    assert banner.isVisible() and "did not close properly" in banner.label.text()
    assert w2.recovery.offered == crashed
    _fit(qtbot, w2, lambda: qtbot.mouseClick(banner.restore_button, Qt.MouseButton.LeftButton))
    assert not banner.isVisible() and not crashed.exists()
    pd.testing.assert_frame_equal(w2.dataset.frame, w.dataset.frame)
    assert w2.model_panel.formula_edit.text() == "score ~ time + age + (1 | patient)"
    assert w2.model_panel.spec().df_method == "kenward-roger"
    assert w2.is_dirty()  # restored work is not saved anywhere yet


def test_discarding_the_offer_deletes_the_copy_and_autosave_waits_for_a_change(make_window, recovery_folder):
    w = make_window(recovery_folder=recovery_folder, autosave_delay=60)  # the test writes the copies itself
    w.open_example(fit=False)
    assert w.recovery.maybe_save() is None  # just opened: nothing to lose
    w.set_level("age", "ordinal")
    assert w.recovery.timer.isActive()  # a copy is due after the quiet time
    assert w.recovery.maybe_save() == w.recovery.autosaver.path
    assert w.recovery.maybe_save() is None  # nothing changed since
    w.recovery.autosaver.path.rename(recovery_folder / f"recovery-{DEAD_PID}.mixgui")
    w2 = make_window(recovery_folder=recovery_folder)
    w2.recovery.banner.discard_button.click()
    assert not w2.recovery.banner.isVisible()
    assert not list(recovery_folder.glob(f"recovery-{DEAD_PID}*"))
    assert w2.dataset is None


def test_a_damaged_recovery_copy_is_skipped_with_a_note(make_window, recovery_folder):
    recovery_folder.mkdir(parents=True)
    (recovery_folder / f"recovery-{DEAD_PID}.mixgui").write_bytes(b"PK\x03\x04 cut off by a crash")
    w = make_window(recovery_folder=recovery_folder)
    banner = w.recovery.banner
    assert banner.isVisible() and w.recovery.offered is None
    assert "damaged recovery copy could not be read and was skipped" in banner.label.text()
    assert f"recovery-{DEAD_PID}.mixgui" in banner.label.text() and not banner.restore_button.isVisible()
    banner.discard_button.click()
    assert not banner.isVisible()


def test_crash_handler_writes_a_report_saves_and_keeps_the_window(make_window, qtbot, recovery_folder):
    from mixgui.gui.recovery import install_crash_handler

    w = make_window(recovery_folder=recovery_folder)
    w.open_example(fit=False)
    handler = install_crash_handler(w.recovery)
    fatal = recovery_folder.parent / "crashes" / f"fatal-{os.getpid()}.txt"
    try:
        assert sys.excepthook == handler.excepthook
        assert faulthandler.is_enabled() and fatal.exists()  # hard crashes leave their stacks here
        try:
            raise RuntimeError("boom for the test")
        except RuntimeError:
            sys.excepthook(*sys.exc_info())
        reports = list((recovery_folder.parent / "crashes").glob("crash-*.txt"))
        assert len(reports) == 1
        text = reports[0].read_text(encoding="utf-8")
        assert "RuntimeError: boom for the test" in text and "PySide6" in text and "MixGUI" in text
        assert w.recovery.autosaver.path.exists()  # the work was saved before the message
        box = w.crash_box
        assert box.isVisible() and str(reports[0]) in box.text()

        thread = threading.Thread(target=lambda: 1 / 0, name="worker-for-the-test")
        thread.start()
        thread.join()
        qtbot.waitUntil(lambda: len(list((recovery_folder.parent / "crashes").glob("crash-*.txt"))) == 2)
    finally:
        handler.uninstall()
    assert sys.excepthook != handler.excepthook
    assert not fatal.exists()  # empty: removed at a clean exit
    box.close()
    assert w.isVisible()
    _fit(qtbot, w)  # still usable


def test_closing_with_unsaved_work_asks(make_window, qtbot, tmp_path, type_formula):
    w = make_window()
    w.confirm_close = True
    w.open_example(fit=False)
    assert not w.is_dirty()
    type_formula(w, "score ~ time + (1 | patient)")
    assert w.is_dirty()
    asked = []

    def answer(choice):
        return lambda: asked.append(choice) or choice

    w.ask_unsaved_changes = answer("cancel")
    w.close()  # what the window's close button does
    assert w.isVisible() and asked == ["cancel"]
    w.quit_action.trigger()  # File ▸ Quit asks too
    assert w.isVisible() and asked == ["cancel", "cancel"]
    w.session.project_path = tmp_path / "kept.mixgui"
    w.ask_unsaved_changes = answer("save")
    assert w.request_close()
    assert not w.isVisible() and (tmp_path / "kept.mixgui").exists()

    w2 = make_window()
    w2.confirm_close = True
    w2.open_example(fit=False)
    w2.set_level("age", "ordinal")
    w2.ask_unsaved_changes = answer("discard")
    w2.close()
    assert not w2.isVisible() and asked[-1] == "discard"
    assert not w2.recovery.autosaver.path.exists()


def test_menus_and_shortcuts(make_window, qtbot, gated_run):
    w = make_window(run_fn=gated_run)
    menus = [a.text() for a in w.menuBar().actions()]
    assert menus == ["&File", "&Edit", "&Data", "&Analysis", "&Help"]
    assert w.undo_action.shortcut() == QKeySequence("Ctrl+Z")
    assert QKeySequence("Ctrl+Shift+Z") in w.redo_action.shortcuts()
    assert w.undo_action.shortcutContext() == Qt.ShortcutContext.WindowShortcut
    assert not w.undo_action.isEnabled() and w.undo_action.text() == "Undo"
    assert w.open_data_action.shortcut() == QKeySequence("Ctrl+O")
    assert w.save_project_action.shortcut() == QKeySequence("Ctrl+S")
    assert w.export_action.shortcut() == QKeySequence("Ctrl+E")
    assert w.model_panel.fit_button.shortcut() == QKeySequence("Ctrl+R")
    assert not w.compute_action.isEnabled() and not w.export_action.isEnabled()
    w.open_example(fit=False)
    assert w.compute_action.isEnabled() and not w.export_action.isEnabled()
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    gated_run.release(0)
    with qtbot.waitSignal(w.controller.finished, timeout=10_000):
        qtbot.keyClick(w, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert w.export_action.isEnabled()
    w.dialogs.fill_recent_menu(w.recent_menu)
    texts = [a.text() for a in w.recent_menu.actions()]
    assert texts[0].startswith("&1 square_study.analysis.json")
