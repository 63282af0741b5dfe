"""Response-scale marginal means, Tukey-adjusted ratios and trajectories of GLMMs, against emmeans.

References: tests/reference/glmm/glmm18.json, made by make_glmm18_refs.R (emmeans 1.8.4-1 on glmer
and glmmTMB fits; versions inside the file).

Tolerances:
- against emmeans on glmmTMB (with ``df = Inf``) 1e-3 relative: glmmTMB's covariance is the exact
  inverse Hessian of the same Laplace likelihood, which ours matches to 5e-3 in the standard errors
  and 1e-3 of a standard error in the estimates (test_glmm_refs.py); observed differences are ~1e-5.
- against emmeans on glmer 2e-2 relative for SEs and limits: glmer's finite-difference Hessian puts
  ~1 % error in its standard errors (see make_glmm_refs.R); the means and ratios themselves 3e-3.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from glmm_refs import REF, fit_ref

from mixgui.analysis.spec import Contrast, EmmeansRequest
from mixgui.engine.glmm.response import link_emmeans, offset_at, response_emmeans, response_trajectory

R = json.loads((REF / "glmm18.json").read_text())
_FITS: dict = {}
KEYS = {"binomial": ("prob", "odds.ratio"), "poisson": ("rate", "ratio")}


def _fit(group, name):
    if (group, name) not in _FITS:
        _FITS[group, name] = fit_ref(R[group][name])
    return _FITS[group, name]


def _table(name):
    ref = R["tukey"][name]
    design, fit = _fit("tukey", name)
    req = EmmeansRequest((ref["spec"],), (), (Contrast("pairwise", "tukey"),), type="response")
    return ref, response_emmeans(design, fit, req)


@pytest.mark.parametrize("name", ["bacteria", "grouseticks", "epil_offset"])
@pytest.mark.parametrize("engine,rel,rel_se", [("glmmTMB", 1e-3, 1e-3), ("glmer", 3e-3, 2e-2)])
def test_means_on_the_response_scale(name, engine, rel, rel_se):
    ref, out = _table(name)
    mean_key = KEYS[ref["family"]][0]
    theirs = ref[engine]["emmeans"]
    assert [r["level"] for r in out["emmeans"]] == [str(t[ref["spec"]]) for t in theirs]
    shift = 1.0
    if name == "epil_offset" and engine == "glmer":
        # emmeans puts a glmer fit's offset at the mean of log(base) (its .offset. column) although its
        # grid holds base at its mean; on glmmTMB (and in emmeans' documentation) the offset is
        # log(mean(base)), which is what we do: the two differ by this factor, nothing else
        design, _ = _fit("tukey", name)
        b = design.frame["base"].to_numpy(float)
        shift = np.exp(np.log(b.mean()) - np.log(b).mean())
    for o, t in zip(out["emmeans"], theirs):
        t = {k: (v * shift if k in (mean_key, "SE", "asymp.LCL", "asymp.UCL") else v) for k, v in t.items()}
        assert o["response"] == pytest.approx(t[mean_key], rel=rel)
        assert o["std_error"] == pytest.approx(t["SE"], rel=rel_se)
        assert o["lower"] == pytest.approx(t["asymp.LCL"], rel=rel_se)
        assert o["upper"] == pytest.approx(t["asymp.UCL"], rel=rel_se)


@pytest.mark.parametrize("name", ["bacteria", "grouseticks", "epil_offset"])
@pytest.mark.parametrize("engine,rel,rel_se", [("glmmTMB", 1e-3, 1e-3), ("glmer", 3e-3, 2e-2)])
def test_ratios_with_tukey_limits(name, engine, rel, rel_se):
    """``confint(pairs(emmeans(m, ~ f, type = "response"), adjust = "tukey"))``: odds / rate ratios with
    limits from the studentized range (df = Inf), and the Tukey p-values of ``summary(pairs(...))``."""
    ref, out = _table(name)
    ratio_key = KEYS[ref["family"]][1]
    block = out["contrasts"][0]
    assert block["ci_adjust_used"] == ("tukey" if len(out["emmeans"]) > 2 else "none")
    assert block["scale"] == ("odds ratio" if ref["family"] == "binomial" else "rate ratio")
    for o, ci, test in zip(block["rows"], ref[engine]["confint"], ref[engine]["tests"]):
        assert o["contrast"] == ci["contrast"]
        assert o["ratio"] == pytest.approx(ci[ratio_key], rel=rel)
        assert o["std_error"] == pytest.approx(ci["SE"], rel=rel_se)
        assert o["lower"] == pytest.approx(ci["asymp.LCL"], rel=rel_se)
        assert o["upper"] == pytest.approx(ci["asymp.UCL"], rel=rel_se)
        # a p-value's relative error is z * dz: at most ~5 % for glmer's 1 % SE error at z near 5
        assert o["p_value"] == pytest.approx(test["p.value"], rel=rel if engine == "glmmTMB" else 0.1, abs=1e-12)


def test_tukey_limits_are_wider_than_unadjusted():
    ref, out = _table("bacteria")
    for o in out["contrasts"][0]["rows"]:
        z = abs(o["log_ratio"] - np.log(o["lower"])) / o["std_error_link"]
        assert 2.34 < z < 2.35  # qtukey(0.95, 3, Inf) / sqrt(2) = 2.3437, not 1.96


def test_link_scale_means_carry_the_offset_too():
    """``emmeans(m, ~ trt)`` without ``type``: the log rates, offset included (log of glmmTMB's rates)."""
    ref = R["tukey"]["epil_offset"]
    design, fit = _fit("tukey", "epil_offset")
    req = EmmeansRequest(("trt",), (), (Contrast("pairwise", "none"),))
    out = link_emmeans(design, fit, req)
    assert out["type"] == "link" and out["df_method"] == "none"
    for o, t in zip(out["emmeans"], ref["glmmTMB"]["emmeans"]):
        assert o["emmean"] == pytest.approx(np.log(t["rate"]), abs=1e-3)
        assert o["std_error"] == pytest.approx(t["SE"] / t["rate"], rel=1e-3)  # delta method, back
    # a contrast of log means cancels the offset: the log rate ratio
    assert out["contrasts"][0]["rows"][0]["estimate"] == pytest.approx(np.log(ref["glmmTMB"]["confint"][0]["ratio"]),
                                                                       abs=1e-3)


def test_offset_enters_at_the_covariates_mean():
    design, _ = _fit("tukey", "epil_offset")
    assert offset_at(design) == pytest.approx(np.log(np.mean(design.frame["base"])), rel=1e-12)
    assert offset_at(design, {"base": 10.0}) == pytest.approx(np.log(10.0))


@pytest.mark.parametrize("name", ["bacteria", "epil"])
@pytest.mark.parametrize("engine,rel", [("glmmTMB", 1e-3), ("glmer", 2e-2)])
def test_trajectory_per_arm_matches_emmeans(name, engine, rel):
    """``emmeans(m, ~ arm | time, at = list(time = grid), type = "response")``."""
    ref = R["trajectory"][name]
    design, fit = _fit("trajectory", name)
    tr = response_trajectory(design, fit, ref["time"], ref["arm"], over_values=ref["grid"])
    mean_key = KEYS[ref["family"]][0]
    assert tr["scale"] == ("probability" if ref["family"] == "binomial" else "rate")
    np.testing.assert_allclose(tr["x_values"], ref["grid"])
    assert [line["label"] for line in tr["lines"]] == list(dict.fromkeys(r[ref["arm"]] for r in ref[engine]))
    for line in tr["lines"]:
        rows = [r for r in ref[engine] if r[ref["arm"]] == line["label"]]
        np.testing.assert_allclose([r[ref["time"]] for r in rows], ref["grid"])
        np.testing.assert_allclose(line["fit"], [r[mean_key] for r in rows], rtol=min(rel, 3e-3))
        np.testing.assert_allclose(line["se"], [r["SE"] for r in rows], rtol=rel)
        np.testing.assert_allclose(line["lower"], [r["asymp.LCL"] for r in rows], rtol=rel)
        np.testing.assert_allclose(line["upper"], [r["asymp.UCL"] for r in rows], rtol=rel)
        # the band is the link-scale z band transformed back: inside (0, 1) for probabilities
        assert np.all(line["lower"] < line["fit"]) and np.all(line["fit"] < line["upper"])
        np.testing.assert_allclose(line["fit_link"] - line["lower_link"], 1.959964 * line["se_link"], rtol=1e-6)
