"""The penalised weighted system ``M = Lambda' Z' W Z Lambda + I`` of a GLMM, factored per iteration.

Two layouts, chosen once per model:

* :class:`LevelBlocks` - a single random-effects term (any number of columns, e.g. an intercept
  and a slope): M is block diagonal with one q x q block per level, so every operation is a
  vectorised sum over rows (``bincount``) and a batched small-matrix factorisation. This is the
  common clinical case (patients, clinics) and the one that must be fast on large data.
* :class:`SparseGeneral` - several terms (crossed, nested, ``||``): Z Lambda is a sparse matrix and
  M is factored by a sparse LU (M is symmetric positive definite, so log|M| is the sum of the
  logs of |U_ii|).

Both expose the same small interface: ``set_theta``, ``zl`` (Z Lambda u), ``zlt`` (Lambda' Z' v),
``factor(w)`` returning an object with ``logdet`` and ``solve``, and ``cond_var`` (the diagonal
blocks of Lambda M^-1 Lambda', lme4's ``condVar``).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg import cho_solve, lapack

from mixgui.errors import ModelError


def theta_layout(blocks) -> tuple:
    """Per block: (slice of theta, row indices, column indices) of its lower-triangular factor.

    lme4's order: each block's lower triangle column by column.
    """
    out, start = [], 0
    for b in blocks:
        q = b.q
        rows = np.array([i for j in range(q) for i in range(j, q)], dtype=np.intp)
        cols = np.array([j for j in range(q) for i in range(j, q)], dtype=np.intp)
        out.append((slice(start, start + len(rows)), rows, cols))
        start += len(rows)
    return out, start


def block_factors(theta, layout, blocks) -> list:
    """The q x q lower-triangular relative factors T of every block at ``theta``."""
    Ts = []
    for (sl, r, c), b in zip(layout, blocks):
        T = np.zeros((b.q, b.q))
        T[r, c] = theta[sl]
        Ts.append(T)
    return Ts


class _LevelFactor:
    def __init__(self, A):
        self.A = A
        if A.shape[1] == 1:  # scalar term: the factor is a square root per level
            if np.any(A[:, 0, 0] <= 0):
                raise np.linalg.LinAlgError("not positive definite")
            self.logdet = float(np.sum(np.log(A[:, 0, 0])))
            return
        self.L = np.linalg.cholesky(A)  # (L, q, q)
        self.logdet = 2.0 * float(np.sum(np.log(np.diagonal(self.L, axis1=1, axis2=2))))

    def solve(self, b):
        """Solve M x = b; b of shape (L*q,) or (L*q, k), level-major."""
        Lv, q = self.A.shape[0], self.A.shape[1]
        b = np.asarray(b, float)
        if b.ndim == 1:
            if q == 1:
                return b / self.A[:, 0, 0]
            return np.linalg.solve(self.A, b.reshape(Lv, q, 1)).reshape(-1)
        k = b.shape[1]
        if q == 1:
            return b / self.A[:, 0, 0][:, None]
        return np.linalg.solve(self.A, b.reshape(Lv, q, k)).reshape(Lv * q, k)

    def inv_blocks(self):
        return np.linalg.inv(self.A)


class LevelBlocks:
    """One random-effects term: M block diagonal by level (see the module docstring)."""

    def __init__(self, blocks, n):
        b = blocks[0]
        self.codes = np.asarray(b.codes, dtype=np.intp)
        # terms on the same grouping (``x || g``) side by side, with a block-diagonal T
        self.Z = np.hstack([np.asarray(k.Z, float).reshape(n, -1) for k in blocks])
        self.nl, self.qb = b.n_levels, self.Z.shape[1]
        self.q = self.nl * self.qb
        self.layout, self.ntheta = theta_layout(blocks)
        self.blocks = blocks
        self.T = np.eye(self.qb)
        self.scalar = self.qb == 1

    def set_theta(self, theta):
        Ts = block_factors(theta, self.layout, self.blocks)
        self.T = Ts[0] if len(Ts) == 1 else _block_diag(Ts)

    def zl(self, u):
        """Z Lambda u for u of length L*q (level-major)."""
        bt = u.reshape(self.nl, self.qb) @ self.T.T  # b = T u per level
        if self.scalar:
            return self.Z[:, 0] * bt[self.codes, 0]
        return np.einsum("nq,nq->n", self.Z, bt[self.codes])

    def zlt(self, v):
        """Lambda' Z' v for v of shape (n,) or (n, k)."""
        if v.ndim == 1:
            s = np.stack([np.bincount(self.codes, weights=self.Z[:, a] * v, minlength=self.nl)
                          for a in range(self.qb)], axis=1)  # (L, q)
            return (s @ self.T).reshape(-1)
        k = v.shape[1]
        out = np.empty((self.nl, self.qb, k))
        for j in range(k):
            out[:, :, j] = self.zlt(v[:, j]).reshape(self.nl, self.qb)
        return out.reshape(self.nl * self.qb, k)

    def factor(self, w):
        q = self.qb
        D = np.empty((self.nl, q, q))
        for a in range(q):
            for c in range(a, q):
                D[:, a, c] = D[:, c, a] = np.bincount(self.codes, weights=w * self.Z[:, a] * self.Z[:, c],
                                                      minlength=self.nl)
        A = np.einsum("ba,lbc,cd->lad", self.T, D, self.T) if q > 1 else D * self.T[0, 0] ** 2
        A = A + np.eye(q)
        return _LevelFactor(A)

    def cond_var(self, fac) -> list:
        """Diagonal blocks (L, q, q) of Lambda M^-1 Lambda', split back into the input terms."""
        Ai = fac.inv_blocks()
        full = np.einsum("ab,lbc,dc->lad", self.T, Ai, self.T)
        out, o = [], 0
        for k in self.blocks:
            out.append(full[:, o:o + k.q, o:o + k.q])
            o += k.q
        return out

    def split(self, u) -> list:
        """Per input term, u as (L, q)."""
        uu = u.reshape(self.nl, self.qb)
        out, o = [], 0
        for k in self.blocks:
            out.append(uu[:, o:o + k.q])
            o += k.q
        return out


