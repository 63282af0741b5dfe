"""Optional analyses end to end: analysis-file fields, results keys, tables, reports.

R references (made by the scripts next to them):
- tests/reference/inference/inference_refs.json (make_inference_refs.R: performance, lme4): f2, variance parts;
- tests/reference/repeated/ml_comparison.json (make_ml_comparison_refs.R: nlme::gls with method = "ML",
  ANTE1 by a direct ML fit in R checked against nlme's UN): every structure of the comparison, which fits by ML;
- tests/reference/ols/ols_refs.json (make_ols_refs.R: lm and lmer): the pooling comparison;
- tests/reference/bootstrap/bootstrap_refs.json (make_bootstrap_refs.R: lme4 simulate/refit): a bootstrap p.

Tolerances, and why:
- R2 and f2 2e-3 relative (f2 near 0: 1e-6 absolute), variance change 1e-2 relative / 1e-4 absolute:
  the ones tests/engine/test_inference.py uses for the same engine functions (functions of the variance
  estimates; the null and reduced models are refitted, each with its optimiser tolerance).
- log-likelihood, AIC, BIC of the structures 1e-3 absolute: nlme stops ~1e-5 short of the optimum
  (tests/engine/test_repeated.py; the ML references were made with tighter tolerances and agree to ~1e-8, the
  bound stays the same); a wrong parameter count moves AIC by 2, a REML fit in place of ML moves the
  log-likelihood by 0.02-0.5 here.
- pooling: no-pooling estimates 1e-6 relative (least squares in closed form, as tests/engine/test_ols.py);
  partial pooling 1e-5 relative (our own mixed-model fit: lme4 and the engine agree on the intercept and
  BLUPs to ~1e-9 relative here, 1e-5 leaves room for another optimiser path).
- bootstrap: both p-values are Monte Carlo estimates; with 200 replicates here and 2000 in R the
  difference has a standard deviation of sqrt(p (1 - p) (1/200 + 1/2000)) ~ 0.03 at p = 0.2: 0.12 is four
  of them (the seed is fixed, so the test is deterministic; the bound says the simulation is the right one).
"""
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.errors import Cancelled, Progress, SpecError
from mixgui.pipeline import additional
from mixgui.pipeline.run import run

REF = Path(__file__).resolve().parents[1] / "reference"
INF = REF / "inference"
R_INF = json.loads((INF / "inference_refs.json").read_text())
R2_REL = 2e-3


def fit(formula, csv, folder=INF, **options):
    spec = AnalysisSpec.from_dict({"data": {"path": "x.csv"}, "formula": formula, **options})
    return run(spec, Dataset(pd.read_csv(folder / csv)))


def base(**extra):
    return {"data": {"path": "x.csv"}, "formula": "y ~ x + (1 | g)", **extra}


# -- analysis-file fields -------------------------------------------------------------------------
def test_new_fields_default_off_and_not_written():
    spec = AnalysisSpec.from_dict(base())
    assert (spec.effect_sizes, spec.compare_structures, spec.bootstrap, spec.bootstrap_seed, spec.pooling) == \
        (False, False, 0, None, None)
    written = spec.to_dict()
    for key in ("effect_sizes", "compare_structures", "bootstrap", "bootstrap_seed", "pooling"):
        assert key not in written  # existing files are written exactly as before


def test_new_fields_round_trip():
    d = base(formula="y ~ x + (x | g) + (1 | h)", effect_sizes=True, random_effect_tests=True, bootstrap=250,
             bootstrap_seed=42, pooling="h",
             repeated={"structure": "AR1", "subject": "g", "index": "t"}, compare_structures=True)
    spec = AnalysisSpec.from_dict(d)
    assert (spec.effect_sizes, spec.compare_structures, spec.bootstrap, spec.bootstrap_seed, spec.pooling) == \
        (True, True, 250, 42, "h")
    written = spec.to_dict()
    assert written["bootstrap"] == 250 and written["pooling"] == "h" and written["effect_sizes"] is True
    assert written["version"] == 2
    assert AnalysisSpec.from_dict(written) == spec


def test_lenient_spellings():
    spec = AnalysisSpec.from_dict(base(random_effect_tests=True, bootstrap=100.0, effect_sizes=1, pooling=None))
    assert spec.bootstrap == 100 and isinstance(spec.bootstrap, int) and spec.effect_sizes is True
    assert AnalysisSpec.from_dict(base(bootstrap=0, bootstrap_seed=None)).bootstrap == 0  # 0 needs no tests
    # the outer factor of a nesting is a random intercept of its own
    assert AnalysisSpec.from_dict(base(formula="y ~ 1 + (1 | a/b)", pooling="a")).pooling == "a"


