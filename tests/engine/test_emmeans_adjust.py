"""The multiplicity adjustments of mixgui.engine.emmeans.adjust against R.

References: tests/reference/emmeans/adjust_refs.json, written by make_adjust_refs.R next to it
(R's p.adjust, emmeans 1.8.4's .pdunnx / .qdunnx, qtukey; versions in the file).

Tolerances: p.adjust results are exact arithmetic on the p-values (1e-12). pdunnx integrates the
studentized range numerically on both sides (R's ptukey, SciPy's studentized_range): 1e-6. qdunnx:
emmeans solves with uniroot(tol = 5e-4), we to 1e-10, so 5e-4. qtukey: R stops at eps 1e-4, 1e-4.
The multivariate t probabilities come from a fixed simulated sample of 2^17 draws (standard error
6e-4 near p = 0.05, like mvtnorm's default error of 1e-3): they are checked against Tukey's exact
answer, which they must
reproduce for all pairwise differences of independent means with equal variances: p-values to
3e-3, the 95 % quantile to 1e-2 (an integration error of 1e-3 in probability moves the quantile by
about 4e-3, the density of max |T| being ~0.25 there).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from mixgui.engine.emmeans.adjust import (
    ci_method,
    critical_values,
    mvt_critical,
    mvt_pvalues,
    mvtnorm_df,
    p_adjust,
    pdunnx,
    qdunnx,
    tukey_critical,
)

REF = json.loads((Path(__file__).resolve().parents[1] / "reference" / "emmeans" / "adjust_refs.json").read_text())


def _nan(xs):
    return np.array([np.nan if x is None else x for x in xs], float)


@pytest.mark.parametrize("ours,r", [("holm", "holm"), ("fdr", "BH"), ("hommel", "hommel"),
                                    ("bonferroni", "bonferroni")])
def test_p_adjust_matches_r_with_a_missing_value_counted(ours, r):
    got = p_adjust(_nan(REF["p"]), ours, len(REF["p"]))
    np.testing.assert_allclose(got, _nan(REF[f"p_adjust_{r}"]), rtol=1e-12, equal_nan=True)


def test_holm_written_out_equals_statsmodels():
    from statsmodels.stats.multitest import multipletests

    from mixgui.engine.emmeans.adjust import holm

    p = np.random.default_rng(3).uniform(0, 0.2, 40) ** 2
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=1e-14)


def test_dunnett_approximation_matches_emmeans():
    d = REF["pdunnx"]
    np.testing.assert_allclose([pdunnx(x, d["k"], d["df"]) for x in d["x"]], d["value"], rtol=1e-6)
    q = REF["qdunnx"]
    dfs = [math.inf if x > 1e300 else x for x in q["df"]]
    np.testing.assert_allclose([qdunnx(q["level"], q["k"], d) for d in dfs], q["value"], atol=5e-4)
    t = REF["qtukey"]
    assert tukey_critical(t["level"], t["n_means"], t["df"]) == pytest.approx(t["value"], abs=1e-4)


def _pairwise_corr(k):
    C = np.array([np.eye(k)[i] - np.eye(k)[j] for i in range(k) for j in range(i + 1, k)])
    V = C @ C.T
    return V / np.sqrt(np.outer(np.diag(V), np.diag(V)))


@pytest.mark.parametrize("k,df", [(3, 12.0), (4, 20.0), (4, math.inf)])
def test_mvt_on_pairwise_differences_reproduces_tukey(k, df):
    """The pairwise correlation is singular (rank k - 1); the integral must still be Tukey's."""
    corr = _pairwise_corr(k)
    t = np.array([1.8, 2.4, 3.0])
    got = mvt_pvalues(np.resize(t, len(corr)), np.full(len(corr), df), corr)[:3]
    want = stats.studentized_range.sf(math.sqrt(2) * t, k, df)
    np.testing.assert_allclose(got, want, atol=3e-3)
    assert mvt_critical(0.95, df, corr) == pytest.approx(tukey_critical(0.95, k, df), abs=1e-2)


