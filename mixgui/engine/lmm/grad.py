"""Analytic gradient of the profiled deviance, for the blocked factor of :mod:`lmm_blocks`.

With Psi = Lambda'Z'Z Lambda + I (ML) or the same matrix bordered by X (REML), the profiled
deviance is log|Psi| + c log r^2 (c = n, or n - p) plus constants, so

    d dev / d theta_t = d log|Psi| / d theta_t + c / r^2 * d r^2 / d theta_t.

* d r^2 / d theta_t = -2 e'Z (d Lambda / d theta_t) u (envelope theorem: u and beta are optimal),
  with Z'e formed from the stored cross-products, never from the n rows.
* log|Psi| = log|P11| + log|C| (first term's level blocks, then the Schur complement C of the
  rest). For a first-term parameter, d log|P11| is a sum over levels of small traces and
  d log|C| = -<C^-1, Bz dM Bz'> with M_l = T (T'D_l T + I)^-1 T'; the per-level forms
  Bz_l' C^-1 Bz_l come from the pattern precomputed for the factorisation (one sparse mat-vec)
  and serve all of the first term's parameters. For a parameter of a
  later term k, d log|C| = 2 [(L_k I - S_k) T_k^-1]_(j,i) with S_k the sum over levels of the
  diagonal blocks of C^-1 (from C = Lambda'X Lambda + I, so C^-1 Lambda'X Lambda = I - C^-1).

The gradient costs one dense inverse (LAPACK potri) on top of the deviance. Where it is not
available (a later term with a singular factor, or no precomputed pattern) the caller falls back
to finite differences; ``None`` entries say which.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

from mixgui.engine.lmm.blocks import same_theta
from mixgui.engine.lmm.kernels import em_mul, em_t


def deviance_and_gradient(pb, theta_s, reml: bool):
    """Profiled deviance (internal units) and its gradient at internal theta.

    Returns
    -------
    dev : float
        +inf when the factorisation fails.
    grad : ndarray or None
        Gradient with NaN for the entries that must be obtained by finite differences; None
        when no analytic gradient is available at all.
    """
    pieces = gradient_pieces(pb, theta_s, reml)
    if pieces is None:
        return np.inf, None
    f, parts, dlog, dr2 = pieces
    dev = pb.deviance_from(parts, reml)
    if dlog is None:
        return dev, None
    cfac = pb.n - pb.p if reml else pb.n
    return dev, dlog + cfac * dr2 / parts[2]


def gradient_pieces(pb, theta_s, reml: bool):
    """The factor at internal theta and the two parts of the deviance's gradient.

    Returns
    -------
    None when the factorisation fails, else ``(f, parts, dlog, dr2)``: the factor, its
    (log|L|^2, log|R_X|^2, r^2), d log|Psi| / d theta (NaN where finite differences are needed;
    None when unavailable) and d r^2 / d theta, all in internal units.
    """
    last = pb.grad_last
    if last is not None and last[0] == bool(reml) and same_theta(last[1], theta_s):
        return last[2]  # the fit's last evaluation, asked for again at the optimum
    out = _gradient_pieces(pb, theta_s, reml)
    pb.grad_last = (bool(reml), np.array(theta_s, dtype=float), out)
    return out


def _gradient_pieces(pb, theta_s, reml: bool):
    f = pb.factor(theta_s)
    parts = pb.parts(f)
    dev = pb.deviance_from(parts, reml)
    if not np.isfinite(dev):
        return None
    p, mz = pb.p, pb.mz
    grad = np.zeros(pb.ntheta)  # the log-determinant part
    c1, rest = pb.comp[0], pb.comp[1:]
    q1, L1 = c1.q, c1.L
    us, beta = pb.solve(f)
    T1 = c1.T(theta_s)

    # -- r^2 part: Z'e per term from the cross-products ----------------------------------------
    u1 = us[0].T  # (q1, L1) entry-major
    b1 = np.stack([sum(T1[a, c] * u1[c] for c in range(q1)) for a in range(q1)])
    xz = np.concatenate([u.reshape(-1) for u in us[1:]]) if mz else np.zeros(0)
    b_rest = pb.lambda_rest(xz, theta_s) if mz else xz
    Bxy, D1 = pb.Bxy, pb.D1
    ze1 = np.stack([Bxy[a, -1] - beta @ Bxy[a, :p] - sum(D1[a, c] * b1[c] for c in range(q1))
                    for a in range(q1)])
    if mz:
        ze1 = ze1 - (pb.Bz.T @ b_rest).reshape(q1, L1)
        A22 = pb.A22
        zer = A22[:mz, -1] - A22[:mz, mz:mz + p] @ beta - A22[:mz, :mz] @ b_rest - pb.Bz @ b1.reshape(-1)
    dr2 = np.zeros(pb.ntheta)
    ze_list = [ze1.T] + [zer[pb.offsets[k]:pb.offsets[k] + c.L * c.q].reshape(c.L, c.q)
                         for k, c in enumerate(rest)]
    for c, ze, u in zip(pb.comp, ze_list, us):
        for t, i, j in zip(c.t_idx, c.t_row, c.t_col):
            dr2[t] = -2.0 * np.dot(ze[:, i], u[:, j])

    # -- log-determinant part -----------------------------------------------------------------
    Linv = f["Linv"]
    Pinv = em_mul(em_t(Linv), Linv)  # (T'DT + I)^-1 per level
    DT = em_mul(D1, T1)
    Y = em_mul(Pinv, em_t(DT))  # Pinv T' D
    N = em_mul(T1, Pinv)  # T Pinv
    mprime = mz + p if reml else mz
    Cinv = None
    if mprime:
        Cinv, info = lapack.dpotri(f["R"][:mprime, :mprime], lower=1)
        if info != 0:
            return f, parts, None, dr2
        f["Cinv"] = Cinv  # lower triangle; reused for the conditional variances (Problem.cond_cov)
        Fall = _schur_quad(pb, Cinv, theta_s, reml, f["R"][:mprime, :mprime])
    for t, i, j in zip(c1.t_idx, c1.t_row, c1.t_col):
        g = 2.0 * np.sum(Y[j, i])  # d log|P11|
        if mprime:
            # dM = e_i u' + u e_i' - (u v' + v u'),  u = N[:, j], v = N (D T)[i, :]'
            u = N[:, j]
            v = sum(N[:, c] * DT[i, c] for c in range(q1))
            dM = -(u[:, None] * v[None, :] + v[:, None] * u[None, :])
            dM[i] += u
            dM[:, i] += u
            g -= np.sum(dM * Fall)  # d log|C| = -<C^-1, [Bz; X'Z1] dM [Bz; X'Z1]'>
        grad[t] += g
    for k, c in enumerate(rest):
        o = pb.offsets[k]
        T = c.T(theta_s)
        if c.q == 1 and T[0, 0] == 0.0:
            continue  # the deviance is even in a scalar theta: zero slope on the boundary
        if np.min(np.abs(np.diag(T))) < 1e-6 * max(1.0, np.max(np.abs(T))):
            grad[c.t_idx] = np.nan  # singular factor: finite differences for this term
            continue
        lv = o + np.arange(c.L) * c.q
        S = np.empty((c.q, c.q))
        for a in range(c.q):
            for b in range(a + 1):
                S[a, b] = S[b, a] = np.sum(Cinv[lv + a, lv + b])
        G = (c.L * np.eye(c.q) - S) @ np.linalg.inv(T)
        for t, i, j in zip(c.t_idx, c.t_row, c.t_col):
            grad[t] += 2.0 * G[j, i]
    return f, parts, grad, dr2


def _schur_quad(pb, Cinv, theta_s, reml, R0):
    """Per-level forms W_l' C^-1 W_l, (q1, q1, L1), with W = [Lambda_r' Bz; X'Z1] (X rows under REML).

    Then <C^-1, W dM W'> = sum(dM * result) for any symmetric per-level dM: one pass over the
    pattern serves every first-term parameter.
    """
    q1, L1, p, mz = pb.comp[0].q, pb.comp[0].L, pb.p, pb.mz
    if mz and pb.dense is not None:  # W' C^-1 W from one triangular solve with C's factor R0
        extra = pb.Bxy[:, :p].transpose(1, 0, 2) if reml and p else None
        return pb.dense.quad(R0, lambda D: pb.lambda_rest_rows(D, theta_s), extra)
    out = np.zeros((q1, q1, L1))
    if mz:
        Cs = Cinv.copy()
        pb._scale_rest(Cs, theta_s, transpose=True)  # Lambda_r C^-1 Lambda_r'
        out += pb.pattern.quad(Cs)
    if reml and p:
        BX = pb.Bxy[:, :p]  # (q1, p, L1): X'Z1 per level
        Cxx = np.tril(Cinv[mz:mz + p, mz:mz + p])
        Cxx = Cxx + np.tril(Cxx, -1).T
        CB = np.einsum("xy,byl->bxl", Cxx, BX)
        out += np.einsum("axl,bxl->abl", BX, CB)
        if mz:
            E = (pb.Bz.T @ Cs[mz:mz + p, :mz].T).reshape(q1, L1, p)  # Bz' Lambda_r C^-1_zx
            H = np.einsum("alx,bxl->abl", E, BX)
            out += H + em_t(H)
    return out
