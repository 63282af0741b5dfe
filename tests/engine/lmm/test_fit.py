"""Tests of the mixed-model engine (mixgui.engine.lmm.fit) against lme4, statsmodels and invariances.

Reference numbers: tests/reference/lmm/*.json, made by tests/reference/lmm/make_lmm_refs.R
(lme4 1.1-31, default lmer settings except where the script says). Designs are built by hand
here (treatment coding, reference = first sorted level) so these tests do not depend on the
formula layer.

Tolerances, and why:
- loglik / deviance / AIC / BIC 1e-3 absolute: the deviance is flat at the optimum, so two
  optimisers that stop at slightly different points agree to second order; 1e-3 is what the
  results file promises.
- fixed effects 1e-4 relative: beta moves only to first order with theta, and both optimisers
  get theta to ~1e-5.
- standard errors 2e-3, variances 5e-3, BLUPs 5e-3 (relative; BLUPs relative to the largest
  BLUP of that term, because single BLUPs near zero have no meaningful relative error): these
  move to first order with theta along flat directions of the deviance, where lme4's default
  stopping rule (bobyqa, xtol_rel 1e-7 / ftol_abs 1e-6) leaves ~1e-4 of slack.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from mixgui.engine.covmodel import RandomBlock
from mixgui.engine.lmm import fit as lmm_mod
from mixgui.engine.lmm.fit import fit_lmm, lme4_order
from mixgui.errors import Cancelled, FitWarning, ModelError, Progress

from .cases import (
    CASES,
    REF,
    block,
    case_design,
    fit_case,
    read,
    rel_close,
)

# -- building designs by hand ----------------------------------------------------------------


# -- against lme4 ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CASES)
def test_fit_statistics_match_lme4(name):
    fit, ref = fit_case(name)
    for key in ("loglik", "deviance", "aic", "bic"):
        assert abs(getattr(fit, key) - ref[key]) < 1e-3, key
    assert fit.nobs == ref["nobs"]
    assert fit.n_groups == ref["ngrps"]
    assert list(fit.n_groups) == list(ref["ngrps"])  # lme4's order
    assert fit.singular == ref["singular"]
    assert fit.converged


@pytest.mark.parametrize("name", CASES)
def test_fixed_effects_match_lme4(name):
    fit, ref = fit_case(name)
    assert fit.column_names == list(ref["beta"])
    rel_close(fit.beta, list(ref["beta"].values()), 1e-4, scale=np.maximum(np.abs(list(ref["beta"].values())),
                                                                           1e-2 * np.array(ref["se"])))
    rel_close(np.sqrt(np.diag(fit.vcov)), ref["se"], 2e-3)
    rel_close(fit.vcov, ref["vcov"], 5e-3, scale=np.outer(ref["se"], ref["se"]))


@pytest.mark.parametrize("name", CASES)
def test_variance_components_match_lme4(name):
    fit, ref = fit_case(name)
    assert [b.group for b in fit.blocks] == [v["group"].split(".")[0] for v in ref["varcorr"]]
    for got, want, blk in zip(fit.varcorr, ref["varcorr"], fit.blocks):
        want_cov = np.atleast_2d(np.asarray(want["cov"], float))
        assert blk.names == list(np.atleast_1d(want["names"]))
        sd = np.sqrt(np.diag(want_cov))
        # variances relative; covariances relative to the product of SDs (they may be near 0)
        rel_close(got, want_cov, 5e-3, scale=np.maximum(np.outer(sd, sd), 1e-8 * ref["sigma"] ** 2))
    rel_close(fit.sigma ** 2, ref["sigma"] ** 2, 5e-3)


@pytest.mark.parametrize("name", CASES)
def test_blups_match_lme4(name):
    fit, ref = fit_case(name)
    for blk, b, sd in zip(fit.blocks, fit.blups, fit.blup_sd):
        want = ref["ranef"][blk.group]
        assert want["levels"] == blk.levels
        for j, term in enumerate(blk.names):
            k = want["terms"].index(term)
            val, csd = np.asarray(want["condval"][k]), np.asarray(want["condsd"][k])
            scale = max(np.max(np.abs(val)), 1e-6 * ref["sigma"])
            rel_close(b[:, j], val, 5e-3, scale=scale)
            rel_close(sd[:, j], csd, 5e-3, scale=max(np.max(csd), 1e-6 * ref["sigma"]))


# -- against statsmodels -----------------------------------------------------------------------
def _random_design(seed, slope=True):
    rng = np.random.default_rng(seed)
    G = 25
    sizes = rng.integers(1, 9, G)  # includes groups of size one
    g = np.repeat(np.arange(G), sizes)
    n = len(g)
    x, z = rng.standard_normal(n), rng.standard_normal(n)
    u = rng.standard_normal((G, 2)) * [1.5, 0.7]
    y = 1 + 0.5 * x - 0.3 * z + u[g, 0] + u[g, 1] * x + rng.standard_normal(n)
    X = np.column_stack([np.ones(n), x, z])
    Zr = np.column_stack([np.ones(n), x]) if slope else np.ones((n, 1))
    names = ["(Intercept)", "x"] if slope else ["(Intercept)"]
    return y, X, g, Zr, RandomBlock("g", g, [str(i) for i in range(G)], Zr, names)


@pytest.mark.parametrize("seed", [2, 3, 4])
@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("slope", [True, False])
def test_same_likelihood_as_statsmodels(seed, reml, slope):
    """statsmodels' MixedLM uses the same (RE)ML likelihood: at its own estimates our non-profiled
    deviance must reproduce its llf to rounding (1e-8 relative), and our optimum must be at least
    as good and the same up to both optimisers' stopping rules (1e-3 absolute, as for lme4)."""
    import warnings

    import statsmodels.api as sm

    y, X, g, Zr, blk = _random_design(seed, slope)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.MixedLM(y, X, groups=g, exog_re=Zr).fit(reml=reml, method=["lbfgs"])
    fit = fit_lmm(y, X, [blk], reml=reml)
    T = np.linalg.cholesky(np.atleast_2d(np.asarray(res.cov_re)) / res.scale)
    q = T.shape[0]
    theta = [T[i, j] for j in range(q) for i in range(j, q)]
    varpar = np.array(theta + [np.sqrt(res.scale)])
    assert -0.5 * fit.deviance_at(varpar) == pytest.approx(res.llf, rel=1e-8)
    assert fit.loglik >= res.llf - 1e-6
    assert abs(fit.loglik - res.llf) < 1e-3
    rel_close(fit.beta, res.fe_params, 1e-3, scale=np.sqrt(np.diag(fit.vcov)))


