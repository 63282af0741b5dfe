"""Marginal means and contrasts against R's emmeans.

The reference numbers come from tests/reference/emmeans/make_emmeans_refs.R (emmeans 1.8.4,
lme4, lmerTest, pbkrtest, mvtnorm; versions in the JSON). Its orthodont_cat case holds the
conformance case's request (same model, same contrast families), so no test reads outside the repo. Most tests feed
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
Bonferroni, Sidak, FDR, Hommel) is closed-form from the t distribution: relative 1e-6 (measured
~1e-12), absolute 1e-15 because R computes Sidak's 1 - (1 - p)^m literally and loses tiny p to
cancellation (we use -expm1(m log1p(-p))). dunnettx p: as Tukey (it mixes ptukey with the F
distribution). mvt p: absolute 3e-3 -- both sides integrate the multivariate t by randomised
quasi-Monte Carlo (mvtnorm's default absolute error is 1e-3, ours about 1e-4).

Contrast confidence limits (confint()): the half-width is SE times a critical value, so the
tolerance is on that value, |limit - R| <= tol * SE: none, Sidak, Bonferroni (and the Bonferroni
limits emmeans gives for Holm, FDR, Hommel) 1e-6; Tukey 1e-4 (R's qtukey stops its secant
iteration at eps = 1e-4); dunnettx 1e-3 (emmeans finds its quantile with uniroot(tol = 5e-4), ours
to 1e-10); mvt 1e-2 (mvtnorm's qmvt solves a randomised equation; measured differences ~2e-3).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.formula import parse_formula
from mixgui.analysis.spec import AnalysisSpec, Contrast, EmmeansRequest
from mixgui.engine.design import build_design
from mixgui.engine.emmeans.contrasts import adjust_pvalues, poly_coefficients
from mixgui.engine.emmeans.means import emmeans, is_estimable, nonestimable_basis, reference_grid
from mixgui.errors import SpecError

HERE = Path(__file__).resolve().parents[2] / "reference" / "emmeans"
PUBLIC = Path(__file__).resolve().parents[2] / "reference" / "inference" / "public"
REF = json.loads((HERE / "emmeans_refs.json").read_text())
CASES = {k: v for k, v in REF.items() if k not in ("poly", "versions")}

REL, DF_REL, P_REL, P_ABS = 1e-6, 1e-9, 2e-2, 1e-8
P_REL_EXACT = 1e-6  # p-values without numerical integration


def _list(x):
    return [] if x is None else [x] if isinstance(x, str) else list(x)


def _design(case):
    data = pd.read_csv(HERE / case["data"])
    return build_design(parse_formula(case["formula"]), data, factors=_list(case["factors"]),
                        reference_levels=case["reference_levels"])


def _contrast(c):
    w = c.get("weights")
    return Contrast(c["method"], c["adjust"], c.get("name"), tuple(_list(w)) if w is not None else None, c.get("ref"))


def _request(req):
    return EmmeansRequest(tuple(_list(req["specs"])), tuple(_list(req["by"])),
                          tuple(_contrast(c) for c in _list(req["contrasts"])))


def _kept_index(case):
    return [case["names"].index(n) for n in case["kept"]]


class DfLookup:
    """df_fn that answers with R's df for an L that R also computed (and fails otherwise)."""

    def __init__(self, case, *results):
        idx = _kept_index(case)
        self.table = []
        for result in results:
            for r in result["emmeans"] + [row for c in result["contrasts"] for row in c["rows"]]:
                if r.get("df") is not None and r["L"] is not None and None not in r["L"]:
                    self.table.append((np.asarray(r["L"], float)[idx], r["df"]))
        self.calls = 0

    def __call__(self, L):
        self.calls += 1
        L = np.asarray(L, float)
        for Lr, df in self.table:
            if np.max(np.abs(L - Lr)) <= 1e-9 * (1 + np.max(np.abs(Lr))):
                return df
        raise AssertionError(f"R computed no df for L = {L}")


