"""Ordinary regression agrees with R: lm, summary, broom::glance, anova, car::Anova, lmtest, influence.

References: tests/reference/ols/orthodont_lm.json (the shared conformance case) and
tests/reference/ols/ols_refs.json, written by tests/reference/ols/make_ols_refs.R (R 4.2.2, car,
lmtest, lme4) from the CSV files next to it.

Tolerances (relative, with a small absolute floor for numbers near zero):
* estimates, sums of squares, fitted values and other direct linear-algebra results: 1e-6.
  Both sides solve the same least-squares problem by QR in double precision and agree to ~1e-12;
  1e-6 leaves room for another BLAS or LAPACK without letting a wrong formula through.
* test statistics (t, F, W, BP, DW, R^2, log-likelihood): 2e-3, the project's conformance
  tolerance for statistics; ours agree to ~1e-10.
* p-values: 2e-2. A tail p-value magnifies a relative error in its statistic (for t = 11.5 with
  104 df, d log p / d log t is about 130), so p gets the widest tolerance.
"""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.formula import parse_formula
from mixgui.engine.design import build_design
from mixgui.engine.ols.fit import anova_type2, anova_type3, fit_ols, normal_qq, to_contract
from mixgui.errors import ModelError

HERE = Path(__file__).resolve().parents[2] / "reference" / "ols"
REFS = json.loads((HERE / "ols_refs.json").read_text())
EST, STAT, PVAL = 1e-6, 2e-3, 2e-2
STAT_KEYS = {"t_value", "statistic", "f", "r_squared", "adj_r_squared", "loglik", "aic", "bic", "durbin_watson",
             "breusch_pagan", "shapiro_wilk", "sigma"}
P_KEYS = {"p_value", "p", "breusch_pagan_p", "shapiro_wilk_p"}


def tol(key):
    return PVAL if key in P_KEYS else STAT if key in STAT_KEYS else EST


def close(ours, ref, key, where=""):
    if ref is None:
        assert ours is None or not np.isfinite(ours), f"{where} {key}: expected missing, got {ours}"
        return
    assert ours is not None, f"{where} {key}: missing, R has {ref}"
    rtol = tol(key)
    assert abs(ours - ref) <= rtol * abs(ref) + 1e-10, f"{where} {key}: {ours} vs R {ref} (rtol {rtol})"


def data(name):
    return pd.read_csv(HERE / name)


ORTHO = data("orthodont_long.csv")
UNBAL = data("orthodont_unbalanced.csv")


def design(formula, frame=ORTHO, factors=("agef",), reference_levels=None):
    return build_design(parse_formula(formula), frame, factors=list(factors),
                        reference_levels={"Sex": "Male"} if reference_levels is None else reference_levels)


def compare_table(ours, ref, where):
    assert [r["term"] for r in ours] == [r["term"] for r in ref], where
    for a, b in zip(ours, ref):
        assert a["df"] == b["df"], f"{where} {a['term']} df"
        for key in ("sum_sq", "f", "p"):
            close(a[key], b[key], key, f"{where} {a['term']}")


def compare_coefficients(fit, ref, where):
    assert fit.column_names == [r["term"] for r in ref], where
    for r in ref:
        c = fit.coefficients[r["term"]]
        assert c["df"] == fit.df_residual
        for key in ("estimate", "std_error", "t_value", "p_value", "ci_lower", "ci_upper"):
            if key in r:
                close(c[key], r[key], key, f"{where} {r['term']}")


def compare_glance(glance, ref, where):
    assert set(glance) == set(ref), where
    for key, val in ref.items():
        close(glance[key], val, key, where)


# --------------------------------------------------------------------------------------------
def test_orthodont_lm_reference_every_number():
    ref = json.loads((HERE / "orthodont_lm.json").read_text())
    fit = fit_ols(design("distance ~ agen * Sex"))
    compare_coefficients(fit, ref["fixed_effects"], "coef")
    compare_glance(fit.glance, ref["glance"], "glance")
    compare_table(fit.anova_type1, ref["anova_type1"], "anova_type1")
    for a, b in zip(fit.anova_type1, ref["anova_type1"]):
        close(a["mean_sq"], b["mean_sq"], "mean_sq", "anova_type1")
    for key in ("durbin_watson", "breusch_pagan", "breusch_pagan_p", "shapiro_wilk", "shapiro_wilk_p"):
        close(fit.diagnostics[key], ref[key], key, "diagnostics")
    assert fit.warnings == []


