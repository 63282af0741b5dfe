"""Vectorised kernels for the mixed-model factorisation: stacks of small matrices, and the
fixed sparsity pattern of the first term's contribution to the dense Schur complement.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp


# Stacks of small matrices are stored entry-major, shape (q, r, L): entry (i, j) of every
# level's matrix is one contiguous vector, so each step below is one vectorised operation over
# the L levels and the Python loops run over the q x q entries only (q is 1-4 in practice).
def em_mul(A, B):
    """Product of two stacks (q, r, L) @ (r, s, L); either may be a constant 2-D matrix."""
    q, r = A.shape[:2]
    s = B.shape[1]
    L = A.shape[2] if A.ndim == 3 else B.shape[2]
    out = np.zeros((q, s, L))
    for i in range(q):
        for j in range(s):
            acc = out[i, j]
            for k in range(r):
                a, b = A[i, k], B[k, j]
                if (A.ndim == 2 and a == 0) or (B.ndim == 2 and b == 0):
                    continue
                acc += a * b
    return out


def em_chol(A):
    """Lower Cholesky factors of a stack (q, q, L) of SPD matrices."""
    q = A.shape[0]
    out = np.zeros_like(A)
    for j in range(q):
        d = np.sqrt(A[j, j] - np.sum(out[j, :j] ** 2, axis=0))
        out[j, j] = d
        for i in range(j + 1, q):
            out[i, j] = (A[i, j] - np.sum(out[i, :j] * out[j, :j], axis=0)) / d
    return out


def em_tri_inv(Lo):
    """Inverses of a stack (q, q, L) of lower-triangular matrices."""
    q = Lo.shape[0]
    inv = np.zeros_like(Lo)
    for j in range(q):
        inv[j, j] = 1.0 / Lo[j, j]
        for i in range(j + 1, q):
            inv[i, j] = -np.sum(Lo[i, j:i] * inv[j:i, j], axis=0) / Lo[i, i]
    return inv


def em_t(A):
    """Transpose every matrix of a stack."""
    return A.transpose(1, 0, 2)


class PairPattern:
    """``Bz M Bz'`` (lower triangle) as a fixed sparse linear map of the per-level matrices M_l.

    ``Bz`` holds the later terms' cross-products with the first term, columns entry-major
    (a * L1 + level). Every pair of non-zeros of Bz in the same level contributes
    ``Bz[r1, (a, l)] M_l[a, b] Bz[r2, (b, l)]`` to entry (r1, r2). The pairs never change, so
    they are collected once into a sparse matrix Q with ``lower(Bz M Bz') = Q @ vec(M)``, and a
    deviance evaluation is one sparse mat-vec instead of a sparse matrix product. The transpose
    gives the per-level quadratic forms ``Bz_l' C Bz_l`` for any symmetric C (:meth:`quad`).

    Parameters
    ----------
    Bz : sparse (mz, q1 * L1)
    L1, q1 : levels and columns of the first term
    m : leading dimension of the dense arrays the positions refer to
    """

    def __init__(self, Bz, L1: int, q1: int, m: int):
        self.L1, self.q1, self.m = L1, q1, m
        ncol = q1 * L1
        # Level-major column order makes each level's non-zeros contiguous in CSC.
        lm = np.arange(ncol).reshape(q1, L1).T.reshape(-1)  # level-major position -> entry-major col
        Bc = Bz.tocsc()[:, lm]
        Bc.sort_indices()
        colnnz = np.diff(Bc.indptr)
        cnt = np.add.reduceat(colnnz, np.arange(0, ncol, q1)) if ncol else colnnz
        rows, vals = Bc.indices.astype(np.int64), Bc.data
        a_of = np.repeat(np.tile(np.arange(q1), L1), colnnz)
        self.npairs = int(np.sum(cnt.astype(np.int64) ** 2))
        start = np.cumsum(cnt) - cnt
        sz2 = cnt.astype(np.int64) ** 2
        grp = np.repeat(np.arange(L1), sz2)
        k = np.arange(self.npairs, dtype=np.int64) - np.repeat(np.cumsum(sz2) - sz2, sz2)
        cg = cnt[grp]
        e1 = start[grp] + k // cg
        e2 = start[grp] + k % cg
        keep = rows[e1] >= rows[e2]
        e1, e2, grp = e1[keep], e2[keep], grp[keep]
        pos = rows[e1] * m + rows[e2]
        if m * m <= 5e7:  # a dense marker is much faster than sorting the positions
            mark = np.zeros(m * m, dtype=bool)
            mark[pos] = True
            upos = np.flatnonzero(mark)
            index = np.empty(m * m, dtype=np.int64)
            index[upos] = np.arange(len(upos))
            inv = index[pos]
        else:
            upos, inv = np.unique(pos, return_inverse=True)
        # Q' is assembled directly in CSR (row = entry (a, b) of level l's M, at (a q1 + b) L1 + l):
        # the pairs come level by level, so a stable sort on the small (a, b) code (a radix sort)
        # orders them by row; Q is its transpose, a CSC view. No duplicates occur (one pair of
        # non-zeros per position, level and (a, b)), so no COO conversion (a third of the time).
        ab = (a_of[e1] * q1 + a_of[e2]).astype(np.int16)
        order = np.argsort(ab, kind="stable") if q1 > 1 else slice(None)
        widx = ab[order].astype(np.int64) * L1 + grp[order]
        nrow = q1 * q1 * L1
        indptr = np.zeros(nrow + 1, dtype=np.int64)
        np.cumsum(np.bincount(widx, minlength=nrow), out=indptr[1:])
        self.Qt = sp.csr_matrix(((vals[e1] * vals[e2])[order], inv[order], indptr), shape=(nrow, len(upos)))
        self.Q = self.Qt.T
        self.upos = upos
        self.prow, self.pcol = upos // m, upos % m
        self.half = np.where(self.prow == self.pcol, 0.5, 1.0)  # diagonal pairs are seen twice

    @staticmethod
    def count_pairs(Bz, L1: int, q1: int) -> int:
        """Number of level-sharing pairs of non-zeros (the pattern's size before reduction)."""
        colnnz = np.diff(Bz.tocsc().indptr).reshape(q1, L1).sum(axis=0)
        return int(np.sum(colnnz.astype(np.int64) ** 2))

    def subtract_from(self, C, M):
        """C[lower] -= Bz M Bz' for a stack M (q1, q1, L1); C is m x m and C-contiguous."""
        C.reshape(-1)[self.upos] -= self.Q @ M.reshape(-1)

    def quad(self, Cs):
        """Per-level quadratic forms F_l = Bz_l' Cs Bz_l, (q1, q1, L1), from Cs's lower triangle."""
        F = (self.Qt @ (self.half * Cs[self.prow, self.pcol])).reshape(self.q1, self.q1, self.L1)
        return F + em_t(F)