def _close(got, want, rel, abs_=0.0, what=""):
    if want is None:
        assert got is None, f"{what}: got {got}, want None (not estimable)"
        return
    assert got is not None, f"{what}: got None, want {want}"
    assert abs(got - want) <= max(abs_, rel * abs(want)), f"{what}: got {got!r}, want {want!r}"


def _close_p(got, want, what, tukey=True):
    if not tukey:
        # absolute 1e-15: R's Sidak 1 - (1 - p)^m loses the digits of p below ~1e-13 to cancellation
        _close(got, want, P_REL_EXACT, 1e-15, what)
        return
    if want is not None and want < 1e-10:  # R's ptukey underflows to 0 far in the tail
        assert got is not None and got < 1e-8, f"{what}: got {got}, want {want}"
        return
    _close(got, want, P_REL, P_ABS, what)


CI_TOL = {"none": 1e-6, "sidak": 1e-6, "bonferroni": 1e-6, "tukey": 1e-4, "dunnettx": 1e-3, "mvt": 1e-2}
MVT_P_ABS = 3e-3


def _close_limit(got, want, se, method, what):
    if want is None:
        assert got is None, f"{what}: got {got}, want None"
        return
    assert got is not None and abs(got - want) <= CI_TOL[method] * se + 1e-10, \
        f"{what}: got {got!r}, want {want!r} ({method} limits, tolerance {CI_TOL[method]} SE)"


def _runs():
    for name, case in CASES.items():
        for i, req in enumerate(case["requests"]):
            for dfm in req["results"]:
                yield pytest.param(name, i, dfm, id=f"{name}-{i}-{'+'.join(_list(req['specs']))}"
                                   f"{'|' + '+'.join(_list(req['by'])) if _list(req['by']) else ''}-{dfm}")


def _inputs(case, dfm, result):
    beta = np.asarray(case["beta"], float)
    vcov = np.asarray(case["vcov_kr"] if dfm == "kenward-roger" else case["vcov"], float)
    return beta, vcov, DfLookup(case, result)


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
            if gc["adjust_used"] == "mvt":
                assert abs(g["p_value"] - r["p_value"]) <= MVT_P_ABS, f"{where}.p_value"
            else:
                _close_p(g["p_value"], r["p_value"], f"{where}.p_value", gc["adjust_used"] in ("tukey", "dunnettx"))
            for key in ("lower", "upper"):
                _close_limit(g[key], r[key], r["std_error"] or 0.0, gc["ci_adjust_used"], f"{where}.{key}")
        ci_mesg = [m for m in _list(rc["ci_mesg"]) if m.startswith("Conf-level adjustment")]
        assert gc["ci_message"] == (ci_mesg[0] if ci_mesg else None), f"contrasts[{k}] limits message"
    kinds = [w.kind for w in out["warnings"]]
    assert ("averaged_over_interaction" in kinds) == res["interaction_note"], "emmeans' interaction note"


def test_poly_coefficients_match_emmeans():
    for k, want in zip(range(2, 11), REF["poly"]):
        np.testing.assert_array_equal(poly_coefficients(k), np.asarray(want, float).reshape(k, -1), err_msg=f"k={k}")


# -- behaviour ------------------------------------------------------------------------------
def _cat():
    case = CASES["orthodont_cat"]
    beta, vcov, _ = _inputs(case, "kenward-roger", case["requests"][0]["results"]["kenward-roger"])
    df_fn = DfLookup(case, *(req["results"]["kenward-roger"] for req in case["requests"]))
    return _design(case), beta, vcov, df_fn


def test_custom_weights_must_sum_to_zero():
    design, beta, vcov, df_fn = _cat()
    req = EmmeansRequest(("age",), (), (Contrast("custom", "none", "bad", (1.0, -0.5, 0.0, 0.0)),))
    with pytest.raises(SpecError, match=r"custom contrast weights must sum to 0 \(these sum to 0.5\); "
                                        r"e\.g\. 1, -0\.5, -0\.5, 0"):
        emmeans(design, beta, vcov, df_fn, req)