def test_orthodont_lm_contract_shape():
    ref = json.loads((HERE / "orthodont_lm.json").read_text())
    out = to_contract(fit_ols(design("distance ~ agen * Sex")))
    json.dumps(out, allow_nan=False)  # plain JSON: NaN became null
    assert out["model"] == "lm" and out["nobs"] == 108
    assert list(out["fixed_effects"][0]) == ["term", "estimate", "std_error", "df", "t_value", "p_value",
                                             "ci_lower", "ci_upper"]
    for a, b in zip(out["fixed_effects"], ref["fixed_effects"]):
        assert a["term"] == b["term"] and a["df"] == 104
        close(a["estimate"], b["estimate"], "estimate")
    compare_glance(out["glance"], ref["glance"], "contract glance")
    assert out["anova_type1"][-1] == {"term": "Residuals", "df": 104, "sum_sq": pytest.approx(529.757102272727),
                                      "mean_sq": pytest.approx(5.09381829108391), "f": None, "p": None}
    assert set(out["diagnostics"]) >= {"durbin_watson", "breusch_pagan", "breusch_pagan_p", "shapiro_wilk",
                                       "shapiro_wilk_p"}
    assert "Breusch-Pagan p = 0.85" in out["diagnostic_notes"]["breusch_pagan"]
    assert "positively correlated" in out["diagnostic_notes"]["durbin_watson"]


