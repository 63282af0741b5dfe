"""R's factor(x) in the formula: x categorical, terms named as R names them."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.formula import parse_formula
from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.engine.design import build_design
from mixgui.errors import DataError, SpecError
from mixgui.pipeline.run import run


@pytest.fixture()
def trial():
    rng = np.random.default_rng(3)
    n_pat, weeks = 24, [0, 4, 8]
    frame = pd.DataFrame({"id": np.repeat(np.arange(n_pat), 3), "week": np.tile(weeks, n_pat),
                          "Arm": np.repeat(np.where(np.arange(n_pat) % 2, "Active", "Placebo"), 3),
                          "Age (years)": np.repeat(rng.integers(40, 70, n_pat), 3)})
    u = np.repeat(rng.normal(0, 2, n_pat), 3)
    frame["score"] = 20 + u + frame["week"] * np.where(frame["Arm"] == "Active", -0.5, -0.1) + rng.normal(0, 1, len(frame))
    return frame


def test_factor_call_round_trips_in_the_formula_text():
    f = parse_formula("score ~ Arm * factor(week) + factor(`Age (years)`) + (1 | id)")
    assert f.text() == "score ~ Arm + factor(week) + factor(`Age (years)`) + Arm:factor(week) + (1 | id)"
    assert parse_formula(f.text()) == f


def test_factor_call_names_columns_as_r(trial):
    d = build_design(parse_formula("score ~ Arm * factor(week) + (1 | id)"), trial)
    assert d.column_names == ["(Intercept)", "ArmPlacebo", "factor(week)4", "factor(week)8",
                              "ArmPlacebo:factor(week)4", "ArmPlacebo:factor(week)8"]


def test_factor_call_fits_as_the_column_declared_a_factor(trial):
    ds = Dataset(trial, name="trial")
    a = run(AnalysisSpec(formula="score ~ Arm * factor(week) + (1 | id)"), ds).data
    b = run(AnalysisSpec(formula="score ~ Arm * week + (1 | id)", factors=("week",)), ds).data
    assert a["loglik"] == pytest.approx(b["loglik"], rel=1e-12)
    assert [r["estimate"] for r in a["fixed_effects"]] == pytest.approx([r["estimate"] for r in b["fixed_effects"]])
    assert [r["term"] for r in a["fixed_effects"]][2] == "factor(week)4"
    assert [r["term"] for r in a["anova"]] == ["Arm", "factor(week)", "Arm:factor(week)"]


def test_factor_of_an_unknown_column_names_it(trial):
    with pytest.raises(DataError, match='column inside factor\\(\\) "wek".*did you mean "week"'):
        build_design(parse_formula("score ~ factor(wek)"), trial)
    with pytest.raises(SpecError, match="column name inside factor"):
        parse_formula("score ~ factor(1)")
