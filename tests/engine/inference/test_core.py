"""Inference layer against R (lmerTest, pbkrtest, performance, lme4's anova).

Every model is fitted twice when possible: by ``dense_lmm`` (a small independent lme4-style fitter
written for these tests) and by MixGUI's engine (``mixgui.engine.lmm.fit``), and the inference
numbers of both are compared with R's.

Tolerances, and why:
- df 1e-2 relative: lmerTest's Satterthwaite df rest on numerical second derivatives whose
  rounding noise is ~5e-4 relative (numDeriv's steps), and both fitters stop at slightly different
  optima than lme4 (relative 1e-6 in theta moves df by ~1e-4).
- p-values 2e-2 relative: a df error of 1e-2 moves a t-test p-value by up to ~1e-2 in the tails
  of the reference cases (p down to 1e-37: relative error grows with |t|).
- F and t statistics, standard errors 2e-3 relative: they depend on the optimum only (no
  numerical derivatives); 2e-3 covers the fitters' optimiser tolerance on flat likelihoods.
- R2, ICC 2e-3 relative (or 1e-8 absolute near 0): functions of the variance estimates only.
- log-likelihoods 1e-6 absolute-ish (5e-8 relative): exact maximisation, different optimisers.
"""
from __future__ import annotations

import functools
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.formula import parse_formula
from mixgui.engine import effects
from mixgui.engine.design import build_design
from mixgui.engine.inference import lrt
from mixgui.engine.inference.anova3 import anova_table, type3_hypotheses
from mixgui.engine.inference.core import Inference, fixed_effects_table
from mixgui.engine.inference.kenward_roger import KenwardRoger
from mixgui.engine.inference.satterthwaite import fstat_ddf
from mixgui.engine.numerics import (
    richardson_hessian,
    richardson_jacobian,
    zapsmall,
)
from mixgui.errors import Cancelled, ModelError, Progress

from .. import dense_lmm
from ..dense_lmm import fit_design as dense_fit

REF = Path(__file__).resolve().parents[2] / "reference" / "inference"
PUBLIC = ["sleepstudy_ri", "sleepstudy_ri_ml", "sleepstudy_rs", "sleepstudy_rs_uncorr", "orthodont_cat",
          "pastes_nested", "penicillin_crossed"]
R_REFS = json.loads((REF / "inference_refs.json").read_text())
R_CASES = {c["name"]: c for c in R_REFS["cases"]}

DF_REL, P_REL, STAT_REL, R2_REL = 1e-2, 2e-2, 2e-3, 2e-3
METHODS = [("satterthwaite", "satterthwaite"), ("kenward-roger", "kenward_roger")]


# -- fitters ------------------------------------------------------------------------------------
def lmm_fit(design, reml=True):
    from mixgui.engine.lmm.fit import fit_lmm

    return fit_lmm(design.y, design.X, design.blocks, reml=reml, column_names=design.column_names)


ENGINES = ["dense", "lmm"]
FITTERS = {"dense": dense_fit, "lmm": lmm_fit}


def close(a, b, rel, abs_=0.0) -> bool:
    if b is None:
        return a is None or (isinstance(a, float) and math.isnan(a))
    return a == pytest.approx(b, rel=rel, abs=abs_)


# -- cases --------------------------------------------------------------------------------------
@functools.cache
def public_design(case):
    spec = json.loads((REF / "public" / f"{case}.spec.json").read_text())
    data = pd.read_csv(REF / Path(spec["data"]["path"]).name)
    design = build_design(parse_formula(spec["formula"]), data, factors=spec.get("factors", []),
                          reference_levels=spec.get("reference_levels"))
    return design, spec["method"] == "REML"


@functools.cache
def r_design(name):
    c = R_CASES[name]
    data = pd.read_csv(REF / c["data"])
    data = data.drop(index=[i - 1 for i in c["drop_rows"]]).reset_index(drop=True)
    design = build_design(parse_formula(c["formula"]), data, factors=c["factors"],
                          reference_levels=c["reference_levels"] or None)
    return design, c["method"] == "REML"


@functools.cache
def fitted(kind, case, engine):
    design, reml = public_design(case) if kind == "public" else r_design(case)
    return design, FITTERS[engine](design, reml)


