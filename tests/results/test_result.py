"""Results are typed records; the results file is their serialisation, key for key and in order."""
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.errors import FitWarning
from mixgui.pipeline import run
from mixgui.results.result import (
    ABSENT,
    AnovaRow,
    FitResult,
    FixedEffect,
    ModelInfo,
    RepeatedInfo,
    RSquared,
    Section,
    SumsOfSquaresRow,
    VarianceComponent,
    json_value,
)

REF = Path(__file__).resolve().parents[1] / "reference"


@pytest.fixture(scope="module")
def orthodont():
    return Dataset(pd.read_csv(REF / "cli" / "orthodont_long.csv"), name="orthodont_long.csv")


def test_a_mixed_model_result_is_typed_and_serialises_to_the_file(orthodont):
    spec = AnalysisSpec(formula="distance ~ agen * Sex + (agen | Subject)", df_method="kenward-roger",
                        emmeans=AnalysisSpec.from_dict({"data": "d.csv", "formula": "y ~ x", "emmeans": [{"specs": "Sex"}]}).emmeans)
    r = run(spec, orthodont, figures=False)
    assert isinstance(r.info, ModelInfo) and r.info.model == "lmm" and r.info.df_method == "kenward-roger"
    assert all(isinstance(f, FixedEffect) for f in r.fixed_effects) and r.fixed_effects[0].term == "(Intercept)"
    assert all(isinstance(a, AnovaRow) for a in r.anova)
    assert all(isinstance(v, VarianceComponent) for v in r.variance_components)
    assert r.variance_components[-1].group == "Residual" and isinstance(r.r_squared, RSquared)
    assert isinstance(r.sections["emmeans"], Section) and r.section("emmeans")[0]["specs"] == "Sex"
    d = json.loads(r.to_json())
    assert list(d) == list(r.layout)
    assert [f["estimate"] for f in d["fixed_effects"]] == [f.estimate for f in r.fixed_effects]
    assert d["fixed_effects"][1] == {k: getattr(r.fixed_effects[1], k) for k in d["fixed_effects"][1]}
    assert "z_value" not in d["fixed_effects"][0]  # a field this model does not have is not written
    assert d["variance_components"][0]["vcov"] == r.variance_components[0].vcov
    assert d["r2_marginal"] == r.r_squared.r2_marginal and d["kr_information"] == r.info.kr_information
    assert d["warnings"] == [w.message for w in r.warnings]
    # the window's tables are rendered from the same records
    fixed = next(t for t in r.tables if t.key == "fixed_effects")
    assert [row["estimate"] for row in fixed.rows] == [f.estimate for f in r.fixed_effects]


def test_ordinary_regression_and_repeated_measures_records(orthodont):
    lm = run(AnalysisSpec(formula="distance ~ agen + Sex", anova_types=(2, 3)), orthodont, figures=False)
    assert lm.info.model == "lm" and lm.glance.nobs == 108 and lm.diagnostics.durbin_watson > 0
    assert all(isinstance(a, SumsOfSquaresRow) for a in lm.anova_type1 + lm.anova_type2 + lm.anova_type3)
    assert lm.variance_components is None and lm.info.get("loglik") is None  # glance has it for lm
    spec = AnalysisSpec.from_dict({"data": "d.csv", "formula": "distance ~ agen + Sex", "factors": ["Subject"],
                                   "repeated": {"structure": "AR1", "subject": "Subject", "index": "age"}})
    rep = run(spec, orthodont, figures=False)
    assert isinstance(rep.repeated, RepeatedInfo) and rep.repeated.structure == "AR1"
    assert np.asarray(rep.repeated.correlation).shape == (4, 4)
    assert rep.covariance_parameters[0].parameter and rep.null_model_lrt.df == 1
    assert rep.to_dict()["null_model_lrt"] == {"df": 1, "chi_square": pytest.approx(rep.null_model_lrt.chi_square),
                                               "p_value": pytest.approx(rep.null_model_lrt.p_value)}


def test_records_refuse_a_key_they_do_not_know_and_write_nan_as_null():
    with pytest.raises(TypeError, match="no field 'wald'"):
        FixedEffect.from_dict({"term": "x", "estimate": 1.0, "std_error": 0.1, "wald": 3.0})
    f = FixedEffect("x", 1.0, float("nan"), df=3.0, t_value=np.float64(np.inf))
    assert f.z_value is ABSENT and f.get("z_value", "none") == "none"
    assert f.to_dict() == {"term": "x", "estimate": 1.0, "std_error": None, "df": 3.0, "t_value": None,
                           "p_value": None, "ci_lower": None, "ci_upper": None}
    assert math.isnan(f.raw()["std_error"])  # the raw values keep NaN for the tables
    assert json_value({"a": (np.int64(2), np.bool_(True))}) == {"a": [2, True]}


def test_from_contract_keeps_every_key_and_its_order():
    data = {"model": "lm", "method": "OLS", "df_method": "residual", "nobs": 3,
            "fixed_effects": [{"term": "(Intercept)", "estimate": 1.0, "std_error": 0.5, "df": 2.0, "t_value": 2.0,
                               "p_value": 0.18, "ci_lower": -1.0, "ci_upper": 3.0}],
            "warnings": None, "something_new": {"free": [1, 2]}, "warning_details": None, "formula": "y ~ 1"}
    w = FitWarning("kind", "A sentence.", "model")
    r = FitResult.from_contract(AnalysisSpec(formula="y ~ 1"), data, [w])
    assert r.section("something_new") == {"free": [1, 2]} and r.info.formula == "y ~ 1"
    out = r.to_dict()
    assert list(out) == list(data)
    assert out["warnings"] == ["A sentence."]
    assert out["warning_details"] == [{"kind": "kind", "table": "model", "message": "A sentence."}]
    assert out["fixed_effects"] == data["fixed_effects"]
