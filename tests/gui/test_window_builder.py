"""The model builder as the main window's model pane: live refits, undo from the Edit menu, several
analyses with their own results, and analysis files through the builder.

Drops go through the role-box models' ``dropMimeData`` (what a real drop calls), as in
test_builder.py; refits are waited for with signals, never with sleeps.
"""
import json
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt

from mixgui.gui.live_fit import STALE
from mixgui.gui.widgets.builder_roles import columns_mime

REF = Path(__file__).resolve().parents[1] / "reference"
TIMEOUT = 10_000
FIT_TIMEOUT_MS = 60_000


def drop(model, columns, source="variables"):
    mime = columns_mime(columns, source)
    assert model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, -1, QModelIndex())


def arrow(qtbot, builder, button, columns):
    builder.variables.view.select_columns(columns)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def column(model, key):
    return [c.key for c in model.table.columns].index(key)


def estimates(window) -> dict:
    """Term -> full-precision estimate, read from the fixed-effects table the window shows."""
    model = window.results_panel.model("fixed_effects")
    assert model is not None, window.results_panel.message()
    k = column(model, "estimate")
    return {model.data(model.index(i, 0)): model.data(model.index(i, k), Qt.ItemDataRole.UserRole)
            for i in range(model.rowCount())}


def row_label(window):
    model = window.results_panel.model("fixed_effects")
    return None if model is None else model.data(model.index(0, 0))


def edit_action(window, index):
    """Action ``index`` of the window's Edit menu (0: Undo, 1: Redo)."""
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    return menu.actions()[index]


@pytest.fixture
def open_run(gated_run_class):
    """A fake fit that returns at once, labelled "call n"; its results carry the spec fitted."""
    run = gated_run_class(open_from=0)
    yield run
    run.release_all()


# -- (1) build a model in the window; the results follow by themselves ----------------------------

def test_sleepstudy_built_in_the_window_refits_by_itself_and_matches_r(make_window, qtbot):
    w = make_window()
    assert w.open_data(REF / "cli" / "sleepstudy.csv")
    b = w.builder
    assert b.variables.model.columns() == ["Reaction", "Days", "Subject"]  # the window's data reached the builder
    assert not w.live.pending() and "once the model has an outcome" in w.model_panel.note()  # nothing to fit yet
    assert "no outcome yet" in w.results_panel.placeholder.text()
    with qtbot.waitSignal(w.controller.finished, timeout=FIT_TIMEOUT_MS) as done:
        drop(b.roles["outcome"].model, ["Reaction"])
        arrow(qtbot, b, b.roles["covariates"].arrow_button, ["Days"])
        drop(b.random_box.add_model, ["Subject"])
        b.random_box.cards[0].slope_item(("Days",)).setCheckState(Qt.CheckState.Checked)
        assert b.formula_edit.text() == "Reaction ~ Days + (Days | Subject)"
        assert w.live.pending() and w.controller.revision == 0  # debounced: nothing started yet
    assert done.args[0] == w.controller.revision == 1  # four quick edits, one fit
    assert w.results_panel.revision == 1 and w.results_panel.is_current()
    assert w.results_panel.result.spec == b.spec()
    ref = json.loads((REF / "builder" / "sleepstudy_rs.json").read_text(encoding="utf-8"))
    got = estimates(w)
    for row in ref["fixed_effects"]:
        assert got[row["term"]] == pytest.approx(row["estimate"], rel=1e-5)
    assert got["(Intercept)"] == pytest.approx(251.405105, rel=1e-6)
    assert got["Days"] == pytest.approx(10.467286, rel=1e-6)
    assert "follow the model" in w.model_panel.note()


# -- (2) an edit during a running fit: the old result never shows, the panel says stale ------------

