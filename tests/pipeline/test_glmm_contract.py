"""The results contract of generalized mixed models through ``run()``, against R.

References: tests/reference/glmm/*.json (make_glmm_refs.R; lme4, emmeans, performance versions inside).
Response-scale means and ratios use glmer's standard errors, which carry ~1 % error from its
finite-difference Hessian (see tests/engine/glmm/test_glmm_refs.py): their SEs and limits are
compared at 2e-2, the back-transformed estimates at 2e-3. R2 / ICC depend on the variance estimate,
compared at 2e-3 (the two optimisers stop ~1e-3 apart on the variance).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.spec import AnalysisSpec, Contrast, EmmeansRequest
from mixgui.data.dataset import Dataset
from mixgui.errors import DataError, ModelError, SpecError
from mixgui.pipeline.run import run

REF = Path(__file__).resolve().parents[1] / "reference" / "glmm"


def _ref(name):
    return json.loads((REF / f"{name}.json").read_text())


def _data(name):
    return Dataset(pd.read_csv(REF / name), name=name)


@pytest.fixture(scope="module")
def cbpp():
    spec = AnalysisSpec(formula="incidence ~ period + (1 | herd)", family="binomial", trials="size",
                        factors=("period",), random_effect_tests=True,
                        emmeans=(EmmeansRequest(("period",), (), (Contrast("pairwise", "tukey"),), type="response"),))
    return run(spec, _data("cbpp.csv")).data


@pytest.fixture(scope="module")
def bacteria():
    # the outcome is text "n" / "y": the second level ("y") is the success, as glmer does with a factor
    spec = AnalysisSpec(formula="y ~ trt + week2 + (1 | ID)", family="binomial", reference_levels={"trt": "placebo"},
                        random_effect_tests=True,
                        emmeans=(EmmeansRequest(("trt",), (), (Contrast("pairwise", "none"),), type="response"),))
    return run(spec, _data("bacteria.csv")).data


@pytest.fixture(scope="module")
def epil():
    spec = AnalysisSpec(formula="y ~ lbase * trt + lage + V4 + (1 | subject)", family="poisson",
                        emmeans=(EmmeansRequest(("trt",), (), (Contrast("pairwise", "none"),), type="response"),))
    return run(spec, _data("epil.csv")).data


def test_model_fields(cbpp):
    r = _ref("cbpp")
    assert cbpp["model"] == "glmm" and cbpp["family"] == "binomial" and cbpp["link"] == "logit" and cbpp["nagq"] == 1
    assert cbpp["loglik"] >= r["loglik"] - 1e-4
    assert cbpp["deviance"] == pytest.approx(-2 * cbpp["loglik"])
    assert cbpp["aic"] == pytest.approx(r["aic"], abs=1e-3)
    assert [v["group"] for v in cbpp["variance_components"]] == ["herd"]  # no Residual row
    for row in cbpp["fixed_effects"]:
        assert row["exp_estimate"] == pytest.approx(math.exp(row["estimate"]))
        assert row["exp_lower"] == pytest.approx(math.exp(row["estimate"] - 1.959964 * row["std_error"]), rel=1e-6)
        assert row["z_value"] == pytest.approx(row["estimate"] / row["std_error"])


def test_text_outcome_second_level_is_success(bacteria):
    r = _ref("bacteria")
    est = [f["estimate"] for f in bacteria["fixed_effects"]]
    np.testing.assert_allclose(est, [f["estimate"] for f in r["fixed"]], rtol=1e-3)


def test_random_effect_lrt_with_boundary_mixture(bacteria):
    r = _ref("bacteria")
    row = bacteria["random_effect_tests"][0]
    stat = 2 * (r["loglik"] - r["glm_loglik"])
    assert row["statistic"] == pytest.approx(stat, abs=1e-3)
    assert row["p_value"] == pytest.approx(0.5 * row["p_value_naive"])


@pytest.mark.parametrize("name", ["cbpp", "bacteria", "epil"])
def test_response_scale_means_and_ratios(name, cbpp, bacteria, epil):
    d = {"cbpp": cbpp, "bacteria": bacteria, "epil": epil}[name]
    r = _ref(name)
    key = "rate" if name == "epil" else "prob"
    block = d["emmeans"][0]
    assert block["type"] == "response"
    for ours, theirs in zip(block["emmeans"], r["emmeans"]):
        assert ours["response"] == pytest.approx(theirs[key], rel=2e-3)
        assert ours["std_error"] == pytest.approx(theirs["SE"], rel=2e-2)
        assert ours["lower"] == pytest.approx(theirs["asymp.LCL"], rel=2e-2)
        assert ours["upper"] == pytest.approx(theirs["asymp.UCL"], rel=2e-2)
    rkey = "ratio" if name == "epil" else "odds.ratio"
    for ours, theirs in zip(block["contrasts"][0]["rows"], r["contrasts"]):
        assert ours["contrast"] == theirs["contrast"]
        assert ours["ratio"] == pytest.approx(theirs[rkey], rel=3e-3)
        assert ours["std_error"] == pytest.approx(theirs["SE"], rel=2e-2)
        # limits of the ratios, Tukey-adjusted for cbpp (as confint(pairs(emm)) on the response scale)
        assert ours["lower"] == pytest.approx(theirs["asymp.LCL"], rel=2e-2)
        assert ours["upper"] == pytest.approx(theirs["asymp.UCL"], rel=2e-2)
        # the z statistic inherits glmer's ~1 % SE error; a Tukey p-value at z = 3.2 moves up to ~20 % with it
        assert ours["p_value"] == pytest.approx(theirs["p.value"], rel=0.2 if name == "cbpp" else 5e-2)


# counts: performance's lognormal approximation with mu = exp(intercept of the null model), as
# insight 0.19.0 computes it (more cases in tests/engine/glmm/test_glmm_summaries.py)
@pytest.mark.parametrize("name", ["cbpp", "bacteria", "epil"])
def test_nakagawa_r2_and_icc(name, cbpp, bacteria, epil):
    d = {"cbpp": cbpp, "bacteria": bacteria, "epil": epil}[name]
    r = _ref(name)
    assert d["r2_marginal"] == pytest.approx(r["r2"]["r2_marginal"], rel=2e-3)
    assert d["r2_conditional"] == pytest.approx(r["r2"]["r2_conditional"], rel=2e-3)
    assert d["icc_adjusted"] == pytest.approx(r["icc"]["icc_adjusted"], rel=2e-3)
    assert d["icc_unadjusted"] == pytest.approx(r["icc"]["icc_unadjusted"], rel=2e-3)


def test_poisson_overdispersion_check_and_warning(epil):
    od, r = epil["overdispersion"], _ref("epil")["overdispersion"]
    assert od["residual_df"] == r["rdf"]
    assert od["chisq"] == pytest.approx(r["chisq"], rel=2e-3)
    assert od["p_value"] == pytest.approx(r["p"], rel=2e-2)
    assert any("negative binomial" in w for w in epil["warnings"])


def test_quantile_residuals_standard_normal(epil):
    q = np.asarray(epil["quantile_residuals"])
    assert len(q) == epil["nobs"]
    assert abs(q.mean()) < 0.25 and 0.7 < q.std() < 1.4


def test_negative_binomial_dispersion():
    spec = AnalysisSpec(formula="y ~ lbase * trt + lage + V4 + (1 | subject)", family="negative_binomial")
    d = run(spec, _data("epil.csv")).data
    r = _ref("epil_nb")
    assert d["dispersion"] == pytest.approx(r["dispersion"], rel=5e-3)
    assert d["loglik"] >= r["loglik"] - 1e-4


def test_offset_in_the_formula():
    spec = AnalysisSpec(formula="y ~ trt + lage + V4 + offset(log(base)) + (1 | subject)", family="poisson")
    d = run(spec, _data("epil.csv")).data
    r = _ref("epil_offset")
    np.testing.assert_allclose([f["estimate"] for f in d["fixed_effects"]], [f["estimate"] for f in r["fixed"]],
                               rtol=1e-3)


# -- bad input: a message naming the column, never a Gaussian fit ------------------------------------
def _frame():
    rng = np.random.default_rng(3)
    n = 60
    return pd.DataFrame({"y": rng.integers(0, 2, n), "count": rng.poisson(3, n), "x": rng.normal(size=n),
                         "g": np.repeat(np.arange(12), 5), "n": 10, "expo": rng.uniform(1, 2, n)})


@pytest.mark.parametrize("change,spec_kw,words", [
    (("y", 2, 2), {"family": "binomial"}, ['"y"', "0 or 1"]),
    (("y", 0, "maybe"), {"family": "binomial"}, ['"y"']),
    (("count", 0, -1), {"family": "poisson"}, ['"count"', "negative"]),
    (("count", 0, 2.5), {"family": "poisson"}, ['"count"', "whole"]),
    (("count", 0, 11), {"family": "binomial", "trials": "n"}, ['"count"', "more successes than trials"]),
    (("expo", 0, 0.0), {"family": "poisson"}, ['"expo"', "log"]),
])
def test_bad_outcomes_are_refused_by_name(change, spec_kw, words):
    f = _frame()
    col, row, value = change
    if isinstance(value, str) or isinstance(value, float) and not value.is_integer():
        f[col] = f[col].astype(object if isinstance(value, str) else float)
    f.loc[row, col] = value
    if col == "y" and value == "maybe":
        f["y"] = np.where(np.arange(len(f)) % 3 == 0, "yes", np.where(np.arange(len(f)) % 3 == 1, "no", "maybe"))
    outcome = "y" if spec_kw["family"] == "binomial" and "trials" not in spec_kw else "count"
    offset = " + offset(log(expo))" if col == "expo" else ""
    spec = AnalysisSpec(formula=f"{outcome} ~ x{offset} + (1 | g)", **spec_kw)
    with pytest.raises(DataError) as e:
        run(spec, Dataset(f, name="d"))
    for w in words:
        assert w in str(e.value)


def test_quadrature_needs_one_scalar_term():
    f = _frame()
    spec = AnalysisSpec(formula="y ~ x + (x | g)", family="binomial", nagq=7)
    with pytest.raises(ModelError, match="nagq"):
        run(spec, Dataset(f, name="d"))


def test_offset_with_a_linear_model_is_refused():
    with pytest.raises(SpecError, match="offset"):
        run(AnalysisSpec(formula="x ~ y + offset(expo) + (1 | g)"), Dataset(_frame(), name="d"))


@pytest.mark.parametrize("family,link", [("binomial", "logit"), ("binomial", "probit"), ("binomial", "cloglog"),
                                         ("poisson", "log"), ("negative_binomial", "log")])
def test_every_family_and_link_fits_and_is_echoed(family, link):
    f = _frame()
    outcome = "y" if family == "binomial" else "count"
    d = run(AnalysisSpec(formula=f"{outcome} ~ x + (1 | g)", family=family, link=link), Dataset(f, name="d")).data
    assert (d["model"], d["family"], d["link"]) == ("glmm", family, link)
    assert ("exp_estimate" in d["fixed_effects"][0]) == (link in ("log", "logit"))
    assert ("dispersion" in d) == (family == "negative_binomial")


def test_generalized_model_without_random_term_is_refused_not_fitted_as_linear():
    with pytest.raises(SpecError, match="random term"):
        run(AnalysisSpec(formula="y ~ x", family="binomial"), Dataset(_frame(), name="d"))
