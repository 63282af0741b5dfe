"""Simulated power against the closed form and R, Monte Carlo limits, seeds, workers, Cancel, bad input.

References: tests/reference/power/power_reference.json, made by power_reference.R (R 4.2.2):
power.t.test(strict = TRUE) for the closed forms, prop.test(correct = FALSE) for the Wilson limits.
"""
import json
from pathlib import Path

import numpy as np
import pytest

from mixgui.engine import power as pw
from mixgui.engine.power import (
    analytic_power,
    design_effect,
    effective_sample_size,
    parse_design,
    simulate_power,
    wilson_interval,
)
from mixgui.errors import Cancelled, Progress, SpecError

REF = json.loads((Path(__file__).resolve().parents[2] / "reference" / "power" / "power_reference.json").read_text())


def test_closed_form_power_matches_r():
    base = dict(design="cluster_randomized", clusters=20, per_cluster=10, icc=0.05, effect=0.5)
    # R's value to its printed 15 digits; scipy's noncentral t agrees to ~1e-9
    assert analytic_power(parse_design(base)) == pytest.approx(REF["cluster_randomized_J20_m10_icc05_d05"], abs=1e-8)
    one = parse_design({**base, "alternative": "one.sided"})
    assert analytic_power(one) == pytest.approx(REF["cluster_randomized_J20_m10_icc05_d05_one_sided"], abs=1e-8)
    within = parse_design(dict(design="within_cluster", clusters=10, per_cluster=10, icc=0.05, effect=0.4))
    assert analytic_power(within) == pytest.approx(REF["within_J10_m10_icc05_d04"], abs=1e-8)


def test_wilson_limits_match_r():
    assert wilson_interval(774, 1000) == pytest.approx(tuple(REF["wilson_774_1000"]), abs=1e-12)
    assert wilson_interval(0, 50) == pytest.approx(tuple(REF["wilson_0_50"]), abs=1e-12)


def test_design_effect_and_effective_sample_size():
    assert design_effect(10, 0.05) == pytest.approx(1.45)
    assert effective_sample_size(20, 10, 0.05) == pytest.approx(200 / 1.45)


# Designs where the variance estimate almost never hits zero (P(MSB < MSW) < 1e-4), so the mixed
# model's test is the exact t test and its power is the noncentral t's.
BALANCED = [
    dict(design="cluster_randomized", clusters=16, per_cluster=20, icc=0.15, effect=0.6),
    dict(design="cluster_randomized", clusters=12, per_cluster=10, icc=0.3, effect=0.8, alternative="one.sided"),
    dict(design="within_cluster", clusters=8, per_cluster=10, icc=0.5, effect=0.35),
    dict(design="cluster_randomized", clusters=16, per_cluster=20, icc=0.15, effect=0.0),  # type I error
]


@pytest.mark.parametrize("case", BALANCED, ids=lambda c: f"{c['design']}-{c['effect']}")
def test_simulated_power_agrees_with_closed_form(case):
    """|simulated - closed form| < 3.5 binomial SEs, sqrt(p (1 - p) / n) at the closed form's p (n = 4000).

    3.5 SEs: a correct simulation lands outside with probability 5e-4; the seed is fixed, so the test
    is deterministic, and a wrong df or SE (e.g. df = N - 2 instead of J - 2) moves power by far more.
    """
    x = parse_design({**case, "simulations": 4000, "seed": 11})
    r = simulate_power(x)
    p = analytic_power(x)
    se = np.sqrt(p * (1 - p) / r.simulations)
    assert abs(r.power - p) < 3.5 * se
    assert r.power_lower < r.power < r.power_upper
    assert r.failed_fits == 0


def test_seed_reproduces_and_changes():
    x = parse_design(dict(design="cluster_randomized", clusters=10, per_cluster=5, icc=0.05, simulations=300, seed=4))
    a, b = simulate_power(x), simulate_power(x)
    assert (a.rejections, a.singular_fits) == (b.rejections, b.singular_fits)
    c = simulate_power(x.with_size(clusters=10).__class__(**{**x.__dict__, "seed": 5}))
    assert c.rejections != a.rejections or c.singular_fits != a.singular_fits