def test_custom_weights_need_one_per_level():
    design, beta, vcov, df_fn = _cat()
    req = EmmeansRequest(("age",), (), (Contrast("custom", "none", "short", (1.0, -1.0)),))
    with pytest.raises(SpecError, match=r'"short" has 2 weights but age has 4 levels \(8, 10, 12, 14\)'):
        emmeans(design, beta, vcov, df_fn, req)


def test_unnamed_custom_contrast_gets_a_readable_label():
    design, beta, vcov, df_fn = _cat()
    req = EmmeansRequest(("age",), (), (Contrast("custom", "none", None, (0, -0.5, -0.5, 1)),))
    out = emmeans(design, beta, vcov, df_fn, req)
    assert out["contrasts"][0]["rows"][0]["contrast"] == "age14 - 0.5 age10 - 0.5 age12"
    _close(out["contrasts"][0]["rows"][0]["estimate"], 2.06747159090909, REL, 0, "estimate")


def test_unknown_control_level_and_variable():
    design, beta, vcov, df_fn = _cat()
    with pytest.raises(SpecError, match=r'control level "9" is not a level of age'):
        emmeans(design, beta, vcov, df_fn, EmmeansRequest(("age",), (), (Contrast("trt.vs.ctrl", "none", ref="9"),)))
    with pytest.raises(SpecError, match=r'"Agee" is not a predictor in the fixed part'):
        emmeans(design, beta, vcov, df_fn, EmmeansRequest(("Agee",)))
    with pytest.raises(SpecError, match="twice"):
        emmeans(design, beta, vcov, df_fn, EmmeansRequest(("age",), ("age",)))


def test_tukey_on_a_non_pairwise_family_becomes_sidak_with_a_note():
    design, beta, vcov, df_fn = _cat()
    out = emmeans(design, beta, vcov, df_fn, EmmeansRequest(("age",), (), (Contrast("consec", "tukey"),)))
    block = out["contrasts"][0]
    assert block["adjust"] == "tukey" and block["adjust_used"] == "sidak"
    assert "Sidak" in block["note"]
    assert block["family_size"] == 3 and block["n_means"] == 4


def test_single_contrast_is_not_adjusted():
    design, beta, vcov, df_fn = _cat()
    out = emmeans(design, beta, vcov, df_fn, EmmeansRequest(("Sex",), (), (Contrast("pairwise", "tukey"),)))
    block = out["contrasts"][0]
    assert block["adjust_used"] == "none" and block["family_size"] == 1
    row = block["rows"][0]
    assert row["p_value"] == row["p_value_unadjusted"]


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


def test_holm_matches_p_adjust_with_missing_values():
    # R 4.2.2: p.adjust(c(0.01, NA, 0.04, 0.03), "holm", n = 4) -> 0.04 NA 0.09 0.09
    p = np.array([0.01, np.nan, 0.04, 0.03])
    got, used, _ = adjust_pvalues(np.zeros(4), np.full(4, 10.0), p, "holm", 4, False)
    np.testing.assert_allclose(got, [0.04, np.nan, 0.09, 0.09])
    assert used == "holm"


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
    from mixgui.engine.inference.core import Inference  # a broken engine fails here, never skips
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
                if gc["adjust_used"] == "mvt":
                    assert abs(g["p_value"] - r["p_value"]) <= MVT_P_ABS, r["contrast"]
                else:
                    _close_p(g["p_value"], r["p_value"], r["contrast"])
                for key in ("lower", "upper"):  # the fit's SE tolerance on the half-width, plus the limits'
                    tol = TOL_FIT["se"] * 4 + CI_TOL[gc["ci_adjust_used"]]
                    assert abs(g[key] - r[key]) <= tol * r["std_error"] + 1e-6, f"{r['contrast']} {key}"