def test_edit_during_a_running_fit_never_shows_the_old_result(make_window, qtbot, gated_run_class, choose):
    run = gated_run_class(ignore_cancel=True)  # a computation that finishes even when cancelled
    w = make_window(run_fn=run)
    try:
        w.open_example(fit=False)
        panel = w.results_panel
        run.release(0)
        with qtbot.waitSignal(w.controller.finished, timeout=TIMEOUT):
            w.fit()
        assert row_label(w) == "call 0" and panel.is_current()

        w.builder.estimation_box.method_buttons["ML"].click()  # an edit: call 0's numbers are stale now
        assert panel.is_updating() and panel.banner.text() == STALE and not w.can_export()
        assert not panel.card("fixed_effects").isEnabled()
        with qtbot.waitSignal(w.controller.started, timeout=TIMEOUT) as started:
            pass  # the refit starts by itself
        first = started.args[0]
        qtbot.waitUntil(run.entered[1].is_set, timeout=5000)  # the worker starts a turn later

        choose(w.builder.estimation_box.df_combo, "kenward-roger")  # another edit while call 1 runs
        assert panel.is_updating() and row_label(w) == "call 0"
        with qtbot.waitSignal(w.controller.started, timeout=TIMEOUT) as started:
            pass
        second = started.args[0]
        assert second == first + 1

        shown = []
        panel.shown.connect(shown.append)
        with qtbot.waitSignal(w.controller.cancelled, timeout=TIMEOUT, check_params_cb=lambda r: r == first):
            run.release(1)  # call 1 ends with a result for a model no longer shown
        assert shown == [] and row_label(w) == "call 0" and panel.is_updating()

        with qtbot.waitSignal(panel.shown, timeout=TIMEOUT):
            run.release(2)
        assert row_label(w) == "call 2" and panel.revision == second and panel.is_current()
        assert panel.card("fixed_effects").isEnabled()
        spec = panel.result.spec
        assert spec == w.builder.spec() and (spec.method, spec.df_method) == ("ML", "kenward-roger")
    finally:
        run.release_all()


# -- (3) undo from the Edit menu ----------------------------------------------------------------

def test_undo_from_the_edit_menu_restores_the_formula_and_refits(make_window, qtbot, open_run):
    w = make_window(run_fn=open_run)
    w.open_example(fit=False)
    b = w.builder
    original = b.formula_edit.text()
    assert original == "score ~ time * treatment + age + (1 | clinic/patient)"
    undo, redo = edit_action(w, 0), edit_action(w, 1)
    assert undo is w.undo_action and not undo.isEnabled()  # an opened analysis has no history
    with qtbot.waitSignal(w.results_panel.shown, timeout=TIMEOUT):
        b.terms_box.select_terms([("age",)])
        qtbot.mouseClick(b.terms_box.remove_button, Qt.MouseButton.LeftButton)
    assert b.formula_edit.text() == "score ~ time * treatment + (1 | clinic/patient)"
    assert w.results_panel.result.spec.formula == b.formula_edit.text()
    assert undo.isEnabled() and undo.text() == "Undo Remove age"

    rev = w.controller.revision
    undo.trigger()
    assert b.formula_edit.text() == original and b.roles["covariates"].columns() == ["time", "age"]
    assert w.live.pending() and w.results_panel.is_updating()  # greyed until the refit lands
    assert redo.isEnabled() and redo.text() == "Redo Remove age"
    with qtbot.waitSignal(w.results_panel.shown, timeout=TIMEOUT) as shown:
        pass
    assert shown.args[0] == w.controller.revision == rev + 1
    assert w.results_panel.result.spec == b.spec() and b.spec().formula == original
    assert w.results_panel.is_current()


def test_undo_back_to_the_fitted_model_shows_its_results_at_once(make_window, qtbot, gated_run):
    w = make_window(run_fn=gated_run)
    w.open_example(fit=False)
    panel = w.results_panel
    gated_run.release(0)
    with qtbot.waitSignal(panel.shown, timeout=TIMEOUT):
        w.fit()
    w.builder.estimation_box.method_buttons["ML"].click()
    with qtbot.waitSignal(w.controller.started, timeout=TIMEOUT) as started:
        pass  # the refit of the ML model runs (and waits)
    assert panel.is_updating() and not w.can_export()
    with qtbot.waitSignal(w.controller.cancelled, timeout=TIMEOUT, check_params_cb=lambda r: r == started.args[0]):
        w.undo_action.trigger()  # back to the model of call 0: its numbers are current again
    assert gated_run.cancelled_calls == [1]
    assert row_label(w) == "call 0" and panel.is_current() and panel.result.spec == w.builder.spec()
    assert w.can_export() and w.status.text().endswith("results belong to the model shown")


