"""The closed-form fits of balanced designs equal the engine's full fit (fit_lmm + Satterthwaite / KR).

No R reference is needed here: the claim is that the shortcut gives the numbers our own engine gives
(the engine itself is checked against lme4/lmerTest in tests/engine/test_lmm.py and test_inference.py).
Tolerances: estimates 1e-10 absolute (both are the difference of arm means); standard errors 1e-6
relative (the full fit's optimiser stops at a gradient tolerance, ~1e-9 relative in theta); df 1e-5
relative (numerical Richardson derivatives on both sides, ~1e-7 observed).
"""
import numpy as np
import pytest

from mixgui.engine.power import build_scenario, parse_design
from mixgui.engine.power.balanced import balanced_fits
from mixgui.engine.power.replicates import fit_one

CASES = [
    # odd number of clusters (arms of 5 and 4) and a small ICC, so several replicates are singular
    dict(design="cluster_randomized", clusters=9, per_cluster=5, icc=0.03, effect=0.5),
    dict(design="within_cluster", clusters=6, per_cluster=5, icc=0.03, effect=0.4),
    dict(design="within_cluster", clusters=5, per_cluster=8, icc=0.2, effect=0.4),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['design']}-{c['clusters']}x{c['per_cluster']}")
def test_closed_form_equals_full_fit(case):
    sc = build_scenario(parse_design(case))
    Y = sc.simulate(np.random.default_rng(3), 12)
    r = balanced_fits(sc.kind, Y, sc.clusters, sc.per_cluster, sc.n_control, sc.x_within)
    n_singular = 0
    for i in range(len(Y)):
        full = fit_one(sc, Y[i], None, "satterthwaite")
        assert not full["failed"]
        assert r["singular"][i] == full["singular"]
        n_singular += full["singular"]
        assert r["estimate"][i] == pytest.approx(full["estimate"], abs=1e-10)
        assert r["std_error"][i] == pytest.approx(full["std_error"], rel=1e-6)
        assert r["df"][i] == pytest.approx(full["df"], rel=1e-5)
    if case["icc"] < 0.1:
        assert 0 < n_singular < len(Y)  # both the interior and the boundary branch were checked


def test_interior_df_are_the_exact_ones():
    sc = build_scenario(parse_design(dict(design="cluster_randomized", clusters=12, per_cluster=6, icc=0.3)))
    r = balanced_fits(sc.kind, sc.simulate(np.random.default_rng(1), 40), 12, 6, sc.n_control)
    inside = ~r["singular"]
    assert inside.sum() > 30
    assert np.all(r["df"][inside] == 10.0)  # J - 2


def test_kenward_roger_matches_in_the_interior():
    """pbkrtest's KR is exact in balanced designs: the same SE and df J - 2 as the closed form."""
    sc = build_scenario(parse_design(dict(design="cluster_randomized", clusters=8, per_cluster=4, icc=0.4)))
    Y = sc.simulate(np.random.default_rng(5), 4)
    r = balanced_fits(sc.kind, Y, 8, 4, sc.n_control)
    for i in np.flatnonzero(~r["singular"]):
        kr = fit_one(sc, Y[i], None, "kenward-roger")
        assert kr["std_error"] == pytest.approx(r["std_error"][i], rel=1e-5)
        assert kr["df"] == pytest.approx(6.0, rel=1e-4)
