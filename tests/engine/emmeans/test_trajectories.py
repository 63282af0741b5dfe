"""Trajectories for plots (mixgui.engine.emmeans.trajectories): population lines equal emmeans' means."""
from __future__ import annotations

import numpy as np
import pytest

from .cases import (
    CASES,
    DF_REL,
    REL,
    _cat,
    _close,
    _design,
    _inputs,
)


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
