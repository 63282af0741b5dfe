"""Data of the explanatory figures: population line = X beta, cluster line = X beta + Z b_j, shares sum to 1."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.pipeline.model_figures import (
    fitted_lines_data,
    model_figures,
    pooling_data,
    variance_data,
    within_between_data,
)
from mixgui.pipeline.run import run

REF = Path(__file__).resolve().parents[1] / "reference"


def _fit(formula, csv="lmm/sleepstudy.csv"):
    res = run(AnalysisSpec(formula=formula), Dataset(pd.read_csv(REF / csv), name="d"))
    return res.design, res.fit


def test_lines_are_the_fixed_part_plus_each_clusters_deviation():
    design, fit = _fit("Reaction ~ Days + (Days | Subject)")
    d = fitted_lines_data(design, fit, "Days")
    beta = np.asarray(fit.beta)
    np.testing.assert_allclose(d["population"]["fit"], beta[0] + beta[1] * d["x"], rtol=1e-12)
    assert d["shown"] == d["total"] == 18
    for label, line in zip(d["clusters"]["labels"], d["clusters"]["lines"]):
        j = design.blocks[0].levels.index(label)
        b = np.asarray(fit.blups[0])[j]
        np.testing.assert_allclose(line, (beta[0] + b[0]) + (beta[1] + b[1]) * d["x"], rtol=1e-12)
    # each cluster's line passes through its conditional fitted values at its own x (to rounding)
    rows = design.blocks[0].codes == 0
    xj = design.frame["Days"].to_numpy()[rows]
    np.testing.assert_allclose(np.interp(xj, d["x"], d["clusters"]["lines"][0]),
                               np.asarray(fit.fitted_conditional)[rows], rtol=1e-9)
    assert np.all(d["population"]["lower"] < d["population"]["fit"])


def test_many_clusters_are_sampled_across_their_spread():
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(400), 4)
    x = np.tile(np.arange(4.0), 400)
    y = 10 + 0.5 * x + rng.normal(0, 2, 400)[g] + rng.normal(0, 1, len(g))
    frame = pd.DataFrame({"y": y, "x": x, "g": g})
    res = run(AnalysisSpec(formula="y ~ x + (1 | g)"), Dataset(frame, name="d"))
    d = fitted_lines_data(res.design, res.fit, "x")
    assert d["shown"] == 30 and d["total"] == 400
    u = np.asarray(res.fit.blups[0])[:, 0]
    shown = [res.design.blocks[0].levels.index(lv) for lv in d["clusters"]["labels"]]
    assert u[shown].min() == u.min() and u[shown].max() == u.max()  # the extremes are in the sample
    titles = [f.title for f in model_figures(res.design, res.fit)]
    assert "Fitted lines: x (showing 30 of 400 g)" in titles


def test_partial_pooling_is_lambda_times_the_clusters_own_deviation():
    design, fit = _fit("Reaction ~ 1 + (1 | Subject)")
    p = pooling_data(design, fit)
    lam = p["lambda"]
    np.testing.assert_allclose(p["partial_pooling"] - p["complete_pooling"],
                               lam * (p["no_pooling"] - p["complete_pooling"]), rtol=1e-6)
    assert np.all((lam > 0) & (lam < 1))


def test_variance_shares_sum_to_one_and_give_the_design_effect():
    design, fit = _fit("Reaction ~ Days + (1 | Subject)")
    v = variance_data(design, fit)
    assert sum(v["share"]) == pytest.approx(1.0, abs=1e-12)
    assert v["parts"] == ["Fixed effects", "Subject", "Residual"]
    tau, sigma2 = float(np.atleast_2d(fit.varcorr[0])[0, 0]), float(fit.sigma) ** 2
    assert v["icc"] == pytest.approx(tau / (tau + sigma2))
    assert v["design_effect"] == pytest.approx(1 + (10 - 1) * v["icc"])


def test_within_and_between_slopes():
    design, fit = _fit("Reaction ~ Days + (1 | Subject)")
    d = within_between_data(design, "Days")
    # every subject is seen on days 0..9: the cluster means of Days do not vary, the within slope is OLS's
    assert np.isnan(d["between_slope"])
    frame = design.frame.assign(y=design.y, g=design.blocks[0].codes)
    dm = frame.groupby("g")[["Days", "y"]].transform("mean")
    dx, dy = frame["Days"] - dm["Days"], frame["y"] - dm["y"]
    assert d["within_slope"] == pytest.approx(float((dx * dy).sum() / (dx * dx).sum()))
