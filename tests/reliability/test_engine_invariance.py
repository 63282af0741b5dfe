"""Invariances of the whole test chain (estimate, SE, t, df, p, the F tests), Satterthwaite and Kenward-Roger.

``test_engine_properties.py`` checks estimates, SEs and Satterthwaite df under shifts and scales
of y. Here every number a clinician reads off the fixed-effects and ANOVA tables is checked, under
both df methods, for transformations that must not change the conclusions:

* permuting the rows: everything identical;
* relabelling the groups (a random bijection to new names): everything identical;
* y -> a + b y: slopes x b, intercept x b + a, SEs x |b|; t x sign(b); df, p and F unchanged;
* a covariate x -> c + d x: its slope / d, its SE / |d|, its t x sign(d); the intercept moves to
  b0 - b1 c / d; every other row, every df, p and the F tests unchanged.

Models: ``y ~ x + f + (1 | g)`` and ``y ~ x + f + (x | g)`` (a random slope, whose covariance
parameters transform with x but describe the same model), on 6-9 groups of 4-7 rows, REML.

Tolerances, and why. The fits are numerical optimisations stopped at a relative change of about
1e-13 in the deviance; the covariance parameters, and what depends on them, agree between two
equivalent problems only to the flatness of the deviance at its optimum (~1e-6 relative in
practice). Estimates, SEs and t: 1e-4 relative (+1e-6 of the outcome's SD absolute, for values
near 0). df: Satterthwaite's come from numerical second derivatives of the deviance and KR's from
the adjusted covariance, both sensitive to the last digits of the covariance parameters: 1e-2
relative. p: 1e-3 relative + 1e-10 absolute (p is a steep function of t and df). F: 1e-3 relative.
These are far below what the results print (3-4 significant digits).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import Phase, assume, given, note, settings
from hypothesis import strategies as st

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.errors import MixGUIError
from mixgui.pipeline.run import run

PROFILE = settings.get_profile("mixgui-reliability")
# each example fits 2-3 models; no shrinking (minutes of refits): a failure shows the first example found
FEW = settings(PROFILE, max_examples=max(6, PROFILE.max_examples // 4),
               phases=(Phase.explicit, Phase.reuse, Phase.generate))

EST_RTOL, EST_ATOL = 1e-4, 1e-6
DF_RTOL = 1e-2
P_RTOL, P_ATOL = 1e-3, 1e-10
F_RTOL = 1e-3


@st.composite
def cases(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n_groups = draw(st.integers(6, 9))
    sizes = rng.integers(4, 8, n_groups)
    g = np.repeat(np.arange(n_groups), sizes)
    n = len(g)
    x = rng.normal(50, 10, n)  # a covariate far from 0, as age is
    f = rng.choice(["lo", "mid", "hi"], n)
    slope = draw(st.booleans())
    u0, u1 = rng.normal(0, 3, n_groups), rng.normal(0, 0.15, n_groups)
    y = 5 + 0.3 * x + pd.Series(f).map({"lo": 0, "mid": 1.0, "hi": 2.0}).to_numpy() + u0[g] + rng.normal(0, 1.5, n)
    if slope:
        y = y + u1[g] * (x - 50)
    frame = pd.DataFrame({"y": y, "x": x, "f": f, "g": np.array([f"G{i}" for i in range(n_groups)])[g]})
    df_method = draw(st.sampled_from(("satterthwaite", "kenward-roger")))
    formula = "y ~ x + f + " + ("(x | g)" if slope else "(1 | g)")
    note(f"seed={seed} groups={list(sizes)} {formula} {df_method}")
    return frame, AnalysisSpec(formula=formula, df_method=df_method, reference_levels={"f": "lo"})


def fit(spec, frame):
    try:
        r = run(spec, Dataset(frame.copy(), "generated"))
    except MixGUIError as e:  # a clear refusal is not what these designs are for
        assume(False)
        raise AssertionError from e
    assume(r.data["converged"] and not r.data["singular"])
    return r


def close(a, b, rtol, atol) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b or abs(a - b) <= atol + rtol * max(abs(a), abs(b))


def assert_same_tests(a, b, sy: float, what: str, est=None, se=None, sign=None, moved=()) -> None:
    """``b``'s tables are ``a``'s, with estimates, SEs and t signs transformed per term as given.

    Terms in ``moved`` (the intercept under a shift: a mean at another place) have their estimate
    and SE checked (when ``se`` gives the SE's factor) but not their t and p, which legitimately change.
    """
    est, se, sign = est or {}, se or {}, sign or {}
    fa = {r["term"]: r for r in a.data["fixed_effects"]}
    fb = {r["term"]: r for r in b.data["fixed_effects"]}
    assert list(fa) == list(fb), what
    for t, ra in fa.items():
        rb = fb[t]
        want_est = est.get(t, lambda v: v)(ra["estimate"])
        atol = EST_ATOL * sy * (1 + abs(want_est) / sy if t in moved else 1)
        assert close(want_est, rb["estimate"], EST_RTOL, atol), (what, t, "estimate", want_est, rb)
        if t in moved and t not in se:
            continue
        assert close(se.get(t, 1.0) * ra["std_error"], rb["std_error"], EST_RTOL, EST_ATOL * sy), (what, t, "SE")
        if t in moved:
            continue
        assert close(sign.get(t, 1.0) * ra["t_value"], rb["t_value"], EST_RTOL, EST_ATOL), (what, t, "t")
        assert close(ra["df"], rb["df"], DF_RTOL, 1e-3), (what, t, "df", ra["df"], rb["df"])
        assert close(ra["p_value"], rb["p_value"], P_RTOL, P_ATOL), (what, t, "p", ra["p_value"], rb["p_value"])
    for ra, rb in zip(a.data["anova"], b.data["anova"], strict=True):
        assert ra["term"] == rb["term"] and ra["num_df"] == rb["num_df"], what
        if ra["term"] in moved:
            continue
        assert close(ra["f_value"], rb["f_value"], F_RTOL, 1e-8), (what, ra, rb)
        assert close(ra["den_df"], rb["den_df"], DF_RTOL, 1e-3), (what, ra, rb)
        assert close(ra["p_value"], rb["p_value"], P_RTOL, P_ATOL), (what, ra, rb)


@FEW
@given(case=cases(), seed=st.integers(0, 2**31 - 1))
def test_row_order_and_group_names_change_no_test(case, seed):
    frame, spec = case
    base = fit(spec, frame)
    sy = float(frame["y"].std())
    rng = np.random.default_rng(seed)
    shuffled = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    assert_same_tests(base, fit(spec, shuffled), sy, "permuted rows")
    names = sorted(frame["g"].unique())
    new = dict(zip(names, [f"{w}{i}" for i, w in zip(rng.permutation(len(names)),
                                                    rng.choice(["zeta ", "Åsa-", "a"], len(names)))]))
    assert_same_tests(base, fit(spec, frame.assign(g=frame["g"].map(new))), sy, "renamed groups")


@FEW
@given(case=cases(), a=st.sampled_from((-250.0, 3.0, 1e4)), b=st.sampled_from((0.01, -2.5, 1000.0)))
def test_a_linear_change_of_units_of_y_changes_no_test(case, a, b):
    frame, spec = case
    base = fit(spec, frame)
    moved = fit(spec, frame.assign(y=a + b * frame["y"]))
    terms = [r["term"] for r in base.data["fixed_effects"]]
    est = {t: (lambda v: b * v) for t in terms}
    est["(Intercept)"] = lambda v: a + b * v
    # the intercept's test is of "mean at x = 0 is 0": a shift of y changes that hypothesis, so only its
    # estimate and SE are compared
    assert_same_tests(base, moved, float(frame["y"].std()) * abs(b), f"y -> {a} + {b} y", est=est,
                      se={t: abs(b) for t in terms}, sign={t: math.copysign(1.0, b) for t in terms},
                      moved=("(Intercept)",))


@FEW
@given(case=cases(), c=st.sampled_from((-50.0, 7.5, 365.25)), d=st.sampled_from((0.1, -1.0, 12.0)))
def test_a_linear_change_of_units_of_a_covariate_changes_no_test(case, c, d):
    """Age in years -> months since 50: the slope of x / d; every test of every other term stays."""
    frame, spec = case
    base = fit(spec, frame)
    moved = fit(spec, frame.assign(x=c + d * frame["x"]))
    b1 = next(r["estimate"] for r in base.data["fixed_effects"] if r["term"] == "x")
    # the intercept becomes the mean at another x (its SE and test legitimately change): value only
    est = {"x": lambda v: v / d, "(Intercept)": lambda v: v - b1 * c / d}
    assert_same_tests(base, moved, float(frame["y"].std()), f"x -> {c} + {d} x", est=est, se={"x": 1 / abs(d)},
                      sign={"x": math.copysign(1.0, d)}, moved=("(Intercept)",))


def test_the_invariance_profile_is_bounded_and_reproducible():
    assert FEW.derandomize and FEW.database is None and 6 <= FEW.max_examples <= 25
