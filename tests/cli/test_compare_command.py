"""`mixgui compare` against lme4's anova(), and `mixgui fit` with the optional analyses.

References: tests/reference/compare/compare_refs.json, made by make_compare_refs.R (R 4.2.2, lme4 1.1-31).

Tolerances, and why: log-likelihood, AIC, BIC, deviance 1e-7 relative (both sides maximise the same
likelihood exactly; the engine and lme4 agree to ~1e-9 here, as tests/engine/test_inference.py checks
for compare_models); the LR statistic 1e-5 relative (a difference of two log-likelihoods of ~900, so
1e-9 relative error in each becomes ~1e-5 in a statistic of ~40); p-values 1e-3 relative (chi-square
tail of that statistic: d log p / d log chisq is ~20 here).
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.errors import MixGUIError
from mixgui.pipeline.compare import compare_analyses
from mixgui.pipeline.run import run

REF = Path(__file__).resolve().parents[1] / "reference"
R_CMP = json.loads((REF / "compare" / "compare_refs.json").read_text())
RI, RS, RS0, LM = ("Reaction ~ Days + (1 | Subject)", "Reaction ~ Days + (Days | Subject)",
                   "Reaction ~ 1 + (Days | Subject)", "Reaction ~ Days")


def write_analyses(tmp_path, *analyses, data="sleepstudy.csv"):
    if not (tmp_path / data).exists():
        shutil.copy(REF / "cli" / data, tmp_path / data)
    paths = []
    for name, a in analyses:
        p = tmp_path / f"{name}.json"
        p.write_text(json.dumps({"data": {"path": data}, **a}))
        paths.append(str(p))
    return paths


def mixgui(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mixgui", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def assert_rows_match(rows, want):
    assert [r["npar"] for r in rows] == [w["npar"] for w in want]
    for r, w in zip(rows, want):
        for k in ("aic", "bic", "loglik", "deviance"):
            assert r[k] == pytest.approx(w[k], rel=1e-7), k
        if w["chisq"] is None:
            assert r["chisq"] is None and r["df"] is None and r["p_value"] is None
        else:
            assert r["chisq"] == pytest.approx(w["chisq"], rel=1e-5)
            assert r["df"] == w["df"]
            assert r["p_value"] == pytest.approx(w["p_value"], rel=1e-3)


def test_compare_random_intercept_and_slope_as_anova_refit_false(tmp_path):
    a, b = write_analyses(tmp_path, ("ri", {"formula": RI}), ("rs", {"formula": RS}))
    out = tmp_path / "cmp.json"
    p = mixgui("compare", b, a, "--json", out)  # given in either order, ordered by parameters
    assert p.returncode == 0, p.stderr
    res = json.loads(out.read_text())
    assert [r["model"] for r in res["rows"]] == ["ri", "rs"]
    assert res["method"] == "REML" and res["refitted_ml"] is False and res["nobs"] == 180
    assert res["data_name"] == "sleepstudy"
    assert_rows_match(res["rows"], R_CMP["same_fixed_reml"]["rows"])
    assert any("refit = FALSE" in n for n in res["notes"])
    # the table on standard output
    lines = p.stdout.splitlines()
    assert lines[0] == "Model comparison (likelihood-ratio tests)" and "LR χ²" in lines[1]
    assert "42.837" in p.stdout and "< .001" in p.stdout


def test_compare_ml_analyses_as_anova(tmp_path):
    paths = write_analyses(tmp_path, ("ri", {"formula": RI, "method": "ML"}), ("rs", {"formula": RS, "method": "ML"}))
    out = tmp_path / "cmp.json"
    p = mixgui("compare", *paths, "--json", out)
    assert p.returncode == 0, p.stderr
    res = json.loads(out.read_text())
    assert res["method"] == "ML" and res["refitted_ml"] is False
    assert_rows_match(res["rows"], R_CMP["same_fixed_ml"]["rows"])


def test_different_fixed_effects_are_refitted_by_ml(tmp_path):
    paths = write_analyses(tmp_path, ("rs", {"formula": RS}), ("rs0", {"formula": RS0}), ("lm", {"formula": LM}))
    out = tmp_path / "cmp.json"
    p = mixgui("compare", *paths, "--json", out)
    assert p.returncode == 0, p.stderr
    res = json.loads(out.read_text())
    assert res["refitted_ml"] is True and res["method"] == "ML"
    assert [r["model"] for r in res["rows"]] == ["lm", "rs0", "rs"]
    assert_rows_match(res["rows"], R_CMP["with_lm"]["rows"])
    assert any("refitted by maximum likelihood (ML)" in n for n in res["notes"])
    assert [m["method"] for m in res["models"]] == ["REML", "REML", "OLS"]


def test_reml_beside_ml_is_refitted(tmp_path):
    paths = write_analyses(tmp_path, ("ri", {"formula": RI}), ("rs", {"formula": RS, "method": "ML"}))
    out = tmp_path / "cmp.json"
    assert mixgui("compare", *paths, "--json", out).returncode == 0
    res = json.loads(out.read_text())
    assert res["refitted_ml"] is True
    assert_rows_match(res["rows"], R_CMP["same_fixed_ml"]["rows"])


def test_compare_in_process_gives_the_table_with_footnotes():
    d = Dataset(pd.read_csv(REF / "cli" / "sleepstudy.csv"), name="sleepstudy")
    results = [run(AnalysisSpec.from_dict({"data": {"path": "x.csv"}, "formula": f}), d) for f in (RS0, RS)]
    table, data = compare_analyses(results, ["without Days", "with Days"])
    assert table.key == "model_comparison" and [r["model"] for r in table.rows] == ["without Days", "with Days"]
    assert [c.kind for c in table.columns] == ["text", "text", "int", "num", "num", "num", "num", "df", "p"]
    assert table.rows[1]["chisq"] == pytest.approx(R_CMP["with_lm"]["rows"][2]["chisq"], rel=1e-5)
    assert any("ML" in n for n in table.footnotes)
    with pytest.raises(MixGUIError, match="its own label"):
        compare_analyses(results, ["same", "same"])
    with pytest.raises(MixGUIError, match="at least two"):
        compare_analyses(results[:1])


def assert_one_clear_line(p, *words):
    assert p.returncode == 2, (p.returncode, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    for w in words:
        assert w in lines[0], lines[0]


def test_compare_refuses_bad_input_with_one_line(tmp_path):
    ri, = write_analyses(tmp_path, ("ri", {"formula": RI}))
    assert_one_clear_line(mixgui("compare", ri), "at least two analysis files")
    assert_one_clear_line(mixgui("compare", ri, tmp_path / "none.json"), "does not exist")
    lm, = write_analyses(tmp_path, ("orth", {"formula": "distance ~ agen"}), data="orthodont_long.csv")
    assert_one_clear_line(mixgui("compare", ri, lm), "same data")
    d = pd.read_csv(REF / "cli" / "sleepstudy.csv")
    d["x"] = range(len(d))
    d.loc[[3, 50], "x"] = None  # only the model with x loses these rows
    d["Reaction2"] = d.Reaction * 2
    d.to_csv(tmp_path / "ss.csv", index=False)
    a, b, c = write_analyses(tmp_path, ("a", {"formula": RI}), ("b", {"formula": RI + " + x"}),
                             ("c", {"formula": "Reaction2 ~ Days + (1 | Subject)"}), data="ss.csv")
    assert_one_clear_line(mixgui("compare", a, b), "180 rows", "178", "same rows")
    assert_one_clear_line(mixgui("compare", a, c), "Reaction2", "different outcomes")


# -- mixgui fit with the optional analyses -------------------------------------------------------------
def test_fit_writes_the_optional_blocks(tmp_path):
    path, = write_analyses(tmp_path, ("a", {"formula": RI, "effect_sizes": True, "pooling": "Subject",
                                           "random_effect_tests": True, "bootstrap": 4, "bootstrap_seed": 5}))
    out = tmp_path / "out.json"
    p = mixgui("fit", path, "--json", out)
    assert p.returncode == 0, p.stderr
    res = json.loads(out.read_text())
    assert set(res["effect_sizes"]) == {"f2", "variance_proportions", "variance_change", "method"}
    assert res["effect_sizes"]["f2"][0]["term"] == "Days"
    row = res["random_effect_tests"][0]
    assert row["bootstrap_replicates"] == 4 and row["bootstrap_seed"] == 5
    assert row["p_value_bootstrap"] == pytest.approx(1 / 5)  # nothing beats a statistic of 106
    assert res["pooling_comparison"]["group"] == "Subject" and len(res["pooling_comparison"]["rows"]) == 18
    again = tmp_path / "again.json"
    assert mixgui("fit", path, "--json", again).returncode == 0
    assert json.loads(again.read_text())["random_effect_tests"] == res["random_effect_tests"]


def test_fit_refuses_a_bad_option_with_one_line(tmp_path):
    path, = write_analyses(tmp_path, ("a", {"formula": RI, "bootstrap": 100}))
    assert_one_clear_line(mixgui("fit", path), '"bootstrap"', '"random_effect_tests": true')
    path, = write_analyses(tmp_path, ("b", {"formula": RI, "pooling": "Days"}))
    assert_one_clear_line(mixgui("fit", path), '"pooling"', '"Subject"')
