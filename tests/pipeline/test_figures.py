"""Figures are computed with the result (in the worker) and drawn with at most 200 groups each.

Fifty thousand groups once froze the window for minutes: the per-group data were built with a
pass over the rows per group, on the GUI thread, and every group was drawn.
"""
import time

import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.pipeline import plotdata, run
from mixgui.pipeline.plotdata import spread
from mixgui.results.figures import MAX_GROUPS_DRAWN


def many_groups(n_groups: int, per: int = 3, seed: int = 5) -> Dataset:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per)
    x = rng.normal(size=g.size)
    y = 1 + 0.5 * x + rng.normal(size=n_groups)[g] + rng.normal(scale=0.7, size=g.size)
    return Dataset(pd.DataFrame({"y": y, "x": x, "g": [f"c{k}" for k in g]}), name="many.csv")


def test_per_group_figures_draw_at_most_200_groups_and_say_so():
    data = many_groups(600)
    result = run(AnalysisSpec(formula="y ~ x + (1 | g)"), data)
    figs = {f.key: f for f in result.figures}
    by_group, cat, shrink, traj = figs["by_group"], figs["caterpillar_0_0"], figs["shrinkage"], figs["trajectories"]
    assert len(by_group.data["levels"]) == len(by_group.data["values"]) == MAX_GROUPS_DRAWN
    assert len(cat.data["levels"]) == len(cat.data["estimate"]) == MAX_GROUPS_DRAWN
    assert len(shrink.data["levels"]) == shrink.data["no_pooling"].shape[0] == MAX_GROUPS_DRAWN
    assert len(traj.data["observed"]["levels"]) == MAX_GROUPS_DRAWN
    for f in (by_group, cat, shrink, traj):
        assert f.note.startswith("Showing 200 of 600 "), f.note
    # the tails are kept: the lowest and the highest BLUP are among those drawn
    blups = result.blups["g"]["(Intercept)"]
    assert cat.data["estimate"][0] == min(blups) and cat.data["estimate"][-1] == max(blups)
    assert figs["residuals"].note == "" and len(figs["residuals"].data["fitted"]) == 1800  # points are not groups


def test_few_groups_are_all_drawn_without_a_note():
    result = run(AnalysisSpec(formula="y ~ x + (1 | g)"), many_groups(30))
    figs = {f.key: f for f in result.figures}
    assert len(figs["by_group"].data["levels"]) == 30 and figs["by_group"].note == ""


def test_spread_keeps_first_and_last():
    assert list(spread(5, 200)) == [0, 1, 2, 3, 4]
    s = spread(50_000)
    assert len(s) == 200 and s[0] == 0 and s[-1] == 49_999 and np.all(np.diff(s) > 0)


def test_residuals_by_group_is_fast_for_50000_groups_and_matches_the_definition():
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 50_000, size=150_000)
    resid = rng.normal(size=codes.size)
    t0 = time.perf_counter()
    d = plotdata.residuals_by_group(resid, codes, [f"s{k}" for k in range(50_000)])
    seconds = time.perf_counter() - t0
    # the pass per group took minutes; one sort takes well under a second (5 s leaves room for a loaded machine)
    assert seconds < 5, seconds
    small = rng.integers(0, 7, size=60)
    r = rng.normal(size=60)
    got = plotdata.residuals_by_group(r, small, list("abcdefg"))
    for lev, vals, med in zip(got["levels"], got["values"], got["medians"]):
        want = r[small == "abcdefg".index(lev)]
        assert sorted(vals) == sorted(want) and med == pytest.approx(np.median(want), abs=1e-15)
    assert list(got["medians"]) == sorted(got["medians"])
    assert len(d["levels"]) == 50_000


def test_scatters_draw_at_most_10000_points_with_every_outlier_and_their_rows():
    from mixgui.results.figures import MAX_POINTS_DRAWN

    rng = np.random.default_rng(3)
    resid = rng.normal(size=40_000)
    resid[[5, 17_000]] = [6.0, -7.0]  # two outliers a random sample would likely miss
    d = plotdata.residual_diagnostics(rng.normal(size=resid.size), resid, 1.0)
    assert MAX_POINTS_DRAWN <= len(d["fitted"]) < MAX_POINTS_DRAWN + 200
    assert {5, 17_000} <= set(d["positions"]) and np.array_equal(d["residuals"], resid[d["positions"]])
    assert d["note"].startswith("Showing") and d["histogram"]["counts"].sum() == 40_000  # the histogram counts all
    assert len(d["qq"]["sample"]) == MAX_POINTS_DRAWN and d["qq"]["note"].startswith("A random sample of 10,000")
