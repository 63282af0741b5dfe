"""Multiplicity adjustments of p-values and confidence limits, as R's emmeans 1.8.4 makes them.

Libraries do the arithmetic wherever one does it the way R does: statsmodels' ``multipletests`` for
R's ``p.adjust`` methods (holm, bonferroni, sidak, fdr = Benjamini-Hochberg, hommel), SciPy's
multivariate t and normal distributions for ``mvt``. Tukey's studentized range is integrated in
:mod:`mixgui.engine.emmeans.studentized` (SciPy's is the same integral but 100 times slower, too
slow for a table of contrasts with Kenward-Roger df; the tests check the two agree). What is
emmeans' own is written here: the ``dunnettx`` approximation (a weighted mix of the Tukey and Sidak
distributions), which limits go with which p-value method (``confint`` has no Holm, FDR or Hommel
limits and gives Bonferroni's instead), and mvtnorm's integer df.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats
from statsmodels.stats.multitest import multipletests

from mixgui.engine.emmeans.studentized import ptukey

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
    if method == "holm":
        out[ok] = holm(padded)[:pv.size]
    else:
        out[ok] = np.minimum(multipletests(padded, method=P_ADJUST[method])[1][:pv.size], 1.0)
    return out


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down p-values: max over i <= rank of (n - i + 1) p_(i), capped at 1.

    Written out because statsmodels' ``multipletests(method="holm")`` runs ``gc.collect()`` on
    every call, which costs a second or more in a session holding large data; the tests check
    that the two agree.
    """
    n = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((n - np.arange(n)) * p[order]))
    out = np.empty(n)
    out[order] = adj
    return out


# -- Tukey -----------------------------------------------------------------------------------
def tukey_critical(level: float, n_means: float, df: float) -> float:
    """qtukey(level, n_means, df) / sqrt(2): the half-width multiplier of Tukey's limits.

    Solved on the studentized-range distribution (:func:`~mixgui.engine.emmeans.studentized.ptukey`)
    within a tight bracket below Sidak's limit over the k(k-1)/2 pairs; SciPy's quantile search
    takes over when the bracket misses.
    """
    pairs = max(1.0, n_means * (n_means - 1) / 2)
    t_q = stats.norm.ppf if not np.isfinite(df) else (lambda q: stats.t.ppf(q, df))
    # Sidak's limits over the pairs are a little wider than Tukey's (positive dependence)
    sidak = float(t_q(1 - (1 - level ** (1 / pairs)) / 2))
    lo, hi = max(float(t_q(1 - (1 - level) / 2)), 0.85 * sidak) * 0.999, sidak * 1.001
    cdf = lambda x: float(ptukey(math.sqrt(2.0) * x, n_means, df)) - level  # noqa: E731
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
    tukey = float(ptukey(math.sqrt(2.0) * x, (1 + math.sqrt(1 + 8 * k)) / 2, df))
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