def test_ctrl_z_anywhere_in_the_window_undoes_the_last_model_edit(make_window, qtbot, open_run):
    w = make_window(run_fn=open_run)
    w.open_example(fit=False)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    w.builder.estimation_box.method_buttons["ML"].click()
    w.data_grid.setFocus()  # focus outside the builder
    qtbot.keyClick(w.data_grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert w.builder.spec().method == "REML"
    qtbot.keyClick(w.data_grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert w.builder.spec().method == "ML"
    edit = w.builder.formula_edit  # in the formula line too: one history for typed and clicked edits
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert w.builder.spec().method == "REML" and w.undo_action.text() == "Undo"


# -- (4) several analyses, each with its own results ------------------------------------------------

def test_two_analyses_each_show_their_own_results(make_window, qtbot, gated_run, type_formula):
    w = make_window(run_fn=gated_run)
    w.open_example(fit=False)
    analyses, panel = w.model_panel.analyses, w.results_panel
    gated_run.release(0)
    with qtbot.waitSignal(panel.shown, timeout=TIMEOUT):
        qtbot.mouseClick(w.model_panel.fit_button, Qt.MouseButton.LeftButton)
    first = w.builder.spec()
    assert row_label(w) == "call 0" and analyses.names() == ["Analysis 1"]

    qtbot.mouseClick(analyses.duplicate_button, Qt.MouseButton.LeftButton)
    assert analyses.names() == ["Analysis 1", "Analysis 1 copy"] and w.session.current == 1
    assert row_label(w) == "call 0" and panel.is_current()  # the same model: its fit, without refitting
    assert gated_run.calls == 1 and not w.live.pending()

    type_formula(w, "score ~ time + (1 | patient)")
    second = w.builder.spec()
    assert panel.is_updating()
    with qtbot.waitSignal(w.controller.started, timeout=TIMEOUT):
        pass  # the copy's refit (call 1) starts and waits
    qtbot.waitUntil(gated_run.entered[1].is_set, timeout=5000)  # the worker starts a turn later

    analyses.list.setCurrentRow(0)  # as a click: back to the first analysis while the copy's fit runs
    assert w.builder.formula_edit.text() == first.formula and w.builder.spec() == first
    assert row_label(w) == "call 0" and panel.result.spec == first and panel.is_current()
    shown = []
    panel.shown.connect(shown.append)
    with qtbot.waitSignal(w.controller.finished, timeout=TIMEOUT):
        gated_run.release(1)
    assert shown == [] and row_label(w) == "call 0"  # the copy's numbers never appear under the first

    analyses.list.setCurrentRow(1)
    assert w.builder.spec() == second and row_label(w) == "call 1" and panel.result.spec == second
    assert gated_run.calls == 2 and not w.live.pending()  # kept: switching does not refit
    analyses.list.setCurrentRow(0)
    assert row_label(w) == "call 0" and gated_run.calls == 2

    qtbot.mouseClick(analyses.new_button, Qt.MouseButton.LeftButton)
    assert analyses.names()[-1] == "Analysis 3" and w.builder.formula_edit.text() == ""
    assert panel.result is None and "no outcome" in panel.placeholder.text()
    assert not w.live.pending() and gated_run.calls == 2  # an empty model is not fitted

    item = analyses.list.item(2)
    item.setText("Random slopes")  # what finishing the in-place editor does
    assert w.session.analyses[2].name == "Random slopes" and w.undo_action.text() == "Undo Rename analysis"
    qtbot.mouseClick(analyses.remove_button, Qt.MouseButton.LeftButton)
    assert analyses.names() == ["Analysis 1", "Analysis 1 copy"]
    assert w.session.current == 1 and row_label(w) == "call 1"
    w.undo_action.trigger()
    assert analyses.names() == ["Analysis 1", "Analysis 1 copy", "Random slopes"] and w.session.current == 2
    assert w.is_dirty()


def test_the_analysis_menu_adds_duplicates_and_removes(make_window, open_run):
    w = make_window(run_fn=open_run)
    w.open_example(fit=False)
    w.new_analysis_action.trigger()
    w.duplicate_analysis_action.trigger()
    assert w.model_panel.analyses.names() == ["Analysis 1", "Analysis 2", "Analysis 2 copy"]
    w.remove_analysis_action.trigger()
    w.remove_analysis_action.trigger()
    assert w.model_panel.analyses.names() == ["Analysis 1"]
    assert w.builder.spec().formula == "score ~ time * treatment + age + (1 | clinic/patient)"


# -- (5) analysis files and projects come from and go to the builder --------------------------------

def test_save_analysis_then_open_restores_the_builder(make_window, qtbot, tmp_path, choose, open_run):
    w = make_window(run_fn=open_run)
    w.open_example(fit=False)
    b = w.builder
    b.random_box.cards[0].slope_item(("time",)).setCheckState(Qt.CheckState.Checked)
    b.estimation_box.method_buttons["ML"].click()
    choose(b.reference_box.combos["treatment"], "treated")
    b.emmeans_box.factor_combo.setCurrentText("treatment")
    qtbot.mouseClick(b.emmeans_box.add_button, Qt.MouseButton.LeftButton)
    spec = b.spec()
    assert "(time | clinic/patient)" in spec.formula and spec.method == "ML"
    path = tmp_path / "slopes.json"
    assert w.save_analysis(path)
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["formula"] == spec.formula and saved["reference_levels"] == {"treatment": "treated"}
    assert saved["emmeans"][0]["specs"] == "treatment"

    w2 = make_window(run_fn=open_run)
    assert w2.open_analysis(path, fit=False)
    c = w2.builder
    assert c.spec().with_(data=spec.data) == spec
    assert c.formula_edit.text() == b.formula_edit.text()
    for role in ("outcome", "factors", "covariates"):
        assert c.roles[role].columns() == b.roles[role].columns(), role
    assert [card.chain_model.columns() for card in c.random_box.cards] == [["clinic", "patient"]]
    assert c.random_box.cards[0].slope_item(("time",)).checkState() == Qt.CheckState.Checked
    assert c.estimation_box.method_buttons["ML"].isChecked()
    assert c.reference_box.combos["treatment"].currentData() == "treated"
    assert c.emmeans_box.requests.count() == 1
    assert not w2.undo_action.isEnabled() and not w2.is_dirty()


def test_save_analysis_saves_the_current_one(make_window, tmp_path, type_formula, open_run):
    w = make_window(run_fn=open_run)
    w.open_example(fit=False)
    w.model_panel.analyses.duplicate()
    type_formula(w, "score ~ time + (1 | patient)")
    path = tmp_path / "second.json"
    assert w.save_analysis(path)
    assert json.loads(path.read_text(encoding="utf-8"))["formula"] == "score ~ time + (1 | patient)"
    assert w.open_analysis(path, fit=False)
    assert w.model_panel.analyses.names() == ["Analysis 1"]  # an analysis file is one analysis
    assert w.builder.spec().formula == "score ~ time + (1 | patient)"


def test_a_project_keeps_every_analysis_with_its_name(make_window, qtbot, tmp_path, type_formula, open_run):
    w = make_window(run_fn=open_run)
    w.open_example(fit=False)
    w.model_panel.analyses.duplicate()
    w.session.rename_analysis(1, "Patients only")
    type_formula(w, "score ~ time + (1 | patient)")
    w.session.set_current(0)
    path = tmp_path / "two.mixgui"
    assert w.save_project(path)

    w2 = make_window(run_fn=open_run)
    with qtbot.waitSignal(w2.results_panel.shown, timeout=TIMEOUT):
        assert w2.open_project(path)
    assert w2.model_panel.analyses.names() == ["Analysis 1", "Patients only"] and w2.session.current == 0
    assert [a.spec.formula for a in w2.session.analyses] == [a.spec.formula for a in w.session.analyses]
    assert w2.results_panel.result.spec == w2.builder.spec()  # the current analysis was fitted
    w2.session.set_current(1)
    assert w2.builder.formula_edit.text() == "score ~ time + (1 | patient)"
    assert not w2.is_dirty()


def test_opening_other_data_keeps_the_analyses_and_the_builder_follows(make_window, qtbot, open_run):
    w = make_window(run_fn=open_run)
    w.open_example(fit=False)
    w.model_panel.analyses.duplicate()
    assert w.open_data(REF / "cli" / "sleepstudy.csv")
    assert w.builder.variables.model.columns() == ["Reaction", "Days", "Subject"]
    assert w.model_panel.analyses.names() == ["Analysis 1", "Analysis 1 copy"]
    # the old model names columns the new data do not have: said under the formula, nothing fitted
    assert 'column "score" is not in the data' in w.model_panel.formula_error()
    assert w.fit() is None and "formula cannot be read" in w.results_panel.message()


def test_a_burst_of_edits_is_autosaved_once_in_the_writer_thread(make_window, qtbot, open_run, recovery_folder,
                                                                  choose, monkeypatch):
    import threading

    from mixgui.session.project import Autosaver

    threads = []
    write = Autosaver.write
    monkeypatch.setattr(Autosaver, "write", lambda self, copy: threads.append(threading.current_thread())
                        or write(self, copy))
    w = make_window(run_fn=open_run, recovery_folder=recovery_folder, autosave_delay=0.3)
    w.open_example(fit=False)
    saved = []
    w.recovery.saved.connect(saved.append)
    with qtbot.waitSignal(w.recovery.saved, timeout=TIMEOUT):
        w.builder.estimation_box.method_buttons["ML"].click()
        choose(w.builder.estimation_box.df_combo, "kenward-roger")
        w.set_level("visit", "ordinal")
    assert saved == [str(w.recovery.autosaver.path)] and len(threads) == 1
    assert threads[0] is not threading.main_thread()  # written in the background, never on the GUI thread
    from mixgui.session.project import load_project

    copy = load_project(w.recovery.autosaver.path)
    assert copy.analyses[0].method == "ML" and copy.analyses[0].df_method == "kenward-roger"
    assert copy.dataset.levels["visit"] == "ordinal"
    w.undo_action.trigger()  # an undo is a change too
    qtbot.waitUntil(lambda: len(saved) == 2, timeout=TIMEOUT)
    assert load_project(w.recovery.autosaver.path).dataset.levels["visit"] != "ordinal"


# -- model comparison across the session's analyses ------------------------------------------------

def test_compare_two_fitted_analyses_matches_r_anova(make_window, qtbot, type_formula):
    """Analysis ▸ Compare analyses on a random intercept and a random slope model of sleepstudy."""
    w = make_window()
    assert w.open_data(REF / "cli" / "sleepstudy.csv")
    assert w.open_compare() is None and "two or more fitted analyses" in w.last_error
    with qtbot.waitSignal(w.controller.finished, timeout=FIT_TIMEOUT_MS):
        type_formula(w, "Reaction ~ Days + (1 | Subject)")
    w.model_panel.analyses.duplicate()
    with qtbot.waitSignal(w.controller.finished, timeout=FIT_TIMEOUT_MS):
        type_formula(w, "Reaction ~ Days + (Days | Subject)")
    dialog = w.open_compare()
    assert dialog is not None and dialog.table is not None, dialog.message.text()
    ref = json.loads((REF / "compare" / "compare_refs.json").read_text(encoding="utf-8"))["same_fixed_reml"]
    rows = dialog.table.rows
    assert [r["formula"] for r in rows] == ref["formulas"]
    for got, want in zip(rows, ref["rows"]):
        # lme4's anova(refit = FALSE): REML likelihoods of the same fixed effects, 1e-6 relative
        assert got["loglik"] == pytest.approx(want["loglik"], rel=1e-6)
        assert got["aic"] == pytest.approx(want["aic"], rel=1e-6)
    assert rows[1]["chisq"] == pytest.approx(ref["rows"][1]["chisq"], rel=1e-5)
    assert rows[1]["p_value"] == pytest.approx(ref["rows"][1]["p_value"], rel=1e-4)
    # unticking one leaves nothing to compare: the reason is shown, the table goes
    dialog.picker.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert dialog.table is None and "at least two" in dialog.message.text()
    dialog.close()