@functools.cache
def inference(kind, case, engine, method):
    design, fit = fitted(kind, case, engine)
    return Inference.build(fit, method, design.nobs)


def public_ref(case):
    return json.loads((REF / "public" / f"{case}.json").read_text())


# -- public reference cases -----------------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("method,key", METHODS)
@pytest.mark.parametrize("case", PUBLIC)
def test_public_fixed_effects(case, method, key, engine):
    ref = public_ref(case)
    if method == "kenward-roger" and ref["method"] == "ML":
        pytest.skip("lmerTest refuses Kenward-Roger for ML fits (tested below)")
    design, fit = fitted("public", case, engine)
    rows = fixed_effects_table(design.column_names, fit.beta, inference("public", case, engine, method))
    se_key = "std_error_kenward_roger" if key == "kenward_roger" else "std_error"
    assert [r["term"] for r in rows] == [r["term"] for r in ref["fixed_effects"]]
    for r, rr in zip(rows, ref["fixed_effects"]):
        assert close(r["estimate"], rr["estimate"], STAT_REL), r["term"]
        assert close(r["std_error"], rr[se_key], STAT_REL), r["term"]
        assert close(r["df"], rr["df_" + key], DF_REL), r["term"]
        assert close(r["p_value"], rr["p_value_" + key], P_REL), r["term"]
        assert r["ci_lower"] < r["estimate"] < r["ci_upper"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("method,key", METHODS)
@pytest.mark.parametrize("case", PUBLIC)
def test_public_anova(case, method, key, engine):
    ref = public_ref(case)
    if method == "kenward-roger" and ref["method"] == "ML":
        pytest.skip("Kenward-Roger needs REML")
    design, _ = fitted("public", case, engine)
    rows = anova_table(design, inference("public", case, engine, method))
    assert [r["term"] for r in rows] == [r["term"] for r in ref["anova"]]
    for r, rr in zip(rows, ref["anova"]):
        assert r["num_df"] == rr["num_df"]
        assert close(r["f_value"], rr["f_" + key], STAT_REL), r["term"]
        assert close(r["den_df"], rr["den_df_" + key], DF_REL), r["term"]
        assert close(r["p_value"], rr["p_" + key], P_REL), r["term"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", PUBLIC)
def test_public_r2_icc(case, engine):
    ref = public_ref(case)
    design, fit = fitted("public", case, engine)
    out = effects.r2_icc(design, fit)
    for k in ("r2_marginal", "r2_conditional", "icc_adjusted"):
        assert close(out[k], ref[k], R2_REL, 1e-8), k


@pytest.mark.parametrize("engine", ENGINES)
def test_sleepstudy_lrt_boundary(engine):
    ref = public_ref("sleepstudy_lrt")
    design, _ = public_design("sleepstudy_lrt")
    (row,) = lrt.random_effect_tests(design, FITTERS[engine])
    assert row["term"] == "(1 | Subject)" and row["df"] == 1
    assert row["statistic"] == pytest.approx(ref["statistic"], rel=1e-6)
    assert row["loglik_reduced"] == pytest.approx(ref["loglik_null"], rel=1e-9)
    assert row["loglik_full"] == pytest.approx(ref["loglik_alt"], rel=1e-8)
    assert row["p_value"] == pytest.approx(ref["p_boundary"], rel=1e-4)
    assert row["p_value_naive"] == pytest.approx(ref["p_naive"], rel=1e-4)


# -- R-script cases: unbalanced, singular, joint contrasts, hypothesis matrices ----------------------
def _fixed_ok(rows, ref_rows, key):
    se_key = "std_error_kenward_roger" if key == "kenward_roger" else "std_error"
    for r, rr in zip(rows, ref_rows):
        assert r["term"] == rr["term"]
        assert close(r["std_error"], rr[se_key], STAT_REL), r["term"]
        assert close(r["df"], rr["df_" + key], DF_REL), r["term"]
        assert close(r["p_value"], rr["p_value_" + key], P_REL), r["term"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("method,key", METHODS)
@pytest.mark.parametrize("case", [c for c in R_CASES if c != "dyestuff2_singular"])
def test_r_cases(case, method, key, engine):
    ref = R_CASES[case]
    if method == "kenward-roger" and ref["method"] == "ML":
        design, fit = fitted("r", case, engine)
        with pytest.raises(ModelError, match="REML"):
            Inference.build(fit, method, design.nobs)
        return
    design, fit = fitted("r", case, engine)
    inf = inference("r", case, engine, method)
    _fixed_ok(fixed_effects_table(design.column_names, fit.beta, inf), ref["fixed_effects"], key)
    rows = anova_table(design, inf)
    assert [r["term"] for r in rows] == [r["term"] for r in ref["anova"]]
    for r, rr in zip(rows, ref["anova"]):
        assert r["num_df"] == rr["num_df"]
        assert close(r["f_value"], rr["f_" + key], STAT_REL), r["term"]
        assert close(r["den_df"], rr["den_df_" + key], DF_REL), r["term"]
        assert close(r["p_value"], rr["p_" + key], P_REL), r["term"]
    for c in ref["contrasts"]:  # includes a rank-deficient L (3 rows, rank 2)
        F, q, ddf, p = inf.ftest(np.array(c["L"], float))
        assert q == c["num_df"]
        assert close(F, c["f_" + key], STAT_REL)
        assert close(ddf, c["den_df_" + key], DF_REL)
        assert close(p, c["p_" + key], P_REL)
    out = effects.r2_icc(design, fit)
    for k in ("r2_marginal", "r2_conditional", "icc_adjusted", "icc_unadjusted"):
        assert close(out[k], ref[k], R2_REL, 1e-8), k


@pytest.mark.parametrize("case", list(R_CASES))
def test_type3_hypotheses_match_lmertest(case):
    design, _ = r_design(case)
    L = type3_hypotheses(design)
    for a in R_CASES[case]["anova"]:
        want = np.array(a["hypothesis"], float)
        assert L[a["term"]] == pytest.approx(want, abs=1e-6), a["term"]


def test_type3_public_orthodont_hypotheses():
    design, _ = public_design("orthodont_cat")
    L = type3_hypotheses(design)
    assert L["Sex"] == pytest.approx(np.array([[0, 0, 0, 0, 1, .25, .25, .25]]), abs=1e-7)
    assert L["age"].shape == (3, 8) and L["age:Sex"].shape == (3, 8)


@pytest.mark.parametrize("engine", ENGINES)
def test_singular_fit(engine):
    """Dyestuff2: the batch variance is zero. lmerTest still gives df (here n - 1), pbkrtest 5;
    performance gives no conditional R2 or ICC."""
    ref = R_CASES["dyestuff2_singular"]
    design, fit = fitted("r", "dyestuff2_singular", engine)
    sat = inference("r", "dyestuff2_singular", engine, "satterthwaite")
    row = fixed_effects_table(design.column_names, fit.beta, sat)[0]
    assert close(row["df"], ref["fixed_effects"][0]["df_satterthwaite"], DF_REL)
    assert close(row["std_error"], ref["fixed_effects"][0]["std_error"], STAT_REL)
    kr = inference("r", "dyestuff2_singular", engine, "kenward-roger")
    row = fixed_effects_table(design.column_names, fit.beta, kr)[0]
    assert close(row["df"], ref["fixed_effects"][0]["df_kenward_roger"], DF_REL)
    out = effects.r2_icc(design, fit)
    assert out["r2_marginal"] == pytest.approx(0, abs=1e-12)
    assert math.isnan(out["r2_conditional"]) and math.isnan(out["icc_adjusted"])


# -- effect sizes, model comparison, random-effect LRTs ------------------------------------------------
def _design(csv, formula, factors=(), ref=None):
    return build_design(parse_formula(formula), pd.read_csv(REF / csv), factors=list(factors), reference_levels=ref)


@pytest.mark.parametrize("engine", ENGINES)
def test_f2(engine):
    fit_fn = FITTERS[engine]
    for name, csv, formula, factors, ref in [
            ("sleepstudy_rs", "sleepstudy.csv", "Reaction ~ Days + (Days | Subject)", ["Subject"], None),
            ("orthodont_cat", "orthodont.csv", "distance ~ age * Sex + (1 | Subject)", ["age", "Subject"],
             {"Sex": "Male"})]:
        design = _design(csv, formula, factors, ref)
        rows = effects.f2_table(design, fit_fn(design, True), fit_fn)
        want = R_REFS["f2"][name]
        assert [r["term"] for r in rows] == [w["term"] for w in want]
        for r, w in zip(rows, want):
            assert close(r["r2_full"], w["r2_full"], R2_REL), r["term"]
            assert close(r["r2_reduced"], w["r2_reduced"], R2_REL, 1e-8), r["term"]
            # f2 of a reparametrised model (age removed under age:Sex) is 0 up to optimiser noise
            assert close(r["f2"], w["f2"], R2_REL, 1e-6), r["term"]


@pytest.mark.parametrize("engine", ENGINES)
def test_variance_parts_and_proportions(engine):
    fit_fn = FITTERS[engine]
    cases = {"sleepstudy_rs": ("sleepstudy.csv", "Reaction ~ Days + (Days | Subject)", ["Subject"], None),
             "sleepstudy_rs_uncorr": ("sleepstudy.csv", "Reaction ~ Days + (Days || Subject)", ["Subject"], None),
             "sleepstudy_ri": ("sleepstudy.csv", "Reaction ~ Days + (1 | Subject)", ["Subject"], None),
             "orthodont_cat": ("orthodont.csv", "distance ~ age * Sex + (1 | Subject)", ["age", "Subject"],
                               {"Sex": "Male"}),
             "pastes_nested": ("pastes.csv", "strength ~ 1 + (1 | batch/cask)", [], None),
             "penicillin_crossed": ("penicillin.csv", "diameter ~ 1 + (1 | plate) + (1 | sample)", [], None)}
    for name, (csv, formula, factors, ref) in cases.items():
        design = _design(csv, formula, factors, ref)
        fit = fit_fn(design, True)
        c = effects.variance_components(design.X, fit.beta, design.blocks, fit.varcorr, fit.sigma,
                                        design.column_names)
        want = R_REFS["variances"][name]
        for k in ("var_fixed", "var_random", "var_residual"):
            assert close(c[k], want[k], R2_REL, 1e-8), (name, k)
        assert c["intercepts"] == pytest.approx(want["var_intercept"], rel=R2_REL)
        props = effects.variance_proportions(c)
        assert sum(p["proportion"] for p in props) == pytest.approx(1)
        total = want["var_fixed"] + want["var_random"] + want["var_residual"]
        assert props[-1]["proportion"] == pytest.approx(want["var_residual"] / total, rel=R2_REL)
        if "by_group" in want:
            got = effects.variance_explained(design, fit, fit_fn)
            assert [g["level"] for g in got] == [w["level"] for w in want["by_group"]]
            for g, w in zip(got, want["by_group"]):
                assert close(g["proportion_explained"], w["r2"], 1e-2, 1e-4), (name, g["level"])


@pytest.mark.parametrize("engine", ENGINES)
def test_compare_models_as_r_anova(engine):
    fit_fn = FITTERS[engine]
    for key, (f0, f1) in {"same_fixed": ("Reaction ~ Days + (1 | Subject)", "Reaction ~ Days + (Days | Subject)"),
                          "different_fixed": ("Reaction ~ 1 + (Days | Subject)",
                                              "Reaction ~ Days + (Days | Subject)")}.items():
        d0, d1 = (_design("sleepstudy.csv", f, ["Subject"]) for f in (f0, f1))
        reml = [fit_fn(d1, True), fit_fn(d0, True)]
        out = lrt.compare_models(reml, ["m1", "m0"])
        assert out["reml"] and out["refit_required"] == (key == "different_fixed")
        assert out["warnings"][0].kind == "ml_refit"
        ml = lrt.compare_models([fit_fn(d1, False), fit_fn(d0, False)], ["m1", "m0"])
        assert not ml["refit_required"] and not ml["warnings"]
        want = R_REFS["comparisons"][key]["rows"]
        assert [r["model"] for r in ml["rows"]] == ["m0", "m1"]  # ordered by npar, as R
        for r, w in zip(ml["rows"], want):
            assert r["npar"] == w["npar"]
            for k in ("aic", "bic", "loglik", "deviance"):
                assert r[k] == pytest.approx(w[k], rel=1e-7), k
        assert ml["rows"][1]["chisq"] == pytest.approx(want[1]["chisq"], rel=1e-5, abs=1e-5)
        assert ml["rows"][1]["df"] == want[1]["df"]
        assert ml["rows"][1]["p_value"] == pytest.approx(want[1]["p_value"], rel=1e-3)
        assert math.isnan(ml["rows"][0]["chisq"])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name,formula", [("sleepstudy_rs", "Reaction ~ Days + (Days | Subject)"),
                                          ("sleepstudy_rs_uncorr", "Reaction ~ Days + (Days || Subject)")])
def test_random_slope_lrts(name, formula, engine):
    design = _design("sleepstudy.csv", formula, ["Subject"])
    rows = lrt.random_effect_tests(design, FITTERS[engine])
    want = R_REFS["lrt"][name]
    assert [r["term"] for r in rows] == [w["term"] for w in want]
    for r, w in zip(rows, want):
        assert r["df"] == w["df"]
        assert r["statistic"] == pytest.approx(w["statistic"], rel=1e-5)
        from scipy import stats
        k = w["df"]
        mix = 0.5 * stats.chi2.sf(w["statistic"], k) + 0.5 * (stats.chi2.sf(w["statistic"], k - 1) if k > 1 else 0)
        assert r["p_value"] == pytest.approx(mix, rel=1e-3)
        assert r["p_value_naive"] == pytest.approx(stats.chi2.sf(w["statistic"], k), rel=1e-3)


def test_nested_terms_tested_per_grouping_factor():
    design = _design("pastes.csv", "strength ~ 1 + (1 | batch/cask)")
    rows = lrt.random_effect_tests(design, dense_fit)
    assert [r["term"] for r in rows] == ["(1 | batch)", "(1 | cask:batch)"]
    assert all(r["df"] == 1 for r in rows)


def test_parametric_bootstrap_and_cancel():
    design = _design("sleepstudy.csv", "Reaction ~ Days + (1 | Subject)", ["Subject"])
    calls = []
    (row,) = lrt.random_effect_tests(design, dense_fit, nboot=4, seed=3,
                                     progress=Progress(lambda f, m: calls.append(f)))
    assert row["nboot"] == 4 and row["p_value_boot"] == pytest.approx(1 / 5)  # nothing beats 106
    assert calls[-1] == pytest.approx(1.0) and all(np.diff(calls) > 0)
    prog = Progress()
    prog.cancel()
    with pytest.raises(Cancelled):
        lrt.random_effect_tests(design, dense_fit, nboot=2, progress=prog)


# -- pieces ------------------------------------------------------------------------------------
def test_richardson_derivatives_reproduce_numderiv():
    """Same numbers as numDeriv::hessian / numDeriv::jacobian (R, printed with 17 digits)."""
    f = lambda x: np.exp(x[0]) * np.sin(x[1]) + x[0] ** 2 * x[1]  # noqa: E731
    H = richardson_hessian(f, np.array([0.3, 1.1]))
    assert H == pytest.approx(np.array([[3.4030041043578767, 1.2122907195864108],
                                        [1.2122907195864108, -1.2030041043567254]]), rel=1e-12)
    H0 = richardson_hessian(f, np.array([0.0, 1.1]))  # absolute step at zero
    assert H0 == pytest.approx(np.array([[3.09120677944927591, 0.45359612121079629],
                                         [0.45359612121079629, -0.89120736006248358]]), rel=1e-12)
    J = richardson_jacobian(lambda v: np.array([v[0] * v[1], np.log(v[1]), np.exp(v[0])]), np.array([0.3, 1.1]))
    assert J == pytest.approx(np.array([[1.1000000000090180, 0.29999999999566945], [0, 0.90909090908248402],
                                        [1.3498588076127647, 0]]), rel=1e-12, abs=1e-15)


def test_fstat_ddf_special_cases():
    assert fstat_ddf([7.5]) == 7.5
    assert fstat_ddf([10.0, 10.0 + 1e-10]) == pytest.approx(10.0)
    assert fstat_ddf([1.5, 30.0]) == 2.0
    E = 10 / 8 + 20 / 18
    assert fstat_ddf([10.0, 20.0]) == pytest.approx(2 * E / (E - 2))


def test_zapsmall_like_r():
    # R >= 4.0: round(x, 7 - ceiling(log10(max|x|))): zapsmall(c(1/3, 1e-9, 2)) is 0.333333 0 2
    assert list(zapsmall([1 / 3, 1e-9, 2])) == [0.333333, 0.0, 2.0]
    assert list(zapsmall([np.nan, 0.5, np.inf])[1:2]) == [0.5]


def test_kr_clusters_split_equals_one_block():
    """Kenward-Roger summed over independent clusters equals the one-big-cluster computation."""
    design, fit = fitted("public", "sleepstudy_rs", "dense")
    split = KenwardRoger(fit)
    pieces = list(fit.kr_clusters())
    from scipy.linalg import block_diag

    from mixgui.engine.covmodel import ClusterPieces
    assert len(pieces) == 18  # one per subject
    whole = ClusterPieces(X=np.vstack([c.X for c in pieces]), V=block_diag(*[c.V for c in pieces]),
                          dV=[block_diag(*[c.dV[k] for c in pieces]) for k in range(len(pieces[0].dV))])
    one = KenwardRoger(type("M", (), {"beta": fit.beta, "kr_clusters": lambda self: iter([whole])})())
    assert split.vcov == pytest.approx(one.vcov, rel=1e-10)
    L = np.array([[0.0, 1.0]])
    assert split.df(L) == pytest.approx(one.df(L), rel=1e-10)


def test_kr_second_derivative_term():
    """R_kl enters Lambda with weight -1/4: a d2V equal to 4 Q-like pieces changes vcov as predicted."""
    design, fit = fitted("public", "sleepstudy_ri", "dense")
    base = KenwardRoger(fit)
    pieces = list(fit.kr_clusters())
    m = len(pieces[0].dV)
    with_d2 = [replace(c, d2V={(0, 0): c.dV[0]}) for c in pieces]
    kr = KenwardRoger(type("M", (), {"beta": fit.beta, "kr_clusters": lambda self: iter(with_d2)})())
    # R_00 = X'V^-1 dV_0 V^-1 X = -P_0, so Lambda gains Phi (W_00 P_0 / 4) Phi
    extra = base.phi @ (base.W[0, 0] * base.P[0] / 4) @ base.phi
    assert kr.vcov == pytest.approx(base.vcov + 2 * extra, rel=1e-10)
    assert m == 2


def test_residual_and_none_methods():
    design, fit = fitted("public", "sleepstudy_ri", "dense")
    res = Inference.build(fit, "residual", design.nobs)
    row = fixed_effects_table(design.column_names, fit.beta, res)[1]
    assert row["df"] == design.nobs - 2
    from scipy import stats
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(abs(row["t_value"]), design.nobs - 2))
    F, q, ddf, p = res.ftest(np.array([[0.0, 1.0]]))
    assert (q, ddf) == (1, design.nobs - 2) and F == pytest.approx(row["t_value"] ** 2)
    none = Inference.build(fit, "none", design.nobs)
    row = fixed_effects_table(design.column_names, fit.beta, none)[1]
    assert math.isinf(row["df"]) and row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(row["t_value"])))
    assert row["ci_upper"] - row["estimate"] == pytest.approx(stats.norm.ppf(.975) * row["std_error"])
    F, q, ddf, p = none.ftest(np.eye(2))
    assert q == 2 and math.isinf(ddf) and p == pytest.approx(stats.chi2.sf(2 * F, 2))
    with pytest.raises(ModelError):
        Inference.build(fit, "bogus")