class _DenseFactor:
    def __init__(self, C):
        R, info = lapack.dpotrf(C, lower=1, clean=1, overwrite_a=1)
        if info != 0:
            raise ModelError("the random-effects system could not be factored; simplify the random part")
        self.R = R
        self.logdet = 2.0 * float(np.sum(np.log(np.diag(R))))

    def solve(self, b):
        return cho_solve((self.R, True), np.asarray(b, float))

    def inverse(self):
        Ci, _ = lapack.dpotri(self.R, lower=1)
        return np.tril(Ci) + np.tril(Ci, -1).T


class _SchurFactor:
    """M = [[A, B'], [B, D]] with A block diagonal by level (the first term): factor A per level
    and the dense Schur complement S = D - B A^-1 B' (the other terms, usually few levels)."""

    def __init__(self, A, B, D):
        self.A = _LevelFactor(A)
        self.q1 = A.shape[0] * A.shape[1]
        self.B = B
        self.Ainv = np.linalg.inv(A) if A.shape[1] > 1 else 1.0 / A
        if D.shape[0]:
            AiBt = self._ainv(B.T.toarray())
            S = D - B @ AiBt
            self.S = _DenseFactor(np.array(S, order="F"))
            self.AiBt = AiBt
            self.logdet = self.A.logdet + self.S.logdet
        else:
            self.S, self.logdet = None, self.A.logdet

    def _ainv(self, b):
        Lv, q = self.Ainv.shape[0], self.Ainv.shape[1]
        if b.ndim == 1:
            return np.einsum("lab,lb->la", self.Ainv, b.reshape(Lv, q)).reshape(-1)
        k = b.shape[1]
        return np.einsum("lab,lbk->lak", self.Ainv, b.reshape(Lv, q, k)).reshape(Lv * q, k)

    def solve(self, b):
        b = np.asarray(b, float)
        b1, b2 = b[:self.q1], b[self.q1:]
        y1 = self._ainv(b1)
        if self.S is None:
            return y1
        x2 = self.S.solve(b2 - self.B @ y1)
        x1 = y1 - self.AiBt @ x2
        return np.concatenate([x1, x2])


