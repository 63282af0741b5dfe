"""Kenward-Roger pieces of an lme4-style model, handed out in batches of equal-size clusters.

Clusters (connected components of rows linked by a shared level) of the same size are stacked,
so V, its derivatives and X come as arrays with a leading batch axis and the Kenward-Roger sums
run as batched linear algebra instead of a Python loop over thousands of clusters.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from mixgui.engine.covmodel import ClusterPieces
from mixgui.errors import ModelError

KR_MAX_ROWS = 4000        # a cluster larger than this (crossed factors) would need huge dense matrices
BATCH_BYTES = 64 * 2**20  # memory for one batch's derivative matrices


def kr_batches(blocks, varcorr, sigma2: float, X: np.ndarray, cluster_codes: np.ndarray,
               y: np.ndarray | None = None) -> Iterator[ClusterPieces]:
    """Yield :class:`ClusterPieces` whose arrays have a leading batch axis (clusters of equal size).

    Parameters are pbkrtest's linear parametrisation: per block, the lower-triangle elements of its
    covariance matrix G (column-major), then the residual variance. For G's (a, b) element,
    dV = Z (E_ab + E_ba) Z' within the cluster (E_aa for a variance); for the residual, the identity.
    ``y`` (the responses) is handed out with the pieces when given: the observed information needs it.
    """
    X = np.asarray(X, float)
    cc = np.asarray(cluster_codes)
    sizes = np.bincount(cc)
    if sizes.max() > KR_MAX_ROWS:
        raise ModelError(
            f"Kenward-Roger needs the covariance matrix of {int(sizes.max())} rows at once here (the grouping "
            "factors are crossed, so the rows do not split into independent clusters), which is too large; "
            "use the Satterthwaite method instead.")
    m = sum(b.q * (b.q + 1) // 2 for b in blocks) + 1
    srt = np.argsort(cc, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    for n in np.unique(sizes):
        ids = np.flatnonzero(sizes == n)
        per = max(1, BATCH_BYTES // (8 * m * n * n))
        for s in range(0, len(ids), per):
            chunk = ids[s:s + per]
            rows = srt[starts[chunk][:, None] + np.arange(n)[None, :]]  # (G, n)
            yield _pieces(blocks, varcorr, sigma2, X, rows, y)


def _pieces(blocks, varcorr, sigma2, X, rows, y=None) -> ClusterPieces:
    G_, n = rows.shape
    eye = np.broadcast_to(np.eye(n), (G_, n, n))
    V = sigma2 * eye.copy()
    dV = []
    for blk, G in zip(blocks, varcorr):
        codes = np.asarray(blk.codes)[rows]
        mask = (codes[:, :, None] == codes[:, None, :]).astype(float)
        Z = np.asarray(blk.Z, float).reshape(len(blk.codes), -1)[rows]  # (G, n, q)
        V += mask * np.einsum("gia,ab,gjb->gij", Z, np.atleast_2d(G), Z)
        for b in range(blk.q):
            for a in range(b, blk.q):
                zz = Z[:, :, a, None] * Z[:, None, :, b]
                dV.append(mask * (zz if a == b else zz + np.swapaxes(zz, 1, 2)))
    dV.append(np.array(eye))
    return ClusterPieces(X=X[rows], V=V, dV=np.stack(dV, axis=1),  # dV: (G, m, n, n)
                         y=None if y is None else np.asarray(y, float)[rows])
