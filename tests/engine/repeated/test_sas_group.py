"""The FDA heterogeneous bioequivalence model (SAS GROUP=) against published SAS output.

References: tests/reference/repeated/sas/sas_bioequivalence_heterogeneous.json (PROC MIXED,
``RANDOM formulation / TYPE=FA0(2) SUB=subject G; REPEATED / GRP=formulation SUB=subject;``,
DDFM=SATTERTHWAITE) and sas_bioequivalence_intermediate.json (PROC GLIMMIX, the same random part
with one residual variance, DDFM=KR and DDFM=SATTERTHWAITE), both converted from the tables the
Julia package MixedModelsSmallSample.jl stores of its SAS runs (repository, files and commits in
their "source" field); data bioequivalence.csv.

MixGUI's model: ``(0 + formulation | subject)`` is an unstructured G, which equals SAS's FA0(2)
G = Lambda Lambda' (Lambda lower triangular) wherever G is positive semi-definite: both fits are the
same REML optimum. Here that optimum is on the boundary (FA(2,2) = 0, the subject effects of R and
T perfectly correlated), and SAS leaves FA(2,2) out of the asymptotic covariance of the covariance
parameters. ``repeated`` ID with ``group: formulation`` is a diagonal residual with one variance per
formulation (SAS's REPEATED / GRP=formulation, whose default type is VC).

Tolerances: SAS prints 14-15 significant digits; both optimisers stop ~1e-8 relative from the
optimum in the covariance parameters (observed agreement ~1e-8), so estimates, SEs, t and F are
held to 1e-6 relative; df and p-values, which go through second derivatives of the REML criterion
at that optimum, to 1e-5 (observed ~2e-6); the covariance parameters to 1e-6; SAS's ASYCOV (an
inverse Hessian) to 1e-4.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.pipeline.run import run

HERE = Path(__file__).resolve().parents[2] / "reference" / "repeated" / "sas"
HET = json.loads((HERE / "sas_bioequivalence_heterogeneous.json").read_text())
INTER = json.loads((HERE / "sas_bioequivalence_intermediate.json").read_text())


def fit(df_method, group=True, **extra):
    d = pd.read_csv(HERE / "bioequivalence.csv")
    d["subject"] = d["subject"].astype(str)
    d["period"] = d["period"].astype(str)
    spec = {"data": {"path": "bioequivalence.csv"},
            "formula": "log_data ~ period + formulation + sequence + (0 + formulation | subject)",
            "factors": ["period", "formulation", "sequence"],
            "reference_levels": {"period": "4", "formulation": "T", "sequence": "BABA"}, "df_method": df_method}
    if group:
        spec["repeated"] = {"subject": "subject", "index": "period", "structure": "ID", "group": "formulation"}
    return run(AnalysisSpec.from_dict(dict(spec, **extra)), Dataset(d, name="bioequivalence"), figures=False)


def check_solution(res, ref_rows, keys=("estimate", "std_error", "t_value"), df_rel=1e-5):
    ours = {r["term"]: r for r in res.data["fixed_effects"]}
    assert set(ours) == {r["term"] for r in ref_rows}
    for ref in ref_rows:
        row = ours[ref["term"]]
        for key in keys:
            assert row[key] == pytest.approx(ref[key], rel=1e-6), (ref["term"], key)
        assert row["df"] == pytest.approx(ref["df"], rel=df_rel), ref["term"]
        assert row["p_value"] == pytest.approx(ref["p_value"], rel=1e-5), ref["term"]


def g_from_fa(fa):
    """SAS's FA0(2) parameters to G (levels R, T: SAS's order)."""
    L = np.array([[fa["FA(1,1)"], 0.0], [fa["FA(2,1)"], fa["FA(2,2)"]]])
    return L @ L.T


@pytest.fixture(scope="module")
def het_sw():
    return fit("satterthwaite")


def test_heterogeneous_solution_matches_sas_mixed(het_sw):
    check_solution(het_sw, HET["sw_solution"])


def test_heterogeneous_type3_tests_match_sas_mixed(het_sw):
    ours = {r["term"]: r for r in het_sw.data["anova"]}
    for ref in HET["sw_type3"]:
        row = ours[ref["term"]]
        assert row["num_df"] == ref["num_df"]
        assert row["f_value"] == pytest.approx(ref["f_value"], rel=1e-6), ref["term"]
        assert row["den_df"] == pytest.approx(ref["den_df"], rel=1e-5), ref["term"]
        assert row["p_value"] == pytest.approx(ref["p_value"], rel=1e-5), ref["term"]


def test_heterogeneous_covariance_parameters_match_sas_mixed(het_sw):
    ref = HET["covparms"]
    groups = {g["level"]: g["parameters"] for g in het_sw.data["repeated"]["groups"]}
    assert groups["R"]["sigma2"] == pytest.approx(ref["residual_R"], rel=1e-6)
    assert groups["T"]["sigma2"] == pytest.approx(ref["residual_T"], rel=1e-6)
    G = g_from_fa(ref)
    cp = {r["parameter"]: r["estimate"] for r in het_sw.data["covariance_parameters"]}
    assert cp["G_subject_formulationR"] == pytest.approx(G[0, 0], rel=1e-6)
    assert cp["G_subject_formulationR_formulationT"] == pytest.approx(G[1, 0], rel=1e-6)
    assert cp["G_subject_formulationT"] == pytest.approx(G[1, 1], rel=1e-6)
    # the rank-one G that SAS reports as FA(2,2) = 0 is flagged as a boundary fit here
    assert het_sw.data["singular"] is True


def test_heterogeneous_90_percent_limits_of_t_vs_r_match_sas_estimate(het_sw):
    # SAS's ESTIMATE 'T vs. R' formulation 1 -1 / CL ALPHA=0.1 is formulationR (R - T, SAS's level
    # order): the limits of the average bioequivalence decision
    ref = HET["estimate_T_vs_R"]
    row = next(r for r in het_sw.data["fixed_effects"] if r["term"] == "formulationR")
    half = stats.t.ppf(1 - ref["alpha"] / 2, row["df"]) * row["std_error"]
    assert row["estimate"] - half == pytest.approx(ref["lower"], rel=1e-6)
    assert row["estimate"] + half == pytest.approx(ref["upper"], rel=1e-6)


def test_intermediate_satterthwaite_matches_sas_glimmix():
    # one residual variance: the G-side-only linear mixed model (lmerTest's Satterthwaite)
    res = fit("satterthwaite", group=False)
    assert res.data["model"] == "lmm"
    check_solution(res, INTER["sw_solution"])
    cp = INTER["covparms"]
    G = g_from_fa(cp)
    vc = res.fit.varcorr[0][::-1, ::-1]  # our columns are T (the reference level), R; SAS's R, T
    # GLIMMIX stops ~1e-6 relative from the optimum in G (its heterogeneous run differs from MIXED's
    # by as much), so 1e-5 here
    assert vc == pytest.approx(G, rel=1e-5)
    assert res.fit.sigma ** 2 == pytest.approx(cp["residual"], rel=1e-5)
