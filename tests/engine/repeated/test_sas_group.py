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
at that optimum, to 1e-5 (observed ~2e-6; a p-value below 1e-7, the intercept's, is held by
pytest's 1e-12 absolute floor); the covariance parameters to 1e-6; SAS's ASYCOV (an inverse
Hessian) to 1e-5 (MIXED) and 1e-4 (GLIMMIX, whose optimum is ~1e-6 off in G). Observed maximum
relative differences: heterogeneous Satterthwaite estimates 2e-7, SEs 3e-8, df 1.3e-7, type 3 F
1e-7, residual variances 9e-8, ASYCOV 3e-7; intermediate KR SEs 2.5e-7, df 1.9e-6, ASYCOV 1e-5.

-2 Res Log Likelihood: the programs did not export the fit statistics, so none is checked here
(ours: 530.1444 heterogeneous, 535.1437 intermediate).
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


def check_solution(res, ref_rows, keys=("estimate", "std_error", "t_value"), rel=1e-6, df_rel=1e-5):
    ours = {r["term"]: r for r in res.data["fixed_effects"]}
    assert set(ours) == {r["term"] for r in ref_rows}
    for ref in ref_rows:
        row = ours[ref["term"]]
        for key in keys:
            assert row[key] == pytest.approx(ref[key], rel=rel), (ref["term"], key)
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


# Kenward-Roger. SAS's parameters of this G are FA(1,1) = l_R, FA(2,1) = l_T, FA(2,2) = 0 (G = l l');
# ours at this boundary are the same FA parameters in our column order (T, then R): l_T, l_R (see
# mixgui.engine.inference.kr_boundary), so SAS's ASYCOV rows [FA(2,1), FA(1,1), residuals...].
HET_ORDER = [1, 0, 3, 4]
INTER_ORDER = [1, 0, 3]


def test_intermediate_kenward_roger_matches_sas_glimmix():
    res = fit("kenward-roger", group=False, kr_information="observed")
    eng = res.inference._engine
    assert eng.boundary is not None  # the rank-one G: SAS's FA0 parameters, FA(2,2) left out
    # GLIMMIX's optimum (~1e-6 off in G) bounds the agreement of the adjusted SEs: 1e-5
    check_solution(res, INTER["kr_solution"], rel=1e-5)
    ref = np.array(INTER["asycov"]["matrix"])[np.ix_(INTER_ORDER, INTER_ORDER)]
    assert eng.W == pytest.approx(ref, rel=1e-4)
    # SAS's KR standard error of the formulation effect is below the unadjusted one (the second
    # derivatives of the FA parameters), which the linear parameters' adjustment cannot give: ours too
    unadjusted = {r["term"]: r["std_error"] for r in INTER["sw_solution"]}
    row = next(r for r in res.data["fixed_effects"] if r["term"] == "formulationR")
    assert row["std_error"] < unadjusted["formulationR"] * (1 - 5e-3)


def test_heterogeneous_kenward_roger_weight_is_sas_asycov():
    # SAS's ASYCOV (2 H^-1, the observed information) does not depend on DDFM: the Kenward-Roger
    # weight of the heterogeneous model must be it. No DDFM=KR run of this model is published, but
    # for a one-df contrast the KR df are Satterthwaite's with the same weight (Kenward & Roger
    # 1997: A1 = A2 gives m = 2 / A1), so SAS's Satterthwaite df are the KR df of its one-df tests.
    res = fit("kenward-roger", kr_information="observed")
    eng = res.inference._engine
    ref = np.array(HET["asycov"]["matrix"])[np.ix_(HET_ORDER, HET_ORDER)]
    assert eng.W == pytest.approx(ref, rel=1e-5)
    ours = {r["term"]: r for r in res.data["fixed_effects"]}
    for r in HET["sw_solution"]:
        assert ours[r["term"]]["df"] == pytest.approx(r["df"], rel=1e-5), r["term"]
        assert ours[r["term"]]["estimate"] == pytest.approx(r["estimate"], rel=1e-6)
    # the covariance-parameter table stays in G's elements and the residual variances
    assert [c["parameter"] for c in res.data["covariance_parameters"]] == res.fit.kr_names


def test_expected_information_keeps_the_linear_parameters():
    # pbkrtest's choice (expected information) is not SAS's: G's elements throughout, boundary or not
    res = fit("kenward-roger", group=False, kr_information="expected")
    eng = res.inference._engine
    assert eng.boundary is None and eng.W.shape == (4, 4)


def test_covariance_parameter_table_at_the_boundary_uses_sas_asycov(het_sw):
    # SAS's COVTEST standard errors are the square roots of ASYCOV's diagonal; at this rank-one G
    # the natural parameters' own Hessian would count the direction off the boundary (our residual
    # SEs were 0.0337 and 0.0199 against SAS's 0.0294 and 0.0190)
    rows = {r["parameter"]: r for r in het_sw.data["covariance_parameters"]}
    asy = np.array(HET["asycov"]["matrix"])
    for name, k in (("R:sigma2", 3), ("T:sigma2", 4)):
        assert rows[name]["std_error"] == pytest.approx(np.sqrt(asy[k, k]), rel=1e-5)
        assert rows[name]["kind"] == "variance"  # a group level's residual variance: one-sided, as SAS


@pytest.mark.parametrize("order", ["rows", "columns"])
def test_fa_map_is_the_derivative_of_g_in_the_fa_parameters(order):
    # a 3 x 3 G of rank two with the zero pivot in the middle, plus one residual parameter: J and H
    # must be the first and second derivatives of G's elements (in the model's order) in the kept
    # elements of its factor
    from types import SimpleNamespace

    from mixgui.engine.inference.kr_boundary import _cholesky_psd, _vech_pairs, fa_map

    L0 = np.array([[1.0, 0.0, 0.0], [0.6, 0.0, 0.0], [-0.3, 0.0, 0.8]])
    G = L0 @ L0.T
    J, H = fa_map(SimpleNamespace(varcorr=[G], kr_vech_order=order), 7)
    L, zero = _cholesky_psd(G)
    assert zero == [1] and L == pytest.approx(L0)
    keep = [(i, j) for (i, j) in _vech_pairs(3, order) if j != 1]
    assert J.shape == (7, len(keep) + 1) and H.shape == (7, len(keep) + 1, len(keep) + 1)

    def natural(x):
        M = np.zeros((3, 3))
        for (i, j), v in zip(keep, x):
            M[i, j] = v
        Gx = M @ M.T
        return np.array([Gx[a, b] for a, b in _vech_pairs(3, order)])

    x0, h = np.array([L[i, j] for i, j in keep]), 1e-5
    for f in range(len(keep)):
        e = np.eye(len(keep))[f] * h
        assert J[:6, f] == pytest.approx((natural(x0 + e) - natural(x0 - e)) / (2 * h), abs=1e-8)
        for g in range(len(keep)):
            d = np.eye(len(keep))[g] * h
            fd = (natural(x0 + e + d) - natural(x0 + e - d) - natural(x0 - e + d) + natural(x0 - e - d)) / (4 * h * h)
            assert H[:6, f, g] == pytest.approx(fd, abs=1e-5)
    assert J[6, -1] == 1.0 and not H[6].any()
