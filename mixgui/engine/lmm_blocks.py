"""The profiled deviance of a linear mixed model, evaluated with a blocked Cholesky factor.

This is the numerical core behind :func:`mixgui.engine.lmm.fit_lmm`. It follows lme4's
formulation (Bates, Maechler, Bolker & Walker 2015, JSS 67(1), section 3): with
``b = Lambda_theta u`` and ``u ~ N(0, sigma^2 I)`` the deviance depends on the factor of

    [ Lambda'Z'Z Lambda + I   Lambda'Z'X   Lambda'Z'y ]
    [ X'Z Lambda              X'X          X'y        ]
    [ y'Z Lambda              y'X          y'y        ]

whose last diagonal entry is the penalised residual sum of squares. The factor is computed in
blocks as MixedModels.jl does: the random-effects term with the most levels comes first and its
part of Z'Z is block diagonal (one q x q block per level), so it is factored with vectorised
small-matrix arithmetic; what remains (the other terms, X and y) is a modest dense matrix.
All cross-products are formed once; a deviance evaluation only rescales and factors them.

Internally the problem is conditioned before fitting: y is replaced by its residual from the
ordinary least-squares fit and scaled to unit spread, the columns of X and Z are scaled to unit
root-mean-square. None of this changes the fitted model; :class:`Problem` maps everything back.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack, solve_triangular

LOG2PI = np.log(2.0 * np.pi)


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


class CompBlock:
    """A computational block: all input terms that share one grouping factor, side by side.

    ``(Days || Subject)`` arrives as two terms on Subject; amalgamating them into one block
    with a block-diagonal relative factor keeps Z'Z block diagonal per level (MixedModels.jl
    does the same), instead of turning the second term into a dense L x L matrix.
    """

    def __init__(self, members, blocks, theta_slices, n):
        first = blocks[members[0]]
        self.codes = np.asarray(first.codes, dtype=np.intp)
        self.L = first.n_levels
        cols, entries, off = [], [], 0
        for b in members:
            blk = blocks[b]
            z = np.asarray(blk.Z, dtype=float).reshape(n, -1)
            cols.append(z)
            t0 = theta_slices[b].start
            k = 0
            for j in range(blk.q):
                for i in range(j, blk.q):
                    entries.append((t0 + k, off + i, off + j))
                    k += 1
            off += blk.q
        z = np.hstack(cols)
        rms = np.sqrt(np.mean(z * z, axis=0))
        self.scale = np.where(rms > 0, rms, 1.0)
        self.Z = z / self.scale
        self.q = off
        ent = np.array(entries, dtype=np.intp)
        self.t_idx, self.t_row, self.t_col = ent[:, 0], ent[:, 1], ent[:, 2]

    def T(self, theta_s: np.ndarray) -> np.ndarray:
        """The q x q lower-triangular relative factor at (internally scaled) theta."""
        t = np.zeros((self.q, self.q))
        t[self.t_row, self.t_col] = theta_s[self.t_idx]
        return t


def _cross_sparse(a: CompBlock, b: CompBlock, row_off: int, shape) -> sp.csr_matrix:
    """Sparse Z_a' Z_b (rows offset by ``row_off``), duplicates summed, built without a level loop."""
    rows, cols, vals = [], [], []
    for i in range(a.q):
        for j in range(b.q):
            rows.append(row_off + a.codes * a.q + i)
            cols.append(b.codes * b.q + j)
            vals.append(a.Z[:, i] * b.Z[:, j])
    m = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=shape)
    return m.tocsr()


def _level_sums(codes, L, w):
    """Column sums of w (n, k) within each level: (L, k)."""
    return np.stack([np.bincount(codes, weights=w[:, j], minlength=L) for j in range(w.shape[1])], axis=1)


