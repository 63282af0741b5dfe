"""The profiled deviance of a linear mixed model, evaluated with a blocked Cholesky factor.

This is the numerical core behind :func:`mixgui.engine.lmm.fit.fit_lmm`. It follows lme4's
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

from mixgui.engine.lmm.dense_cross import DenseCross
from mixgui.engine.lmm.kernels import PairPattern, em_chol, em_mul, em_t, em_tri_inv
from mixgui.errors import ModelError

LOG2PI = np.log(2.0 * np.pi)
# A multiply-add inside a dense BLAS product (dsyrk, dtrsm) costs about this fraction of one pair
# of the sparse pattern (an indexed sparse mat-vec entry); measured on a 2-core x86-64 machine.
DENSE_PER_PAIR = 0.05


class CompBlock:
    """A computational block: all input terms that share one grouping factor, side by side.

    ``(Days || Subject)`` arrives as two terms on Subject; amalgamating them into one block
    with a block-diagonal relative factor keeps Z'Z block diagonal per level (MixedModels.jl
    does the same), instead of turning the second term into a dense L x L matrix.
    """

    def __init__(self, members, blocks, theta_slices, n):
        first = blocks[members[0]]
        self.group = first.group
        self.codes = np.asarray(first.codes, dtype=np.intp)
        self.L = first.n_levels
        cols, entries, off = [], [], 0
        self.members, self.col_slices = list(members), []
        for b in members:
            blk = blocks[b]
            self.col_slices.append(slice(off, off + blk.q))
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


def _cross_sparse(a: CompBlock, b: CompBlock, b_entry_major: bool = False) -> sp.csr_matrix:
    """Sparse Z_a' Z_b (duplicates summed), built without a loop over levels.

    Rows are level-major (level * q_a + column); columns too, or entry-major
    (column * L_b + level) when ``b_entry_major`` (the first term's layout).
    """
    rows, cols, vals = [], [], []
    for i in range(a.q):
        for j in range(b.q):
            rows.append(a.codes * a.q + i)
            cols.append(j * b.L + b.codes if b_entry_major else b.codes * b.q + j)
            vals.append(a.Z[:, i] * b.Z[:, j])
    m = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(a.L * a.q, b.L * b.q))
    return m.tocsr()


def same_theta(a, b) -> bool:
    """True when two theta vectors agree to a few units in the last place.

    A theta mapped to original units and back differs in the last bit; the factorisations then
    agree to rounding, so a kept one is reused.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= 4 * np.finfo(float).eps * np.abs(b)))


def _level_sums(codes, L, w):
    """Sums of the columns of w (n, k) within each level: (k, L)."""
    return np.stack([np.bincount(codes, weights=w[:, j], minlength=L) for j in range(w.shape[1])])


def _combine(views, T) -> None:
    """views[a] <- sum_b T[b, a] views[b] in place (T' applied), for a triangular T.

    Each view is updated from views not yet updated: in increasing order when T is lower
    triangular (view a reads the views after it), in decreasing order when it is upper.
    """
    q = len(views)
    lower = not np.any(np.triu(T, 1))
    tmp = None
    for a in (range(q) if lower else range(q - 1, -1, -1)):
        views[a] *= T[a, a]
        for b in (range(a + 1, q) if lower else range(a)):
            if T[b, a] != 0.0:
                tmp = np.multiply(views[b], T[b, a], out=tmp)
                views[a] += tmp


