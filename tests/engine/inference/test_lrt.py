"""Likelihood-ratio tests (mixgui.engine.inference.lrt) against lme4's anova() and the boundary mixture."""
from __future__ import annotations

import math

import numpy as np
import pytest

from mixgui.engine.inference import lrt
from mixgui.errors import Cancelled, Progress

from ..dense_lmm import fit_design as dense_fit
from .cases import (
    ENGINES,
    FITTERS,
    R_REFS,
    _design,
    public_design,
    public_ref,
)


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