# -- the CovarianceModel protocol ------------------------------------------------------------------


# -- invariances ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sleepstudy_rs", "sleepstudy_ri_ml", "pastes_nested"])
def test_shifting_y_moves_only_the_intercept(name):
    fit, ref = fit_case(name)
    y, X, names, blocks = case_design(name)
    shifted = fit_lmm(y + 1e6, X, blocks, reml=ref["reml"])
    assert shifted.loglik == pytest.approx(fit.loglik, abs=1e-6)
    assert shifted.beta[0] == pytest.approx(fit.beta[0] + 1e6, abs=1e-6)
    np.testing.assert_allclose(shifted.beta[1:], fit.beta[1:], rtol=1e-6)
    np.testing.assert_allclose(shifted.theta, fit.theta, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(shifted.vcov, fit.vcov, rtol=1e-5)
    for a, b in zip(shifted.blups, fit.blups):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6 * np.max(np.abs(b)))


@pytest.mark.parametrize("c", [1e-8, 1e8, -3.0])
@pytest.mark.parametrize("name", ["sleepstudy_rs", "sleepstudy_rs_ml", "penicillin_crossed"])
def test_scaling_y_scales_the_estimates(name, c):
    """Outcomes around 1e-8 or 1e8 fit as well as the original (internal scaling)."""
    fit, ref = fit_case(name)
    y, X, names, blocks = case_design(name)
    sc = fit_lmm(c * y, X, blocks, reml=ref["reml"])
    n, p = X.shape
    assert sc.converged and sc.singular == fit.singular
    assert sc.loglik == pytest.approx(fit.loglik - (n - p if fit.reml else n) * np.log(abs(c)), abs=1e-6)
    np.testing.assert_allclose(sc.beta, c * fit.beta, rtol=1e-6)
    np.testing.assert_allclose(sc.theta, fit.theta, rtol=1e-5, atol=1e-7)
    assert sc.sigma == pytest.approx(abs(c) * fit.sigma, rel=1e-6)
    for a, b in zip(sc.varcorr, fit.varcorr):
        np.testing.assert_allclose(a, c * c * b, rtol=1e-5)
    for a, b in zip(sc.blups, fit.blups):
        np.testing.assert_allclose(a, c * b, rtol=1e-5, atol=1e-5 * abs(c) * np.max(np.abs(b)))


def test_terms_in_lme4_order():
    def blk(g, L):
        return RandomBlock(g, np.arange(40) % L, [str(i) for i in range(L)], np.ones((40, 1)), ["(Intercept)"])
    a, b, c = blk("a", 10), blk("b", 20), blk("c", 20)
    # lme4: rev(order(nl)) when the levels are not already non-increasing (ties reversed)
    assert [x.group for x in lme4_order([a, b, c])] == ["c", "b", "a"]
    assert [x.group for x in lme4_order([b, c, a])] == ["b", "c", "a"]


