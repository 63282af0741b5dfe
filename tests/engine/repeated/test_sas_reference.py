"""Our repeated-measures Kenward-Roger against published SAS PROC MIXED output, and against pbkrtest.

Reference: tests/reference/repeated/sas/ (data and SAS tables from the Julia package
MixedModelsSmallSample.jl, which stores the output of its SAS runs; URL and commits in
sas_bioequivalence.json). The SAS model is a random intercept per subject, i.e. compound symmetry in
SAS's linear parameters (CS covariance, Residual), fitted here as ``repeated: CS`` so the default
information is the observed one, as SAS's DDFM=KR. pbkrtest_bioequivalence.json is made by
make_pbkrtest.R (R 4.2.2, lme4 1.1-31, pbkrtest 0.5.2) on the same data.

Tolerances: SAS prints 14-15 significant digits and converges to ~1e-9 relative in the covariance
parameters, as we do, so estimates, SEs and df are held to 1e-6 relative (a thousand times looser
than the agreement seen, well below display precision); the asymptotic covariance of the covariance
parameters (a second derivative) to 1e-5 relative. lme4's optimum is good to ~1e-7, so pbkrtest's
df to 1e-5 relative.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.pipeline.run import run

HERE = Path(__file__).resolve().parents[2] / "reference" / "repeated" / "sas"
SAS = json.loads((HERE / "sas_bioequivalence.json").read_text())
PBKR = json.loads((HERE / "pbkrtest_bioequivalence.json").read_text())


def fit(df_method="kenward-roger", **extra):
    d = pd.read_csv(HERE / "bioequivalence.csv")
    d["subject"] = d["subject"].astype(str)
    d["period"] = d["period"].astype(str)
    spec = AnalysisSpec.from_dict(dict({
        "data": {"path": "bioequivalence.csv"}, "formula": "log_data ~ formulation + sequence + period",
        "factors": ["period", "formulation", "sequence"],
        "reference_levels": {"period": "4", "formulation": "T", "sequence": "BABA"},
        "df_method": df_method, "repeated": {"subject": "subject", "index": "period", "structure": "CS"}}, **extra))
    return run(spec, Dataset(d, name="bioequivalence"))


@pytest.fixture(scope="module")
def kr():
    return fit()


def test_kenward_roger_solution_matches_sas(kr):
    assert kr.data["kr_information"] == "observed"  # the default with a repeated structure: SAS's
    ours = {r["term"]: r for r in kr.data["fixed_effects"]}
    for ref in SAS["kr_solution"]:
        row = ours[ref["term"]]
        for key in ("estimate", "std_error", "df", "t_value"):
            assert row[key] == pytest.approx(ref[key], rel=1e-6), (ref["term"], key)
        assert row["p_value"] == pytest.approx(ref["p_value"], rel=1e-5)


def test_type3_tests_match_sas(kr):
    ours = {r["term"]: r for r in kr.data["anova"]}
    for ref in SAS["kr_type3"]:
        row = ours[ref["term"]]
        assert row["num_df"] == ref["num_df"]
        for key in ("den_df", "f_value", "p_value"):
            assert row[key] == pytest.approx(ref[key], rel=1e-6), (ref["term"], key)


def test_asymptotic_covariance_of_the_covariance_parameters_matches_sas(kr):
    # SAS's ASYCOV is 2 H^-1, H the observed information of -2 l_REML in (CS covariance, Residual)
    W = kr.inference._engine.W
    assert kr.fit.kr_names == ["cs_cov", "residual"]
    assert W == pytest.approx(np.array(SAS["asycov"]["matrix"]), rel=1e-5)


def test_model_based_standard_errors_match_sas_satterthwaite_run():
    res = fit("satterthwaite")
    for row in res.data["fixed_effects"]:
        assert row["std_error"] == pytest.approx(SAS["sw_solution_std_error"][row["term"]], rel=1e-6)


def test_expected_information_matches_pbkrtest():
    res = fit(kr_information="expected")
    assert res.data["kr_information"] == "expected"
    rows = {r["term"]: r for r in res.data["fixed_effects"]}
    for term, se, df in zip(PBKR["terms"], PBKR["std_error"], PBKR["df"]):
        assert rows[term]["std_error"] == pytest.approx(se, rel=1e-5)
        assert rows[term]["df"] == pytest.approx(df, rel=1e-5)
    # the REML criterion is SAS's -2 Res Log Likelihood: the same formula as lme4's REMLcrit
    assert -2 * res.data["loglik"] == pytest.approx(PBKR["reml_deviance"], abs=1e-6)
    # observed (SAS) and expected (pbkrtest) differ in the df here, by ~0.3 on 217
    sas_df = {r["term"]: r["df"] for r in SAS["kr_solution"]}
    assert abs(rows["formulationR"]["df"] - sas_df["formulationR"]) > 0.1


def test_random_intercept_model_with_the_observed_information_matches_sas():
    # the SAS model as it is written there, RANDOM intercept / SUBJECT=subject (G-side only): asked
    # for the observed information, the linear mixed model gives SAS's numbers too
    d = pd.read_csv(HERE / "bioequivalence.csv")
    d["subject"] = d["subject"].astype(str)
    d["period"] = d["period"].astype(str)
    spec = AnalysisSpec.from_dict({
        "data": {"path": "bioequivalence.csv"}, "formula": "log_data ~ formulation + sequence + period + (1 | subject)",
        "factors": ["period", "formulation", "sequence"],
        "reference_levels": {"period": "4", "formulation": "T", "sequence": "BABA"},
        "df_method": "kenward-roger", "kr_information": "observed"})
    res = run(spec, Dataset(d, name="bioequivalence"))
    assert res.data["model"] == "lmm" and res.data["kr_information"] == "observed"
    ours = {r["term"]: r for r in res.data["fixed_effects"]}
    for ref in SAS["kr_solution"]:
        for key in ("estimate", "std_error", "df"):
            assert ours[ref["term"]][key] == pytest.approx(ref[key], rel=1e-5), (ref["term"], key)
    W = res.inference._engine.W  # lme4's parameter order: the intercept variance, then the residual
    assert W == pytest.approx(np.array(SAS["asycov"]["matrix"]), rel=1e-4)


def test_random_slopes_with_the_observed_information_match_sas():
    # SAS GLIMMIX, RANDOM intercept days / TYPE=UN: the unadjusted and adjusted SEs differ in the
    # 4th digit, the observed information's ASYCOV is the check of the second derivatives
    ref = json.loads((HERE / "sas_sleepstudy.json").read_text())
    d = pd.read_csv(HERE / "sleepstudy.csv")
    spec = AnalysisSpec.from_dict({"data": {"path": "sleepstudy.csv"}, "formula": "Reaction ~ Days + (Days | Subject)",
                                   "df_method": "kenward-roger", "kr_information": "observed"})
    res = run(spec, Dataset(d, name="sleepstudy"))
    for row, r in zip(res.data["fixed_effects"], ref["kr_solution"]):
        assert row["term"] == r["term"]
        for key in ("estimate", "std_error", "df"):
            assert row[key] == pytest.approx(r[key], rel=1e-5), (r["term"], key)
    assert res.inference._engine.W == pytest.approx(np.array(ref["asycov"]["matrix"]), rel=1e-4)
