"""Multiplicity adjustments of p-values and confidence limits, as R's emmeans 1.8.4 makes them.

Libraries do the arithmetic wherever one does it the way R does: statsmodels' ``multipletests`` for
R's ``p.adjust`` methods (holm, bonferroni, sidak, fdr = Benjamini-Hochberg, hommel), SciPy's
studentized range for Tukey, SciPy's multivariate t and normal distributions for ``mvt``. What is
emmeans' own is written here: the ``dunnettx`` approximation (a weighted mix of the Tukey and Sidak
distributions), which limits go with which p-value method (``confint`` has no Holm, FDR or Hommel
limits and gives Bonferroni's instead), and mvtnorm's integer df.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats
from statsmodels.stats.multitest import multipletests

# emmeans' name -> statsmodels' name, for the methods R's p.adjust computes
P_ADJUST = {"holm": "holm", "bonferroni": "bonferroni", "sidak": "sidak", "fdr": "fdr_bh", "hommel": "hommel"}
# confint() keeps these; any other p.adjust method gets Bonferroni limits (emmeans' .adj.critval)
CI_METHODS = ("none", "tukey", "sidak", "bonferroni", "dunnettx", "mvt")
MVT_SEED = 20260101  # the multivariate integrals are randomised quasi-Monte Carlo: fixed, so reruns agree
_SHRINK = 1e-9


def p_adjust(p, method: str, n: int) -> np.ndarray:
    """R's ``p.adjust(p, method, n)``: NaN stays NaN and counts towards ``n`` as in emmeans.

    Computed by statsmodels' ``multipletests`` on the finite p-values padded with ones up to
    ``n``: padding with 1 is what R's Hommel does, and leaves Holm, Bonferroni, Sidak and
    Benjamini-Hochberg exactly as R's formulas with ``n`` larger than the number of p-values.
    """
    p = np.asarray(p, float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    pv = np.minimum(p[ok], 1.0)
    if pv.size == 0:
        return out
    padded = np.concatenate([pv, np.ones(max(0, n - pv.size))])
    out[ok] = np.minimum(multipletests(padded, method=P_ADJUST[method])[1][:pv.size], 1.0)
    return out


# -- Tukey -----------------------------------------------------------------------------------
def tukey_critical(level: float, n_means: float, df: float) -> float:
    """qtukey(level, n_means, df) / sqrt(2): the half-width multiplier of Tukey's limits.

    Solved on SciPy's studentized-range distribution within a tight bracket below Sidak's limit
    over the k(k-1)/2 pairs, which takes a third of the integrals of SciPy's generic quantile
    search (which falls back in when the bracket misses).
    """
    pairs = max(1.0, n_means * (n_means - 1) / 2)
    t_q = stats.norm.ppf if not np.isfinite(df) else (lambda q: stats.t.ppf(q, df))
    # Sidak's limits over the pairs are a little wider than Tukey's (positive dependence)
    sidak = float(t_q(1 - (1 - level ** (1 / pairs)) / 2))
    lo, hi = max(float(t_q(1 - (1 - level) / 2)), 0.85 * sidak) * 0.999, sidak * 1.001
    cdf = lambda x: stats.studentized_range.cdf(math.sqrt(2.0) * x, n_means, df) - level  # noqa: E731
    try:
        return float(optimize.brentq(cdf, lo, hi, xtol=1e-9, rtol=1e-12))
    except ValueError:  # outside the bracket (a family size below 2): SciPy's own search
        return float(stats.studentized_range.ppf(level, n_means, df) / math.sqrt(2.0))


# -- Dunnett approximation ---------------------------------------------------------------------
def pdunnx(x: float, k: float, df: float) -> float:
    """emmeans' ``.pdunnx``: P(max |T_j| <= x) for k treatment-vs-control contrasts, approximately.

    A mix of the studentized range for the family size whose pairwise count is k (weight
    (k - 1) / k) and Sidak's product of independent t probabilities (weight 1 / k).
    """
    twt = (k - 1) / k
    tukey = stats.studentized_range.cdf(math.sqrt(2.0) * x, (1 + math.sqrt(1 + 8 * k)) / 2, df)
    # F(1, df) is chi-square(1) for infinite df (SciPy's F gives NaN there)
    sidak = (stats.chi2.cdf(x * x, 1) if not np.isfinite(df) else stats.f.cdf(x * x, 1, df)) ** k
    return float(twt * tukey + (1 - twt) * sidak)


def qdunnx(level: float, k: float, df: float) -> float:
    """emmeans' ``.qdunnx``: the x with :func:`pdunnx` (x) = level, between Tukey's and Sidak's."""
    if k < 1.005:
        return float(stats.t.ppf(1 - 0.5 * (1 - level), df))
    xtuk = tukey_critical(level, (1 + math.sqrt(1 + 8 * k)) / 2, df)
    xsid = math.sqrt(stats.chi2.ppf(level ** (1 / k), 1) if not np.isfinite(df) else stats.f.ppf(level ** (1 / k), 1, df))
    if abs(xtuk - xsid) < 5e-4:
        return xtuk
    lo, hi = sorted((xtuk, xsid))
    try:
        return float(optimize.brentq(lambda x: pdunnx(x, k, df) - level, lo, hi, xtol=1e-10))
    except ValueError:  # no sign change (emmeans warns and falls back the same way)
        return xtuk


