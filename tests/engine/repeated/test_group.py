"""A covariance per level of a group factor (SAS GROUP=) for every structure.

References: where nlme can fit it (variances per group, and per group and visit: varIdent),
tests/reference/repeated/group/group.json made by make_group.R there (R 4.2.2, nlme 3.1-162);
tolerances 1e-4 relative on estimates and SEs, 1e-4 absolute on the log-likelihood (both optima good
to ~1e-6). For correlated structures, which nlme cannot give a group's own parameters, an exact
property: with fixed effects fully interacted with the group, the levels do not share anything, so
the ML fit is the separate fits of each level (-2 log-likelihoods add up, each level's covariance
is its own fit's) - checked against our own single-level fits, themselves checked against R.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.errors import MixGUIError
from mixgui.pipeline.run import run

REF = Path(__file__).resolve().parents[2] / "reference" / "repeated"
R = json.loads((REF / "group" / "group.json").read_text())


def data():
    return pd.read_csv(REF / "orthodont_missing.csv")


def fit(d, structure, group="Sex", formula="distance ~ Sex * agef", **extra):
    rep = {"subject": "Subject", "index": "age", "structure": structure}
    if group:
        rep["group"] = group
    spec = AnalysisSpec.from_dict(dict({"data": {"path": "o.csv"}, "formula": formula, "factors": ["agef"],
                                        "reference_levels": {"Sex": "Male"}, "repeated": rep}, **extra))
    return run(spec, Dataset(d, name="o"))


@pytest.mark.parametrize("structure,key", [("ID", "id_group_sex"), ("DIAG", "diag_group_sex")])
def test_variances_per_group_match_nlme(structure, key):
    ref = R[key]
    res = fit(data(), structure)
    fe = res.data["fixed_effects"]
    assert [r["estimate"] for r in fe] == pytest.approx(ref["beta"], rel=1e-4)
    assert [r["std_error"] for r in fe] == pytest.approx(ref["se"], rel=1e-4)
    assert res.data["loglik"] == pytest.approx(ref["loglik"], abs=1e-4)
    groups = res.data["repeated"]["groups"]
    assert [g["level"] for g in groups] == ["Female", "Male"]
    if structure == "ID":
        ratio = np.sqrt(groups[0]["parameters"]["sigma2"] / groups[1]["parameters"]["sigma2"])
        assert ratio == pytest.approx(ref["var_ratio"]["Female"], rel=1e-4)


@pytest.mark.parametrize("structure", ["UN", "AR1", "CSH", "TOEP", "ANTE1", "SP(EXP)"])
def test_correlated_structures_per_group_are_the_separate_fits(structure):
    d = data()
    both = fit(d, structure, method="ML")
    parts = {}
    for sex in ("Female", "Male"):
        part = d[d.Sex == sex].reset_index(drop=True)
        parts[sex] = fit(part, structure, group=None, formula="distance ~ agef", method="ML")
    assert both.data["loglik"] == pytest.approx(sum(p.data["loglik"] for p in parts.values()), abs=1e-4)
    for g in both.data["repeated"]["groups"]:
        one = parts[g["level"]].data["repeated"]
        assert np.array(g["marginal_covariance"]) == pytest.approx(np.array(one["marginal_covariance"]), rel=1e-3)
        assert g["parameters"].keys() == one["parameters"].keys()
    # a parameter per level in the covariance-parameter names, and Kenward-Roger works on them
    res = fit(d, structure, df_method="kenward-roger")
    assert len(res.fit.kr_names) == 2 * len(parts["Male"].fit.kr_names)
    assert all(np.isfinite(r["df"]) for r in res.data["fixed_effects"])


def test_a_group_level_with_one_subject_is_refused_in_one_sentence():
    d = data()
    d["arm"] = np.where(d.Subject == "F01", "B", "A")
    with pytest.raises(MixGUIError) as e:
        fit(d, "UN", group="arm")
    msg = str(e.value)
    assert '"B"' in msg and "single subject" in msg and "\n" not in msg


def test_a_structure_the_level_cannot_support_names_the_level():
    d = data()
    # no girl has both the visits at 8 and at 10: ANTE(1) cannot estimate that correlation for girls
    d = d[~((d.Sex == "Female") & (d.age == 10) & d.Subject.isin(d[d.age == 8].Subject))].reset_index(drop=True)
    with pytest.raises(MixGUIError) as e:
        fit(d, "ANTE1")
    assert '"Female"' in str(e.value) and "ANTE(1)" in str(e.value)


def test_every_structure_with_a_group_fits_or_is_refused_in_one_sentence():
    from mixgui.engine.repeated import STRUCTURES
    d = data()
    for structure in STRUCTURES + ("TOEP(2)",):
        try:
            res = fit(d, structure, df_method="kenward-roger", anova_types=[1, 2])
        except MixGUIError as e:
            assert str(e) and "\n" not in str(e)
            continue
        assert len(res.data["repeated"]["groups"]) == 2, structure
        assert all(np.isfinite(r["std_error"]) for r in res.data["fixed_effects"]), structure
        res.to_json()


def test_ante1_with_a_visit_missing_for_every_subject_of_a_level_is_refused():
    d = data()
    d = d[~((d.Sex == "Female") & (d.age == 12))].reset_index(drop=True)
    with pytest.raises(MixGUIError) as e:
        fit(d, "ANTE1")
    msg = str(e.value)
    assert '"Female"' in msg and "12" in msg and "\n" not in msg
