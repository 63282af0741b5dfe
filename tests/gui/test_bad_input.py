"""Bad files and formulas: a plain message, and the session stays as it was."""
import json

from PySide6.QtCore import Qt

TIMEOUT = 10_000


def test_missing_file_keeps_the_dataset(make_window, tmp_path):
    w = make_window()
    assert w.open_example(fit=False)
    before = w.dataset
    formula = w.model_panel.formula_edit.text()
    assert not w.open_data(tmp_path / "nowhere.csv")
    assert "does not exist" in w.last_error
    assert w.error_box is not None and w.error_box.isVisible()
    assert w.error_box.text() == w.last_error and "\n" not in w.last_error
    assert w.dataset is before
    assert w.windowTitle() == "MixGUI — square_study: long"
    assert w.model_panel.formula_edit.text() == formula
    assert w.data_grid.data_model().total_rows == 256
    w.error_box.close()


def test_binary_file_named_csv_keeps_the_dataset(make_window, tmp_path):
    w = make_window()
    w.open_example(fit=False)
    before = w.dataset
    bad = tmp_path / "scores.csv"
    bad.write_bytes(bytes(range(256)) * 40)
    assert not w.open_data(bad)
    assert "binary" in w.last_error or "not a text file" in w.last_error
    assert w.dataset is before and w.data_grid.data_model().total_rows == 256


def test_bad_analysis_file_keeps_the_session(make_window, tmp_path):
    w = make_window()
    w.open_example(fit=False)
    spec = w.model_panel.spec()
    bad = tmp_path / "broken.json"
    bad.write_text('{"formula": "y ~ x", ')
    assert not w.open_analysis(bad)
    assert "not valid JSON" in w.last_error
    assert w.model_panel.spec() == spec


def test_invalid_formula_shows_the_message_and_fit_does_not_crash(make_window, qtbot, gated_run, type_formula):
    w = make_window(run_fn=gated_run)
    w.open_example(fit=False)
    panel = w.model_panel
    panel.formula_edit.end(False)
    qtbot.keyClicks(panel.formula_edit, " +")  # as typed: "... + (1 | clinic/patient) +"
    assert panel.formula_error() is not None and "position" in panel.formula_error()
    assert panel.formula_error_label.isVisible()
    assert "Position" in panel.formula_error_label.text()
    assert panel.formula_edit.property("invalid") is True
    assert "cannot be read" in panel.note() and not w.live.pending()  # no refit of an unreadable model
    qtbot.mouseClick(panel.fit_button, Qt.MouseButton.LeftButton)
    assert gated_run.calls == 0  # nothing was started
    assert "formula cannot be read" in w.results_panel.message()
    # fixing it removes the message and fitting works again
    type_formula(w, "score ~ time + (1 | patient)")
    assert not panel.formula_error_label.isVisible() and panel.formula_error() is None
    gated_run.release(0)
    with qtbot.waitSignal(w.controller.finished, timeout=TIMEOUT):
        qtbot.mouseClick(panel.fit_button, Qt.MouseButton.LeftButton)
    assert w.results_panel.message() is None


def test_unknown_column_is_caught_as_it_is_typed(make_window, qtbot, type_formula):
    w = make_window()
    w.open_example(fit=False)
    before = w.model_panel.spec()
    type_formula(w, "scor ~ time")
    assert 'did you mean "score"' in w.model_panel.formula_error()
    assert w.model_panel.spec() == before  # the boxes keep the last model that can be fitted
    rev = w.controller.revision
    w.fit()
    assert w.controller.revision == rev  # nothing was started
    assert 'did you mean "score"' in w.results_panel.message()


