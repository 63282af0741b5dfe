"""SAS GROUP= with correlated structures and shared fixed effects, against nlme (REML).

References: tests/reference/repeated/group/group_cs.json, made by make_group_cs.R there (R 4.2.2,
nlme 3.1-162) on the complete Orthodont data, ``distance ~ agef + Sex`` (the fixed effects are shared by
both sexes, so the groups are not separate fits), residuals over age within Subject, one covariance per Sex:

- CS: SAS ``REPEATED / TYPE=CS SUBJECT=Subject GROUP=Sex`` is nlme's ``lme(random = list(Subject =
  pdDiag(~ 0 + Sex)), weights = varIdent(form = ~ 1 | Sex))`` (each subject is of one sex; both CS
  covariances are positive here, so the random-intercept form covers the optimum);
- DIAG: a variance per sex and age, ``gls(weights = varIdent(form = ~ 1 | agef * Sex))``;
- UN: an unstructured matrix per sex, REML maximised directly in R (no nlme structure), the same code
  reproducing nlme's CS-by-group log-likelihood to 4e-11 (the check is in the script).

Published SAS output with GROUP= and its -2 Res Log Likelihood exists (the R package mmrm's
design/SAS/sas_group_{cs,csh,ar1,ar1h,adh,toeph}_{ml,reml}.txt, e.g. TYPE=CS GROUP=ARMCD: -2 Res Log
Likelihood 3915.41985780 in its iteration history), but on mmrm's fev_data, which no registry this
project reaches ships; so nlme is the reference here, and the SAS bioequivalence GROUP= case
(test_sas_group.py) checks estimates, SEs and df against SAS itself.

The REML log-likelihood here is SAS's: -2 times it is the "-2 Res Log Likelihood" (nlme and SAS use the
same REML constant, (N - p) log 2 pi + log|V| + log|X' V^-1 X| + r' V^-1 r).

Tolerances, and why: -2 REML log-likelihood 1e-5 absolute (observed: CS 8e-11, DIAG 1.3e-8, UN 5e-11;
nlme's DIAG stops 7e-9 short of the optimum); estimates and standard errors 5e-5 relative (observed: CS
8e-7, DIAG 7e-6, UN 8e-7; a flat likelihood in the 8 DIAG variances lets nlme's stopping point move the
estimates by ~1e-5, a wrong structure moves them by > 1e-3); covariances per group 1e-4 relative (variance
parameters are the least precisely located).
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.pipeline.run import run

REF = Path(__file__).resolve().parents[2] / "reference" / "repeated"
R = json.loads((REF / "group" / "group_cs.json").read_text())


def fit(structure, formula="distance ~ agef + Sex", **extra):
    spec = AnalysisSpec.from_dict({"data": {"path": "orthodont_long.csv"}, "formula": formula,
                                   "factors": ["agef"], "reference_levels": {"Sex": "Male"},
                                   "repeated": {"structure": structure, "subject": "Subject", "index": "age",
                                                "group": "Sex"}, **extra})
    return run(spec, Dataset(pd.read_csv(REF / "orthodont_long.csv"), name="orthodont"), figures=False)


@pytest.mark.parametrize("structure", ["CS", "DIAG", "UN"])
def test_group_structure_matches_nlme(structure):
    ref = R[structure.lower()]
    res = fit(structure)
    assert res.data["method"] == "REML" and res.data["converged"]
    assert -2 * res.data["loglik"] == pytest.approx(ref["minus2_reml_loglik"], abs=1e-5)
    assert res.data["deviance"] == pytest.approx(ref["minus2_reml_loglik"], abs=1e-5)
    fe = res.data["fixed_effects"]
    assert [r["term"] for r in fe] == ["(Intercept)", "agef10", "agef12", "agef14", "SexFemale"]
    assert [r["estimate"] for r in fe] == pytest.approx(ref["estimate"], rel=5e-5)
    assert [r["std_error"] for r in fe] == pytest.approx(ref["std_error"], rel=5e-5)
    groups = {g["level"]: np.array(g["marginal_covariance"]) for g in res.data["repeated"]["groups"]}
    assert list(groups) == ["Female", "Male"]
    if structure == "CS":  # SAS's "Variance" (diagonal) and "CS" (every off-diagonal) per group
        for level, V in groups.items():
            want = ref["covariance"][level]
            assert np.diag(V) == pytest.approx([want["variance"]] * 4, rel=1e-4)
            assert V[np.triu_indices(4, 1)] == pytest.approx([want["covariance"]] * 6, rel=1e-4)
    elif structure == "UN":
        for level, V in groups.items():
            assert V == pytest.approx(np.array(ref["covariance"][level]), rel=1e-4)
    else:  # nlme: sigma times an SD ratio per age*sex stratum, the first (8*Female) being 1
        ratio = dict(R["diag"]["sd_ratio"], **{"8*Female": 1.0})
        for level, V in groups.items():
            want = [(R["diag"]["sigma"] * ratio[f"{age}*{level}"]) ** 2 for age in (8, 10, 12, 14)]
            assert np.diag(V) == pytest.approx(want, rel=1e-4)
            assert V[np.triu_indices(4, 1)] == pytest.approx(np.zeros(6), abs=1e-12)


def test_the_sas_documentation_group_model_matches_nlme():
    """SAS/STAT's PROC MIXED "Repeated Measures" example ends with ``MODEL y = Gender Age Gender*Age;
    REPEATED / TYPE=CS SUBJECT=Person GROUP=Gender;`` by ML on these data (Pothoff and Roy = Orthodont).
    Its printed -2 Log Likelihood could not be read from a stored copy of that page; nlme's value for the
    same model is the reference here (the likelihood does not depend on the coding of the fixed effects)."""
    res = fit("CS", formula="distance ~ Sex * age", method="ML")
    assert -2 * res.data["loglik"] == pytest.approx(R["cs_sas_doc_ml"]["minus2_loglik"], abs=1e-5)


def test_group_cs_raises_the_likelihood_of_one_cs():
    """A covariance per sex can only raise the REML likelihood over one CS for both (nested models)."""
    grouped = fit("CS")
    spec = grouped.spec.with_(repeated=replace(grouped.spec.repeated, group=None))
    one = run(spec, Dataset(pd.read_csv(REF / "orthodont_long.csv"), name="orthodont"), figures=False)
    assert grouped.data["loglik"] > one.data["loglik"]
    assert json.loads((REF / "orthodont_cs.json").read_text())["loglik"] == pytest.approx(one.data["loglik"],
                                                                                         abs=1e-3)