class _MaxAbsT:
    """The distribution of max_j |T_j| for one family, from a fixed simulated sample.

    T is multivariate t with correlation ``corr`` and integer df (0: normal), as mvtnorm integrates
    it for emmeans. SciPy's ``multivariate_t.cdf`` needs a fresh randomised integration for every
    probability (about 0.5 s each in 7 dimensions) and integrates singular correlations wrongly
    (pairwise families are always singular: 0.33 instead of Tukey's 0.13 among 4 means); one
    sample of the family's contrasts answers every p-value and the quantile at once. The normal
    part is drawn by SciPy's ``multivariate_normal`` (the correlation shrunk towards the identity by
    1e-9 to make it positive definite, far below the sampling error), then divided by
    sqrt(chi2_df / df). With 2^17 draws the standard error of a probability near 0.05 is 6e-4,
    below mvtnorm's own default error (1e-3); tests/engine/test_emmeans_adjust.py checks the result
    against Tukey's exact answer. The seed is fixed, so a rerun gives the same numbers.
    """

    DRAWS = 2 ** 17

    def __init__(self, corr: np.ndarray):
        m = corr.shape[0]
        shape = (_nearest_correlation(corr) + _SHRINK * np.eye(m)) / (1 + _SHRINK)
        rng = np.random.default_rng(MVT_SEED)
        self._z = np.atleast_2d(stats.multivariate_normal(cov=shape).rvs(self.DRAWS, random_state=rng))
        self._z = np.abs(self._z.reshape(self.DRAWS, m)).max(axis=1)
        self._sorted: dict = {}

    def sample(self, df: int) -> np.ndarray:
        """Sorted max |T| for this df (cached)."""
        if df not in self._sorted:
            if df == 0:
                x = self._z
            else:
                rng = np.random.default_rng(MVT_SEED + df)
                x = self._z / np.sqrt(rng.chisquare(df, self.DRAWS) / df)
            self._sorted[df] = np.sort(x)
        return self._sorted[df]

    def sf(self, c: float, df: int) -> float:
        x = self.sample(df)
        return float(len(x) - np.searchsorted(x, c, side="right")) / len(x)

    def quantile(self, level: float, df: int) -> float:
        return float(np.quantile(self.sample(df), level))


def _nearest_correlation(corr: np.ndarray) -> np.ndarray:
    """``corr`` with negative eigenvalues set to zero and the unit diagonal restored.

    A Kenward-Roger adjusted covariance of a near-degenerate fit (e.g. a random intercept on top of
    an unstructured residual covariance) can be slightly indefinite, and so can the correlation of
    contrasts computed from it; no multivariate t has such a correlation, so the nearest one that is
    a correlation (by eigenvalue clipping) is used. A positive semi-definite input is returned as is.
    """
    sym = (corr + corr.T) / 2
    w, v = np.linalg.eigh(sym)
    if w.min() >= -1e-10 * max(1.0, w.max()):
        return sym
    fixed = (v * np.clip(w, 0, None)) @ v.T
    sd = np.sqrt(np.clip(np.diag(fixed), 1e-300, None))
    return fixed / np.outer(sd, sd)


_FAMILIES: dict = {}


def _family(corr: np.ndarray) -> _MaxAbsT:
    key = np.round(np.asarray(corr, float), 12).tobytes() + bytes(str(corr.shape), "ascii")
    if key not in _FAMILIES:
        if len(_FAMILIES) > 64:
            _FAMILIES.clear()
        _FAMILIES[key] = _MaxAbsT(np.asarray(corr, float))
    return _FAMILIES[key]


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
    """emmeans' ``mvt`` p-values: P(max_j |T_j| > |t_i|), each with its own (integer) df.

    Far in the tail the sample runs out (p below ~1e-4 has few draws beyond |t|); the p-value is
    then never below the contrast's own unadjusted p, which bounds it from below.
    """
    t, df = np.asarray(t, float), np.asarray(df, float)
    out = np.full(t.shape, np.nan)
    fam = _family(corr)
    for i in np.flatnonzero(~np.isnan(t)):
        d = mvtnorm_df(df[i])
        own = 2 * (stats.norm.sf(abs(t[i])) if d == 0 else stats.t.sf(abs(t[i]), d))
        out[i] = max(fam.sf(abs(t[i]), d), own) if corr.shape[0] > 1 else own
    return np.clip(out, 0.0, 1.0)


def mvt_critical(level: float, df: float, corr: np.ndarray) -> float:
    """The c with P(max_j |T_j| <= c) = level (mvtnorm's ``qmvt`` two-sided, as emmeans calls it)."""
    d = mvtnorm_df(df)
    if corr.shape[0] == 1:
        return float(stats.norm.ppf(1 - (1 - level) / 2) if d == 0 else stats.t.ppf(1 - (1 - level) / 2, d))
    return _family(corr).quantile(level, d)


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
