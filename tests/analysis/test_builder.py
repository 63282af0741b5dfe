"""The builder's draft: round trips formula <-> draft <-> spec, edits, and plain-language notes."""
import numpy as np
import pandas as pd
import pytest

from mixgui.analysis import builder as B
from mixgui.analysis.formula import parse_formula
from mixgui.analysis.spec import AnalysisSpec, Contrast, EmmeansRequest, Repeated
from mixgui.errors import SpecError

REFERENCE_FORMULAS = [
    "Reaction ~ Days + (1 | Subject)",
    "Reaction ~ Days + (Days | Subject)",
    "Reaction ~ Days + (Days || Subject)",
    "strength ~ 1 + (1 | batch/cask)",
    "diameter ~ 1 + (1 | plate) + (1 | sample)",
    "distance ~ age * Sex + (1 | Subject)",
    "distance ~ agef + Sex",
    "distance ~ agen * Sex",
]

MORE_FORMULAS = [
    "y ~ a * b * c",
    "y ~ (a + b + c)^2",
    "y ~ 0 + a + b",
    "y ~ a + a:b",
    "y ~ x + (0 + x | g)",
    "y ~ x + (1 + x | g1) + (1 | g2)",
    "y ~ x + (1 | g1:g2)",
    "y ~ x * z + (x + z || g)",
    "y ~ a * b + a * c + (1 | g/h/k)",
    "`dep var` ~ `facto r` * `my cov` + (`my cov` | `sub ject`)",
]


@pytest.mark.parametrize("text", REFERENCE_FORMULAS)
def test_reference_formulas_round_trip_exactly(text):
    draft = B.formula_to_draft(text)
    assert B.draft_to_formula(draft) == text
    assert B.draft_formula(draft) == parse_formula(text)


@pytest.mark.parametrize("text", MORE_FORMULAS)
def test_every_construct_round_trips_to_the_same_model(text):
    draft = B.formula_to_draft(text)
    again = B.draft_to_formula(draft)
    assert parse_formula(again) == parse_formula(text)
    assert B.formula_to_draft(again) == draft  # stable: a second trip changes nothing


def test_draft_holds_the_structure_of_the_formula():
    d = B.formula_to_draft("strength ~ 1 + (1 | batch/cask)")
    assert d.outcome == "strength" and d.terms == () and d.intercept
    assert d.groupings == (B.Grouping(("batch", "cask")),)
    assert d.groupings[0].label == "batch / cask"
    d = B.formula_to_draft("diameter ~ 1 + (1 | plate) + (1 | sample)")
    assert [g.factors for g in d.groupings] == [("plate",), ("sample",)]  # crossed: separate boxes
    d = B.formula_to_draft("Reaction ~ Days + (Days || Subject)")
    g = d.groupings[0]
    assert g.intercept and g.slopes == (("Days",),) and not g.correlated
    d = B.formula_to_draft("y ~ x + (1 | g1:g2)")
    assert d.groupings[0].combined and d.groupings[0].label == "g1:g2"


def test_roles_follow_measurement_levels_and_declared_factors():
    levels = {"distance": "continuous", "age": "continuous", "Sex": "nominal", "Subject": "nominal"}
    d = B.formula_to_draft("distance ~ age * Sex + (1 | Subject)", levels=levels)
    assert d.factors == ("Sex",) and d.covariates == ("age",)
    d = B.formula_to_draft("distance ~ age * Sex + (1 | Subject)", levels=levels, factors=["age"])
    assert d.factors == ("age", "Sex") and d.covariates == ()


def test_previous_draft_keeps_box_assignments_and_options():
    prev = B.formula_to_draft("y ~ visit + (1 | id)", factors=["visit"]).with_(method="ML")
    d = B.formula_to_draft("y ~ visit + age + (1 | id)", previous=prev)
    assert d.factors == ("visit",) and d.covariates == ("age",) and d.method == "ML"


def test_unknown_column_is_a_spec_error_with_a_suggestion():
    with pytest.raises(SpecError, match='"Dayz" is not in the data; did you mean "Days"'):
        B.formula_to_draft("Reaction ~ Dayz + (1 | Subject)", ["Reaction", "Days", "Subject"])
    with pytest.raises(SpecError, match="position"):
        B.formula_to_draft("Reaction ~ Days +")