class Problem:
    """Cross-products of one model, ready for repeated deviance evaluations.

    Parameters
    ----------
    y, X : arrays (n,), (n, p)
    blocks : list of RandomBlock, already in lme4 order
    theta_slices : list of slice, each block's part of theta
    """

    def __init__(self, y, X, blocks, theta_slices, max_dense: int = 12000):
        n, p = X.shape
        self.n, self.p = n, p
        self.ntheta = theta_slices[-1].stop if theta_slices else 0
        # Condition y: remove the OLS fit (exact shift invariance, no cancellation in r^2) and
        # scale to unit spread; condition X by column root-mean-square.
        if p:
            self.beta0 = np.linalg.lstsq(X, y, rcond=None)[0]
            yr = y - X @ self.beta0
        else:
            self.beta0 = np.zeros(0)
            yr = y.copy()
        sy = np.sqrt(np.mean(yr * yr))
        self.sy = sy if sy > 0 else 1.0
        self.yr_zero = not sy > 0
        self.xscale = np.sqrt(np.mean(X * X, axis=0)) if p else np.zeros(0)
        self.xscale[self.xscale == 0] = 1.0
        W = np.column_stack([X / self.xscale, yr / self.sy])  # [X y], scaled
        # Amalgamate terms on the same grouping factor, then order by number of levels.
        groups: list[list[int]] = []
        for b, blk in enumerate(blocks):
            for g in groups:
                ref = blocks[g[0]]
                if ref.group == blk.group and ref.n_levels == blk.n_levels and np.array_equal(ref.codes, blk.codes):
                    g.append(b)
                    break
            else:
                groups.append([b])
        comp = [CompBlock(g, blocks, theta_slices, n) for g in groups]
        comp.sort(key=lambda c: -c.L)
        self.comp = comp
        # Scale map theta (original) -> theta (internal): T_int = S T, row i scaled by s_i.
        self.tscale = np.ones(self.ntheta)
        for c in comp:
            self.tscale[c.t_idx] = c.scale[c.t_row]
        self.lower = np.full(self.ntheta, -np.inf)
        for c in comp:
            self.lower[c.t_idx[c.t_row == c.t_col]] = 0.0

        c1, rest = comp[0], comp[1:]
        self.offsets = np.cumsum([0] + [c.L * c.q for c in rest])
        self.mz = int(self.offsets[-1])
        self.m = self.mz + p + 1
        if self.m > max_dense:
            from mixgui.errors import ModelError
            raise ModelError(
                f"The random effects are too large to fit in memory here ({self.mz} crossed random effects "
                "besides the largest grouping factor); drop a crossed term or use fewer levels.")
        # First block: its own level blocks (L1, q1, q1).
        q1, L1 = c1.q, c1.L
        D1 = np.zeros((L1, q1, q1))
        for a in range(q1):
            for b in range(a, q1):
                D1[:, a, b] = D1[:, b, a] = np.bincount(c1.codes, weights=c1.Z[:, a] * c1.Z[:, b], minlength=L1)
        self.D1 = D1
        # [X y]' Z1 per level: (p+1, L1, q1)
        Bxy = np.empty((p + 1, L1, q1))
        for b in range(q1):
            Bxy[:, :, b] = _level_sums(c1.codes, L1, W * c1.Z[:, [b]]).T
        self.Bxy = Bxy
        # Other terms' Z' Z1 (sparse, rest rows x L1 q1 columns)
        if rest:
            parts = [_cross_sparse(c, c1, 0, (c.L * c.q, L1 * q1)) for c in rest]
            self.Bz = sp.vstack(parts).tocsr()
        else:
            self.Bz = None
        # Dense lower-right: rest Z'Z, rest Z'[X y], [X y]'[X y]
        A22 = np.zeros((self.m, self.m))
        for i, ci in enumerate(rest):
            oi = self.offsets[i]
            for j, cj in enumerate(rest[: i + 1]):
                oj = self.offsets[j]
                blk = _cross_sparse(ci, cj, 0, (ci.L * ci.q, cj.L * cj.q)).toarray()
                A22[oi:oi + ci.L * ci.q, oj:oj + cj.L * cj.q] = blk
                A22[oj:oj + cj.L * cj.q, oi:oi + ci.L * ci.q] = blk.T
            zw = np.empty((ci.L * ci.q, p + 1))
            for a in range(ci.q):
                zw[a::ci.q] = _level_sums(ci.codes, ci.L, W * ci.Z[:, [a]])
            A22[oi:oi + ci.L * ci.q, self.mz:] = zw
            A22[self.mz:, oi:oi + ci.L * ci.q] = zw.T
        A22[self.mz:, self.mz:] = W.T @ W
        self.A22 = A22
        self.W = W
        self.nevals = 0

    # -- theta maps -------------------------------------------------------------------------
    def to_internal(self, theta):
        return np.asarray(theta, dtype=float) * self.tscale

    def to_original(self, theta_s):
        return np.asarray(theta_s, dtype=float) / self.tscale

    # -- the factorisation --------------------------------------------------------------------
    def factor(self, theta_s):
        """Blocked Cholesky factor at internal theta; returns a dict of its pieces."""
        self.nevals += 1
        c1, rest = self.comp[0], self.comp[1:]
        T1 = c1.T(theta_s)
        q1 = c1.q
        if q1 == 1:
            t = T1[0, 0]
            L11 = np.sqrt(t * t * self.D1 + 1.0)
            Kt = t / L11  # K_l = L11_l^{-1} T1'  (scalars)
            Uxy = self.Bxy * Kt[None, :, :, 0]
        else:
            A = np.matmul(np.matmul(T1.T, self.D1), T1)
            A[:, np.arange(q1), np.arange(q1)] += 1.0
            L11 = batched_chol(A)
            Kt = np.matmul(batched_tri_inv(L11), T1.T)  # (L1, q1, q1)
            Uxy = np.einsum("plb,lab->pla", self.Bxy, Kt)
        Uf = Uxy.reshape(self.p + 1, -1)
        C = self.A22.copy()
        C[self.mz:, self.mz:] -= Uf @ Uf.T
        Uz = None
        if rest:
            if q1 == 1:
                Uz = self.Bz.copy()
                Uz.data = Uz.data * Kt[Uz.indices, 0, 0]
            else:
                Uz = self.Bz @ sp.block_diag(list(np.transpose(Kt, (0, 2, 1))), format="csr")
            mz = self.mz
            C[:mz, :mz] -= (Uz @ Uz.T).toarray()
            zx = Uz @ Uf.T
            C[:mz, mz:] -= zx
            C[mz:, :mz] -= zx.T
            self._scale_rest(C, theta_s)
            C[np.arange(mz), np.arange(mz)] += 1.0
        R, info = lapack.dpotrf(C, lower=1, clean=1, overwrite_a=1)
        return {"theta": theta_s, "T1": T1, "L11": L11, "Kt": Kt, "Uxy": Uxy, "Uz": Uz, "R": R, "info": info}

    def _scale_rest(self, C, theta_s):
        """C <- Lambda_r' C Lambda_r on the rows/columns of the non-first terms (in place)."""
        for k, c in enumerate(self.comp[1:]):
            T = c.T(theta_s)
            o, w = self.offsets[k], c.L * c.q
            if c.q == 1:
                t = T[0, 0]
                C[o:o + w, :] *= t
                C[:, o:o + w] *= t
            else:
                rows = C[o:o + w, :].reshape(c.L, c.q, -1)
                C[o:o + w, :] = np.einsum("ba,lbm->lam", T, rows).reshape(w, -1)
                cols = C[:, o:o + w].reshape(-1, c.L, c.q)
                C[:, o:o + w] = np.einsum("mlb,ba->mla", cols, T).reshape(-1, w)

    def parts(self, f):
        """log|L_theta|^2, log|R_X|^2 and the penalised RSS r^2 from a factor (None if it failed)."""
        if f["info"] != 0:
            return None
        R, mz, p = f["R"], self.mz, self.p
        d = np.diag(R)
        ld1 = 2.0 * np.sum(np.log(np.diagonal(f["L11"], axis1=1, axis2=2)))
        ldz = ld1 + 2.0 * np.sum(np.log(d[:mz]))
        ldx = 2.0 * np.sum(np.log(d[mz:mz + p]))
        return ldz, ldx, d[-1] ** 2

    def deviance(self, theta_s, reml: bool) -> float:
        """Profiled deviance (internal units) at internal theta; +inf if the factor fails."""
        pr = self.parts(self.factor(theta_s))
        if pr is None or not pr[2] > 0:
            return np.inf
        ldz, ldx, r2 = pr
        if reml:
            nmp = self.n - self.p
            return ldz + ldx + nmp * (1.0 + LOG2PI + np.log(r2 / nmp))
        return ldz + self.n * (1.0 + LOG2PI + np.log(r2 / self.n))

    def offset(self, reml: bool) -> float:
        """Deviance(original units) - deviance(internal units): a constant of the data."""
        if reml:
            return 2.0 * (self.n - self.p) * np.log(self.sy) + 2.0 * np.sum(np.log(self.xscale))
        return 2.0 * self.n * np.log(self.sy)

    # -- solutions at the optimum ---------------------------------------------------------------
    def solve(self, f):
        """Conditional modes u (per computational block, internal units) and beta (internal)."""
        R, mz, p = f["R"], self.mz, self.p
        c1 = self.comp[0]
        Rt = R[:-1, :-1]
        x_rest = solve_triangular(Rt, R[-1, :-1], trans="T", lower=True, check_finite=False)
        xz = x_rest[:mz].copy()
        beta = x_rest[mz:]
        # L21' x_rest, with L21 = [Lambda_r' Uz ; Uxy_X]
        v = f["Uxy"][-1].reshape(-1) - f["Uxy"][:p].reshape(p, -1).T @ beta
        if mz:
            lam_x = self._lambda_rest(xz, f["theta"])
            v = v - f["Uz"].T @ lam_x
        v = v.reshape(c1.L, c1.q)
        Linv = batched_tri_inv(f["L11"])
        u1 = np.einsum("lba,lb->la", Linv, v)  # L11^{-T} v per level
        us = [u1]
        for k, c in enumerate(self.comp[1:]):
            o = self.offsets[k]
            us.append(xz[o:o + c.L * c.q].reshape(c.L, c.q))
        return us, beta

    def _lambda_rest(self, x, theta_s):
        """Lambda_r x for a vector over the non-first terms' random effects."""
        out = np.empty_like(x)
        for k, c in enumerate(self.comp[1:]):
            o, w = self.offsets[k], c.L * c.q
            out[o:o + w] = (x[o:o + w].reshape(c.L, c.q) @ c.T(theta_s).T).reshape(-1)
        return out

    def cond_cov(self, f):
        """Level-diagonal blocks of (Lambda'Z'Z Lambda + I)^{-1}, per computational block (L, q, q).

        This is what lme4's ``condVar`` uses (beta held fixed). The non-first terms need the
        inverse of their dense Schur complement; the first term adds that inverse's propagation
        through L21, computed once with one triangular solve.
        """
        mz = self.mz
        Linv = batched_tri_inv(f["L11"])
        P11inv = np.matmul(np.transpose(Linv, (0, 2, 1)), Linv)
        out = [P11inv]
        if mz:
            Rz = f["R"][:mz, :mz]
            Rzinv = solve_triangular(Rz, np.eye(mz), lower=True, check_finite=False)
            c1 = self.comp[0]
            L21 = self._lambda_rest_rows(f["Uz"], f["theta"])  # Lambda_r' Uz (sparse, mz x L1 q1)
            # Y = Rz^{-1} L21 in column chunks, so a large first term never needs mz x L1 q1 dense.
            YY = np.empty((c1.L, c1.q, c1.q))
            step = max(1, int(2e7 // max(mz * c1.q, 1)))
            for s0 in range(0, c1.L, step):
                s1 = min(c1.L, s0 + step)
                Y = Rzinv @ L21[:, s0 * c1.q:s1 * c1.q].toarray()
                Yl = Y.reshape(mz, s1 - s0, c1.q)
                YY[s0:s1] = np.einsum("mla,mlb->lab", Yl, Yl)
            out[0] = P11inv + np.matmul(np.matmul(np.transpose(Linv, (0, 2, 1)), YY), Linv)
            for k, c in enumerate(self.comp[1:]):
                o, w = self.offsets[k], c.L * c.q
                cols = Rzinv[:, o:o + w].reshape(mz, c.L, c.q)
                out.append(np.einsum("mla,mlb->lab", cols, cols))
        return out

    def _lambda_rest_rows(self, Uz, theta_s):
        """Lambda_r' Uz as a sparse matrix (block-diagonal Lambda_r' times Uz)."""
        diag = []
        for c in self.comp[1:]:
            T = c.T(theta_s)
            diag.append(sp.kron(sp.identity(c.L, format="csr"), sp.csr_matrix(T.T), format="csr"))
        return (sp.block_diag(diag, format="csr") @ Uz).tocsc()
