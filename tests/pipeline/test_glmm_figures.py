"""The figures of a generalized mixed model, computed in the worker: the predicted probability (or rate)
over time per arm with bands, the caterpillar on the link scale, and no picture that assumes a normal outcome.

Reference: tests/reference/glmm/glmm18.json ``trajectory`` (make_glmm18_refs.R: emmeans 1.8.4-1 on a
glmmTMB fit with df = Inf, versions inside). The curve's ends (week 0 and 11, on both grids) are compared
at 3e-3 relative for the probabilities and 1e-2 for the band: glmmTMB's covariance is the exact inverse
Hessian of the same likelihood, ours within 5e-3 in the standard errors (test_glmm_refs.py), and a limit
moves by z x that error on the link scale; tests/engine/glmm/test_glmm_response.py checks the whole grid
at 1e-3 through the engine function this figure calls.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.pipeline.run import run

REF = Path(__file__).resolve().parents[1] / "reference" / "glmm"
TRAJ = json.loads((REF / "glmm18.json").read_text())["trajectory"]
GAUSSIAN_ONLY = {"shrinkage", "fitted_lines", "pooling", "variance", "within_between", "trajectory"}


@pytest.fixture(scope="module")
def bacteria():
    ref = TRAJ["bacteria"]
    spec = AnalysisSpec(formula=ref["formula"], family="binomial", reference_levels={"trt": "placebo"})
    return run(spec, Dataset(pd.read_csv(REF / "bacteria.csv"), name="bacteria.csv"))


def test_predicted_probability_per_arm_matches_emmeans_at_both_ends(bacteria):
    ref = TRAJ["bacteria"]
    fig = next(f for f in bacteria.figures if f.kind == "response_trajectory")
    assert fig.title == "Predicted probability over week by trt"
    d = fig.data
    assert d["scale"] == "probability" and d["x_label"] == "week" and d["y_label"] == "Predicted probability of y"
    assert list(d["lines"]) == ["placebo", "drug", "drug+"]
    for arm, line in d["lines"].items():
        assert line["x"][0] == 0 and line["x"][-1] == 11
        for pos, week in ((0, 0), (-1, 11)):
            r = next(r for r in ref["glmmTMB"] if r["trt"] == arm and r["week"] == week)
            assert line["estimate"][pos] == pytest.approx(r["prob"], rel=3e-3)
            assert line["lower"][pos] == pytest.approx(r["asymp.LCL"], rel=1e-2)
            assert line["upper"][pos] == pytest.approx(r["asymp.UCL"], rel=1e-2)
        assert np.all((line["lower"] > 0) & (line["upper"] < 1))
    # observed proportions per arm and visit: the share of "y" among the rows of that arm at that week
    frame = pd.read_csv(REF / "bacteria.csv")
    obs = d["observed"]["drug"]
    rows = frame[(frame["trt"] == "drug") & (frame["week"] == 2)]
    k = list(obs["x"]).index(2.0)
    assert obs["value"][k] == pytest.approx((rows["y"] == "y").mean()) and obs["n"][k] == len(rows)
    assert "emmeans(m, ~ trt | week" in fig.note


def test_caterpillar_says_link_scale_and_normal_outcome_pictures_are_left_out(bacteria):
    kinds = {f.kind for f in bacteria.figures}
    assert not kinds & GAUSSIAN_ONLY
    cat = next(f for f in bacteria.figures if f.kind == "caterpillar")
    assert "link scale (log-odds)" in cat.data["x_label"]


def test_count_model_with_offset_draws_rates_without_observed_points():
    spec = AnalysisSpec(formula="y ~ trt * period + lbase + offset(log(base)) + (1 | subject)", family="poisson")
    res = run(spec, Dataset(pd.read_csv(REF / "epil.csv"), name="epil.csv"))
    fig = next(f for f in res.figures if f.kind == "response_trajectory")
    assert fig.data["scale"] == "rate" and fig.data["y_label"] == "Predicted mean count of y at the mean base"
    assert fig.data["observed"] is None  # the data are not at the offset of the mean exposure
    assert "log rate" in next(f for f in res.figures if f.kind == "caterpillar").data["x_label"]