# -- warnings --------------------------------------------------------------------------------------------
def _kinds(fit):
    return [w.kind for w in fit.warnings]


def test_singular_fit_lands_on_the_boundary_and_names_the_term():
    fit, ref = fit_case("singular_sim")
    assert fit.singular and ref["singular"]
    assert fit.theta[0] == 0.0 and fit.varcorr[0][0, 0] == 0.0
    w = [w for w in fit.warnings if w.kind == "singular"]
    assert len(w) == 1 and isinstance(w[0], FitWarning)
    assert w[0].table == "variance_components"
    assert "random intercept in grp is estimated as zero" in w[0].message
    assert "(1 | grp)" in w[0].message


def _slope_data(n_groups, seed=0, slope_sd=0.0, per=8):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per)
    x = np.tile(np.arange(per, dtype=float), n_groups)
    y = 1 + 0.3 * x + rng.normal(0, 2, n_groups)[g] + rng.normal(0, slope_sd, n_groups)[g] * x \
        + rng.normal(0, 1, len(g))
    X = np.column_stack([np.ones(len(g)), x])
    levels = [f"c{i:02d}" for i in range(n_groups)]
    return y, X, RandomBlock("clinic", g, levels, X.copy(), ["(Intercept)", "x"])


def test_singular_random_slope_names_the_slope():
    # no slope variance in the data: lme4-style fits put it (or the correlation) on the boundary
    for seed in range(20):
        y, X, blk = _slope_data(30, seed)
        fit = fit_lmm(y, X, [blk], column_names=["(Intercept)", "x"])
        if fit.singular:
            break
    assert fit.singular
    msg = next(w.message for w in fit.warnings if w.kind == "singular")
    assert "clinic" in msg and "slope for x" in msg
    assert ("estimated as zero" in msg and "||" in msg) or "perfectly correlated" in msg


def test_not_singular_when_slope_variance_is_real():
    y, X, blk = _slope_data(30, 1, slope_sd=1.0)
    fit = fit_lmm(y, X, [blk])
    assert not fit.singular and "singular" not in _kinds(fit)


def test_few_groups_warnings():
    y, X, blk = _slope_data(6, 2, slope_sd=1.0)
    fit = fit_lmm(y, X, [blk])
    w = [w for w in fit.warnings if w.kind == "few_groups"]
    assert len(w) == 1 and w[0].message.startswith("Only 6 groups in clinic")
    assert "fewer than 10 clusters" in w[0].message and w[0].table == "variance_components"
    # a random intercept with 4 groups
    y, X, blk = _slope_data(4, 3)
    ri = RandomBlock("clinic", blk.codes, blk.levels, np.ones((len(y), 1)), ["(Intercept)"])
    w = [w for w in fit_lmm(y, X, [ri]).warnings if w.kind == "few_groups"]
    assert len(w) == 1 and w[0].message.startswith("Only 4 groups in clinic")
    # 12 groups with a slope, or 6 with an intercept only: no warning
    y, X, blk = _slope_data(12, 4, slope_sd=1.0)
    assert "few_groups" not in _kinds(fit_lmm(y, X, [blk]))
    y, X, blk = _slope_data(6, 5)
    ri = RandomBlock("clinic", blk.codes, blk.levels, np.ones((len(y), 1)), ["(Intercept)"])
    assert "few_groups" not in _kinds(fit_lmm(y, X, [ri]))


def test_convergence_failure_is_reported(monkeypatch):
    calls = []

    def failing_check(obj, x, lower, g):
        calls.append(1)
        return False, 0.05

    monkeypatch.setattr(lmm_mod, "_check", failing_check)
    d = read("sleepstudy.csv")
    age = 1000.0 + d.Days.to_numpy()
    X = np.column_stack([np.ones(len(d)), age])
    fit = fit_lmm(d.Reaction.to_numpy(), X, [block("Subject", d.Subject)], column_names=["(Intercept)", "age"])
    assert len(calls) == 2  # the second optimiser was tried before giving up
    assert not fit.converged
    w = [w for w in fit.warnings if w.kind == "convergence"]
    assert len(w) == 1 and "did not converge" in w[0].message
    assert "Centre or rescale the predictors (e.g. age)" in w[0].message
    assert np.isfinite(fit.loglik)