def test_spec_round_trip_of_a_repeated_measures_analysis():
    spec = AnalysisSpec(formula="distance ~ agef + Sex", factors=("agef", "Subject"),
                        reference_levels={"Sex": "Male"}, repeated=Repeated("UN", "Subject", "age"))
    d = B.spec_to_draft(spec)
    assert d.factors == ("agef", "Sex") and d.repeated == Repeated("UN", "Subject", "age")
    assert d.declared_factors == ("Subject",)
    back = B.draft_to_spec(d, base=spec)
    assert back.formula == spec.formula and back.repeated == spec.repeated
    assert back.reference_levels == {"Sex": "Male"}
    assert set(back.factors) == {"agef", "Sex", "Subject"}


def test_spec_round_trip_keeps_emmeans_and_options():
    contrasts = (Contrast("pairwise", "tukey"), Contrast("custom", "none", "T14", (0, -0.5, -0.5, 1)))
    spec = AnalysisSpec(formula="distance ~ age * Sex + (1 | Subject)", method="ML", df_method="kenward-roger",
                        factors=("age", "Subject"), emmeans=(EmmeansRequest(("age",), (), contrasts),),
                        random_effect_tests=True, title="keep me")
    back = B.draft_to_spec(B.spec_to_draft(spec), base=spec)
    assert back.emmeans == spec.emmeans and back.method == "ML" and back.df_method == "kenward-roger"
    assert back.random_effect_tests and back.title == "keep me" and back.formula == spec.formula


def test_incomplete_repeated_is_not_written_to_the_spec():
    d = B.set_repeated(B.formula_to_draft("y ~ t"), subject="id")
    assert d.repeated.subject == "id" and B.draft_to_spec(d).repeated is None
    d = B.set_repeated(d, index="t", structure="AR1")
    assert B.draft_to_spec(d).repeated == Repeated("AR1", "id", "t")
    assert B.set_repeated(d, subject=None, index=None, structure=None).repeated is None


# -- edits ------------------------------------------------------------------------------------

def test_edits_build_the_model_step_by_step():
    d = B.ModelDraft()
    d = B.add_to_role(d, "outcome", ["distance"])
    d = B.add_to_role(d, "covariates", ["age"])
    d = B.add_to_role(d, "factors", ["Sex"])
    assert d.terms == (("age",), ("Sex",))
    d = B.add_interaction(d, [("age",), ("Sex",)])
    d = B.add_grouping(d, "Subject")
    assert B.draft_to_formula(d) == "distance ~ age * Sex + (1 | Subject)"
    # the default grouping is a random intercept only: never a slope unasked
    assert d.groupings == (B.Grouping(("Subject",)),)
    d = B.set_grouping(d, 0, slopes=[("age",)])
    assert B.draft_to_formula(d) == "distance ~ age * Sex + (age | Subject)"
    d = B.remove_variables(d, ["age"])
    assert B.draft_to_formula(d) == "distance ~ Sex + (1 | Subject)"


def test_moving_between_boxes_keeps_terms_and_the_outcome_leaves_the_predictors():
    d = B.formula_to_draft("y ~ visit * arm")
    d2 = B.add_to_role(d, "factors", ["visit"])
    assert d2.factors == ("visit",) and "visit" not in d2.covariates and d2.terms == d.terms
    d3 = B.set_outcome(d2, "visit")
    assert d3.outcome == "visit" and d3.terms == (("arm",),)
    d4 = B.add_to_role(d3, "covariates", ["visit"])  # dragged from Outcome to Covariates
    assert d4.outcome == "" and d4.covariates == ("arm", "visit") and d4.terms == (("arm",), ("visit",))


def test_full_factorial_crosses_the_factors_only():
    d = B.add_to_role(B.add_to_role(B.ModelDraft(outcome="y"), "factors", ["a", "b", "c"]), "covariates", ["x"])
    d = B.full_factorial(d)
    assert B.draft_to_formula(d) == "y ~ a * b * c + x"


def test_nesting_and_removing_levels():
    d = B.add_grouping(B.add_grouping(B.ModelDraft(outcome="y"), "clinic"), "patient")
    d = B.nest_in_grouping(d, 0, ["patient"])  # patient's own box moves under clinic
    assert [g.label for g in d.groupings] == ["clinic / patient"]
    assert B.draft_to_formula(d) == "y ~ 1 + (1 | clinic/patient)"
    d = B.remove_grouping_level(d, 0, "patient")
    assert B.draft_to_formula(d) == "y ~ 1 + (1 | clinic)"
    assert B.remove_grouping_level(d, 0, "clinic").groupings == ()