# -- trajectories -----------------------------------------------------------------------------
def test_population_trajectory_over_a_factor_equals_emmeans():
    from mixgui.engine.emmeans.trajectories import population_trajectory
    design, beta, vcov, df_fn = _cat()
    ref = CASES["orthodont_cat"]["requests"][2]["results"]["kenward-roger"]["emmeans"]  # age | Sex
    tr = population_trajectory(design, beta, vcov, df_fn, "age", group="Sex")
    assert tr["kind"] == "factor" and tr["x_labels"] == ["8", "10", "12", "14"]
    np.testing.assert_array_equal(tr["x_values"], [8, 10, 12, 14])
    assert [ln["label"] for ln in tr["lines"]] == ["Male", "Female"]
    got = np.concatenate([ln["fit"] for ln in tr["lines"]])
    np.testing.assert_allclose(got, [r["emmean"] for r in ref], rtol=REL)
    np.testing.assert_allclose(np.concatenate([ln["lower"] for ln in tr["lines"]]), [r["lower"] for r in ref], rtol=REL)
    np.testing.assert_allclose(np.concatenate([ln["df"] for ln in tr["lines"]]), [r["df"] for r in ref], rtol=DF_REL)


def test_population_trajectory_over_a_covariate_equals_emmeans_at():
    from mixgui.engine.emmeans.trajectories import population_trajectory
    case = CASES["orthodont_cov"]
    res = case["requests"][1]["results"]["satterthwaite"]  # Sex | agen at 8, 14
    beta, vcov, df_fn = _inputs(case, "satterthwaite", res)
    design = _design(case)
    tr = population_trajectory(design, beta, vcov, df_fn, "agen", over_values=[8, 14], group="Sex")
    assert tr["kind"] == "numeric"
    want = {(r["levels"]["Sex"], float(r["levels"]["agen"])): r for r in res["emmeans"]}
    for ln in tr["lines"]:
        for xv, fit, up in zip(tr["x_values"], ln["fit"], ln["upper"]):
            r = want[(ln["label"], xv)]
            _close(fit, r["emmean"], REL, 0, "fit")
            _close(up, r["upper"], REL, 0, "upper")


def test_population_trajectory_default_points_and_single_line():
    from mixgui.engine.emmeans.trajectories import population_trajectory
    case = CASES["orthodont_lm"]
    beta, vcov = np.asarray(case["beta"]), np.asarray(case["vcov"])
    design = _design(case)
    tr = population_trajectory(design, beta, vcov, lambda L: 104.0, "agen")
    assert len(tr["x_values"]) == 25 and tr["x_values"][0] == 8 and tr["x_values"][-1] == 14
    (line,) = tr["lines"]
    assert line["label"] is None and line["estimable"].all()
    assert tr["averaged_over"] == ["Sex"]
    # averaged over Sex with equal weights: the mean of the two sexes' lines
    b0, b1, b2, b3 = beta
    np.testing.assert_allclose(line["fit"], b0 + b2 / 2 + (b1 + b3 / 2) * tr["x_values"], rtol=1e-12)
    assert np.all(line["lower"] < line["fit"]) and np.all(line["fit"] < line["upper"])


def test_cluster_trajectories_sorted_by_x():
    from mixgui.engine.emmeans.trajectories import cluster_trajectories
    design = _design(CASES["orthodont_cat"])
    block = design.blocks[0]
    rng = np.random.default_rng(1)
    perm = rng.permutation(design.nobs)  # shuffle nothing in the design, only the fitted values
    fitted = design.y + perm * 1e-3
    out = cluster_trajectories(design, fitted, block.codes, x="age", group_labels=block.levels)
    assert len(out["clusters"]) == 27 and out["x_labels"] == ["8", "10", "12", "14"]
    for c in out["clusters"]:
        assert np.all(np.diff(c["x"]) >= 0)
        np.testing.assert_array_equal(c["fitted"], fitted[c["rows"]])
        np.testing.assert_array_equal(c["observed"], design.y[c["rows"]])
        assert set(design.frame["Subject"].iloc[c["rows"]]) == {c["label"]}
    with pytest.raises(ValueError):
        cluster_trajectories(design, fitted[:-1], block.codes)


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