# -- multivariate t ----------------------------------------------------------------------------
def mvtnorm_df(df: float) -> int:
    """emmeans' ``.fix.df``: mvtnorm takes integer df, 0 meaning the normal distribution."""
    d = float(df)
    if d > 0:
        d = max(1.0, d)
    if not math.isfinite(d) or d > 9999:
        d = 0.0
    return int(math.floor(d + 0.25))


def _box_probability(c: float, corr: np.ndarray, df: int) -> float:
    """P(|T_j| <= c for every j), T multivariate t (df 0: normal) with correlation ``corr``."""
    m = corr.shape[0]
    if m == 1:
        return float(1 - 2 * (stats.norm.sf(c) if df == 0 else stats.t.sf(c, df)))
    # Pairwise and treatment-vs-control families often have a singular correlation, which SciPy's
    # integrators mishandle (pairwise among 4 means: 0.33 instead of Tukey's 0.13). Shrinking it
    # towards the identity by 1e-9 makes it positive definite and moves the probability by far less
    # than the integration error (about 1e-3; tests/engine/test_emmeans_adjust.py checks it against Tukey).
    shape = (corr + _SHRINK * np.eye(m)) / (1 + _SHRINK)
    upper, lower = np.full(m, c), np.full(m, -c)
    maxpts = 25000 + 2000 * m  # about mvtnorm's default accuracy (absolute error ~1e-3)
    if df == 0:
        dist = stats.multivariate_normal(cov=shape, maxpts=maxpts, abseps=1e-6, releps=0)
        return float(dist.cdf(upper, lower_limit=lower, rng=np.random.default_rng(MVT_SEED)))
    dist = stats.multivariate_t(shape=shape, df=df)
    return float(dist.cdf(upper, lower_limit=lower, maxpts=maxpts, random_state=np.random.default_rng(MVT_SEED)))


def correlation(cov: np.ndarray) -> np.ndarray:
    """The correlation matrix of a covariance matrix (zero variances give zero correlations)."""
    cov = np.asarray(cov, float)
    sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = cov / np.outer(sd, sd)
    r[~np.isfinite(r)] = 0.0
    np.fill_diagonal(r, 1.0)
    return r


def mvt_pvalues(t, df, corr) -> np.ndarray:
    """emmeans' ``mvt`` p-values: 1 - P(max_j |T_j| <= |t_i|), each with its own (integer) df."""
    t = np.asarray(t, float)
    out = np.full(t.shape, np.nan)
    for i in np.flatnonzero(~np.isnan(t)):
        out[i] = 1.0 - _box_probability(abs(t[i]), corr, mvtnorm_df(df[i]))
    return np.clip(out, 0.0, 1.0)


def mvt_critical(level: float, df: float, corr: np.ndarray) -> float:
    """The c with P(max_j |T_j| <= c) = level (mvtnorm's ``qmvt`` two-sided, as emmeans calls it)."""
    d = mvtnorm_df(df)
    m = corr.shape[0]
    t_q = stats.norm.ppf if d == 0 else (lambda q: stats.t.ppf(q, d))
    lo = float(t_q(1 - (1 - level) / 2))                 # one contrast: never wider than the family's
    hi = float(t_q(1 - (1 - level ** (1 / m)) / 2))      # Sidak: never narrower (Sidak's inequality)
    f = lambda c: _box_probability(c, corr, d) - level  # noqa: E731
    flo, fhi = f(lo), f(hi)
    while fhi < 0:  # integration noise at the Bonferroni end
        hi, fhi = hi * 1.05, f(hi * 1.05)
    if flo >= 0:
        return lo
    # mvtnorm's own quantile is randomised to about 1e-3; 1e-4 here costs a few integrals less
    return float(optimize.brentq(f, lo, hi, xtol=1e-4))


