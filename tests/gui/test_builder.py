"""The model builder: each public reference model built by drops and arrow clicks, fitted, checked against R.

Drops go through the role-box models' ``dropMimeData`` (what a real drop calls); arrows, check boxes
and buttons are clicked. Then the formula line round trip, undo/redo of every kind of edit through
the actions, and restoring a saved analysis.
"""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QModelIndex, QPoint, Qt  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
)

from mixgui.analysis.spec import AnalysisSpec, Repeated, load_spec, save_spec  # noqa: E402
from mixgui.data.readers import read_table  # noqa: E402
from mixgui.gui.widgets.builder import ModelBuilder  # noqa: E402
from mixgui.gui.widgets.builder_roles import columns_mime  # noqa: E402
from mixgui.gui.widgets.pattern_icons import pattern_cells, pattern_pixmap  # noqa: E402
from mixgui.pipeline.run import run  # noqa: E402

REF = Path(__file__).resolve().parents[1] / "reference"


def _json(*parts):
    return json.loads(REF.joinpath(*parts).read_text(encoding="utf-8"))


@pytest.fixture
def make_builder(qtbot):
    def make(data=None):
        b = ModelBuilder()
        qtbot.addWidget(b)
        if data is not None:
            b.set_dataset(read_table(REF / data))
        b.resize(460, 1100)
        b.show()
        return b

    return make


# -- helpers that act like the user --------------------------------------------------------------

def drop(model, columns, source="variables"):
    assert model.canDropMimeData(columns_mime(columns, source), Qt.DropAction.CopyAction, -1, -1, QModelIndex())
    assert model.dropMimeData(columns_mime(columns, source), Qt.DropAction.CopyAction, -1, -1, QModelIndex())


def arrow(qtbot, builder, button, columns):
    builder.variables.view.select_columns(columns)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def choose(combo: QComboBox, data):
    i = combo.findData(data)
    assert i >= 0, f"{data!r} not offered"
    combo.setCurrentIndex(i)
    combo.activated.emit(i)  # what a user's choice emits


