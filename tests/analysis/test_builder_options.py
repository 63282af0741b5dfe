"""The draft owns the builder's model options: family, link, trials, nAGQ, offsets and the tests' settings."""
from __future__ import annotations

import pandas as pd
import pytest

from mixgui.analysis import builder as B
from mixgui.analysis import builder_options as BO
from mixgui.analysis.spec import AnalysisSpec, Repeated
from mixgui.errors import SpecError


def _draft(formula="y ~ trt + week + (1 | ID)", **options) -> B.ModelDraft:
    return B.set_options(B.formula_to_draft(formula, factors=("trt",)), **options)


def test_every_option_goes_through_a_spec_and_back():
    d = _draft(family="binomial", link="probit", nagq=9).with_(df_method="kenward-roger")
    d = B.set_options(d, kr_information="observed", kr_variant="linear", vcov="empirical", weights="w",
                      anova_types=(2, 1), predictions=True)
    spec = B.draft_to_spec(d)
    assert (spec.family, spec.link, spec.nagq, spec.kr_information, spec.kr_variant, spec.vcov, spec.weights,
            spec.anova_types, spec.predictions) == ("binomial", "probit", 9, "observed", "linear", "empirical",
                                                     "w", (1, 2), True)
    assert B.spec_to_draft(spec) == d
    # and through the analysis file's JSON
    assert B.spec_to_draft(AnalysisSpec.from_dict({**spec.to_dict(), "data": {"path": "x.csv"}})) == d


def test_the_draft_not_the_base_spec_decides_the_options():
    base = AnalysisSpec(family="poisson", weights="w", predictions=True, anova_types=(1,))
    spec = B.draft_to_spec(_draft(), base=base)
    assert (spec.family, spec.weights, spec.predictions, spec.anova_types) == ("gaussian", None, False, ())


def test_trials_and_the_offset_round_trip_with_the_formula():
    d = B.formula_to_draft("y ~ trt + offset(log(days)) + (1 | ID)", factors=("trt",))
    assert d.offsets == (("log", "days"),)
    assert B.draft_to_formula(d) == "y ~ trt + offset(log(days)) + (1 | ID)"
    d = B.set_options(d, family="poisson")
    assert B.spec_to_draft(B.draft_to_spec(d)) == d
    b = B.set_options(B.formula_to_draft("incidence ~ period + (1 | herd)"), family="binomial", trials="size")
    spec = B.draft_to_spec(b)
    assert spec.trials == "size" and B.spec_to_draft(spec).trials == "size"
    # dropping a predictor keeps the offset; the typed formula without it removes it
    assert B.remove_variables(d, ["trt"]).offsets == (("log", "days"),)
    assert B.formula_to_draft("y ~ trt + (1 | ID)", previous=d).offsets == ()


def test_a_new_family_drops_what_it_cannot_use():
    d = _draft(family="binomial", link="cloglog", trials="n", nagq=5)
    p = B.set_options(d, family="poisson")
    assert (p.family, p.link, p.trials, p.nagq) == ("poisson", None, None, 5)
    g = B.set_options(p, family="gaussian")
    assert (g.link, g.nagq) == (None, 1)
    # the canonical link is written as "the default", so files say only what differs
    assert B.set_options(d, link="logit").link is None
    assert B.draft_to_spec(B.set_options(d, link="logit")).link_name == "logit"


def test_unknown_values_are_refused_with_the_nearest_name():
    with pytest.raises(SpecError, match='did you mean "poisson"'):
        B.set_options(_draft(), family="poison")
    with pytest.raises(SpecError, match="option"):
        B.set_options(_draft(), familly="poisson")
    with pytest.raises(SpecError, match="ANOVA type"):
        B.set_options(_draft(), anova_types=(4,))


def test_kenward_roger_settings_are_written_only_with_kenward_roger_df():
    d = _draft(kr_information="expected", kr_variant="linear")
    assert B.draft_to_spec(d).kr_information is None  # Satterthwaite: they would change nothing
    assert B.draft_to_spec(d.with_(df_method="kenward-roger")).kr_information == "expected"
    assert BO.kr_default(d) == "expected"
    rep = d.with_(repeated=Repeated("AR1", "ID", "week"))
    assert BO.kr_default(rep) == "observed"


def test_quadrature_only_for_one_random_intercept():
    assert BO.nagq_allowed(_draft(family="binomial"))
    assert not BO.nagq_allowed(_draft())  # a linear model has no quadrature
    assert not BO.nagq_allowed(_draft("y ~ week + (week | ID)", family="binomial"))
    assert not BO.nagq_allowed(_draft("y ~ week + (1 | ID) + (1 | trt)", family="binomial"))
    assert not BO.nagq_allowed(_draft("y ~ week + (1 | trt/ID)", family="binomial"))


def test_the_outcome_suggests_a_family_and_never_sets_it():
    binary = pd.Series([0, 1, 1, 0, 1])
    d = _draft()
    offer = BO.family_offer(d, binary)
    assert offer.families == ("binomial",) and "binary (logistic)" in offer.message
    assert d.family == "gaussian"
    assert BO.family_offer(B.set_options(d, family="binomial"), binary) is None
    counts = pd.Series([0, 3, 1, 0, 7, 2, 12, 0, 1, 4])
    offer = BO.family_offer(d, counts)
    assert set(offer.families) == {"poisson", "negative_binomial"} and "count" in offer.message
    assert BO.family_offer(B.set_options(d, family="poisson"), counts).families == ("negative_binomial",)
    # successes out of n trials look like counts by design: nothing to say
    assert BO.family_offer(B.set_options(d, family="binomial", trials="n"), counts) is None
    cont = pd.Series([1.5, 2.25, 3.1, 0.7])
    assert BO.family_offer(d, cont) is None
    assert BO.family_offer(B.set_options(d, family="poisson"), cont).families == ("gaussian",)


def test_notes_name_a_missing_trials_weights_or_exposure_column():
    frame = pd.DataFrame({"y": [0, 1] * 10, "trt": ["a", "b"] * 10, "week": range(20), "ID": list("abcdefghij") * 2})
    d = B.set_options(B.formula_to_draft("y ~ trt + offset(log(dayz)) + (1 | ID)", factors=("trt",)),
                      family="binomial", trials="nn", weights="ww")
    missing = {n.column for n in B.model_notes(d, frame) if n.kind == "missing_column"}
    assert missing == {"dayz", "nn", "ww"}


def test_marginal_means_on_the_response_scale_only_for_a_generalized_model():
    d = B.add_emmeans(_draft(family="binomial"), "trt")
    d = B.set_emmeans_type(d, 0, "response")
    spec = B.draft_to_spec(d)
    assert spec.emmeans[0].type == "response" and B.spec_to_draft(spec) == d
    linear = B.set_options(d, family="gaussian")
    assert linear.emmeans[0].type == "response"  # kept for when a generalized family comes back
    assert B.draft_to_spec(linear).emmeans[0].type == "link"  # a linear model has one scale
    with pytest.raises(SpecError, match="response"):
        B.set_emmeans_type(d, 0, "probability")