@pytest.mark.parametrize("extra, words", [
    ({"effect_sizes": "yes"}, '"effect_sizes" must be true or false'),
    ({"compare_structures": True}, 'needs "repeated"'),
    ({"compare_structures": 2, "repeated": {"structure": "CS", "subject": "g", "index": "t"}}, "true or false"),
    ({"bootstrap": 100}, '"random_effect_tests": true'),
    ({"bootstrap": -1, "random_effect_tests": True}, "whole number from 0 to 100000"),
    ({"bootstrap": 100001, "random_effect_tests": True}, "whole number from 0 to 100000"),
    ({"bootstrap": 2.5, "random_effect_tests": True}, "whole number"),
    ({"bootstrap": True, "random_effect_tests": True}, "whole number"),
    ({"bootstrap": "1000", "random_effect_tests": True}, "whole number"),
    ({"bootstrap_seed": 3}, 'set "bootstrap"'),
    ({"bootstrap": 10, "random_effect_tests": True, "bootstrap_seed": -3}, '"bootstrap_seed" must be a whole'),
    ({"pooling": "x"}, 'use "g"'),
    ({"pooling": ["g"]}, '"pooling" must name a column'),
    ({"formula": "y ~ x + (0 + x | g)", "pooling": "g"}, "no random intercept"),
    ({"formula": "y ~ 1 + (1 | a/b)", "pooling": "b"}, 'use "a"'),
])
def test_bad_values_are_refused_with_one_sentence(extra, words):
    with pytest.raises(SpecError, match=words) as e:
        AnalysisSpec.from_dict(base(**extra))
    assert "\n" not in str(e.value)


# -- effect sizes ----------------------------------------------------------------------------------
def test_effect_sizes_match_r():
    for name, formula, csv, opts in [
            ("sleepstudy_rs", "Reaction ~ Days + (Days | Subject)", "sleepstudy.csv", {}),
            ("orthodont_cat", "distance ~ age * Sex + (1 | Subject)", "orthodont.csv",
             {"factors": ["age"], "reference_levels": {"Sex": "Male"}})]:
        r = fit(formula, csv, effect_sizes=True, **opts)
        es = r.data["effect_sizes"]
        assert es["method"] == "REML"
        want = R_INF["f2"][name]
        assert [x["term"] for x in es["f2"]] == [w["term"] for w in want]
        for got, w in zip(es["f2"], want):
            assert set(got) == {"term", "f2", "r2_full", "r2_reduced"}
            assert got["r2_full"] == pytest.approx(w["r2_full"], rel=R2_REL)
            assert got["r2_reduced"] == pytest.approx(w["r2_reduced"], rel=R2_REL, abs=1e-8)
            assert got["f2"] == pytest.approx(w["f2"], rel=R2_REL, abs=1e-6)
        v = R_INF["variances"][name]
        total = v["var_fixed"] + v["var_random"] + v["var_residual"]
        props = es["variance_proportions"]
        assert [p["component"] for p in props] == ["fixed", "random", "residual"]
        assert props[0]["proportion"] == pytest.approx(v["var_fixed"] / total, rel=R2_REL)
        assert props[1]["proportion"] == pytest.approx(v["var_random"] / total, rel=R2_REL)
        assert props[2]["variance"] == pytest.approx(v["var_residual"], rel=R2_REL)
        if "by_group" in v:
            assert [c["level"] for c in es["variance_change"]] == [w["level"] for w in v["by_group"]]
            for c, w in zip(es["variance_change"], v["by_group"]):
                assert c["proportion_explained"] == pytest.approx(w["r2"], rel=1e-2, abs=1e-4)


def test_variance_change_of_the_random_intercept_model_matches_r():
    r = fit("Reaction ~ Days + (1 | Subject)", "sleepstudy.csv", effect_sizes=True)
    got = {c["level"]: c["proportion_explained"] for c in r.data["effect_sizes"]["variance_change"]}
    want = {w["level"]: w["r2"] for w in R_INF["variances"]["sleepstudy_ri"]["by_group"]}
    assert got == pytest.approx(want, rel=1e-2, abs=1e-4)
    assert got["Subject"] < 0  # adding Days moved variance to the subject level, as in R