def click(qtbot, button):
    # near the left edge: a check box only reacts on its box and label, not on empty space to the right
    pos = QPoint(min(8, button.width() // 2), button.height() // 2)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=pos)


def fixed(data) -> dict:
    return {r["term"]: r for r in data["fixed_effects"]}


def check_against_r(result, ref, rel=1e-4):
    got, want = fixed(result.data), fixed(ref)
    assert set(got) == set(want)
    for term, row in want.items():
        assert got[term]["estimate"] == pytest.approx(row["estimate"], rel=rel, abs=1e-6), term
        assert got[term]["std_error"] == pytest.approx(row["std_error"], rel=rel), term
    got_fit, want_fit = (result.data["glance"], ref["glance"]) if "glance" in ref else (result.data, ref)
    assert got_fit["loglik"] == pytest.approx(want_fit["loglik"], rel=1e-6)
    if "variance_components" in ref:
        for g, w in zip(result.data["variance_components"], ref["variance_components"]):
            assert g["vcov"] == pytest.approx(w["vcov"], rel=rel), (g, w)


def build_sleepstudy(qtbot, b):
    drop(b.roles["outcome"].model, ["Reaction"])
    arrow(qtbot, b, b.roles["covariates"].arrow_button, ["Days"])
    drop(b.random_box.add_model, ["Subject"])


# -- the reference models ----------------------------------------------------------------------

def test_sleepstudy_random_intercept(make_builder, qtbot):
    b = make_builder("cli/sleepstudy.csv")
    emitted = []
    b.specChanged.connect(emitted.append)
    build_sleepstudy(qtbot, b)
    assert [s.formula for s in emitted] == ["Reaction ~ 1", "Reaction ~ Days", "Reaction ~ Days + (1 | Subject)"]
    spec = b.spec()
    assert spec.formula == b.formula_edit.text() == "Reaction ~ Days + (1 | Subject)"
    assert spec.method == "REML" and spec.df_method == "satterthwaite" and spec.repeated is None
    assert b.roles["covariates"].columns() == ["Days"] and b.random_box.cards[0].intercept_check.isChecked()
    assert not b.random_box.cards[0].slope_item(("Days",)).checkState() == Qt.CheckState.Checked  # no slope unasked
    result = run(spec, b.dataset())
    ref = _json("cli", "sleepstudy_ri.json")
    check_against_r(result, ref)
    assert fixed(result.data)["Days"]["df"] == pytest.approx(fixed(ref)["Days"]["df_satterthwaite"], rel=1e-4)


@pytest.mark.parametrize("correlated, formula, ref", [
    (True, "Reaction ~ Days + (Days | Subject)", "sleepstudy_rs.json"),
    (False, "Reaction ~ Days + (Days || Subject)", "sleepstudy_rs_uncorr.json")])
def test_sleepstudy_random_slope(make_builder, qtbot, correlated, formula, ref):
    b = make_builder("cli/sleepstudy.csv")
    build_sleepstudy(qtbot, b)
    card = b.random_box.cards[0]
    card.slope_item(("Days",)).setCheckState(Qt.CheckState.Checked)  # what ticking the box does
    assert card.correlated_check.isEnabled() and card.correlated_check.isChecked()
    assert "Uncorrelated (||)" in card.correlated_check.toolTip()
    if not correlated:
        click(qtbot, card.correlated_check)
    assert b.spec().formula == b.formula_edit.text() == formula
    check_against_r(run(b.spec(), b.dataset()), _json("builder", ref), rel=2e-4)


def test_pastes_nested(make_builder, qtbot):
    b = make_builder("lmm/pastes.csv")
    arrow(qtbot, b, b.roles["outcome"].arrow_button, ["strength"])
    arrow(qtbot, b, b.random_box.arrow_button, ["batch"])
    drop(b.random_box.cards[0].chain_model, ["cask"])  # drop cask on batch: nested
    assert b.random_box.cards[0].chain_model.item(1).text() == " / cask"
    assert b.spec().formula == "strength ~ 1 + (1 | batch/cask)"
    check_against_r(run(b.spec(), b.dataset()), _json("builder", "pastes_nested.json"))


def test_penicillin_crossed_and_the_few_levels_note(make_builder, qtbot):
    b = make_builder("lmm/penicillin.csv")
    drop(b.roles["outcome"].model, ["diameter"])
    drop(b.random_box.add_model, ["plate", "sample"])  # two boxes: crossed
    assert len(b.random_box.cards) == 2
    assert b.spec().formula == "diameter ~ 1 + (1 | plate) + (1 | sample)"
    assert b.random_box.notes_label.isVisible()
    assert "sample has 6 levels: variance estimates from fewer than 10 groups are imprecise" \
        in b.random_box.notes_label.text()
    check_against_r(run(b.spec(), b.dataset()), _json("builder", "penicillin_crossed.json"))


def test_orthodont_factorial_with_reference_level_and_marginal_means(make_builder, qtbot):
    b = make_builder("lmm/orthodont.csv")
    drop(b.roles["outcome"].model, ["distance"])
    drop(b.roles["factors"].model, ["age", "Sex"])  # numeric age dropped in Factors: categorical
    b.terms_box.select_terms([("age",), ("Sex",)])
    click(qtbot, b.terms_box.interaction_button)
    drop(b.random_box.add_model, ["Subject"])
    choose(b.reference_box.combos["Sex"], "Male")
    em = b.emmeans_box
    em.factor_combo.setCurrentText("age")
    click(qtbot, em.add_button)
    for method, adjust in (("consec", "holm"), ("trt.vs.ctrl", "bonferroni")):
        em.method_combo.setCurrentIndex(em.method_combo.findData(method))
        em.adjust_combo.setCurrentIndex(em.adjust_combo.findData(adjust))
        click(qtbot, em.add_contrast_button)
    em.method_combo.setCurrentIndex(em.method_combo.findData("custom"))
    assert em.weights.isVisible() and [s.toolTip() != "" for s in em.weights.spins] == [True] * 4
    assert em.adjust_combo.currentData() == "none" and not em.add_contrast_button.isEnabled()
    em.weights.set_weights([0, -0.5, -0.5, 0.5])
    assert "must sum to zero" in em.weights.sum_label.text() and not em.add_contrast_button.isEnabled()
    em.weights.set_weights([0, -0.5, -0.5, 1])
    assert "sums to zero" in em.weights.sum_label.text() and em.add_contrast_button.isEnabled()
    em.weights.name_edit.setText("T14 - (T10+T12)/2")
    click(qtbot, em.add_contrast_button)

    spec = b.spec()
    want = reference_orthodont_cat()
    assert spec.formula == "distance ~ age * Sex + (1 | Subject)"
    assert set(spec.factors) == {"age", "Sex"} and spec.reference_levels == {"Sex": "Male"}
    assert spec.emmeans == want.emmeans
    result = run(spec, b.dataset())
    ref = _json("builder", "orthodont_cat.json")
    check_against_r(result, ref)
    got_means = [r["emmean"] for r in result.data["emmeans"][0]["emmeans"]]
    assert got_means == pytest.approx([r["emmean"] for r in ref["emmeans"][0]["emmeans"]], rel=1e-6)


def reference_orthodont_cat() -> AnalysisSpec:
    """The analysis file of the orthodont_cat reference case (written out here, so the test needs nothing outside the repo)."""
    emmeans = [{"specs": "age", "contrasts": [
        {"method": "pairwise", "adjust": "tukey"}, {"method": "consec", "adjust": "holm"},
        {"method": "trt.vs.ctrl", "adjust": "bonferroni"},
        {"method": "custom", "name": "T14 - (T10+T12)/2", "weights": [0, -0.5, -0.5, 1], "adjust": "none"}]}]
    return AnalysisSpec.from_dict({"data": {"path": "orthodont.csv"}, "formula": "distance ~ age * Sex + (1 | Subject)",
                                   "factors": ["age", "Subject"], "reference_levels": {"Sex": "Male"},
                                   "emmeans": emmeans})


def test_orthodont_repeated_unstructured(make_builder, qtbot):
    b = make_builder("cli/orthodont_long.csv")
    drop(b.roles["outcome"].model, ["distance"])
    arrow(qtbot, b, b.roles["factors"].arrow_button, ["agef"])
    arrow(qtbot, b, b.roles["factors"].arrow_button, ["Sex"])
    arrow(qtbot, b, b.repeated_box.slots["subject"][2], ["Subject"])
    drop(b.repeated_box.slots["index"][0], ["age"])
    choose(b.repeated_box.structure_combo, "CS")
    choose(b.repeated_box.structure_combo, "UN")
    choose(b.reference_box.combos["Sex"], "Male")
    spec = b.spec()
    assert spec.formula == "distance ~ agef + Sex" and spec.repeated == Repeated("UN", "Subject", "age")
    assert b.repeated_box.pattern_label.pixmap() is not None
    result = run(spec, b.dataset())
    ref = _json("builder", "orthodont_un.json")
    check_against_r(result, ref)
    params = result.data["repeated"]["parameters"]
    assert params["corr_8_10"] == pytest.approx(ref["covariance_parameters"]["corStruct1"], rel=1e-4)


def test_orthodont_ordinary_regression(make_builder, qtbot):
    b = make_builder("cli/orthodont_long.csv")
    drop(b.roles["outcome"].model, ["distance"])
    drop(b.roles["covariates"].model, ["agen"])
    drop(b.roles["factors"].model, ["Sex"])
    b.terms_box.select_terms([("agen",), ("Sex",)])
    click(qtbot, b.terms_box.interaction_button)
    choose(b.reference_box.combos["Sex"], "Male")
    assert b.spec().formula == "distance ~ agen * Sex"
    result = run(b.spec(), b.dataset())
    ref = _json("cli", "orthodont_lm.json")
    check_against_r(result, ref, rel=1e-6)


# -- the formula line ---------------------------------------------------------------------------

def test_typed_formula_updates_the_boxes_and_is_one_undo_step(make_builder, qtbot):
    b = make_builder("cli/sleepstudy.csv")
    b.formula_edit.setFocus()
    qtbot.keyClicks(b.formula_edit, "Reaction ~ Days + (Days || Subject)")
    assert b.formula_error() is None and not b.formula_error_label.isVisible()
    assert b.roles["outcome"].columns() == ["Reaction"] and b.roles["covariates"].columns() == ["Days"]
    card = b.random_box.cards[0]
    assert card.slope_item(("Days",)).checkState() == Qt.CheckState.Checked and not card.correlated_check.isChecked()
    assert b.spec().formula == "Reaction ~ Days + (Days || Subject)"
    assert len(b.undo_stack) == 1  # every keystroke merged into one edit
    b.undo_action.trigger()
    assert b.formula_edit.text() == "" and b.roles["outcome"].columns() == []


def test_invalid_formula_is_marked_and_the_boxes_keep_the_last_valid_model(make_builder, qtbot):
    b = make_builder("cli/sleepstudy.csv")
    build_sleepstudy(qtbot, b)
    before = b.spec()
    b.formula_edit.setFocus()
    b.formula_edit.end(False)
    qtbot.keyClick(b.formula_edit, Qt.Key.Key_Backspace)
    assert b.formula_edit.text() == "Reaction ~ Days + (1 | Subject"
    assert b.formula_edit.property("invalid") is True
    assert b.formula_error_label.isVisible() and "Position 31" in b.formula_error_label.text()
    assert "closing" in b.formula_error()
    assert b.spec() == before and b.random_box.cards[0].chain_model.columns() == ["Subject"]
    qtbot.keyClicks(b.formula_edit, ")")
    assert b.formula_error() is None and not b.formula_edit.property("invalid")
    qtbot.keyClicks(b.formula_edit, " + Dayz")
    assert 'did you mean "Days"' in b.formula_error()


def test_formula_tidied_when_editing_finishes(make_builder, qtbot):
    b = make_builder("lmm/orthodont.csv")
    b.formula_edit.setFocus()
    qtbot.keyClicks(b.formula_edit, "distance~age+Sex+age:Sex+(1|Subject)")
    assert b.formula_edit.text() == "distance~age+Sex+age:Sex+(1|Subject)"  # left as typed while typing
    qtbot.keyClick(b.formula_edit, Qt.Key.Key_Return)
    assert b.formula_edit.text() == "distance ~ age * Sex + (1 | Subject)"
    assert b.roles["factors"].columns() == ["Sex"] and b.roles["covariates"].columns() == ["age"]


# -- undo / redo of every kind of edit ----------------------------------------------------------

def test_undo_redo_every_kind_of_edit(make_builder, qtbot):
    b = make_builder("lmm/orthodont.csv")
    steps = [
        (lambda: drop(b.roles["outcome"].model, ["distance"]), "distance ~ 1"),
        (lambda: arrow(qtbot, b, b.roles["covariates"].arrow_button, ["age"]), "distance ~ age"),
        (lambda: drop(b.roles["factors"].model, ["Sex"]), "distance ~ age + Sex"),
        (lambda: (b.terms_box.select_terms([("age",), ("Sex",)]), click(qtbot, b.terms_box.interaction_button)),
         "distance ~ age * Sex"),
        (lambda: drop(b.random_box.add_model, ["Subject"]), "distance ~ age * Sex + (1 | Subject)"),
        (lambda: b.random_box.cards[0].slope_item(("age",)).setCheckState(Qt.CheckState.Checked),
         "distance ~ age * Sex + (age | Subject)"),
        (lambda: click(qtbot, b.random_box.cards[0].correlated_check), "distance ~ age * Sex + (age || Subject)"),
        (lambda: (b.terms_box.select_terms([("age", "Sex")]), click(qtbot, b.terms_box.remove_button)),
         "distance ~ age + Sex + (age || Subject)"),
        (lambda: drop(b.roles["factors"].model, ["age"], source="covariates"), "distance ~ age + Sex + (age || Subject)"),
        (lambda: click(qtbot, b.terms_box.intercept_check), "distance ~ 0 + age + Sex + (age || Subject)"),
        (lambda: drop(b.variables.model, ["Sex"], source="factors"), "distance ~ 0 + age + (age || Subject)"),
        (lambda: click(qtbot, b.random_box.cards[0].remove_button), "distance ~ 0 + age"),
    ]
    option_steps = [
        lambda: b.estimation_box.method_buttons["ML"].click(),
        lambda: choose(b.estimation_box.df_combo, "kenward-roger"),
        lambda: b.estimation_box.tests_check.click(),
        lambda: choose(b.reference_box.combos["age"], "10"),
        lambda: (b.emmeans_box.factor_combo.setCurrentText("age"), click(qtbot, b.emmeans_box.add_button)),
        lambda: drop(b.repeated_box.slots["subject"][0], ["Subject"]),
    ]
    shown, specs = [b.formula_edit.text()], [b.spec()]
    for act, formula in steps:
        act()
        assert b.formula_edit.text() == formula
        shown.append(formula)
        specs.append(b.spec())
    for act in option_steps:
        act()
        shown.append(b.formula_edit.text())
        specs.append(b.spec())
    assert b.spec().method == "ML" and b.spec().df_method == "kenward-roger" and b.spec().random_effect_tests
    assert b.spec().reference_levels == {"age": "10"} and b.spec().emmeans[0].specs == ("age",)
    assert b.repeated_box.slots["subject"][0].columns() == ["Subject"]
    assert len(b.undo_stack) == len(steps) + len(option_steps)
    for i in range(len(specs) - 1, 0, -1):
        assert b.undo_action.isEnabled()
        b.undo_action.trigger()
        assert b.spec() == specs[i - 1] and b.formula_edit.text() == shown[i - 1], i
    assert not b.undo_action.isEnabled()
    for i in range(1, len(specs)):
        b.redo_action.trigger()
        assert b.spec() == specs[i] and b.formula_edit.text() == shown[i]
    assert not b.redo_action.isEnabled()
    assert b.estimation_box.method_buttons["ML"].isChecked()


def test_nesting_moving_and_removing_by_drag_and_keyboard(make_builder, qtbot):
    b = make_builder("lmm/pastes.csv")
    drop(b.roles["outcome"].model, ["strength"])
    drop(b.random_box.add_model, ["batch", "cask"])  # crossed first
    assert b.spec().formula == "strength ~ 1 + (1 | batch) + (1 | cask)"
    drop(b.random_box.cards[0].chain_model, ["cask"], source="grouping:1")  # drag cask's box onto batch: nested
    assert b.spec().formula == "strength ~ 1 + (1 | batch/cask)" and len(b.random_box.cards) == 1
    drop(b.random_box.add_model, ["cask"], source="grouping:0")  # drag the level out again: crossed
    assert b.spec().formula == "strength ~ 1 + (1 | batch) + (1 | cask)"
    drop(b.variables.model, ["cask"], source="grouping:1")  # back to the variables list: gone
    assert b.spec().formula == "strength ~ 1 + (1 | batch)"
    b.random_box.cards[0].chain_view.select_columns(["batch"])
    b.random_box.cards[0].chain_view.setFocus()
    qtbot.keyClick(b.random_box.cards[0].chain_view, Qt.Key.Key_Delete)
    assert b.spec().formula == "strength ~ 1" and not b.random_box.cards
    drop(b.roles["factors"].model, ["sample"])
    b.roles["factors"].view.select_columns(["sample"])
    qtbot.keyClick(b.roles["factors"].view, Qt.Key.Key_Delete)
    assert b.spec().formula == "strength ~ 1"
    # sample holds text: it is categorical wherever it is dropped, so the arrow and the menu are tried on Factors
    arrow(qtbot, b, b.roles["factors"].arrow_button, ["sample"])
    assert b.spec().formula == "strength ~ sample"
    b.variables.view.clearSelection()
    b.roles["factors"].view.select_columns(["sample"])
    click(qtbot, b.roles["factors"].arrow_button)  # nothing selected in the list: the arrow takes it out
    assert b.spec().formula == "strength ~ 1"
    drop(b.roles["factors"].model, ["sample"])
    b.roles["factors"].view.select_columns(["sample"])
    b.roles["factors"].view.remove_action.trigger()  # the right-click menu
    assert b.spec().formula == "strength ~ 1"
    drop(b.repeated_box.slots["subject"][0], ["batch"])
    drop(b.variables.model, ["batch"], source="repeated:subject")
    assert b.draft().repeated is None
    assert not b.roles["outcome"].model.canDropMimeData(columns_mime(["x"], "outcome"), Qt.DropAction.CopyAction,
                                                        -1, -1, QModelIndex())  # onto itself: nothing


def test_keyboard_undo_redo_when_the_builder_has_focus(make_builder, qtbot):
    b = make_builder("cli/sleepstudy.csv")
    b.activateWindow()
    qtbot.waitUntil(b.isActiveWindow)
    build_sleepstudy(qtbot, b)
    assert b.undo_action.text() == "Undo Add grouping Subject"
    b.formula_edit.setFocus()
    qtbot.keyClick(b.formula_edit, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert b.spec().formula == "Reaction ~ Days"
    qtbot.keyClick(b.formula_edit, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert b.spec().formula == "Reaction ~ Days + (1 | Subject)"


# -- saved analyses --------------------------------------------------------------------------------

def test_restore_a_saved_analysis_shows_the_same_boxes(make_builder, qtbot, tmp_path):
    b = make_builder("cli/orthodont_long.csv")
    b.formula_edit.setFocus()
    qtbot.keyClicks(b.formula_edit, "distance ~ agef * Sex + (age | Subject)")
    qtbot.keyClick(b.formula_edit, Qt.Key.Key_Return)
    drop(b.roles["factors"].model, ["agef"], source="covariates")
    drop(b.repeated_box.slots["subject"][0], ["Subject"])
    drop(b.repeated_box.slots["index"][0], ["occ"])
    choose(b.repeated_box.structure_combo, "AR1")
    choose(b.reference_box.combos["Sex"], "Male")
    b.emmeans_box.factor_combo.setCurrentText("agef")
    click(qtbot, b.emmeans_box.add_button)
    b.estimation_box.method_buttons["ML"].click()
    spec = b.spec().with_(data=b.spec().data.__class__("orthodont_long.csv"))
    save_spec(spec, tmp_path / "a.json")
    loaded, _ = load_spec(tmp_path / "a.json")

    c = make_builder("cli/orthodont_long.csv")
    with qtbot.assertNotEmitted(c.specChanged):
        c.set_spec(loaded)
    assert c.spec() == loaded and not c.undo_stack.can_undo()
    for name in ("outcome", "factors", "covariates"):
        assert c.roles[name].columns() == b.roles[name].columns(), name
    texts = lambda w: [w.list.item(i).text() for i in range(w.list.count())]  # noqa: E731
    assert texts(c.terms_box) == texts(b.terms_box)
    assert [card.chain_model.columns() for card in c.random_box.cards] == [["Subject"]]
    assert c.random_box.cards[0].slope_item(("age",)).checkState() == Qt.CheckState.Checked
    assert c.repeated_box.structure_combo.currentData() == "AR1"
    assert c.reference_box.combos["Sex"].currentData() == "Male"
    assert c.emmeans_box.requests.count() == 1 and c.estimation_box.method_buttons["ML"].isChecked()
    assert c.formula_edit.text() == b.formula_edit.text()


def test_builders_share_a_session_and_stop_listening_when_deleted(qtbot):
    from mixgui.session.document import Session

    session = Session(read_table(REF / "cli/sleepstudy.csv"))
    first, second = ModelBuilder(session), ModelBuilder(session)
    qtbot.addWidget(second)
    drop(first.roles["outcome"].model, ["Reaction"])
    assert second.spec().formula == "Reaction ~ 1" and second.undo_action.isEnabled()
    session.add_analysis()
    assert first.formula_edit.text() == "" and session.current == 1
    session.set_current(0)
    assert first.formula_edit.text() == "Reaction ~ 1"
    gone = []
    first.destroyed.connect(lambda *_: gone.append(True))
    first.deleteLater()
    qtbot.waitUntil(lambda: bool(gone))
    session.undo_stack.undo()  # would raise if the deleted builder were still subscribed
    session.undo_stack.undo()
    assert second.spec().formula == ""


def test_a_saved_analysis_with_a_bad_formula_shows_the_reason(make_builder):
    b = make_builder("cli/sleepstudy.csv")
    b.set_spec(AnalysisSpec(formula="Reaction ~ Days + (1 | Subject", method="ML"))
    assert b.formula_edit.text() == "Reaction ~ Days + (1 | Subject" and b.formula_error()
    assert b.estimation_box.method_buttons["ML"].isChecked()


# -- look and help --------------------------------------------------------------------------------

def test_every_control_has_a_tooltip(make_builder, qtbot):
    b = make_builder("lmm/orthodont.csv")
    qtbot.keyClicks(b.formula_edit, "distance ~ age * Sex + (age | Subject)")
    b.emmeans_box.factor_combo.setCurrentText("Sex")
    drop(b.roles["factors"].model, ["age"], source="covariates")
    click(qtbot, b.emmeans_box.add_button)
    missing = []
    for w in b.findChildren(QAbstractButton) + b.findChildren(QComboBox) + b.findChildren(QLineEdit) \
            + b.findChildren(QAbstractItemView) + b.findChildren(QAbstractSpinBox):
        if not w.isVisibleTo(b) or _inside(w, (QComboBox, QAbstractSpinBox)):
            continue  # the parts Qt builds inside a combo box or spin box
        if not w.toolTip().strip():
            missing.append(f"{type(w).__name__} {getattr(w, 'text', lambda: '')()!r}")
    assert not missing, missing


def _inside(w, kinds) -> bool:
    p = w.parent()
    while p is not None:
        if isinstance(p, kinds):
            return True
        p = p.parent()
    return False


def test_pattern_icons_show_each_structure():
    def distinct(s, kind):
        return len({c[1] for row in pattern_cells(s) for c in row if c and c[0] == kind})

    assert (distinct("ID", "v"), distinct("ID", "c")) == (1, 0)
    assert (distinct("DIAG", "v"), distinct("DIAG", "c")) == (4, 0)
    assert (distinct("CS", "v"), distinct("CS", "c")) == (1, 1)
    assert (distinct("CSH", "v"), distinct("CSH", "c")) == (4, 1)
    assert (distinct("AR1", "v"), distinct("AR1", "c")) == (1, 3)
    assert (distinct("ARH1", "v"), distinct("ARH1", "c")) == (4, 3)
    assert (distinct("TOEP", "v"), distinct("TOEP", "c")) == (1, 3)
    assert (distinct("UN", "v"), distinct("UN", "c")) == (4, 6)
    for s in ("ID", "DIAG", "CS", "CSH", "AR1", "ARH1", "TOEP", "UN"):
        pix = pattern_pixmap(s, 40)
        assert not pix.isNull() and pix.deviceIndependentSize().width() == 40


# -- further analyses ----------------------------------------------------------------------------

def test_further_analyses_reach_the_spec_and_the_results(make_builder, qtbot):
    """Effect sizes, bootstrap and pooling are ticked in the builder and computed by the fit."""
    b = make_builder("cli/sleepstudy.csv")
    build_sleepstudy(qtbot, b)
    card = b.random_box.cards[0]
    card.slope_item(("Days",)).setCheckState(Qt.CheckState.Checked)
    box = b.extras_box
    assert box.effect_check.isEnabled() and not box.structures_check.isEnabled()
    assert not box.bootstrap_check.isEnabled()  # needs the random-effect tests first
    click(qtbot, box.effect_check)
    assert b.spec().effect_sizes
    click(qtbot, b.estimation_box.tests_check)
    assert box.bootstrap_check.isEnabled() and not box.bootstrap_spin.isEnabled()
    box.bootstrap_spin.setValue(20)
    click(qtbot, box.bootstrap_check)
    assert b.spec().bootstrap == 20 and box.bootstrap_spin.isEnabled()
    choose(box.pooling_combo, "Subject")
    spec = b.spec()
    assert spec.pooling == "Subject" and spec.formula == "Reaction ~ Days + (Days | Subject)"
    # unticking the tests drops the bootstrap from the analysis file, as the file would refuse it
    click(qtbot, b.estimation_box.tests_check)
    assert b.spec().bootstrap == 0 and not box.bootstrap_check.isEnabled()
    b.undo_stack.undo()
    spec = b.spec()
    assert spec.bootstrap == 20 and spec.random_effect_tests
    result = run(spec.with_(bootstrap=0), b.dataset())  # the bootstrap itself is tested in tests/results
    f2 = {r["term"]: r for r in result.data["effect_sizes"]["f2"]}
    want = _json("inference", "inference_refs.json")["f2"]["sleepstudy_rs"][0]
    # R's r2_nakagawa by refitting: the same 1e-4 as the engine's own f2 test
    assert f2["Days"]["f2"] == pytest.approx(want["f2"], rel=1e-4)
    assert len(result.data["pooling_comparison"]["rows"]) == 18
    assert {"effect_sizes_f2", "pooling_comparison"} <= {t.key for t in result.tables}


def test_structure_comparison_is_offered_with_a_repeated_structure(make_builder, qtbot):
    b = make_builder("lmm/orthodont.csv")
    drop(b.roles["outcome"].model, ["distance"])
    arrow(qtbot, b, b.roles["covariates"].arrow_button, ["age"])
    assert not b.extras_box.structures_check.isEnabled()
    b.repeated_box.changeRequested.emit({"subject": "Subject", "index": "age", "structure": "AR1"})
    assert b.extras_box.structures_check.isEnabled() and not b.extras_box.effect_check.isEnabled()
    click(qtbot, b.extras_box.structures_check)
    spec = b.spec()
    assert spec.compare_structures and spec.repeated.structure == "AR1"
    sc = run(spec, b.dataset()).data["structure_comparison"]
    assert {r["structure"] for r in sc["rows"]} >= {"ID", "CS", "AR1", "UN"}
    assert sc["method"] == "ML" and "by ML" in b.extras_box.structures_check.toolTip()  # compared by ML fits