class SparseGeneral:
    """Several random-effects terms on different groupings (crossed, nested).

    Each row has exactly K = sum of the terms' q non-zeros in Z Lambda, at fixed columns; so
    Lambda' Z' W Z Lambda is a sum over rows of K(K+1)/2 products scattered to fixed positions
    (``bincount``). The first term (most levels, lme4's order) gives a block-diagonal part that is
    eliminated level by level; the other terms' dense Schur complement is factored by LAPACK
    (MixedModels.jl's blocked scheme).
    """

    def __init__(self, blocks, n):
        self.blocks = blocks
        self.layout, self.ntheta = theta_layout(blocks)
        cols, zs, self.offsets = [], [], []
        off = 0
        for b in blocks:
            codes = np.asarray(b.codes, dtype=np.intp)
            for j in range(b.q):
                cols.append(off + codes * b.q + j)
            zs.append(np.asarray(b.Z, float).reshape(n, -1))
            self.offsets.append(off)
            off += b.n_levels * b.q
        self.q, self.n = off, n
        b0 = blocks[0]
        self.L1, self.k1 = b0.n_levels, b0.q
        self.q1 = self.L1 * self.k1
        self.mz = off - self.q1
        if self.mz > 6000:
            raise ModelError(f"the random effects besides {b0.group} have {self.mz} levels in all, too many for "
                             "memory; drop a crossed term or use a grouping with fewer levels")
        self.cols = np.column_stack(cols)  # (n, K)
        self.codes1 = np.asarray(b0.codes, dtype=np.intp)
        self.zs = zs
        K = self.cols.shape[1]
        k1, mz, q1 = self.k1, self.mz, self.q1
        self.p11 = [(a, c) for a in range(k1) for c in range(a + 1)]
        self.p21 = [(a, c) for a in range(k1, K) for c in range(k1)]
        self.p22 = [(a, c) for a in range(k1, K) for c in range(k1, a + 1)]
        self.r21 = np.concatenate([self.cols[:, a] - q1 for a, c in self.p21]) if self.p21 else np.zeros(0, int)
        self.c21 = np.concatenate([self.cols[:, c] for a, c in self.p21]) if self.p21 else np.zeros(0, int)
        f22 = []
        for a, c in self.p22:
            ra, rc = self.cols[:, a] - q1, self.cols[:, c] - q1
            f22.append(np.maximum(ra, rc) * mz + np.minimum(ra, rc))
        self.f22 = np.concatenate(f22) if f22 else np.zeros(0, int)
        self.vals = None

    def set_theta(self, theta):
        self.Ts = block_factors(theta, self.layout, self.blocks)
        self.vals = np.column_stack([z @ T for z, T in zip(self.zs, self.Ts)])  # (n, K) entries of Z Lambda

    def zl(self, u):
        return np.einsum("nk,nk->n", self.vals, u[self.cols])

    def zlt(self, v):
        if v.ndim == 1:
            return np.bincount(self.cols.ravel(), weights=(self.vals * v[:, None]).ravel(), minlength=self.q)
        return np.column_stack([self.zlt(v[:, j]) for j in range(v.shape[1])])

    def factor(self, w):
        V, k1, mz = self.vals, self.k1, self.mz
        A = np.empty((self.L1, k1, k1))
        for a, c in self.p11:
            A[:, a, c] = A[:, c, a] = np.bincount(self.codes1, weights=w * V[:, a] * V[:, c], minlength=self.L1)
        A[:, np.arange(k1), np.arange(k1)] += 1.0
        if self.p21:
            vals = np.concatenate([w * V[:, a] * V[:, c] for a, c in self.p21])
            B = sp.csr_matrix((vals, (self.r21, self.c21)), shape=(mz, self.q1))
            d = np.concatenate([w * V[:, a] * V[:, c] for a, c in self.p22])
            D = np.bincount(self.f22, weights=d, minlength=mz * mz).reshape(mz, mz)
            D = np.tril(D) + np.tril(D, -1).T
            D[np.arange(mz), np.arange(mz)] += 1.0
        else:
            B, D = sp.csr_matrix((0, self.q1)), np.zeros((0, 0))
        return _SchurFactor(A, B, D)

    def cond_var(self, fac) -> list:
        """Diagonal blocks of Lambda M^-1 Lambda' per term (lme4's condVar)."""
        k1, L1 = self.k1, self.L1
        Ai = fac.Ainv if k1 > 1 else fac.Ainv.reshape(L1, 1, 1)
        blk0 = Ai.copy()
        out = []
        if fac.S is not None:
            Si = fac.S.inverse()
            G = fac.AiBt  # (q1, mz) = A^-1 B'
            H = G @ Si
            for a in range(k1):
                for c in range(k1):
                    blk0[:, a, c] += np.einsum("lm,lm->l", H[a::k1], G[c::k1])
        T0 = self.Ts[0]
        out.append(np.einsum("ab,lbc,dc->lad", T0, blk0, T0))
        if fac.S is not None:
            for b, off, T in zip(self.blocks[1:], self.offsets[1:], self.Ts[1:]):
                o = off - self.q1
                idx = o + np.arange(b.n_levels * b.q)
                sub = Si[np.ix_(idx, idx)]
                blk = np.stack([sub[i * b.q:(i + 1) * b.q, i * b.q:(i + 1) * b.q] for i in range(b.n_levels)])
                out.append(np.einsum("ab,lbc,dc->lad", T, blk, T))
        return out

    def split(self, u) -> list:
        return [u[o:o + b.n_levels * b.q].reshape(b.n_levels, b.q) for b, o in zip(self.blocks, self.offsets)]


def _block_diag(Ts):
    q = sum(T.shape[0] for T in Ts)
    out, o = np.zeros((q, q)), 0
    for T in Ts:
        out[o:o + T.shape[0], o:o + T.shape[0]] = T
        o += T.shape[0]
    return out


def make_system(blocks, n):
    """The layout for these random-effects terms (see the module docstring)."""
    c0 = np.asarray(blocks[0].codes)
    if all(b.n_levels == blocks[0].n_levels and np.array_equal(np.asarray(b.codes), c0) for b in blocks):
        return LevelBlocks(blocks, n)
    return SparseGeneral(blocks, n)