def test_effect_sizes_tables_and_footnotes():
    r = fit("distance ~ age * Sex + (1 | Subject)", "orthodont.csv", effect_sizes=True, factors=["age"],
            reference_levels={"Sex": "Male"})
    keys = [t.key for t in r.tables]
    assert keys.index("fixed_effects") < keys.index("effect_sizes_f2") < keys.index("variance_components") \
        < keys.index("effect_sizes_variance_proportions") < keys.index("effect_sizes_variance_change")
    f2 = next(t for t in r.tables if t.key == "effect_sizes_f2")
    assert any("0.02 small, 0.15 medium, 0.35 large (Cohen)" in n for n in f2.footnotes)
    assert any(n.startswith("age, Sex:") for n in f2.footnotes)  # both are inside age:Sex
    assert [c.kind for c in f2.columns] == ["text", "num", "num", "num"]
    props = next(t for t in r.tables if t.key == "effect_sizes_variance_proportions")
    assert [row["component"] for row in props.rows] == ["Fixed effects", "Random effects", "Residual"]


def test_effect_sizes_time_counts_in_fit_seconds(monkeypatch):
    real = additional.effect_sizes

    def slow(*a, **k):
        time.sleep(0.3)
        return real(*a, **k)
    monkeypatch.setattr(additional, "effect_sizes", slow)
    r = fit("Reaction ~ Days + (1 | Subject)", "sleepstudy.csv", effect_sizes=True)
    assert r.data["fit_seconds"] >= 0.3


def test_options_a_model_cannot_have_are_left_out_with_a_warning():
    spec = AnalysisSpec.from_dict({"data": {"path": "x.csv"}, "formula": "Reaction ~ Days"}).with_(
        effect_sizes=True, pooling="Subject")  # the window can set them, then drop the random term
    r = run(spec, Dataset(pd.read_csv(INF / "sleepstudy.csv")))
    assert "effect_sizes" not in r.data and "pooling_comparison" not in r.data
    assert sum("left out" in w or "needs a random intercept" in w for w in r.data["warnings"]) == 2
    plain = fit("Reaction ~ Days + (1 | Subject)", "sleepstudy.csv")
    for key in ("effect_sizes", "structure_comparison", "pooling_comparison"):
        assert key not in plain.data


# -- structure comparison --------------------------------------------------------------------------
def _comparison(method):
    return fit("distance ~ agef + Sex", "orthodont_long.csv", folder=REF / "repeated", factors=["agef"],
               reference_levels={"Sex": "Male"}, compare_structures=True, method=method,
               repeated={"structure": "AR1", "subject": "Subject", "index": "age"})


def test_structure_comparison_matches_nlme():
    """The comparison fits every structure by ML (nlme::gls(method = "ML")), whatever the model's method."""
    r = _comparison("REML")
    sc = r.data["structure_comparison"]
    assert sc["fitted_structure"] == "AR1" and sc["method"] == "ML" and sc["skipped"] == {}
    want = json.loads((REF / "repeated" / "ml_comparison.json").read_text())["rows"]
    rows = {row["structure"]: row for row in sc["rows"]}
    assert list(rows) == ["ID", "DIAG", "CS", "CSH", "AR1", "ARH1", "ANTE1", "TOEP", "TOEPH", "UN",
                          "SP(POW)", "SP(EXP)", "SP(GAU)"]
    assert set(want) == set(rows)
    for s_, w in want.items():
        assert rows[s_]["df"] == w["df"], s_
        for k in ("loglik", "aic", "bic"):
            assert rows[s_][k] == pytest.approx(w[k], abs=1e-3), (s_, k)
    pool = [r_ for r_ in sc["rows"] if r_["converged"] and not r_["boundary"]]
    assert sc["best_aic"] == min(pool, key=lambda r_: r_["aic"])["structure"] == "TOEP"
    assert sc["best_bic"] == min(pool, key=lambda r_: r_["bic"])["structure"] == "CS"
    rec = sc["recommendation"]
    assert sc["best_aic"] in rec and sc["best_bic"] in rec
    assert "ML fits" in rec and "final model by REML" in rec and "not biased downward" in rec
    assert "ML fits" in sc["note"] and "fitted by REML with the chosen structure" in sc["note"]
    # the model's structure is marked, but its row is the ML refit, not the REML main fit
    ar1 = rows["AR1"]
    assert abs(ar1["loglik"] - r.data["loglik"]) > 0.1
    table = next(t for t in r.tables if t.key == "structure_comparison")
    keys = [t.key for t in r.tables]
    assert keys.index("repeated") < keys.index("structure_comparison")
    assert sc["note"] in table.footnotes and sc["recommendation"] in table.footnotes
    marks = {row["structure"]: row["best"] for row in table.rows}
    assert marks["TOEP"] == "lowest AIC" and marks["CS"] == "lowest BIC" and "AR1 (in the model)" in marks
    assert "All fits by ML, same fixed effects and rows." in table.footnotes
    assert any(n.startswith("The model itself is fitted by REML: the row of its structure is that structure "
                            "refitted by ML") for n in table.footnotes)
    assert not any("fitted)" in row["structure"] for row in table.rows)


