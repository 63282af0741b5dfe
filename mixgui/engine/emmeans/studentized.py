"""The studentized-range distribution by fixed Gauss-Legendre quadrature, vectorised.

SciPy's ``studentized_range`` integrates adaptively (nested ``quad``) and takes about 0.05-0.1 s
per value; Kenward-Roger and Satterthwaite give every contrast its own df, and Tukey's and the
Dunnett-approximation's p-values and limits need hundreds of values per table. Here the same
double integral (the definition, as R's ``ptukey`` integrates it) is taken with fixed nodes over
all values at once:

    P(Q <= q) = int_0^inf W(q s) g_df(s) ds,   W(w) = k int phi(z) [Phi(z) - Phi(z - w)]^(k-1) dz

with s = sqrt(chi2_df / df) of density g_df. Agreement with SciPy is checked in the tests
(tests/engine/test_emmeans_adjust.py) to 1e-9 absolute.
"""
from __future__ import annotations

import numpy as np
from scipy import special, stats

_Z_NODES, _Z_WEIGHTS = np.polynomial.legendre.leggauss(160)
_S_NODES, _S_WEIGHTS = np.polynomial.legendre.leggauss(120)
_Z_LO, _Z_HI = -8.5, 8.5  # phi(z) below 1e-15 outside
_TAIL = 1e-14  # the range of s covers all but this probability of its distribution


def _range_cdf_normal(w: np.ndarray, k: float) -> np.ndarray:
    """W(w): the range of k standard normal values is at most w (w >= 0), for an array of w."""
    half = 0.5 * (_Z_HI - _Z_LO)
    z = _Z_LO + half * (_Z_NODES + 1.0)                   # (nz,)
    inner = special.ndtr(z)[None, :] - special.ndtr(z[None, :] - w[:, None])
    vals = stats.norm.pdf(z)[None, :] * np.clip(inner, 0.0, 1.0) ** (k - 1)
    return np.clip(k * half * vals @ _Z_WEIGHTS, 0.0, 1.0)


def ptukey(q, k: float, df) -> np.ndarray:
    """P(Q <= q) for the studentized range of ``k`` means with ``df`` degrees of freedom.

    Parameters
    ----------
    q : array-like
        Quantiles (the range divided by the standard error); negative values give 0.
    k : float
        Number of means (any real > 1, as emmeans' Dunnett approximation uses).
    df : array-like
        Degrees of freedom, broadcast against ``q``; ``inf`` for a known variance.
    """
    q, df = np.broadcast_arrays(np.asarray(q, float), np.asarray(df, float))
    out = np.zeros(q.shape)
    flat_q, flat_df, flat_out = q.ravel(), df.ravel(), out.ravel()
    pos = np.flatnonzero(flat_q > 0)
    inf = pos[~np.isfinite(flat_df[pos])]
    if inf.size:
        flat_out[inf] = _range_cdf_normal(flat_q[inf], k)
    for d in np.unique(flat_df[pos][np.isfinite(flat_df[pos])]):
        idx = pos[flat_df[pos] == d]
        # s = sqrt(chi2_d / d) over the range holding all but 1e-14 of its probability
        lo, hi = np.sqrt(stats.chi2.ppf([_TAIL, 1 - _TAIL], d) / d)
        half = 0.5 * (hi - lo)
        s = lo + half * (_S_NODES + 1.0)
        # density of s: 2 d s chi2_pdf(d s^2)
        dens = 2.0 * d * s * stats.chi2.pdf(d * s * s, d)
        w = (flat_q[idx][:, None] * s[None, :]).ravel()
        W = _range_cdf_normal(w, k).reshape(len(idx), len(s))
        flat_out[idx] = np.clip(half * (W * dens[None, :]) @ _S_WEIGHTS, 0.0, 1.0)
    return flat_out.reshape(q.shape)
