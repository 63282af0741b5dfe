"""Likelihood-ratio tests of a GLMM's fixed terms in the results (``fixed_effect_tests``), against R's drop1.

References (R 4.2.2, lme4 1.1-31, glmmTMB 1.1.5; versions inside the files):
- tests/reference/glmm/glmm18.json ``drop1`` (make_glmm18_refs.R): cbpp (binomial with trials), epil
  (Poisson, ``lbase * trt``), epil NB2 (glmmTMB's drop1);
- tests/reference/glmm/glmm_drop1.json (make_glmm_drop1_refs.R): epil with ``offset(log(base))``, bacteria
  ``trt * week2`` (only the interaction is tested), an NB2 model with a factor interaction, and
  ``y ~ 0 + trt`` (R refits ``y ~ 1``: a test of equal means on one df fewer).

Tolerance: chi-square 1e-3 absolute. It is 2 (loglik_full - loglik_reduced); each fit is maximised by
a different optimiser on the same Laplace likelihood, ours ending at or above lme4's (checked below
to 1e-4) and within 4e-4 of it on these data (test_glmm_refs.py), so the chi-square can differ by at
most 2 x 4e-4 < 1e-3 (observed: at most 1.3e-4, on cbpp). A wrong df or a wrong reduced model (a main
effect dropped under its interaction, an offset lost in the refit) moves it by far more (0.49 vs 4.25
on bacteria). p-values 1e-3 relative (they follow the chi-square), AIC 2e-3 absolute (-2 loglik_reduced + 2k).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.errors import Cancelled, Progress, SpecError
from mixgui.pipeline.run import run
from mixgui.results.result import FixedEffectTest

REF = Path(__file__).resolve().parents[1] / "reference" / "glmm"
R18 = json.loads((REF / "glmm18.json").read_text())["drop1"]
RD1 = json.loads((REF / "glmm_drop1.json").read_text())
CASES = {"cbpp": R18["cbpp"], "epil": R18["epil"], "epil_nb": R18["epil_nb"], "epil_offset": RD1["epil_offset"],
         "bacteria_interaction": RD1["bacteria_interaction"], "epil_nb_interaction": RD1["epil_nb_interaction"],
         "bacteria_no_intercept": RD1["bacteria_no_intercept"]}
FACTORS = {"cbpp.csv": ("period",)}
REFERENCE = {"bacteria.csv": {"trt": "placebo"}}  # R's factor order (placebo, drug, drug+)


def _spec(ref: dict, **kw) -> AnalysisSpec:
    return AnalysisSpec(formula=ref["formula"], family=ref["family"], trials=ref.get("trials"),
                        factors=FACTORS.get(ref["data"], ()), reference_levels=REFERENCE.get(ref["data"], {}), **kw)


def _run(ref: dict, progress=None):
    return run(_spec(ref), Dataset(pd.read_csv(REF / ref["data"]), name=ref["data"]), progress, figures=False)


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixed_effect_tests_match_drop1(name):
    ref = CASES[name]
    res = _run(ref)
    d = res.data
    assert d["loglik"] >= ref["loglik"] - 1e-4  # ours at or above R's maximum
    rows = d["fixed_effect_tests"]
    assert [r["term"] for r in rows] == list(np.atleast_1d(ref["terms"]))  # R's terms, marginality, order
    assert [r["df"] for r in rows] == list(np.atleast_1d(ref["df"]))
    np.testing.assert_allclose([r["chisq"] for r in rows], np.atleast_1d(ref["statistic"]), atol=1e-3, rtol=0)
    np.testing.assert_allclose([r["p_value"] for r in rows], np.atleast_1d(ref["p_value"]), rtol=1e-3)
    np.testing.assert_allclose([r["aic"] for r in rows], np.atleast_1d(ref["aic"]), atol=2e-3, rtol=0)
    # typed rows, a table in the window and the reports, and the results file's key
    assert all(isinstance(t, FixedEffectTest) for t in res.fixed_effect_tests)
    table = next(t for t in res.tables if t.key == "fixed_effect_tests")
    assert [r["term"] for r in table.rows] == [r["term"] for r in rows]
    assert "drop1" in " ".join(table.footnotes)
    assert json.loads(res.to_json())["fixed_effect_tests"][0]["chisq"] == pytest.approx(rows[0]["chisq"])


def test_progress_moves_per_term_and_cancel_stops_the_refits():
    ref = CASES["epil"]  # three droppable terms
    seen = []
    _run(ref, Progress(lambda f, m: seen.append((f, m))))
    msgs = [m for _, m in seen if m.startswith("Likelihood-ratio test of")]
    assert {m for m in msgs} == {f"Likelihood-ratio test of {t} ({k} of 3)" for k, t in
                                 enumerate(["lage", "V4", "lbase:trt"], 1)}
    fractions = [f for f, m in seen if f is not None and m.startswith("Likelihood-ratio test of")]
    assert fractions == sorted(fractions) and 0.6 <= fractions[0] and fractions[-1] <= 0.7

    def cancel_in_second_refit(f, m):
        if m.startswith("Likelihood-ratio test of V4"):
            progress.cancel()
    progress = Progress(cancel_in_second_refit)
    with pytest.raises(Cancelled):
        _run(ref, progress)


def test_anova_types_on_a_generalized_model_is_refused_by_name():
    ref = CASES["cbpp"]
    with pytest.raises(SpecError, match='"anova_types".*likelihood ratio.*remove "anova_types"'):
        run(_spec(ref, anova_types=(3,)), Dataset(pd.read_csv(REF / ref["data"]), name=ref["data"]))


def test_a_failed_refit_leaves_the_model_results_and_says_so(monkeypatch):
    from mixgui.errors import ModelError
    from mixgui.pipeline import glmm as pipeline_glmm

    def failing(design, fit, progress=None):
        raise ModelError("the reduced model could not be fitted")
    monkeypatch.setattr(pipeline_glmm, "drop1_lrt", failing)
    res = _run(CASES["cbpp"])
    assert res.data["fixed_effects"] and res.data["fixed_effect_tests"] == []
    w = next(w for w in res.warnings if w.kind == "fixed_effect_tests")
    assert "could not be computed" in w.message and w.table == "fixed_effects"