def test_structure_comparison_row_is_the_model_when_the_model_is_ml():
    r = _comparison("ML")
    sc = r.data["structure_comparison"]
    assert sc["method"] == "ML"
    ar1 = next(row for row in sc["rows"] if row["structure"] == "AR1")
    assert ar1["loglik"] == pytest.approx(r.data["loglik"], abs=1e-6)
    table = next(t for t in r.tables if t.key == "structure_comparison")
    assert not any(n.startswith("The model itself") for n in table.footnotes)  # nothing to warn about


def test_structure_comparison_lists_what_the_data_cannot_support():
    d = pd.read_csv(REF / "repeated" / "orthodont_long.csv")
    spec = AnalysisSpec.from_dict({"data": {"path": "x.csv"}, "formula": "distance ~ Sex", "compare_structures": True,
                                   "repeated": {"structure": "ID", "subject": "Subject", "index": "age"}})
    r = run(spec, Dataset(d[d.age == 8]))  # one visit: no correlation structure can be estimated
    sc = r.data["structure_comparison"]
    assert [row["structure"] for row in sc["rows"]] == ["ID", "DIAG"]
    assert set(sc["skipped"]) == {"CS", "CSH", "AR1", "ARH1", "TOEP", "UN", "ANTE1", "TOEPH", "SP(POW)",
                                  "SP(EXP)", "SP(GAU)"}
    table = next(t for t in r.tables if t.key == "structure_comparison")
    assert any(n.startswith("Not fitted: CS (") for n in table.footnotes)


# -- pooling -----------------------------------------------------------------------------------------
def test_pooling_comparison_matches_r():
    ref = json.loads((REF / "ols" / "ols_refs.json").read_text())["pooling_sleepstudy"]
    r = fit("Reaction ~ Days + (1 | Subject)", "sleepstudy.csv", pooling="Subject")
    pc = r.data["pooling_comparison"]
    assert pc["group"] == "Subject" and pc["fixed_formula"] == "Reaction ~ Days + Subject"
    assert [row["group"] for row in pc["rows"]] == ref["levels"]
    np.testing.assert_allclose([row["no_pooling"] for row in pc["rows"]], ref["no_pooling"], rtol=1e-6)
    np.testing.assert_allclose([row["raw_mean"] for row in pc["rows"]], ref["raw_mean"], rtol=1e-6)
    np.testing.assert_allclose([row["partial_pooling"] for row in pc["rows"]], ref["partial_pooling"], rtol=1e-5)
    assert pc["fixed_intercept"] == pytest.approx(ref["fixed_intercept"], rel=1e-5)
    tau2, sigma2 = ref["vc"]  # balanced: every subject is pulled sigma^2/n / (tau^2 + sigma^2/n) of the way
    np.testing.assert_allclose([row["pulled"] for row in pc["rows"]], (sigma2 / 10) / (tau2 + sigma2 / 10), rtol=1e-4)
    assert "arrays" not in pc and "Partial pooling" in pc["explanation"]
    table = next(t for t in r.tables if t.key == "pooling_comparison")
    keys = [t.key for t in r.tables]
    assert keys.index("variance_components") < keys.index("pooling_comparison")
    assert pc["explanation"] in table.footnotes
    assert table.columns[1].kind == "int" and table.columns[0].label == "Subject"


def test_pooling_with_random_slopes_gives_each_group_its_slope():
    r = fit("Reaction ~ Days + (Days | Subject)", "sleepstudy.csv", pooling="Subject")
    pc = r.data["pooling_comparison"]
    assert pc["fixed_formula"] == "Reaction ~ Days + Subject + Days:Subject"
    # no pooling = each subject's own least-squares line, evaluated at Days = 0
    d = pd.read_csv(INF / "sleepstudy.csv")
    own = {str(s): np.polyfit(g.Days, g.Reaction, 1)[1] for s, g in d.groupby("Subject")}
    for row in pc["rows"]:
        assert row["no_pooling"] == pytest.approx(own[row["group"]], rel=1e-8)
    assert any("random slopes (Days)" in n for n in pc["notes"])


# -- bootstrap ---------------------------------------------------------------------------------------
PASTES = ("strength ~ 1 + (1 | batch/cask)", "pastes.csv")