def test_limits_follow_emmeans_confint_rules():
    assert ci_method("holm", 6, True) == "bonferroni" and ci_method("fdr", 6, True) == "bonferroni"
    assert ci_method("hommel", 3, False) == "bonferroni"
    assert ci_method("tukey", 3, False) == "sidak"  # Tukey only for all pairwise comparisons
    assert ci_method("tukey", 6, True) == "tukey" and ci_method("mvt", 3, False) == "mvt"
    assert ci_method("bonferroni", 1, False) == "none"  # one contrast is never adjusted
    df = np.array([10.0, np.nan, 30.0])
    b = critical_values("bonferroni", 0.95, df, 4, 3)
    assert b[0] == pytest.approx(stats.t.ppf(1 - 0.05 / 6, 10)) and np.isnan(b[1])
    s = critical_values("sidak", 0.95, df, 4, 3)
    assert s[2] == pytest.approx(stats.t.ppf(1 - (1 - 0.95 ** (1 / 3)) / 2, 30))
    # many distinct df (Satterthwaite): Tukey's quantile is interpolated in 1/df, still exact to 1e-6
    many = np.linspace(5, 80, 11)
    np.testing.assert_allclose(critical_values("tukey", 0.95, many, 4, 6),
                               [tukey_critical(0.95, 4, d) for d in many], atol=1e-6)


def test_mvtnorm_integer_df_as_emmeans():
    assert [mvtnorm_df(d) for d in (0.5, 3.74, 3.76, 12.0, math.inf, 1e5)] == [1, 3, 4, 12, 0, 0]


def test_studentized_range_quadrature_agrees_with_scipy():
    """Our fixed-node integral of the studentized range against SciPy's adaptive one (1e-8 absolute)."""
    from mixgui.engine.emmeans.studentized import ptukey

    q = np.array([0.5, 1.5, 3.0, 4.5, 6.0, 9.0])
    for k in (2, 2.5, 4, 8):
        for df in (2.0, 5.0, 12.3, 200.0, math.inf):
            np.testing.assert_allclose(ptukey(q, k, df), stats.studentized_range.cdf(q, k, df), atol=1e-8,
                                       err_msg=f"k={k} df={df}")
    assert ptukey(-1.0, 4, 10) == 0.0


def test_mvt_on_a_slightly_indefinite_correlation_gives_the_clipped_answer():
    """A Kenward-Roger covariance of a near-degenerate fit can make the contrasts' correlation
    slightly indefinite (seen with weights, UN and a random intercept); the p-values are then those
    of the nearest correlation matrix, not a SciPy error."""
    good = np.array([[1.0, 0.5, 0.5], [0.5, 1.0, 0.5], [0.5, 0.5, 1.0]])
    bad = good.copy()
    bad[0, 1] = bad[1, 0] = 0.5 + 0.6  # eigenvalues of the perturbed matrix: one below zero
    bad[0, 2] = bad[2, 0] = -0.2
    assert np.linalg.eigvalsh(bad).min() < -0.01
    p = mvt_pvalues([2.5, 1.0, -2.0], [20, 20, 20], bad)
    assert np.all((p >= 0) & (p <= 1))
    # clipping the eigenvalues and rescaling to a unit diagonal gives the matrix the sampler uses
    w, v = np.linalg.eigh(bad)
    fixed = (v * np.clip(w, 0, None)) @ v.T
    fixed /= np.sqrt(np.outer(np.diag(fixed), np.diag(fixed)))
    assert np.allclose(p, mvt_pvalues([2.5, 1.0, -2.0], [20, 20, 20], fixed), atol=1e-12)
    # and a positive definite correlation is used as it is
    assert mvt_pvalues([2.5], [20], good[:1, :1]) == pytest.approx(2 * stats.t.sf(2.5, 20), rel=1e-12)