def test_kenward_roger_needs_reml():
    design, fit = fitted("public", "sleepstudy_ri_ml", "dense")
    with pytest.raises(ModelError, match="REML"):
        Inference.build(fit, "kenward-roger", design.nobs)


def test_dense_reference_matches_lme4_loglik():
    for case in ("sleepstudy_rs", "pastes_nested", "penicillin_crossed"):
        _, fit = fitted("public", case, "dense")
        assert fit.loglik == pytest.approx(public_ref(case)["loglik"], abs=1e-6)


@pytest.mark.parametrize("case", list(R_CASES))
def test_exact_at_lme4_optimum(case):
    """At lme4's own optimum (theta, sigma from R) the algorithms agree with lmerTest / pbkrtest to
    ~1e-8 (df; numerical derivatives of the same steps) and ~1e-10 (F, KR): the same computation."""
    ref = R_CASES[case]
    design, reml = r_design(case)
    theta = np.atleast_1d(np.asarray(ref["theta"], float))
    m = dense_lmm.fit_dense(design.y, design.X, design.blocks, reml=reml, start=theta)
    _, XtViX, beta, _ = m._solve_parts(theta)
    m.theta, m.beta, m.sigma = theta, beta, float(ref["sigma"])
    m.vcov = m.sigma ** 2 * np.linalg.inv(XtViX)
    m.varcorr = [m.sigma ** 2 * T @ T.T for T in m._factors(theta)]
    for method, key in METHODS:
        if method == "kenward-roger" and not reml:
            continue
        inf = Inference.build(m, method, design.nobs)
        se_key = "std_error_kenward_roger" if key == "kenward_roger" else "std_error"
        for r, rr in zip(fixed_effects_table(design.column_names, m.beta, inf), ref["fixed_effects"]):
            assert r["df"] == pytest.approx(rr["df_" + key], rel=1e-6), (method, r["term"])
            assert r["std_error"] == pytest.approx(rr[se_key], rel=1e-8), (method, r["term"])
        for a, ra in zip(anova_table(design, inf), ref["anova"]):
            assert a["den_df"] == pytest.approx(ra["den_df_" + key], rel=1e-6), (method, a["term"])
            assert a["f_value"] == pytest.approx(ra["f_" + key], rel=1e-8), (method, a["term"])