# -- the per-family drivers --------------------------------------------------------------------
def ci_method(method: str, m: int, pairs: bool) -> str:
    """The method emmeans' ``confint`` uses for the limits when the p-values use ``method``."""
    if m <= 1:
        return "none"
    if method == "tukey" and not pairs:
        return "sidak"
    return method if method in CI_METHODS else "bonferroni"


def critical_values(method: str, level: float, df, n_means: int, m: int, corr=None) -> np.ndarray:
    """Half-width multipliers of the limits of one family (of ``m`` contrasts among ``n_means``).

    Parameters
    ----------
    method : str
        A method of :data:`CI_METHODS` (see :func:`ci_method`).
    level : float
    df : array (m,)
        Per contrast; NaN (not estimable) gives NaN.
    n_means : int
        Tukey's family size.
    m : int
        Number of contrasts in the family (estimable or not, as emmeans counts them).
    corr : ndarray (r, r), optional
        Correlation of the estimable contrasts, for ``mvt``.
    """
    df = np.asarray(df, float)
    out = np.full(df.shape, np.nan)
    cache: dict = {}
    ok = np.flatnonzero(~np.isnan(df))
    distinct = np.unique(df[ok])
    if method in ("tukey", "dunnettx") and len(distinct) > _NODES:
        # Satterthwaite / Kenward-Roger give every contrast its own df, and each studentized-range
        # quantile costs a numerical double integral; the quantile is smooth in 1/df, so it is
        # interpolated from _NODES Chebyshev nodes over the family's range (error < 1e-5 even over df 3.5 to infinity).
        fn = (lambda d: tukey_critical(level, n_means, d)) if method == "tukey" else (lambda d: qdunnx(level, m, d))
        out[ok] = _interpolate_in_df(fn, df[ok])
        return out
    for i in ok:
        d = float(df[i])
        key = mvtnorm_df(d) if method == "mvt" else d
        if key not in cache:
            if method == "none":
                cache[key] = stats.t.ppf(1 - (1 - level) / 2, d)
            elif method == "sidak":
                cache[key] = stats.t.ppf(1 - (1 - level ** (1 / m)) / 2, d)
            elif method == "bonferroni":
                cache[key] = stats.t.ppf(1 - (1 - level) / m / 2, d)
            elif method == "tukey":
                cache[key] = tukey_critical(level, n_means, d)
            elif method == "dunnettx":
                cache[key] = qdunnx(level, m, d)
            elif method == "mvt":
                cache[key] = mvt_critical(level, d, corr)
            else:
                raise ValueError(f"no confidence limits for adjustment {method!r}")
        out[i] = cache[key]
    return out


_NODES = 5


def _interpolate_in_df(fn, df: np.ndarray) -> np.ndarray:
    """fn at each df, from a Chebyshev interpolant in 1/df through fn at _NODES nodes."""
    x = 1.0 / df  # df = inf gives 0
    lo, hi = float(x.min()), float(x.max())
    nodes = 0.5 * (lo + hi) + 0.5 * (hi - lo) * np.cos(np.pi * (np.arange(_NODES) + 0.5) / _NODES)
    values = [fn(1.0 / u if u > 0 else np.inf) for u in nodes]
    cheb = np.polynomial.chebyshev.Chebyshev.fit(nodes, values, _NODES - 1, domain=[lo, hi])
    return cheb(x)


def ci_message(method: str, n_means: int, m: int) -> str | None:
    """emmeans' footnote of ``confint``, e.g. ``Conf-level adjustment: bonferroni method for 6 estimates``."""
    if method == "none":
        return None
    if method == "tukey":
        return f"Conf-level adjustment: tukey method for comparing a family of {n_means} estimates"
    return f"Conf-level adjustment: {method} method for {m} estimates"
