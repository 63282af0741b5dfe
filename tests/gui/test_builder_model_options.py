"""The builder's outcome type (family, link, trials, offset, quadrature) and test options, with undo and files."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QModelIndex, Qt

from mixgui.gui.widgets.builder import ModelBuilder
from mixgui.gui.widgets.builder_roles import columns_mime
from mixgui.session.document import Session
from mixgui.session.files import open_analysis, open_data, save_analysis


def _frame(n_patients=12, visits=4, seed=3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_patients):
        for v in range(visits):
            rows.append({"patient": f"P{p:02d}", "arm": "drug" if p % 2 else "placebo", "visit": v,
                         "responder": int(rng.random() < 0.4 + 0.1 * v), "events": int(rng.poisson(1 + v)),
                         "days": int(rng.integers(20, 40)), "score": float(rng.normal(50, 10)),
                         "w": float(rng.uniform(0.5, 2))})
    return pd.DataFrame(rows)


@pytest.fixture
def csv(tmp_path):
    path = tmp_path / "trial.csv"
    _frame().to_csv(path, index=False)
    return path


@pytest.fixture
def builder(qtbot, csv):
    session = Session()
    open_data(session, csv)
    b = ModelBuilder(session)
    qtbot.addWidget(b)
    b.resize(520, 1400)
    _drop(b.roles["factors"].model, ["arm"])
    b.random_box.addRequested.emit(["patient"], "variables")
    return b


def _drop(model, columns):
    mime = columns_mime(columns, "variables")
    assert model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, -1, QModelIndex())


def test_a_yes_no_outcome_is_offered_binary_logistic_and_the_user_decides(builder, qtbot):
    box = builder.family_box
    assert not box.isHidden() and box.family_combo.currentData() == "gaussian"  # always visible
    assert box.suggestion.isHidden()
    _drop(builder.roles["outcome"].model, ["responder"])
    assert not box.suggestion.isHidden() and "binary (logistic)" in box.suggestion.text()
    use = box.use_buttons[0]
    assert use.isVisibleTo(builder) and use.text() == "Use binary (logistic)"
    assert builder.spec().family == "gaussian"  # a suggestion changes nothing
    with qtbot.waitSignal(builder.specChanged) as sig:
        use.click()
    spec = sig.args[0]
    assert (spec.family, spec.link_name) == ("binomial", "logit")
    assert box.family_combo.currentData() == "binomial" and box.link_combo.currentData() == "logit"
    assert box.suggestion.isHidden()
    assert builder.formula_edit.text() == "responder ~ arm + (1 | patient)"


def test_a_count_outcome_offers_poisson_and_negative_binomial(builder, choose):
    _drop(builder.roles["outcome"].model, ["events"])
    box = builder.family_box
    offered = {b.property("family") for b in box.use_buttons if b.isVisibleTo(builder)}
    assert offered == {"poisson", "negative_binomial"} and "count" in box.suggestion.text()
    choose(box.family_combo, "poisson")
    assert builder.spec().family == "poisson"
    assert [b.property("family") for b in box.use_buttons if b.isVisibleTo(builder)] in ([], ["negative_binomial"])
    # an exposure: offset(log(days)) in the formula, and the formula typed back shows in the box
    assert box.form.isRowVisible(box.offset_combo)
    choose(box.offset_combo, "log(days)")
    assert builder.formula_edit.text() == "events ~ arm + offset(log(days)) + (1 | patient)"
    assert builder.spec().parsed.offsets == (("log", "days"),)
    builder.formula_edit.setText("events ~ arm + visit + (1 | patient)")
    builder.formula_edit.textEdited.emit(builder.formula_edit.text())
    assert box.offset_combo.currentData() == "None" and builder.spec().family == "poisson"


def test_changing_the_link_trials_and_quadrature(builder, choose):
    _drop(builder.roles["outcome"].model, ["responder"])
    box = builder.family_box
    choose(box.family_combo, "binomial")
    assert not box.form.isRowVisible(box.offset_combo) and box.form.isRowVisible(box.trials_combo)
    choose(box.link_combo, "probit")
    assert builder.spec().link == "probit"
    choose(box.link_combo, "logit")
    assert builder.spec().link is None and builder.spec().link_name == "logit"  # the default is not written
    choose(box.trials_combo, "days")
    assert builder.spec().trials == "days"
    assert box.nagq_spin.isEnabled()  # one random intercept: quadrature allowed
    box.nagq_spin.setValue(7)
    box.nagq_spin.editingFinished.emit()
    assert builder.spec().nagq == 7
    choose(box.family_combo, "poisson")
    assert (builder.spec().trials, builder.spec().link) == (None, None)
    choose(box.family_combo, "gaussian")
    assert builder.spec().nagq == 1 and not box.form.isRowVisible(box.nagq_spin)


def test_weights_kr_information_anova_types_and_predictions(builder, choose):
    _drop(builder.roles["outcome"].model, ["score"])
    tests = builder.tests_box
    assert not tests.kr_combo.isEnabled() and "Kenward-Roger" in tests.kr_note.text()
    choose(builder.estimation_box.df_combo, "between-within")  # SAS DDFM=BW
    assert builder.spec().df_method == "between-within" and not tests.kr_combo.isEnabled()
    choose(builder.estimation_box.df_combo, "kenward-roger")
    assert tests.kr_combo.isEnabled() and tests.kr_combo.currentText() == "Automatic (expected)"
    choose(tests.kr_combo, "observed")
    assert builder.spec().kr_information == "observed"
    tests.kr_linear.click()
    assert builder.spec().kr_variant == "linear"
    choose(tests.weights_combo, "w")
    assert builder.spec().weights == "w"
    choose(tests.vcov_combo, "empirical")
    assert builder.spec().vcov == "empirical"
    assert tests.anova_checks[3].isChecked() and not tests.anova_checks[3].isEnabled()  # a mixed model's default
    tests.anova_checks[1].click()
    tests.anova_checks[2].click()
    assert builder.spec().anova_types == (1, 2)
    tests.predictions.click()
    assert builder.spec().predictions is True
    # the default is explained by the model: a repeated structure makes it the observed information
    _drop(builder.repeated_box.slots["subject"][0], ["patient"])
    _drop(builder.repeated_box.slots["index"][0], ["visit"])
    assert tests.kr_combo.itemText(0) == "Automatic (observed)" and "as SAS" in tests.kr_note.text()


def test_undo_returns_each_previous_state(builder, choose):
    _drop(builder.roles["outcome"].model, ["responder"])
    before = builder.spec()
    builder.family_box.use_buttons[0].click()
    choose(builder.family_box.link_combo, "cloglog")
    choose(builder.tests_box.weights_combo, "w")
    assert (builder.spec().family, builder.spec().link, builder.spec().weights) == ("binomial", "cloglog", "w")
    assert "Weight column" in builder.undo_stack.undo_text()
    builder.undo_action.trigger()
    assert builder.spec().weights is None and builder.tests_box.weights_combo.currentData() is None
    builder.undo_action.trigger()
    assert builder.spec().link is None and builder.family_box.link_combo.currentData() == "logit"
    builder.undo_action.trigger()
    assert builder.spec() == before and builder.family_box.family_combo.currentData() == "gaussian"
    builder.redo_action.trigger()
    assert builder.spec().family == "binomial"


def test_saved_and_reopened_the_analysis_keeps_every_option(builder, choose, qtbot, tmp_path):
    _drop(builder.roles["outcome"].model, ["events"])
    fam, tests = builder.family_box, builder.tests_box
    choose(fam.family_combo, "negative_binomial")
    choose(fam.offset_combo, "log(days)")
    choose(builder.estimation_box.df_combo, "kenward-roger")
    choose(tests.kr_combo, "expected")
    choose(tests.weights_combo, "w")
    tests.anova_checks[1].click()
    tests.predictions.click()
    spec = builder.spec()
    path = tmp_path / "trial.analysis.json"
    save_analysis(builder.session, path)
    again = Session()
    open_analysis(again, path)
    reopened = ModelBuilder(again)
    qtbot.addWidget(reopened)
    assert reopened.spec().with_(data=spec.data) == spec
    assert reopened.formula_edit.text() == "events ~ arm + offset(log(days)) + (1 | patient)"
    f2, t2 = reopened.family_box, reopened.tests_box
    assert (f2.family_combo.currentData(), f2.offset_combo.currentData()) == ("negative_binomial", "log(days)")
    assert (t2.kr_combo.currentData(), t2.weights_combo.currentData()) == ("expected", "w")
    assert t2.anova_checks[1].isChecked() and not t2.anova_checks[2].isChecked() and t2.predictions.isChecked()


def test_marginal_means_as_probabilities_for_a_logistic_model(builder, choose):
    _drop(builder.roles["outcome"].model, ["responder"])
    means = builder.emmeans_box
    means.add_button.click()
    assert builder.spec().emmeans[0].specs == ("arm",)
    assert means.response_check.isHidden()  # a linear model has one scale
    builder.family_box.use_buttons[0].click()
    assert means.response_check.isVisibleTo(builder) and not means.response_check.isChecked()
    means.response_check.click()
    assert builder.spec().emmeans[0].type == "response"
    assert means.requests.item(0).text().endswith("response scale")
    choose(builder.family_box.family_combo, "gaussian")
    assert builder.spec().emmeans[0].type == "link" and means.response_check.isHidden()
    builder.undo_action.trigger()
    assert builder.spec().emmeans[0].type == "response" and means.response_check.isChecked()


def test_the_family_chosen_in_the_builder_is_what_the_window_fits(make_window, qtbot, csv, type_formula):
    w = make_window()
    assert w.open_data(str(csv))
    type_formula(w, "responder ~ arm + visit + (1 | patient)")
    w.builder.family_box.use_buttons[0].click()
    with qtbot.waitSignal(w.controller.finished, timeout=60_000) as blocker:
        blocker.connect(w.controller.failed)
        w.fit()
    assert len(blocker.args) == 3, f"the fit failed: {blocker.args}"
    data = blocker.args[1].data
    assert (data["model"], data["family"], data["link"]) == ("glmm", "binomial", "logit")
    assert {r["term"] for r in data["fixed_effects"]} == {"(Intercept)", "armplacebo", "visit"}
