"""Closed forms: power of balanced two-arm designs (noncentral t), design effect, Monte Carlo limits.

For a balanced design the mixed-model test of the treatment is an exact t test whenever the
variance estimates are inside their range: on the cluster means for a cluster-randomised trial
(df J - 2), on the within-cluster contrasts for a within-cluster design (df J(m - 1) - 1), on the
participants' slopes for a longitudinal study with random slopes and no dropout (df J - 2). Its
power is that of a noncentral t.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from mixgui.engine.power.designs import Design

Z95 = float(stats.norm.ppf(0.975))


def design_effect(per_cluster: float, icc: float) -> float:
    """Kish's design effect ``1 + (m - 1) ICC`` for clusters of ``m`` members."""
    return 1.0 + (per_cluster - 1.0) * icc


def effective_sample_size(clusters: int, per_cluster: float, icc: float) -> float:
    """Independent observations worth the same information: ``J m / (1 + (m - 1) ICC)``."""
    return clusters * per_cluster / design_effect(per_cluster, icc)


def wilson_interval(successes: int, n: int, level: float = 0.95) -> tuple:
    """Wilson score interval of a binomial proportion (good coverage, never outside [0, 1]).

    Returns
    -------
    (lower, upper)
    """
    if n <= 0:
        return (float("nan"), float("nan"))
    z = float(stats.norm.ppf(0.5 + level / 2))
    p = successes / n
    den = 1.0 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, float(mid - half)), min(1.0, float(mid + half)))


def t_power(ncp: float, df: float, alpha: float, alternative: str = "two.sided") -> float:
    """Power of a t test with noncentrality ``ncp`` and ``df`` degrees of freedom."""
    if not df > 0:
        return float("nan")
    if alternative == "one.sided":
        crit = stats.t.ppf(1 - alpha, df)
        p = stats.nct.sf(crit, df, ncp)
        if not np.isfinite(p):  # scipy's noncentral t fails at very large df: it is normal there
            p = stats.norm.sf(crit - ncp)
        return float(p)
    crit = stats.t.ppf(1 - alpha / 2, df)
    p = stats.nct.sf(crit, df, ncp) + stats.nct.cdf(-crit, df, ncp)
    if not np.isfinite(p):
        p = stats.norm.sf(crit - ncp) + stats.norm.cdf(-crit - ncp)
    return float(p)


def test_moments(x: Design) -> tuple | None:
    """(standard error, df) of the treatment estimate for a balanced design, or None without a closed form."""
    tau2, sig2 = x.icc * x.sd ** 2, (1.0 - x.icc) * x.sd ** 2
    J, m = x.clusters, x.per_cluster
    J0, J1 = x.per_arm
    if x.design == "cluster_randomized":
        return np.sqrt((tau2 + sig2 / m) * (1 / J0 + 1 / J1)), J - 2
    if x.design == "within_cluster":
        h = m // 2
        return np.sqrt(sig2 / (J * h * (m - h) / m)), J * (m - 1) - 1
    if x.design == "longitudinal" and not any(p > 0 for p in x.dropout):
        t = np.arange(m, dtype=float)
        sxx = float(((t - t.mean()) ** 2).sum())
        slope2 = (x.slope_sd * x.sd) ** 2
        if slope2 > 0:
            return np.sqrt((slope2 + sig2 / sxx) * (1 / J0 + 1 / J1)), J - 2
        # random intercept only: time and treatment x time are within-participant contrasts
        return np.sqrt(sig2 / sxx * (1 / J0 + 1 / J1)), J * (m - 1) - 2
    return None


def true_effect(x: Design) -> float:
    """The tested coefficient's true value (longitudinal: per visit)."""
    if x.design == "longitudinal":
        return x.effect * x.sd / (x.per_cluster - 1)
    return x.effect * x.sd


def analytic_power(x: Design) -> float | None:
    """Noncentral-t power of a balanced design; None where no closed form exists (dropout, fitted truth).

    Parameters
    ----------
    x : Design

    Returns
    -------
    float or None
    """
    mom = test_moments(x)
    if mom is None:
        return None
    se, df = mom
    return t_power(true_effect(x) / se, df, x.alpha, x.alternative)


def power_limit_many_members(x: Design) -> float | None:
    """Power of a cluster-randomised trial with infinitely large clusters (the ceiling members can reach)."""
    if x.design != "cluster_randomized":
        return None
    if x.icc == 0:
        return 1.0 if x.effect != 0 else x.alpha
    J0, J1 = x.per_arm
    se = np.sqrt(x.icc * x.sd ** 2 * (1 / J0 + 1 / J1))
    return t_power(true_effect(x) / se, x.clusters - 2, x.alpha, x.alternative)


def smallest_clusters_analytic(x: Design, target: float, limit: int = 100_000) -> int | None:
    """Smallest total number of clusters whose closed-form power reaches ``target`` (bisection).

    Two-arm designs grow by one cluster per arm (steps of 2); within-cluster designs by one.
    Returns None when there is no closed form or even ``limit`` clusters fall short.
    """
    if analytic_power(x) is None:
        return None
    step = 1 if x.design == "within_cluster" else 2
    lo, hi = 2, limit // step  # in steps: clusters (within) or clusters per arm

    def power_at(k):
        return analytic_power(x.with_size(clusters=k * step))

    if power_at(hi) < target:
        return None
    if power_at(lo) >= target:
        return lo * step
    while hi - lo > 1:  # power_at(lo) < target <= power_at(hi)
        mid = (lo + hi) // 2
        if power_at(mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi * step
