"""Plot data agree with the model they describe."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mixgui.analysis.formula import parse_formula
from mixgui.engine.design import build_design
from mixgui.engine.lmm import fit_lmm
from mixgui.pipeline import plotdata

SLEEP = pd.read_csv(__import__("pathlib").Path(__file__).resolve().parents[1] / "reference" / "cli" / "sleepstudy.csv")


@pytest.fixture(scope="module")
def slope_model():
    d = build_design(parse_formula("Reaction ~ Days + (Days | Subject)"), SLEEP)
    return d, fit_lmm(d.y, d.X, d.blocks, reml=True)


def test_caterpillar_intervals_are_blup_pm_196_sd(slope_model):
    d, fit = slope_model
    c = plotdata.caterpillar(d.blocks[0], fit.blups[0], fit.blup_sd[0], term=1)
    u, s = fit.blups[0][:, 1], fit.blup_sd[0][:, 1]
    assert np.all(np.diff(c["estimate"]) >= 0)  # sorted
    np.testing.assert_allclose(c["lower"], (u - 1.959963984540054 * s)[c["order"]])
    np.testing.assert_allclose(c["upper"], (u + 1.959963984540054 * s)[c["order"]])
    assert c["levels"][0] == d.blocks[0].levels[c["order"][0]]


def test_shrinkage_end_points_are_per_subject_ols_and_blups(slope_model):
    d, fit = slope_model
    s = plotdata.shrinkage(d, fit, 0)
    for j, lev in enumerate(s["levels"]):
        rows = SLEEP[SLEEP.Subject.astype(str) == lev]
        slope, intercept = np.polyfit(rows.Days, rows.Reaction, 1)
        # no pooling: each subject's own least-squares line (exact algebra, so 1e-8)
        np.testing.assert_allclose(s["no_pooling"][j], [intercept, slope], rtol=1e-8)
    np.testing.assert_allclose(s["partial_pooling"], fit.beta + fit.blups[0])
    assert list(s["n"]) == [10] * 18
    # partial pooling pulls the subjects together: less spread than their own lines
    assert np.all(s["partial_pooling"].std(axis=0) < s["no_pooling"].std(axis=0))


def test_qq_line_through_quartiles_and_envelope_contains_line():
    x = stats.t.rvs(5, size=200, random_state=np.random.default_rng(3))
    q = plotdata.qq_data(x)
    intercept, slope = q["line"]
    # R's qqline: the line through the first and third quartiles of sample and normal
    q1, q3 = np.quantile(x, [0.25, 0.75])
    assert intercept + slope * stats.norm.ppf(0.25) == pytest.approx(q1)
    assert intercept + slope * stats.norm.ppf(0.75) == pytest.approx(q3)
    line = intercept + slope * q["theoretical"]
    assert np.all(q["lower"] < line) and np.all(line < q["upper"])
    assert np.all(np.diff(q["sample"]) >= 0)
    # R's ppoints for n = 200: (i - 1/2) / n
    assert q["theoretical"][0] == pytest.approx(stats.norm.ppf(0.5 / 200))


def test_residuals_by_group_and_trajectories():
    codes = np.array([0, 0, 1, 1, 2, 2])
    r = plotdata.residuals_by_group([5.0, 7.0, -1.0, 1.0, 2.0, 2.0], codes, ["a", "b", "c"])
    assert r["levels"] == ["b", "c", "a"] and list(r["medians"]) == [0.0, 2.0, 6.0]
    t = plotdata.observed_trajectories([2, 1, 1, 2, 1, 2], [1, 2, 3, 4, 5, 6], codes, ["a", "b", "c"])
    assert t["levels"] == ["a", "b", "c"] and list(t["x"][0]) == [1, 2] and list(t["y"][0]) == [2, 1]