class Problem:
    """Cross-products of one model, ready for repeated deviance evaluations.

    Parameters
    ----------
    y, X : arrays (n,), (n, p)
    blocks : list of RandomBlock, already in lme4 order
    theta_slices : list of slice, each block's part of theta
    max_dense : int
        Largest dense part (random effects of the non-first terms + p + 1) accepted; a few
        matrices of this order are held at once (6000: about 300 MB each).
    max_pairs : float
        Largest pattern of level-sharing pairs kept for one-mat-vec updates (else dense products).
    """

    def __init__(self, y, X, blocks, theta_slices, max_dense: int = 6000, max_pairs: float = 2e7):
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
        self.yr_zero = not sy > 1e-14 * max(np.sqrt(np.mean(y * y)), 1e-300)
        self.sy = sy if sy > 0 else 1.0
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
        self.mz = mz = int(self.offsets[-1])
        self.m = m = mz + p + 1
        if m > max_dense:
            raise ModelError(
                f"The crossed random effects are too many to fit here: besides {c1.group} they have {mz} "
                "levels in all, which would need a dense matrix too large for memory; drop a crossed term or "
                "use a grouping with fewer levels.")
        q1, L1 = c1.q, c1.L
        D1 = np.zeros((q1, q1, L1))
        for a in range(q1):
            for b in range(a, q1):
                D1[a, b] = D1[b, a] = np.bincount(c1.codes, weights=c1.Z[:, a] * c1.Z[:, b], minlength=L1)
        self.D1 = D1
        self.Bxy = np.stack([_level_sums(c1.codes, L1, W * c1.Z[:, [b]]) for b in range(q1)])  # (q1, p+1, L1)
        self.Bz = sp.vstack([_cross_sparse(c, c1, True) for c in rest]).tocsr() if rest else None
        # Bz M Bz' per evaluation: a fixed sparse pattern of level-sharing pairs (one sparse mat-vec)
        # when the factors meet sparsely, dense BLAS products when they are well crossed (the pairs
        # then fill most of each level's block and the dense product is much faster per entry).
        self.pattern = self.dense = None
        if rest:
            npairs = PairPattern.count_pairs(self.Bz, L1, q1)
            dense_work = 0.5 * float(mz) * mz * q1 * L1
            if npairs <= max_pairs and npairs < DENSE_PER_PAIR * dense_work:
                self.pattern = PairPattern(self.Bz, L1, q1, m)
            else:
                self.dense = DenseCross(self.Bz, L1, q1)
        A22 = np.zeros((m, m))
        for i, ci in enumerate(rest):
            oi, wi = self.offsets[i], ci.L * ci.q
            for j, cj in enumerate(rest[: i + 1]):
                oj, wj = self.offsets[j], cj.L * cj.q
                blk = _cross_sparse(ci, cj).toarray()
                A22[oi:oi + wi, oj:oj + wj] = blk
                A22[oj:oj + wj, oi:oi + wi] = blk.T
            zw = np.empty((wi, p + 1))
            for a in range(ci.q):
                zw[a::ci.q] = _level_sums(ci.codes, ci.L, W * ci.Z[:, [a]]).T
            A22[oi:oi + wi, mz:] = zw
            A22[mz:, oi:oi + wi] = zw.T
        A22[mz:, mz:] = W.T @ W
        self.A22 = A22
        self.nevals = 0
        self._last = None
        self.grad_last = None  # (reml, theta, pieces) of the last gradient (mixgui.engine.lmm.grad)

    # -- starting values ----------------------------------------------------------------------
    def start(self) -> np.ndarray:
        """Moment estimates of the relative standard deviations as the optimiser's start.

        For each random-effect column z of term k, with s_l = sum z r and d_l = sum z^2 over a
        level (r the OLS residuals, already the scaled y), E[s_l^2 / d_l] = d_l tau^2 + sigma^2
        gives tau^2; theta = tau / sigma, clipped to [0.1, 3], off-diagonals 0. Crossed or
        correlated terms make this rough, but it starts the optimiser near the answer more
        often than lme4's theta = 1 does (fewer evaluations on large data).
        """
        c1 = self.comp[0]
        stats = []
        for a in range(c1.q):
            stats.append((c1, a, self.D1[a, a], self.Bxy[a, -1]))
        for k, c in enumerate(self.comp[1:]):
            o, w = self.offsets[k], c.L * c.q
            dg, zy = np.diag(self.A22)[o:o + w], self.A22[o:o + w, -1]
            for a in range(c.q):
                stats.append((c, a, dg[a::c.q], zy[a::c.q]))
        sigma2 = 1.0
        for _ in range(3):
            taus = []
            for _c, _a, d, sz in stats:
                ok = d > 0
                tau2 = (np.sum(sz[ok] ** 2 / d[ok]) - ok.sum() * sigma2) / max(np.sum(d[ok]), 1e-300)
                taus.append(max(tau2, 0.0))
            sigma2 = max(1.0 - sum(taus), 0.2)
        th = np.where(np.isfinite(self.lower), 1.0, 0.0)
        for (c, a, _, _), tau2 in zip(stats, taus):
            sel = (c.t_row == a) & (c.t_col == a)
            th[c.t_idx[sel]] = np.clip(np.sqrt(tau2 / sigma2), 0.1, 3.0)
        return th

    # -- theta maps -------------------------------------------------------------------------
    def to_internal(self, theta):
        return np.asarray(theta, dtype=float) * self.tscale

    def to_original(self, theta_s):
        return np.asarray(theta_s, dtype=float) / self.tscale

    # -- the factorisation --------------------------------------------------------------------
    def factor(self, theta_s):
        """Blocked Cholesky factor at internal theta; returns a dict of its pieces.

        Only the lower triangle of the dense part is formed and factored (LAPACK reads no more).
        The last factor is kept: the fit asks for the one at its optimum several times (deviance,
        gradient, solutions, conditional variances). Callers must not modify its arrays.
        """
        theta_s = np.asarray(theta_s, dtype=float)
        if self._last is not None and same_theta(self._last["theta"], theta_s):
            return self._last
        self.nevals += 1
        c1 = self.comp[0]
        q1, mz, p = c1.q, self.mz, self.p
        T1 = c1.T(theta_s)
        if q1 == 1:
            t = T1[0, 0]
            L11 = np.sqrt((t * t) * self.D1 + 1.0)
            Linv = 1.0 / L11
            K = t * Linv  # K_l = L11_l^{-1} T1'
        else:
            A = em_mul(em_mul(T1.T, self.D1), T1)
            A[np.arange(q1), np.arange(q1)] += 1.0
            L11 = em_chol(A)
            Linv = em_tri_inv(L11)
            K = em_mul(Linv, T1.T)
        # Uxy[a] = sum_b K[a, b] Bxy[b]: the [X y] rows of L21, (q1, p+1, L1)
        Uxy = np.stack([sum(K[a, b] * self.Bxy[b] for b in range(q1)) for a in range(q1)])
        C = self.A22.copy()
        C[mz:, mz:] -= sum(u @ u.T for u in Uxy)
        if mz:
            M = em_mul(em_t(K), K)  # T1 (T1' D T1 + I)^{-1} T1' per level
            if self.pattern is not None:
                self.pattern.subtract_from(C, M)
            else:
                self.dense.subtract_from(C, K)
            G = np.stack([sum(M[b, a] * self.Bxy[a] for a in range(q1)) for b in range(q1)])
            C[mz:, :mz] -= (self.Bz @ G.transpose(0, 2, 1).reshape(q1 * c1.L, p + 1)).T
            self._scale_rest(C, theta_s)
            C[np.arange(mz), np.arange(mz)] += 1.0
        R, info = lapack.dpotrf(C, lower=1, clean=0, overwrite_a=1)
        self._last = {"theta": theta_s.copy(), "L11": L11, "Linv": Linv, "K": K, "Uxy": Uxy, "R": R, "info": info}
        return self._last

    def keep(self, grad_entry) -> None:
        """Make a gradient evaluation (``grad_last``'s form) and its factor the kept ones again."""
        self.grad_last = grad_entry
        self._last = grad_entry[2][0] if grad_entry[2] is not None else None

    def forget(self) -> None:
        """Drop the kept factor (a fit keeps its problem; the factor is as large as the dense part)."""
        self._last = self.grad_last = None

    def lambda_rest_rows(self, D, theta_s):
        """Lambda_r' D in place for an array whose first axis runs over the later terms' effects."""
        for k, c in enumerate(self.comp[1:]):
            o, w = self.offsets[k], c.L * c.q
            T = c.T(theta_s)
            if c.q == 1:
                D[o:o + w] *= T[0, 0]
            else:
                blk = D[o:o + w].reshape(c.L, c.q, -1)
                D[o:o + w] = np.matmul(T.T, blk).reshape(D[o:o + w].shape)
        return D

    def _scale_rest(self, C, theta_s, transpose: bool = False):
        """C <- Lambda_r' C Lambda_r (or Lambda_r C Lambda_r' with ``transpose``) on the rows and
        columns of the non-first terms, in place; only C's lower triangle need be current."""
        for k, c in enumerate(self.comp[1:]):
            T = c.T(theta_s).T if transpose else c.T(theta_s)
            o, w = self.offsets[k], c.L * c.q
            if c.q == 1:
                t = T[0, 0]
                C[o:o + w, :] *= t
                C[:, o:o + w] *= t
            else:
                # Only the lower triangle is current; the transforms mix rows (columns) inside each
                # level's q x q diagonal block, so mirror those blocks first.
                lv = o + np.arange(c.L) * c.q
                for a in range(c.q):
                    for b in range(a + 1, c.q):
                        C[lv + a, lv + b] = C[lv + b, lv + a]
                # Row a of every level's block is one strided view, so T' (T) acts on rows (columns)
                # as q^2 / 2 scaled additions of whole views, in place. Batched matmul of q x q
                # matrices was slower, and with threaded BLAS twenty times slower.
                _combine([C[o + a:o + w:c.q, :] for a in range(c.q)], T)
                _combine([C[:, o + a:o + w:c.q] for a in range(c.q)], T)

    def parts(self, f):
        """log|L_theta|^2, log|R_X|^2 and the penalised RSS r^2 from a factor (None if it failed)."""
        if f["info"] != 0:
            return None
        R, mz, p = f["R"], self.mz, self.p
        d = np.diag(R)
        ld1 = 2.0 * sum(np.sum(np.log(f["L11"][a, a])) for a in range(f["L11"].shape[0]))
        ldz = ld1 + 2.0 * np.sum(np.log(d[:mz]))
        ldx = 2.0 * np.sum(np.log(d[mz:mz + p]))
        return ldz, ldx, d[-1] ** 2

    def deviance(self, theta_s, reml: bool) -> float:
        """Profiled deviance (internal units) at internal theta; +inf if the factor fails."""
        return self.deviance_from(self.parts(self.factor(theta_s)), reml)

    def deviance_from(self, parts, reml: bool) -> float:
        """Profiled deviance from (log|L|^2, log|R_X|^2, r^2), as lme4: REML criterion or ML deviance."""
        if parts is None or not parts[2] > 0:
            return np.inf
        ldz, ldx, r2 = parts
        c = self.n - self.p if reml else self.n
        return (ldz + ldx if reml else ldz) + c * (1.0 + LOG2PI + np.log(r2 / c))

    def offset(self, reml: bool) -> float:
        """Deviance(original units) - deviance(internal units): a constant of the data."""
        if reml:
            return 2.0 * (self.n - self.p) * np.log(self.sy) + 2.0 * np.sum(np.log(self.xscale))
        return 2.0 * self.n * np.log(self.sy)

    # -- solutions at the optimum ---------------------------------------------------------------
    def lambda_rest(self, x, theta_s):
        """Lambda_r x for a vector over the non-first terms' random effects (level-major)."""
        out = np.empty_like(x)
        for k, c in enumerate(self.comp[1:]):
            o, w = self.offsets[k], c.L * c.q
            out[o:o + w] = (x[o:o + w].reshape(c.L, c.q) @ c.T(theta_s).T).reshape(-1)
        return out

    def solve(self, f):
        """Conditional modes u (per computational block, (L, q), internal units) and beta (internal)."""
        R, mz, p = f["R"], self.mz, self.p
        q1, L1 = self.comp[0].q, self.comp[0].L
        # R = [[R0, 0], [c', r]] and R'[x; -1] = [0; -r] gives R0'x = c without copying R0.
        rhs = np.zeros(self.m)
        rhs[-1] = -R[-1, -1]
        x_rest = solve_triangular(R, rhs, trans="T", lower=True, check_finite=False)[:-1]
        xz, beta = x_rest[:mz], x_rest[mz:]
        Uxy, K = f["Uxy"], f["K"]
        v = np.stack([Uxy[a, -1] - beta @ Uxy[a, :p] for a in range(q1)])  # (q1, L1)
        if mz:
            # subtract L21z' xz = K Bz' Lambda_r xz, level by level
            w = (self.Bz.T @ self.lambda_rest(xz, f["theta"])).reshape(q1, L1)
            v = v - np.stack([sum(K[a, b] * w[b] for b in range(q1)) for a in range(q1)])
        Linv = f["Linv"]
        u1 = np.stack([sum(Linv[b, a] * v[b] for b in range(a, q1)) for a in range(q1)])  # L11^{-T} v
        us = [u1.T]
        for k, c in enumerate(self.comp[1:]):
            o = self.offsets[k]
            us.append(xz[o:o + c.L * c.q].reshape(c.L, c.q))
        return us, beta

    def _cz_inverse(self, f):
        """C_z^-1 (lower triangle) for the leading mz x mz block C_z = R_z R_z' of the factor.

        When the gradient has already inverted the leading (mz + p) block (REML) or the mz block
        (ML) at this factor, that inverse is reused: with W = R_x' (C^-1)_xz (the X rows of R^-1),
        C_z^-1 = (C^-1)_zz - W'W, a rank-p correction instead of a second inversion.
        """
        mz, p = self.mz, self.p
        Cinv = f.get("Cinv")
        if Cinv is None:
            return lapack.dpotri(f["R"][:mz, :mz], lower=1)[0]
        if Cinv.shape[0] == mz:
            return Cinv
        W = np.tril(f["R"][mz:mz + p, mz:mz + p]).T @ Cinv[mz:mz + p, :mz]
        return Cinv[:mz, :mz] - W.T @ W

    def cond_cov(self, f):
        """Level-diagonal blocks of (Lambda'Z'Z Lambda + I)^{-1}, per computational block (L, q, q).

        This is what lme4's ``condVar`` uses (beta held fixed). With C_z the Schur complement of
        the later terms (factor R_z), the first term's blocks are
        P11^-1 + Linv' K F K' Linv, F_l = Bz_l' (Lambda_r C_z^-1 Lambda_r') Bz_l (the pattern's
        quadratic forms); the later terms' blocks are those of C_z^-1 itself.
        """
        mz, c1 = self.mz, self.comp[0]
        Linv = f["Linv"]
        LinvT = em_t(Linv)
        out0 = em_mul(LinvT, Linv)
        rest = []
        if mz:
            Cz = self._cz_inverse(f)
            Cs = Cz.copy()
            self._scale_rest(Cs, f["theta"], transpose=True)  # Lambda_r C_z^-1 Lambda_r'
            if self.pattern is not None:
                F = self.pattern.quad(Cs)
            else:  # without a pattern: F_l = Bz_l' Cs Bz_l in chunks of levels
                F = np.empty((c1.q, c1.q, c1.L))
                Csym = np.tril(Cs) + np.tril(Cs, -1).T
                Bc = self.Bz.tocsc()
                step = max(1, int(2e7 // max(mz * c1.q, 1)))
                for s0 in range(0, c1.L, step):
                    s1 = min(c1.L, s0 + step)
                    idx = np.concatenate([a * c1.L + np.arange(s0, s1) for a in range(c1.q)])
                    B = Bc[:, idx].toarray()
                    CB = (Csym @ B).reshape(mz, c1.q, s1 - s0)
                    F[:, :, s0:s1] = np.einsum("man,mbn->abn", B.reshape(mz, c1.q, s1 - s0), CB)
            KFK = em_mul(em_mul(f["K"], F), em_t(f["K"]))
            out0 = out0 + em_mul(em_mul(LinvT, KFK), Linv)
            for k, c in enumerate(self.comp[1:]):
                o = self.offsets[k]
                lv = o + np.arange(c.L) * c.q
                blk = np.empty((c.L, c.q, c.q))
                for a in range(c.q):
                    for b in range(a + 1):
                        blk[:, a, b] = blk[:, b, a] = Cz[lv + a, lv + b]
                rest.append(blk)
        return [out0.transpose(2, 0, 1)] + rest
