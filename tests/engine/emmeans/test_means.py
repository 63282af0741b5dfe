"""Marginal means and contrasts against R's emmeans.

The reference numbers come from tests/reference/emmeans/make_emmeans_refs.R (emmeans 1.8.4,
lme4, lmerTest, pbkrtest) and the public case orthodont_cat (results-file shape, tests/reference/inference/public). Most tests feed
R's own beta, covariance (lme4's, or pbkrtest's adjusted one for Kenward-Roger) and df into our
code, so they check only what this module computes: the reference grid (each mean's L is compared
with emmeans's linfct), contrast coefficients and labels, standard errors, t, p-value adjustments
and estimability. The df callable answers only for an L that R also used, so a wrong L fails
loudly rather than silently borrowing a df.

Tolerances
----------
Estimates, standard errors, t, confidence limits: relative 1e-6. Given R's beta and V the only
difference is floating-point rounding (R wrote 15 significant digits).
df: relative 1e-9 (echoed from R through the lookup).
p-values: Tukey relative 2e-2, absolute 1e-8: its p comes from numerical integration of the
studentized range (R's ``ptukey``, SciPy's ``studentized_range``); measured agreement is 3e-3
relative / 4e-9 absolute, and R reports tail values below ~1e-10 as 0. Every other p (none, Holm,
Bonferroni, Sidak) is closed-form from the t distribution: relative 1e-6 (measured ~1e-12), absolute
1e-15 because R computes Sidak's 1 - (1 - p)^m literally and loses tiny p to cancellation (we use
-expm1(m log1p(-p))).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from mixgui.analysis.spec import AnalysisSpec, Contrast, EmmeansRequest
from mixgui.engine.emmeans.means import emmeans, is_estimable, nonestimable_basis, reference_grid

from .cases import (
    CASES,
    DF_REL,
    PUBLIC,
    REL,
    DfLookup,
    _cat,
    _close,
    _close_p,
    _design,
    _inputs,
    _list,
    _request,
    _runs,
)


# -- against emmeans ------------------------------------------------------------------------
def test_design_columns_match_r():
    for name, case in CASES.items():
        d = _design(case)
        assert d._all_names == case["names"], name
        assert d.column_names == case["kept"], name


@pytest.mark.parametrize("name,i,dfm", list(_runs()))
def test_grid_linear_functions_match_emmeans(name, i, dfm):
    case = CASES[name]
    req = case["requests"][i]
    res = req["results"][dfm]
    grid = reference_grid(_design(case), _list(req["specs"]), _list(req["by"]), req.get("at"))
    want = np.array([r["L"] for r in res["emmeans"]], float)
    np.testing.assert_allclose(grid.attrs["L_full"], want, rtol=0, atol=1e-12)
    for j, r in enumerate(res["emmeans"]):
        for v, lab in r["levels"].items():
            got = grid.iloc[j][v]
            assert (got == lab) if isinstance(got, str) else np.isclose(got, float(lab)), (j, v)


@pytest.mark.parametrize("name,i,dfm", list(_runs()))
def test_means_and_contrasts_match_emmeans(name, i, dfm):
    case = CASES[name]
    req = case["requests"][i]
    res = req["results"][dfm]
    beta, vcov, df_fn = _inputs(case, dfm, res)
    out = emmeans(_design(case), beta, vcov, df_fn, _request(req), at=req.get("at"), df_method=dfm)

    assert out["specs"] == (req["specs"] if isinstance(req["specs"], str) else list(req["specs"]))
    assert len(out["emmeans"]) == len(res["emmeans"])
    for j, (g, r) in enumerate(zip(out["emmeans"], res["emmeans"])):
        where = f"emmeans[{j}]"
        assert g["levels"] == r["levels"], where
        assert g["level"] == ", ".join(r["levels"].values()), where
        for key in ("emmean", "std_error", "lower", "upper"):
            _close(g[key], r[key], REL, 1e-10, f"{where}.{key}")
        _close(g["df"], r["df"], DF_REL, 0, f"{where}.df")

    assert len(out["contrasts"]) == len(res["contrasts"])
    for k, (gc, rc) in enumerate(zip(out["contrasts"], res["contrasts"])):
        assert (gc["method"], gc["adjust"]) == (rc["method"], rc["adjust"])
        assert len(gc["rows"]) == len(rc["rows"]), f"contrasts[{k}]"
        mesg = [m for m in _list(rc["mesg"]) if m.startswith("P value adjustment")]
        assert gc["message"] == (mesg[0] if mesg else None), f"contrasts[{k}] adjustment message"
        for j, (g, r) in enumerate(zip(gc["rows"], rc["rows"])):
            where = f"contrasts[{k}]({rc['method']},{rc['adjust']})[{j}]"
            assert g["contrast"] == r["contrast"], where
            if r["by"]:
                assert g["by"] == r["by"], where
            for key in ("estimate", "std_error", "t_value"):
                _close(g[key], r[key], REL, 1e-10, f"{where}.{key}")
            _close(g["df"], r["df"], DF_REL, 0, f"{where}.df")
            _close_p(g["p_value"], r["p_value"], f"{where}.p_value", gc["adjust_used"] == "tukey")


@pytest.mark.parametrize("dfm,key", [("kenward-roger", "emmeans"), ("satterthwaite", "emmeans_satterthwaite")])
def test_orthodont_cat_contract_reference(dfm, key):
    """The public case orthodont_cat: the analysis file's own request, R's numbers in the results shape
    (tests/reference/inference/public, made by make_public_refs.R there)."""
    spec = AnalysisSpec.from_dict(json.loads((PUBLIC / "orthodont_cat.spec.json").read_text()))
    ref = json.loads((PUBLIC / "orthodont_cat.json").read_text())[key]
    case = CASES["orthodont_cat"]
    res = case["requests"][0]["results"][dfm]  # the same model; its L -> df table covers these rows
    beta, vcov, df_fn = _inputs(case, dfm, res)
    design = _design(case)
    for block, request in zip(ref, spec.emmeans):
        out = emmeans(design, beta, vcov, df_fn, request, df_method=dfm)
        assert out["df_method"] == block["df_method"]
        for g, r in zip(out["emmeans"], block["emmeans"]):
            assert g["level"] == r["level"]
            for k in ("emmean", "std_error", "lower", "upper"):
                _close(g[k], r[k], REL, 1e-10, k)
            _close(g["df"], r["df"], DF_REL, 0, "df")
        assert [c["method"] for c in out["contrasts"]] == [c["method"] for c in block["contrasts"]]
        for gc, rc in zip(out["contrasts"], block["contrasts"]):
            assert gc["adjust"] == rc["adjust"]
            assert [g["contrast"] for g in gc["rows"]] == [r["contrast"] for r in rc["rows"]]
            for g, r in zip(gc["rows"], rc["rows"]):
                for k in ("estimate", "std_error", "t_value"):
                    _close(g[k], r[k], REL, 1e-10, k)
                _close(g["df"], r["df"], DF_REL, 0, "df")
                _close_p(g["p_value"], r["p_value"], r["contrast"], gc["adjust_used"] == "tukey")


# -- behaviour ------------------------------------------------------------------------------


def test_non_estimable_means_are_flagged_with_a_sentence():
    case = CASES["orthodont_missing"]
    design = _design(case)
    assert design.dropped_columns == ["age14:SexFemale"]
    res = case["requests"][1]["results"]["kenward-roger"]
    beta, vcov, df_fn = _inputs(case, "kenward-roger", res)
    out = emmeans(design, beta, vcov, df_fn, EmmeansRequest(("age", "Sex")))
    missing = [r["level"] for r in out["emmeans"] if r["emmean"] is None]
    assert missing == ["14, Female"]
    assert [w.kind for w in out["warnings"]] == ["non_estimable"]
    assert str(out["warnings"][0]) == ("The mean for age 14, Sex Female cannot be estimated: "
                                       "that combination has no data.")
    averaged = emmeans(design, beta, vcov, DfLookup(case, case["requests"][0]["results"]["kenward-roger"]),
                       EmmeansRequest(("age",)))
    assert "averages over age 14, Sex Female, a combination with no data" in str(averaged["warnings"][0])


def test_estimability_basis_spans_the_dropped_direction():
    design = _design(CASES["orthodont_missing"])
    basis = nonestimable_basis(design)
    assert basis.shape == (8, 1)
    assert nonestimable_basis(_design(CASES["orthodont_cat"])) is None
    grid = reference_grid(design, ["age", "Sex"])
    assert is_estimable(grid.attrs["L_full"], basis).tolist() == [True] * 7 + [False]


def test_z_tests_when_df_is_infinite():
    design, beta, vcov, _ = _cat()
    out = emmeans(design, beta, vcov, lambda L: np.inf,
                  EmmeansRequest(("age",), (), (Contrast("pairwise", "tukey"),)))
    r = out["emmeans"][0]
    assert r["df"] == np.inf
    _close(r["upper"] - r["emmean"], 1.959963984540054 * r["std_error"], 1e-12, 0, "z interval")
    assert all(0 <= row["p_value"] <= 1 for row in out["contrasts"][0]["rows"])


# -- with MixGUI's own fit and inference ----------------------------------------------------
TOL_FIT = {"estimate": 1e-4, "se": 2e-3, "df": 1e-2}  # the fit itself converges to ~1e-6 relative


@pytest.mark.parametrize("dfm", ["kenward-roger", "satterthwaite"])
def test_with_mixgui_fit_and_inference(dfm):
    from mixgui.engine.inference.core import Inference
    from mixgui.engine.lmm.fit import fit_lmm
    case = CASES["orthodont_cat"]
    design = _design(case)
    fit = fit_lmm(design.y, design.X, design.blocks, reml=True, column_names=design.column_names)
    inf = Inference.build(fit, dfm)
    for req in case["requests"]:
        res = req["results"][dfm]
        out = emmeans(design, inf.beta, inf.vcov, inf.df, _request(req), at=req.get("at"))
        for g, r in zip(out["emmeans"], res["emmeans"]):
            _close(g["emmean"], r["emmean"], TOL_FIT["estimate"], 1e-6, "emmean")
            _close(g["std_error"], r["std_error"], TOL_FIT["se"], 1e-6, "se")
            _close(g["df"], r["df"], TOL_FIT["df"], 1e-3, "df")
        for gc, rc in zip(out["contrasts"], res["contrasts"]):
            for g, r in zip(gc["rows"], rc["rows"]):
                _close(g["estimate"], r["estimate"], TOL_FIT["estimate"], 1e-6, r["contrast"])
                _close(g["std_error"], r["std_error"], TOL_FIT["se"], 1e-6, r["contrast"])
                _close(g["df"], r["df"], TOL_FIT["df"], 1e-3, r["contrast"])
                _close_p(g["p_value"], r["p_value"], r["contrast"])


# -- trajectories -----------------------------------------------------------------------------
