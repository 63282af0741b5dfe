"""Type I and type II tests of mixed models against lmerTest (lmer) and nlme / car (gls).

Reference: tests/reference/repeated/anova12/anova12.json, made by make_anova12.R there (R 4.2.2,
lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2, nlme 3.1-162, car; versions in the file). Data:
Orthodont with 18 visits removed, so type I, II and III differ.

Tolerances: the variance parameters of both fits agree with R's to ~1e-6 relative, so F and df to
1e-4 relative (Satterthwaite's df are derivatives of the fit, the loosest of the numbers).
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.pipeline.run import run

REF = Path(__file__).resolve().parents[2] / "reference" / "repeated"
R = json.loads((REF / "anova12" / "anova12.json").read_text())


def fit(formula, **extra):
    d = pd.read_csv(REF / "orthodont_missing.csv")
    spec = AnalysisSpec.from_dict(dict({"data": {"path": "orthodont_missing.csv"}, "formula": formula,
                                        "factors": ["agef", "Sex"], "reference_levels": {"Sex": "Male"},
                                        "anova_types": [1, 2, 3]}, **extra))
    return run(spec, Dataset(d, name="orthodont"))


@pytest.mark.parametrize("df_method,key", [("satterthwaite", "satterthwaite"), ("kenward-roger", "kenward_roger")])
def test_lmer_type1_and_type2_match_lmertest(df_method, key):
    res = fit(R["lmer"]["formula"], df_method=df_method)
    for kind in (1, 2):
        ours = {r["term"]: r for r in res.data[f"anova_type{kind}"]}
        for ref in R["lmer"][f"type{kind}_{key}"]:
            row = ours[ref["term"]]
            assert row["num_df"] == ref["num_df"]
            for k in ("f_value", "den_df", "p_value"):
                assert row[k] == pytest.approx(ref[k], rel=1e-4), (kind, ref["term"], k)
    # three different tables on this unbalanced design (else the test would not tell them apart)
    f = [{r["term"]: r["f_value"] for r in res.data[k]} for k in ("anova_type1", "anova_type2", "anova")]
    assert abs(f[0]["Sex"] - f[1]["Sex"]) > 0.05 and abs(f[1]["Sex"] - f[2]["Sex"]) > 0.05


def test_gls_sequential_matches_nlme_and_type2_matches_car():
    res = fit(R["gls"]["formula"], df_method="residual",
              repeated={"subject": "Subject", "index": "age", "structure": R["gls"]["structure"]})
    ours = {r["term"]: r for r in res.data["anova_type1"]}
    for ref in R["gls"]["type1"]:
        row = ours[ref["term"]]
        assert (row["num_df"], row["den_df"]) == (ref["num_df"], ref["den_df"])
        assert row["f_value"] == pytest.approx(ref["f_value"], rel=1e-4)
        assert row["p_value"] == pytest.approx(ref["p_value"], rel=1e-4)
    ours = {r["term"]: r for r in res.data["anova_type2"]}
    for ref in R["gls"]["type2_wald"]:
        row = ours[ref["term"]]
        assert row["num_df"] == ref["num_df"]
        # car's Wald chi-square is q F
        assert row["num_df"] * row["f_value"] == pytest.approx(ref["chi_square"], rel=1e-4)