def test_a_grouping_cannot_lose_its_last_random_effect():
    d = B.formula_to_draft("y ~ x + (1 | g)")
    assert B.set_grouping(d, 0, intercept=False) is d
    d = B.set_grouping(d, 0, slopes=[("x",)])
    assert B.draft_to_formula(B.set_grouping(d, 0, intercept=False)) == "y ~ x + (0 + x | g)"
    # removing the fixed term takes its slope away; the intercept comes back rather than an empty term
    no_icpt = B.set_grouping(d, 0, intercept=False)
    assert B.draft_to_formula(B.remove_terms(no_icpt, [("x",)])) == "y ~ 1 + (1 | g)"


def test_reference_levels_and_means_follow_the_factor():
    d = B.formula_to_draft("y ~ arm", factors=["arm"])
    d = B.add_emmeans(B.set_reference_level(d, "arm", "placebo"), "arm")
    assert d.emmeans[0].contrasts == (Contrast("pairwise", "tukey"),)
    spec = B.draft_to_spec(d)
    assert spec.reference_levels == {"arm": "placebo"} and spec.emmeans[0].specs == ("arm",)
    d = B.remove_variables(d, ["arm"])
    assert d.reference_levels == {} and d.emmeans == ()


# -- notes ------------------------------------------------------------------------------------

def _clinic_frame(n_clinics=6, age_mean=52.0, seed=1):
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_clinics):
        for p in range(4):
            for t in range(3):
                rows.append({"clinic": f"c{c}", "patient": f"c{c}p{p}", "time": t,
                             "age": age_mean + rng.normal(0, 8), "score": rng.normal(50, 10), "sex": "F" if p % 2 else "M"})
    return pd.DataFrame(rows)


def test_note_few_levels():
    frame = _clinic_frame(6)
    d = B.formula_to_draft("score ~ time + (1 | clinic/patient)")
    messages = [n.message for n in B.model_notes(d, frame)]
    assert "clinic has 6 levels: variance estimates from fewer than 10 groups are imprecise" in messages
    assert not any("patient" in m for m in messages)  # 24 patients are enough


def test_note_centring_is_offered_not_applied():
    frame = _clinic_frame(12)
    d = B.formula_to_draft("score ~ age + (age | clinic)")
    notes = [n for n in B.model_notes(d, frame) if n.kind == "centre"]
    assert len(notes) == 1 and notes[0].column == "age"
    assert notes[0].message.startswith("age is far from zero (mean 5")
    assert notes[0].message.endswith("centring it makes the intercept and the random slope interpretable")
    assert B.formula_to_draft("score ~ age + (age | clinic)") == d  # nothing changed
    near_zero = B.formula_to_draft("score ~ time + (time | clinic)")
    assert not [n for n in B.model_notes(near_zero, frame) if n.kind == "centre"]


def test_note_slope_of_a_variable_constant_within_groups_and_slope_without_fixed_effect():
    frame = _clinic_frame(12)
    frame["dose"] = frame["patient"].str.len().astype(float)  # constant within patient
    d = B.formula_to_draft("score ~ dose + (dose | patient)")
    assert any(n.kind == "slope_constant" for n in B.model_notes(d, frame))
    d = B.formula_to_draft("score ~ 1 + (time | clinic)")
    assert [n.kind for n in B.model_notes(d)] == ["slope_without_fixed"]


def test_notes_for_incomplete_models_and_missing_columns():
    assert B.model_notes(B.ModelDraft())[0].kind == "incomplete"
    d = B.formula_to_draft("score ~ tiem + (1 | clinic)")
    assert any(n.kind == "missing_column" and n.column == "tiem" for n in B.model_notes(d, _clinic_frame(12)))


def test_help_covers_every_choice():
    from mixgui.analysis.spec import ADJUSTMENTS, CONTRAST_METHODS, DF_METHODS, METHODS, STRUCTURES

    for key, values in (("method", METHODS), ("df_method", DF_METHODS), ("structure", STRUCTURES),
                        ("contrast", CONTRAST_METHODS), ("adjust", ADJUSTMENTS)):
        assert set(B.LABELS[key]) == set(values)
    assert set(B.STRUCTURE_HELP) == set(STRUCTURES) and set(B.CONTRAST_HELP) == set(CONTRAST_METHODS)
    assert B.HELP["method"] == ("REML: less biased variances, use it to report a model. "
                                "ML: use it to compare models with different fixed effects.")
