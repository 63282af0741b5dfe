"""Weights (SAS WEIGHT) in repeated-measures models, against nlme and lme4.

Reference: tests/reference/repeated/weights/weights.json, made by make_weights.R there (R 4.2.2,
nlme 3.1-162, lme4 1.1-31): gls with varFixed(~1/w) (and varIdent for UN), and lmer(weights = w)
for a random intercept. Tolerances: the optima agree to ~1e-6 relative in the parameters, so
estimates and SEs to 1e-4 relative and the log-likelihood (which includes sum(log w) / 2) to 1e-4
absolute.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.errors import MixGUIError
from mixgui.pipeline.run import run

HERE = Path(__file__).resolve().parents[2] / "reference" / "repeated" / "weights"
REF = json.loads((HERE / "weights.json").read_text())


def fit(frame=None, formula="distance ~ Sex * age", **extra):
    d = pd.read_csv(HERE / "orthodont_weighted.csv") if frame is None else frame
    spec = AnalysisSpec.from_dict(dict({"data": {"path": "w.csv"}, "formula": formula, "weights": "w",
                                        "reference_levels": {"Sex": "Male"}}, **extra))
    return run(spec, Dataset(d, name="w"))


def check(res, ref):
    fe = res.data["fixed_effects"]
    assert [r["estimate"] for r in fe] == pytest.approx(ref["beta"], rel=1e-4)
    assert [r["std_error"] for r in fe] == pytest.approx(ref["se"], rel=1e-4)
    assert res.data["loglik"] == pytest.approx(ref["loglik"], abs=1e-4)


def test_unstructured_reml_matches_nlme():
    res = fit(repeated={"subject": "Subject", "index": "age", "structure": "UN"})
    check(res, REF["un_reml"])
    assert res.data["weights"] == "w"


def test_ar1_ml_matches_nlme():
    check(fit(method="ML", repeated={"subject": "Subject", "index": "age", "structure": "AR1"}), REF["ar1_ml"])


def test_random_intercept_matches_lmer_with_weights():
    res = fit(formula="distance ~ Sex * age + (1 | Subject)",
              repeated={"subject": "Subject", "index": "age", "structure": "ID"})
    ref = REF["ri_lmer"]
    check(res, ref)
    # fitted values and residuals are on the data's scale, not the weighted one
    assert res.fit.fitted[:5] == pytest.approx(ref["fitted"], rel=1e-4)
    assert res.fit.residuals[:5] == pytest.approx(ref["resid"], rel=1e-3, abs=1e-4)
    assert res.fit.varcorr[0][0, 0] == pytest.approx(ref["tau2"], rel=1e-4)


def test_weights_change_the_fit():
    d = pd.read_csv(HERE / "orthodont_weighted.csv")
    rep = {"subject": "Subject", "index": "age", "structure": "UN"}
    unweighted = fit(d.assign(w=1.0), repeated=rep)
    assert unweighted.data["fixed_effects"][1]["estimate"] != pytest.approx(REF["un_reml"]["beta"][1], rel=1e-3)


def test_a_zero_weight_is_refused_in_one_sentence():
    d = pd.read_csv(HERE / "orthodont_weighted.csv")
    d.loc[3, "w"] = 0
    with pytest.raises(MixGUIError) as e:
        fit(d, repeated={"subject": "Subject", "index": "age", "structure": "UN"})
    assert "positive" in str(e.value) and "\n" not in str(e.value)


def test_weights_without_a_repeated_structure_are_refused():
    with pytest.raises(MixGUIError) as e:
        fit(formula="distance ~ Sex * age + (1 | Subject)")
    assert "weights" in str(e.value)


def test_sandwich_and_between_within_use_the_data_scale():
    res = fit(vcov="empirical", df_method="between-within",
              repeated={"subject": "Subject", "index": "age", "structure": "UN"})
    rows = {r["term"]: r for r in res.data["fixed_effects"]}
    # Sex is constant within subject (between: S - rank = 27 - 2), age varies (within); weights that
    # vary within subject must not make Sex look like a within-subject column
    assert rows["SexFemale"]["df"] == 25
    assert np.isfinite(rows["age"]["std_error"])