class _Broken:
    """A fitted model whose likelihood cannot be evaluated away from the estimate."""

    def __init__(self, fit, bad="deviance"):
        self._fit, self._bad = fit, bad
        self.X, self.beta, self.vcov, self.reml, self.varpar = fit.X, fit.beta, fit.vcov, fit.reml, fit.varpar

    def deviance_at(self, v):
        return np.nan if self._bad == "deviance" and not np.array_equal(v, self.varpar) else self._fit.deviance_at(v)

    def vcov_at(self, v):
        return self._fit.vcov_at(v)

    def kr_clusters(self):
        if self._bad == "kr":
            raise ModelError("too large")
        return self._fit.kr_clusters()


def test_fallbacks_say_so():
    design, fit = fitted("public", "sleepstudy_ri", "dense")
    inf = Inference.build(_Broken(fit, "deviance"), "satterthwaite", design.nobs)
    assert inf.method == "none" and [w.kind for w in inf.warnings] == ["df_method"]
    assert math.isinf(inf.df(np.array([0.0, 1.0])))
    inf = Inference.build(_Broken(fit, "kr"), "kenward-roger", design.nobs)
    assert inf.method == "satterthwaite" and inf.warnings[0].kind == "df_method"
    assert inf.df(np.array([0.0, 1.0])) == pytest.approx(161, rel=1e-4)


def test_satterthwaite_is_cancellable():
    design, fit = fitted("public", "sleepstudy_rs", "dense")
    prog = Progress()
    prog.cancel()
    with pytest.raises(Cancelled):
        Inference.build(fit, "satterthwaite", design.nobs, progress=prog)


def test_implausible_df_kept_but_flagged():
    """lmerTest does not clip the df; neither do we, but a df below 1 gets a df_approximation warning."""
    from mixgui.engine.inference.satterthwaite import Satterthwaite

    st = Satterthwaite.__new__(Satterthwaite)
    st.vcov, st.beta, st.nobs, st.warnings, st._flagged = np.eye(1), np.ones(1), 10, [], False
    st.jacobian, st.vcov_varpar = [np.eye(1) * 3.0], np.eye(1)  # df = 2 * 1 / 9
    assert st.df(np.ones(1)) == pytest.approx(2 / 9)
    assert [w.kind for w in st.warnings] == ["df_approximation"]
    st.df(np.ones(1))
    assert len(st.warnings) == 1  # said once