CASES = {
    "agen_sex": ("distance ~ agen * Sex", ORTHO, {"Sex": "Male"}),
    "agef_sex": ("distance ~ agef * Sex", ORTHO, {"Sex": "Male"}),
    "agen_sex_unbal": ("distance ~ agen * Sex", UNBAL, {"Sex": "Male"}),
    "agef_sex_unbal": ("distance ~ agef * Sex", UNBAL, {"Sex": "Male"}),
    # a chosen reference level (age 12) for one factor, the default (Female) for the other
    "agef12_plus_sex": ("distance ~ agef + Sex", ORTHO, {"agef": "12"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_against_r_car_lmtest(case):
    formula, frame, refs = CASES[case]
    ref = REFS[case]
    fit = fit_ols(design(formula, frame, reference_levels=refs))
    compare_coefficients(fit, ref["coefficients"], case)
    compare_glance(fit.glance, ref["glance"], case)
    compare_table(fit.anova_type1, ref["anova_type1"], f"{case} type I")
    compare_table(anova_type2(fit), ref["anova_type2"], f"{case} type II")
    compare_table(anova_type3(fit), ref["anova_type3"], f"{case} type III")
    compare_table(anova_type3(fit, coding="sas"), ref["anova_type3_sas"], f"{case} type III sas")
    for key, val in ref["diagnostics"].items():
        if key == "breusch_pagan_df":
            assert fit.diagnostics[key] == val
        else:
            close(fit.diagnostics[key], val, key, case)


def test_sas_type3_differs_from_treatment_type3_where_it_should():
    # With an interaction the two type III flavours test different main-effect hypotheses.
    fit = fit_ols(design("distance ~ agef * Sex", UNBAL))
    trt = {r["term"]: r for r in anova_type3(fit)}
    sas = {r["term"]: r for r in anova_type3(fit, coding="sas")}
    assert abs(trt["Sex"]["f"] - sas["Sex"]["f"]) > 1
    assert trt["agef:Sex"]["f"] == pytest.approx(sas["agef:Sex"]["f"])
    # the reference level does not change the SAS hypotheses
    fit_f = fit_ols(design("distance ~ agef * Sex", UNBAL, reference_levels={"Sex": "Female", "agef": "14"}))
    for a, b in zip(anova_type3(fit_f, coding="sas"), anova_type3(fit, coding="sas")):
        close(a["f"], b["f"], "f", a["term"])
    with pytest.raises(ValueError):
        anova_type3(fit, coding="spss")


@pytest.mark.parametrize("case, formula", [("noint_agen_sex", "distance ~ 0 + agen + Sex"),
                                           ("noint_agen", "distance ~ 0 + agen"),
                                           ("intercept_only", "distance ~ 1")])
def test_glance_without_intercept_and_intercept_only(case, formula):
    ref = REFS[case]
    fit = fit_ols(design(formula))
    compare_coefficients(fit, ref["coefficients"], case)
    compare_glance(fit.glance, ref["glance"], case)
    if "anova_type1" in ref:
        compare_table(fit.anova_type1, ref["anova_type1"], case)
    for key, val in ref.get("diagnostics", {}).items():
        close(fit.diagnostics[key], val, key, case)
    if case == "intercept_only":
        c = to_contract(fit)["glance"]
        assert c["statistic"] is None and c["p_value"] is None and c["df"] == 0


def test_per_row_influence_and_qq_match_r():
    ref = REFS["rows_agen_sex_unbal"]
    fit = fit_ols(design("distance ~ agen * Sex", UNBAL))
    pairs = {"fitted": fit.fitted, "residuals": fit.residuals, "rstandard": fit.std_residuals,
             "rstudent": fit.stud_residuals, "hatvalues": fit.leverage, "cooks": fit.cooks_distance}
    for key, ours in pairs.items():
        np.testing.assert_allclose(ours, ref[key], rtol=EST, atol=1e-10, err_msg=key)
    qq = normal_qq(fit.std_residuals)
    # R's qqnorm returns theoretical quantiles in data order; ours are sorted, with `order` pointing back
    np.testing.assert_allclose(qq["theoretical"], np.asarray(ref["qq_theoretical"])[qq["order"]], rtol=EST)
    np.testing.assert_allclose(qq["sample"], np.sort(ref["rstandard"]), rtol=EST)
    assert qq["line_intercept"] == pytest.approx(ref["qqline_intercept"], rel=EST, abs=1e-12)
    assert qq["line_slope"] == pytest.approx(ref["qqline_slope"], rel=EST)


def test_qq_envelope_and_ppoints_small_n():
    q = normal_qq([0.3, -1.2, 2.0, 0.1, -0.4])
    # R: qnorm(ppoints(5)) with a = 3/8
    np.testing.assert_allclose(q["theoretical"], [-1.179761117612, -0.497200570682, 0.0, 0.497200570682, 1.179761117612],
                               rtol=1e-10)
    line = q["line_intercept"] + q["line_slope"] * q["theoretical"]
    assert np.all(q["envelope_lower"] < line) and np.all(line < q["envelope_upper"])
    # the median order statistic's band is symmetric about the line
    assert line[2] - q["envelope_lower"][2] == pytest.approx(q["envelope_upper"][2] - line[2])


def test_exposes_what_marginal_means_need():
    fit = fit_ols(design("distance ~ agef * Sex"))
    assert fit.X.shape == (108, 8) and fit.beta.shape == (8,) and fit.vcov.shape == (8, 8)
    assert fit.column_names[0] == "(Intercept)" and fit.df_residual == 100
    np.testing.assert_allclose(fit.vcov, fit.sigma ** 2 * np.linalg.inv(fit.X.T @ fit.X), rtol=1e-9)


# --------------------------------------------------------------------------------------------
def test_no_residual_df_is_an_error():
    frame = pd.DataFrame({"y": [1.0, 2.0, 4.0], "x": [1.0, 2.0, 3.0], "z": [0.0, 1.0, 0.0]})
    with pytest.raises(ModelError, match="nothing is left to estimate the residual variance"):
        fit_ols(build_design(parse_formula("y ~ x + z"), frame))


def test_perfect_fit_warns_and_skips_checks():
    frame = pd.DataFrame({"y": 2.0 + 3.0 * np.arange(8.0), "x": np.arange(8.0)})
    fit = fit_ols(build_design(parse_formula("y ~ x"), frame))
    assert fit.perfect_fit
    assert [w.kind for w in fit.warnings] == ["perfect_fit"]
    assert "fits the data perfectly" in fit.warnings[0].message
    assert all(v is None for v in fit.diagnostics.values())
    assert fit.coefficients["x"]["estimate"] == pytest.approx(3.0)
    json.dumps(to_contract(fit), allow_nan=False)


def test_shapiro_outside_3_to_5000_is_left_out_with_a_warning():
    rng = np.random.default_rng(7)
    n = 5001
    frame = pd.DataFrame({"y": rng.normal(size=n), "x": rng.normal(size=n)})
    fit = fit_ols(build_design(parse_formula("y ~ x"), frame))
    assert fit.diagnostics["shapiro_wilk"] is None and fit.diagnostics["shapiro_wilk_p"] is None
    assert [w.kind for w in fit.warnings] == ["diagnostic_unavailable"]
    assert "between 3 and 5000" in fit.warnings[0].message
    assert fit.diagnostics["breusch_pagan"] is not None
    small = fit_ols(build_design(parse_formula("y ~ 1"), pd.DataFrame({"y": [1.0, 3.0]})))
    assert small.diagnostics["shapiro_wilk"] is None and small.diagnostics["breusch_pagan"] is None
    assert "no predictor" in small.diagnostic_notes["breusch_pagan"]


def test_leverage_one_rows_get_nan_like_r():
    # A level with a single row is fitted exactly: hat value 1, R's rstandard/rstudent/cooks give NaN.
    frame = pd.DataFrame({"y": [1.0, 2.0, 3.0, 2.5, 7.0, 4.0], "g": ["a", "a", "b", "b", "c", "b"]})
    fit = fit_ols(build_design(parse_formula("y ~ g"), frame))
    assert fit.leverage[4] == pytest.approx(1.0)
    for arr in (fit.std_residuals, fit.stud_residuals, fit.cooks_distance):
        assert np.isnan(arr[4]) and np.isfinite(np.delete(arr, 4)).all()
    qq = normal_qq(fit.std_residuals)
    assert len(qq["sample"]) == 5 and 4 not in qq["order"]


# --------------------------------------------------------------------------------------------