@pytest.mark.slow
def test_same_answer_whatever_the_number_of_workers(monkeypatch):
    """Chunks carry their own seeds: one process or two worker processes give identical replicates."""
    monkeypatch.setattr(pw.simulate, "CHUNK", 3)  # several chunks from a few (slow, full-fit) replicates
    x = parse_design(dict(design="longitudinal", clusters=8, visits=3, icc=0.4, effect=0.8, dropout=0.2,
                          simulations=10, seed=3))
    sc = pw.build_scenario(x)
    test = pw.replicates.TestSettings()
    with pw.Runner(1) as one, pw.Runner(2) as two:
        a = one.run(sc, test, 3, (0,), 6)
        b = two.run(sc, test, 3, (0,), 6)
    np.testing.assert_array_equal(a["estimate"], b["estimate"])
    np.testing.assert_array_equal(a["reject"], b["reject"])
    assert np.isfinite(a["estimate"]).all()


def test_cancel_stops_the_run():
    calls = []

    def cb(fraction, message):
        calls.append(fraction)
        if len(calls) == 2:
            prog.cancel()
    prog = Progress(cb)
    x = parse_design(dict(design="cluster_randomized", clusters=10, per_cluster=5, simulations=5000, seed=1))
    with pytest.raises(Cancelled):
        simulate_power(x, prog)
    assert len(calls) == 2  # stopped at the next chunk, not after all 100


def test_speed_1000_replicates_20_by_10():
    x = parse_design(dict(design="cluster_randomized", clusters=20, per_cluster=10, icc=0.05, effect=0.5,
                          simulations=1000, seed=1))
    r = simulate_power(x)
    assert r.seconds < 30.0  # the acceptance limit on the 2-core machine (about 0.3 s here)
    assert r.simulations == 1000


@pytest.mark.parametrize("raw, words", [
    (dict(icc=1.0), "ICC must be at least 0 and below 1"),
    (dict(icc=-0.1), "ICC must be at least 0 and below 1"),
    (dict(clusters=3), "fewer than 2 clusters per arm"),
    (dict(per_cluster=0), "at least one member"),
    (dict(design="within_cluster", per_cluster=0), "at least one member"),
    (dict(effect=-0.3, alternative="one.sided"), "one-sided test looks for an effect above 0"),
    (dict(simulations=200_000), "more than the 100,000 allowed"),
    (dict(iccc=0.1), 'did you mean "icc"'),
    (dict(design="cluster_randomised"), 'did you mean "cluster_randomized"'),
    (dict(design="longitudinal", visits=1), "at least 2 visits"),
    (dict(design="longitudinal", visits=4, dropout=1.2), "dropout"),
])
def test_bad_input_is_refused_in_words(raw, words):
    with pytest.raises(SpecError, match=words):
        parse_design(raw)


def test_hopeless_design_warns():
    r = simulate_power(parse_design(dict(design="cluster_randomized", clusters=8, per_cluster=30, icc=0.1,
                                         simulations=100, seed=1)))
    assert [w.kind for w in r.warnings][:1] == ["hopeless_design"]
    r = simulate_power(parse_design(dict(design="cluster_randomized", clusters=12, per_cluster=30, icc=0.1,
                                         simulations=100, seed=1)))
    assert "hopeless_design" not in [w.kind for w in r.warnings]


def test_many_failed_or_singular_fits_warn():
    from mixgui.engine.power.simulate import summarise

    x = parse_design(dict(design="cluster_randomized", clusters=20, per_cluster=10))
    n = 200
    arrays = {"reject": np.zeros(n, bool), "failed": np.arange(n) < 20, "singular": np.arange(n) >= 120,
              "estimate": np.zeros(n), "df": np.full(n, 18.0)}
    r = summarise(x, arrays, seed=1, seconds=0.0)
    kinds = [w.kind for w in r.warnings]
    assert kinds == ["fit_failures", "singular_fits"]
    assert r.fit_failures == 20 + 80 and r.failed_fits == 20 and r.singular_fits == 80
    assert "20 of 200" in r.warnings[0].message
    arrays["failed"][:] = np.arange(n) < 5  # 2.5 %: no warning
    assert "fit_failures" not in [w.kind for w in summarise(x, arrays, 1, 0.0).warnings]