# -- errors ------------------------------------------------------------------------------------------------
def test_error_one_level():
    y = np.arange(10.0)
    blk = RandomBlock("site", np.zeros(10, dtype=int), ["A"], np.ones((10, 1)), ["(Intercept)"])
    with pytest.raises(ModelError, match="site has only one level"):
        fit_lmm(y, np.ones((10, 1)), [blk])


def test_error_each_row_its_own_group():
    y = np.random.default_rng(0).standard_normal(12)
    blk = RandomBlock("id", np.arange(12), [str(i) for i in range(12)], np.ones((12, 1)), ["(Intercept)"])
    with pytest.raises(ModelError, match="Each row is its own group in id.*cannot be told apart"):
        fit_lmm(y, np.ones((12, 1)), [blk])


def test_error_more_random_effects_than_rows():
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(10), 2)
    x = rng.standard_normal(20)
    blk = RandomBlock("g", g, [str(i) for i in range(10)], np.column_stack([np.ones(20), x]), ["(Intercept)", "x"])
    with pytest.raises(ModelError, match="cannot be told apart"):
        fit_lmm(rng.standard_normal(20), np.ones((20, 1)), [blk])


def test_error_constant_outcome():
    _, X, blk = _slope_data(10)
    with pytest.raises(ModelError, match="outcome does not vary"):
        fit_lmm(np.full(len(X), 3.0), X, [blk])



def test_error_when_the_factorisation_fails_everywhere():
    # A collinear fixed-effects design (third column = 2 x second) makes the factor fail at every
    # theta; the fit used to end in a TypeError (unpacking the failed factor's None) instead.
    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(10), 5)
    t = np.tile(np.arange(5.0), 10)
    X = np.column_stack([np.ones(50), t, 2 * t])
    blk = RandomBlock("g", g, [str(i) for i in range(10)], np.ones((50, 1)), ["(Intercept)"])
    with pytest.raises(ModelError, match="collinear"):
        fit_lmm(rng.standard_normal(50), X, [blk])

def test_groups_of_size_one_are_fine():
    y, X, g, Zr, blk = _random_design(2, slope=False)
    assert np.min(np.bincount(g)) == 1
    fit = fit_lmm(y, X, [blk])
    assert fit.converged and np.all(np.isfinite(fit.blup_sd[0]))


# -- progress and cancel ---------------------------------------------------------------------------------
def test_progress_is_reported_and_cancel_stops():
    y, X, names, blocks = case_design("crossed_slope_subj")
    seen = []
    fit_lmm(y, X, blocks, progress=Progress(lambda frac, msg: seen.append(msg)))
    assert seen
    pr = Progress()
    pr.cancel()
    with pytest.raises(Cancelled):
        fit_lmm(y, X, blocks, progress=pr)


def test_without_the_pair_pattern_the_same_answer(monkeypatch):
    """Very large crossed designs skip the precomputed pattern (direct sparse products and a
    finite-difference gradient); the answer must not change."""
    from mixgui.engine.lmm.kernels import PairPattern

    monkeypatch.setattr(PairPattern, "count_pairs", staticmethod(lambda *a: 10 ** 12))
    for name in ("penicillin_crossed", "crossed_slope_subj"):
        ref = json.loads((REF / f"{name}.json").read_text())
        y, X, names, blocks = case_design(name)
        fit = fit_lmm(y, X, blocks, reml=ref["reml"])
        assert fit._problem.pattern is None
        assert abs(fit.loglik - ref["loglik"]) < 1e-3
        want, got = fit_case(name)[0], fit
        for a, b in zip(got.blup_sd, want.blup_sd):
            np.testing.assert_allclose(a, b, rtol=1e-4)


def test_a_variance_near_zero_is_not_left_on_the_boundary():
    """The deviance is even in a scalar theta, so theta = 0 is always stationary; here the item
    variance is tiny but positive (lme4: theta 0.0168) and the fit must find the interior optimum.
    The deviance is so flat along it that lme4 stops short: compare likelihoods, not variances."""
    ref = json.loads((REF / "crossed_flat.json").read_text())
    d = read("singular_slope.csv")
    X = np.column_stack([np.ones(len(d)), d.x])
    fit = fit_lmm(d.y.to_numpy(), X, [block("item", d["item"]), block("clinic", d.clinic, [d.x], ["(Intercept)", "x"])])
    assert fit.loglik >= ref["loglik"] - 1e-6
    assert abs(fit.loglik - ref["loglik"]) < 1e-3
    assert fit.theta[0] > 1e-3 and ref["theta"][0] > 1e-3
    assert fit.singular and ref["singular"]  # the clinic term is singular in both
    assert [w.kind for w in fit.warnings] == ["singular"] and "clinic" in fit.warnings[0].message
