"""The first term's contribution to the dense Schur complement, by dense matrix products (BLAS).

With the first computational block (the grouping factor with most levels) factored level by
level, the rest of the factor is the Schur complement

    C = A22 - Bz M Bz',   M = blockdiag(M_l),  M_l = K_l' K_l,  K_l = L11_l^-1 T1',

where ``Bz`` holds the later terms' cross-products with the first term (one row per random
effect of the later terms, one column per (column, level) of the first term). Two ways to form
``Bz M Bz'`` are used (:class:`mixgui.engine.lmm.blocks.Problem` picks the cheaper):

* a fixed sparse pattern of level-sharing pairs (:class:`~mixgui.engine.lmm.kernels.PairPattern`),
  best when each level of the first factor meets few levels of the others (InstEval: a student
  rates a few lecturers), since its cost is the number of pairs;
* this module: ``G = Bz K'`` (scaled column blocks, the same sparsity as Bz) and one symmetric
  rank-k update ``C -= G G'`` (BLAS ``dsyrk``), best when the factors are well crossed (subjects x
  items in an experiment: a subject sees a large share of the items), where the pairs are nearly
  all of ``mz x mz`` per level and a dense product runs at the machine's full speed. MixedModels.jl
  makes the same choice (dense or block-sparse off-diagonal blocks, ``rankUpdate!``).

``Bz`` is kept sparse (its size is the number of (level, level) pairs that occur); it is made dense
in chunks of first-term levels of bounded size, or once when the whole dense copy is small, so
memory follows the pairs that occur rather than the product of the numbers of levels.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import blas

CHUNK_BYTES = 64 * 2 ** 20  # largest dense piece of Bz (a copy of it is made per evaluation)


class DenseCross:
    """``Bz M Bz'`` and the per-level forms ``W_l' C^-1 W_l`` by dense BLAS products.

    Parameters
    ----------
    Bz : sparse (mz, q1 * L1)
        Later terms' cross-products with the first term, columns entry-major (``a * L1 + level``).
    L1, q1 : levels and columns of the first term
    chunk_bytes : int, optional
        Largest dense piece of Bz held at once (default ``CHUNK_BYTES``).
    """

    def __init__(self, Bz, L1: int, q1: int, chunk_bytes: int | None = None):
        chunk_bytes = CHUNK_BYTES if chunk_bytes is None else chunk_bytes
        self.mz, self.L1, self.q1 = Bz.shape[0], L1, q1
        self.Bc = Bz.tocsc()
        per_level = 8 * self.mz * q1
        step = max(1, min(L1, chunk_bytes // max(per_level, 1)))
        self.bounds = [(s, min(L1, s + step)) for s in range(0, L1, step)]
        self._whole = None
        if len(self.bounds) == 1:  # one chunk: made dense once, not per evaluation
            self._whole = self._dense(0, L1)

    def _dense(self, s0: int, s1: int) -> np.ndarray:
        """Bz's columns for levels s0..s1-1, transposed: a dense (q1, s1 - s0, mz) array.

        Transposed so that each (column, level) of the first term is a contiguous row: scaling
        and the BLAS calls then run on contiguous memory, and its transpose is Fortran-ordered.
        """
        if self._whole is not None:
            return self._whole
        out = np.empty((self.q1, s1 - s0, self.mz))
        for a in range(self.q1):
            out[a] = self.Bc[:, a * self.L1 + s0: a * self.L1 + s1].T.toarray()
        return out

    def _scaled(self, Dt, K, s0, s1) -> np.ndarray:
        """(Bz K')' for a chunk: row (a, l) is sum_b Bz[:, (b, l)] K_l[a, b]; (q1 * n, mz)."""
        q1, n = self.q1, s1 - s0
        Gt = np.empty((q1, n, self.mz))
        for a in range(q1):
            np.multiply(Dt[0], K[a, 0, s0:s1, None], out=Gt[a])
            for b in range(1, q1):
                Gt[a] += Dt[b] * K[a, b, s0:s1, None]
        return Gt.reshape(q1 * n, self.mz)

    def subtract_from(self, C, K) -> None:
        """C[:mz, :mz] (lower triangle) -= Bz K'K Bz' for per-level K (q1, q1, L1)."""
        mz = self.mz
        S = None
        for s0, s1 in self.bounds:
            Gt = self._scaled(self._dense(s0, s1), K, s0, s1)
            # G G' with G = Gt' Fortran-ordered: dsyrk reads it in place.
            if S is None:
                S = blas.dsyrk(1.0, Gt.T, lower=1)
            else:
                S = blas.dsyrk(1.0, Gt.T, beta=1.0, c=S, lower=1, overwrite_c=1)
        C[:mz, :mz] -= S

    def quad(self, R0, rows_transform, extra=None) -> np.ndarray:
        """Per-level forms F_l = W_l' C0^-1 W_l, (q1, q1, L1), with C0 = R0 R0'.

        ``W = [rows_transform(Bz); extra]``: ``rows_transform`` maps the mz rows of a dense piece
        of Bz (e.g. by Lambda_r'), ``extra`` (k, q1, L1) adds k more rows (X'Z1 under REML).
        With Y = R0^-1 W (one triangular solve), F_l = Y_l' Y_l.
        """
        mz, q1 = self.mz, self.q1
        mp = R0.shape[0]
        F = np.empty((q1, q1, self.L1))
        R0 = np.asfortranarray(R0)
        for s0, s1 in self.bounds:
            n = s1 - s0
            Wt = np.zeros((q1, n, mp))  # W' for the chunk: W = Wt' is Fortran-ordered for BLAS
            D = rows_transform(self._dense(s0, s1).reshape(q1 * n, mz).T.copy())
            Wt[:, :, :mz] = D.T.reshape(q1, n, mz)
            if extra is not None:
                Wt[:, :, mz:] = extra[:, :, s0:s1].transpose(1, 2, 0)
            Y = blas.dtrsm(1.0, R0, Wt.reshape(q1 * n, mp).T, lower=1, overwrite_b=1)
            Yt = Y.T.reshape(q1, n, mp)
            for a in range(q1):
                for b in range(a + 1):
                    F[a, b, s0:s1] = F[b, a, s0:s1] = np.einsum("lr,lr->l", Yt[a], Yt[b])
        return F
