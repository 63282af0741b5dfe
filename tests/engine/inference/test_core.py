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

import math

import numpy as np
import pytest

from mixgui.engine import effects
from mixgui.engine.inference.anova3 import anova_table
from mixgui.engine.inference.core import Inference, fixed_effects_table
from mixgui.errors import ModelError

from .. import dense_lmm
from .cases import (
    DF_REL,
    ENGINES,
    METHODS,
    P_REL,
    PUBLIC,
    R2_REL,
    R_CASES,
    STAT_REL,
    _fixed_ok,
    close,
    fitted,
    inference,
    public_ref,
    r_design,
)

# -- fitters ------------------------------------------------------------------------------------


# -- public reference cases -----------------------------------------------------------------------
# Kenward-Roger is defined for REML fits only (lmerTest refuses it for ML; test_kenward_roger_needs_reml
# checks that we do too), so the ML case is paired with Satterthwaite alone.
PUBLIC_METHODS = [(case, m, k) for case in PUBLIC for m, k in METHODS
                  if not (m == "kenward-roger" and public_ref(case)["method"] == "ML")]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case,method,key", PUBLIC_METHODS)
def test_public_fixed_effects(case, method, key, engine):
    ref = public_ref(case)
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
@pytest.mark.parametrize("case,method,key", PUBLIC_METHODS)
def test_public_anova(case, method, key, engine):
    ref = public_ref(case)
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


# -- R-script cases: unbalanced, singular, joint contrasts, hypothesis matrices ----------------------


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


# -- pieces ------------------------------------------------------------------------------------


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