def test_a_model_the_data_cannot_fit_is_a_message_from_the_real_run(make_window, qtbot, type_formula):
    w = make_window()
    w.open_example(fit=False)
    type_formula(w, "visit ~ time")  # visit is a column, but it holds text
    assert w.model_panel.formula_error() is None
    with qtbot.waitSignal(w.controller.failed, timeout=TIMEOUT) as blocker:
        w.fit()
    assert 'the outcome "visit" is not numeric' in blocker.args[1]
    assert w.results_panel.message() == blocker.args[1]
    assert "did not succeed" in w.model_panel.note()


def test_level_changes_flow_into_the_builder(make_window):
    w = make_window()
    w.open_example(fit=False)
    b = w.builder
    assert w.dataset.levels["patient"] == "nominal"  # the analysis lists it as a factor
    assert b.roles["covariates"].columns() == ["time", "age"] and b.roles["factors"].columns() == ["treatment"]
    w.set_level("age", "ordinal")  # a covariate made categorical moves to Factors, its term stays
    assert b.roles["factors"].columns() == ["treatment", "age"] and b.roles["covariates"].columns() == ["time"]
    assert set(w.model_panel.spec().factors) == {"treatment", "age", "clinic", "patient"}
    assert w.model_panel.spec().formula == "score ~ time * treatment + age + (1 | clinic/patient)"
    assert w.undo_action.text() == "Undo Treat age as categorical"
    assert b.variables.model.item(b.variables.model.columns().index("age")).toolTip() == "age: ordinal"
    w.set_level("age", "continuous")
    assert b.roles["covariates"].columns() == ["time", "age"] and "age" not in w.model_panel.spec().factors
    w.set_level("time", "nominal")
    assert w.dataset.levels["time"] == "nominal" and "time" in b.roles["factors"].columns()
    w.undo_action.trigger()  # one step: the measurement level and the model's change
    assert "time" in b.roles["covariates"].columns() and w.dataset.levels["time"] == "continuous"
    w.redo_action.trigger()
    assert "time" in b.roles["factors"].columns() and w.dataset.levels["time"] == "nominal"
    w.set_level("visit", "ordinal")  # not in the model: only its icon changes, an undo step of its own
    assert w.model_panel.spec().formula == "score ~ time * treatment + age + (1 | clinic/patient)"
    assert w.undo_action.text() == "Undo Make visit ordinal"
    assert not w.set_level("treatment", "continuous")  # text cannot be continuous
    assert w.dataset.levels["treatment"] == "nominal"
    assert w.status.text() == "treatment holds text, so it cannot be continuous"
    menu = w.variable_list.menu_for("time")
    checked = [a.text() for a in menu.actions() if a.isChecked()]
    assert checked and checked[0].startswith("Nominal")
    text_menu = w.variable_list.menu_for("treatment")
    assert not [a for a in text_menu.actions() if a.text().startswith("Continuous")][0].isEnabled()


def test_save_and_reopen_analysis(make_window, tmp_path, choose):
    w = make_window()
    w.open_example(fit=False)
    w.builder.estimation_box.method_buttons["ML"].click()
    choose(w.builder.estimation_box.df_combo, "kenward-roger")
    out = tmp_path / "mine.json"
    assert w.save_analysis(out)
    saved = json.loads(out.read_text())
    assert saved["method"] == "ML" and saved["df_method"] == "kenward-roger"
    assert saved["data"]["sheet"] == "long"
    w2_ok = w.open_analysis(out, fit=False)
    assert w2_ok and w.model_panel.spec().method == "ML"
    assert w.dataset.name == "square_study: long"


def test_layout_is_remembered_in_the_given_settings(make_window, settings):
    w = make_window()
    w.splitter.setSizes([300, 300, 900])
    state = w.splitter.saveState()
    w.close()
    assert settings.value("window/splitter") == state
    assert settings.value("window/geometry") is not None
    assert settings.fileName().startswith(str(settings.fileName().rsplit("/", 1)[0]))  # the test's own file
    w2 = make_window()  # restores from the same settings without complaint
    assert w2.splitter.restoreState(settings.value("window/splitter"))