def test_bootstrap_is_reproducible_and_reported():
    a, b, c = (fit(*PASTES, random_effect_tests=True, bootstrap=9, **s)
               for s in ({}, {}, {"bootstrap_seed": 7}))
    rows = a.data["random_effect_tests"]
    assert [r["term"] for r in rows] == ["(1 | batch)", "(1 | cask:batch)"]
    for r in rows:
        assert r["bootstrap_replicates"] == 9 and r["bootstrap_seed"] == additional.DEFAULT_SEED
        assert "p_value_boot" not in r and "nboot" not in r
        assert r["p_value_bootstrap"] * 10 == pytest.approx(round(r["p_value_bootstrap"] * 10))  # (1 + k) / 10
    assert [r["p_value_bootstrap"] for r in rows] == [r["p_value_bootstrap"] for r in b.data["random_effect_tests"]]
    # the likelihood-ratio statistics do not depend on the bootstrap
    plain = fit(*PASTES, random_effect_tests=True)
    assert [r["statistic"] for r in rows] == [r["statistic"] for r in plain.data["random_effect_tests"]]
    assert "p_value_bootstrap" not in plain.data["random_effect_tests"][0]
    # the strong cask effect: no replicate reaches 54.6, whatever the seed
    assert rows[1]["p_value_bootstrap"] == c.data["random_effect_tests"][1]["p_value_bootstrap"] == pytest.approx(0.1)
    table = next(t for t in a.tables if t.key == "random_effect_tests")
    assert table.columns[-1].key == "p_value_bootstrap" and table.columns[-1].kind == "p"
    assert any("bootstrap p from 9 parametric-bootstrap replicates" in n for n in table.footnotes)


def test_bootstrap_p_agrees_with_lme4_simulation():
    ref = json.loads((REF / "bootstrap" / "bootstrap_refs.json").read_text())
    r = fit(*PASTES, random_effect_tests=True, bootstrap=200)
    row = r.data["random_effect_tests"][0]
    assert row["term"] == ref["term"]
    assert row["statistic"] == pytest.approx(ref["statistic"], rel=1e-4, abs=1e-6)
    assert row["p_value_bootstrap"] == pytest.approx(ref["p_value_bootstrap"], abs=0.12)


def test_bootstrap_reports_progress_and_stops_on_cancel():
    seen = []
    spec = AnalysisSpec.from_dict({"data": {"path": "x.csv"}, "formula": PASTES[0], "random_effect_tests": True,
                                   "bootstrap": 1000})
    progress = None

    def callback(fraction, message):
        seen.append((fraction, message))
        if "bootstrap" in message and sum("bootstrap" in m for _, m in seen) >= 3:
            progress.cancel()
    progress = Progress(callback)
    t0 = time.perf_counter()
    with pytest.raises(Cancelled):
        run(spec, Dataset(pd.read_csv(INF / PASTES[1])), progress)
    assert time.perf_counter() - t0 < 20  # stopped within a few refits, not after 4000 of them
    fractions = [f for f, m in seen if f is not None]
    assert fractions == sorted(fractions) and 0.7 <= fractions[-1] < 0.8  # within the tests' share of the bar


def test_sub_progress_scales_and_shares_cancel():
    calls = []
    parent = Progress(lambda f, m: calls.append(f))
    part = additional.SubProgress(parent, 0.7, 0.8)
    part.step(0.5, "half")
    part.step(None, "busy")
    assert calls == [pytest.approx(0.75), None]
    parent.cancel()
    assert part.cancelled
    with pytest.raises(Cancelled):
        part.step(0.9)


# -- reports -----------------------------------------------------------------------------------------
def test_xlsx_report_writes_the_new_tables(tmp_path):
    from openpyxl import load_workbook

    from mixgui.report import write_report
    r = fit("Reaction ~ Days + (1 | Subject)", "sleepstudy.csv", effect_sizes=True, pooling="Subject",
            random_effect_tests=True, bootstrap=3)
    path = write_report(r, tmp_path / "report.xlsx", data_path=INF / "sleepstudy.csv")
    wb = load_workbook(path)
    titles = {ws["A1"].value: ws for ws in wb.worksheets}
    f2 = titles["Effect size of each fixed term (Cohen's f²)"]
    assert [c.value for c in f2[3]] == ["Term", "R² (full model)", "R² (without the term)", "f²"]
    assert f2["D4"].value == pytest.approx(r.data["effect_sizes"]["f2"][0]["f2"])  # a number, full precision
    assert "Subject as a fixed factor and as a random effect" in titles
    assert "Share of the total variance" in titles and "Variance explained at each level" in titles
    tests = titles["Likelihood-ratio tests of random effects"]
    assert [c.value for c in tests[3]][-1] == "p (bootstrap)"
    assert tests.cell(4, 6).value == pytest.approx(0.25)
