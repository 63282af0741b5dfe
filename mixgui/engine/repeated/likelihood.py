"""The repeated-measures likelihood, computed for all subjects at once.

Subjects are laid out on a padded (S, T) grid: row s holds subject s's responses at positions
0..T-1, zeros where a visit is missing.  A missing position gets an identity row and column in the
padded covariance, which leaves the determinant, the quadratic forms and X'V^-1X exactly those of
the observed sub-matrix (a gap stays a gap).  Without random effects the padded matrix depends only
on the subject's pattern of observed positions, so one batched Cholesky per pattern serves all its
subjects; with random effects it is one batched Cholesky of an (S, T, T) array.  There is no Python
loop over subjects.

The criterion is nlme's: with V = sigma^2 W and beta profiled by GLS,
  ML:    -2 l = N log(2 pi sigma^2) + log|W| + r'W^-1 r / sigma^2
  REML:  -2 l = (N-p) log(2 pi sigma^2) + log|W| + log|X'W^-1 X| - p log sigma^2 + r'W^-1 r / sigma^2
(no log|X'X| term, as nlme and lme4), and sigma^2 = r'W^-1 r / (N - p) (REML) or / N (ML) when
profiled.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_triangular

from mixgui.errors import ModelError

LOG2PI = float(np.log(2 * np.pi))


@dataclass
class BlockGrid:
    """A random-effects block on the padded grid."""

    group: str
    names: list
    levels: list
    Z: np.ndarray          # (S, T, q), zero at missing positions
    same: np.ndarray       # (S, T, T) bool: both positions present and in the same level
    level_pad: np.ndarray  # (S, T) level code, -1 at missing positions

    @property
    def q(self) -> int:
        return self.Z.shape[2]


@dataclass
class Grid:
    """Data of a repeated-measures model on the padded subject x position grid."""

    y: np.ndarray          # (S, T)
    X: np.ndarray          # (S, T, p)
    present: np.ndarray    # (S, T) bool
    rows: np.ndarray       # (S, T) input row of each cell, -1 when missing
    pattern: np.ndarray    # (S,) index of the subject's missingness pattern
    patterns: np.ndarray   # (G, T) bool, the distinct patterns
    counts: np.ndarray     # (G,) subjects per pattern
    subjects: np.ndarray   # (S,) subject code of each grid row
    blocks: list           # BlockGrid per random-effects block
    nobs: int
    source_blocks: list    # the RandomBlock objects the grid was built from

    @property
    def S(self) -> int:
        return self.y.shape[0]

    @property
    def T(self) -> int:
        return self.y.shape[1]

    @property
    def p(self) -> int:
        return self.X.shape[2]

    def pair_counts(self) -> np.ndarray:
        """(T, T) number of subjects observed at both positions."""
        P = self.present.astype(float)
        return P.T @ P


def _label(labels, k):
    return str(labels[k]) if labels is not None and k < len(labels) else str(k)


def build_grid(y, X, subject, position, n_positions, blocks=(), subject_labels=None,
               position_labels=None) -> Grid:
    """Lay the rows out on the subject x position grid, checking what the layout needs.

    Raises
    ------
    ModelError
        No subject, mismatched lengths, positions out of range, two rows of one subject at the same
        position, or a random-effects grouping that is not nested in the subject.
    """
    if subject is None:
        raise ModelError("A repeated structure needs a subject column; choose the column that identifies "
                         "the subjects (or remove the repeated structure).")
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    subject = np.asarray(subject)
    position = np.asarray(position)
    n = len(y)
    if X.ndim != 2 or X.shape[0] != n or len(subject) != n or len(position) != n:
        raise ModelError("The response, design, subject and index columns have different lengths; "
                         "rebuild the model from one table.")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(X))):
        raise ModelError("The response or a predictor has missing or infinite values; drop those rows first.")
    T = int(n_positions)
    position = position.astype(np.int64)
    if n and (position.min() < 0 or position.max() >= T):
        raise ModelError(f"The index positions must lie between 0 and {T - 1}; recompute them from the index column.")
    codes, s_of_row = np.unique(subject.astype(np.int64), return_inverse=True)
    S = len(codes)
    key = s_of_row * T + position
    uniq, first, cnt = np.unique(key, return_index=True, return_counts=True)
    if np.any(cnt > 1):
        r = first[np.argmax(cnt > 1)]
        raise ModelError(f"Subject {_label(subject_labels, int(subject[r]))} has more than one row with index "
                         f"value {_label(position_labels, int(position[r]))}; the index must identify each "
                         "visit within a subject (use a visit column, or aggregate the duplicate rows).")
    rows = np.full((S, T), -1, dtype=np.int64)
    rows[s_of_row, position] = np.arange(n)
    present = rows >= 0
    safe = np.where(present, rows, 0)
    yp = np.where(present, y[safe], 0.0)
    Xp = np.where(present[:, :, None], X[safe], 0.0)
    patterns, pattern, counts = np.unique(present, axis=0, return_inverse=True, return_counts=True)
    grids = [_block_grid(b, s_of_row, subject, subject_labels, rows, present) for b in blocks]
    return Grid(yp, Xp, present, rows, pattern.ravel(), patterns, counts, codes, grids, n, list(blocks))


def _block_grid(block, s_of_row, subject, subject_labels, rows, present) -> BlockGrid:
    codes = np.asarray(block.codes, dtype=np.int64)
    # The cluster is the subject: a random-effects level spanning two subjects would couple them.
    pairs = np.unique(np.stack([codes, s_of_row], axis=1), axis=0)
    lev, n_subj = np.unique(pairs[:, 0], return_counts=True)
    bad = np.nonzero(np.isin(codes, lev[n_subj > 1]))[0]
    if bad.size:
        r = bad[0]
        level = block.levels[codes[r]] if codes[r] < len(block.levels) else codes[r]
        raise ModelError(f'The random effects for "{block.group}" are not nested in the repeated subject '
                         f'(level {level} spans several subjects, e.g. '
                         f"{_label(subject_labels, int(subject[r]))}); this combination is not supported, "
                         "so use the subject as the repeated subject's grouping or drop the repeated structure.")
    safe = np.where(present, rows, 0)
    Z = np.asarray(block.Z, dtype=float)
    Zp = np.where(present[:, :, None], Z[safe], 0.0)
    level_pad = np.where(present, codes[safe], -1)
    same = (level_pad[:, :, None] == level_pad[:, None, :]) & present[:, :, None] & present[:, None, :]
    return BlockGrid(block.group, list(block.names), list(block.levels), Zp, same, level_pad)


@dataclass
class Evaluation:
    """Everything one likelihood evaluation computes (kept for the final quantities)."""

    f: float               # -2 log-likelihood (REML criterion when reml)
    beta: np.ndarray
    A: np.ndarray          # X' W^-1 X
    sigma2: float          # profiled scale (1.0 when not profiled)
    Q: float               # r' W^-1 r
    Winv: np.ndarray       # (S, T, T) padded inverses (identity at missing positions)
    resid: np.ndarray      # (S, T) marginal residuals, zero at missing positions
    u: np.ndarray          # (S, T) W^-1 r
    grad_R: np.ndarray | None = None   # (T, T) d f / d R (elementwise), when asked
    grad_psi: list | None = None       # (q, q) d f / d Psi_b per block, when asked


def padded_cov(grid: Grid, R: np.ndarray, psis) -> tuple:
    """Padded per-group covariance: (G, T, T) with group index per subject, or (S, T, T) and None."""
    pm = grid.patterns[:, :, None] & grid.patterns[:, None, :]
    eye = np.eye(grid.T)
    Rg = np.where(pm, R[None], 0.0) + eye * (~grid.patterns)[:, None, :]
    if not grid.blocks:
        return Rg, grid.pattern
    W = Rg[grid.pattern]
    for b, psi in zip(grid.blocks, psis):
        ZP = b.Z @ psi
        W = W + np.where(b.same, ZP @ b.Z.transpose(0, 2, 1), 0.0)
    return W, None


def evaluate(grid: Grid, R, psis=(), reml: bool = True, profile: bool = True, gradient: bool = False):
    """-2 log-likelihood at residual matrix R and random-effects matrices psis, beta by GLS.

    With ``profile`` R and psis are relative to sigma^2, which is profiled out; without, they are
    absolute covariances.  Returns None when the covariance is not positive definite.
    """
    W, gidx = padded_cov(grid, np.asarray(R, dtype=float), psis)
    try:
        L = np.linalg.cholesky(W)
    except np.linalg.LinAlgError:
        return None
    logdet_g = 2 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
    Linv = np.linalg.inv(L)
    Winv_g = Linv.transpose(0, 2, 1) @ Linv
    if gidx is not None:
        logdet = float(np.dot(grid.counts, logdet_g))
        Winv = Winv_g[gidx]
    else:
        logdet = float(logdet_g.sum())
        Winv = Winv_g
    Xv = Winv @ grid.X
    A = np.tensordot(grid.X, Xv, axes=([0, 1], [0, 1]))
    b = np.tensordot(Xv, grid.y, axes=([0, 1], [0, 1]))
    try:
        C = np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        raise ModelError("The fixed effects are not estimable with this covariance structure "
                         "(X'V^-1X is singular); remove aliased or empty terms.") from None
    beta = np.linalg.solve(C.T, np.linalg.solve(C, b))
    resid = grid.y - grid.X @ beta
    u = (Winv @ resid[:, :, None])[:, :, 0]
    Q = float(np.sum(resid * u))
    N, p = grid.nobs, grid.p
    df = N - p if reml else N
    logdetA = 2 * float(np.log(np.diag(C)).sum()) if reml else 0.0
    if profile:
        sigma2 = Q / df
        f = df * (LOG2PI + np.log(sigma2) + 1) + logdet + logdetA
    else:
        sigma2 = 1.0
        f = df * LOG2PI + logdet + logdetA + Q
    ev = Evaluation(float(f), beta, A, sigma2, Q, Winv, resid, u)
    if gradient:
        _gradient(grid, ev, Winv_g, gidx, C, Xv, reml)
    return ev


def _gradient(grid, ev, Winv_g, gidx, C, Xv, reml):
    """d f / d W through M = W^-1 - W^-1 X A^-1 X'W^-1 - u u'/sigma^2 (REML; ML drops the middle).

    d f / d theta_k = sum over subjects of <dW_k, M_s>; dW_k does not vary between subjects for
    residual parameters, so summing M_s over subjects first leaves one T x T matrix.
    """
    if gidx is not None:
        pm = grid.patterns[:, :, None] & grid.patterns[:, None, :]
        sum_winv = np.tensordot(grid.counts, np.where(pm, Winv_g, 0.0), axes=1)
    else:
        pm = grid.present[:, :, None] & grid.present[:, None, :]
        sum_winv = np.where(pm, ev.Winv, 0.0).sum(axis=0)
    uu = ev.u.T @ ev.u / ev.sigma2
    Xa = None
    if reml:
        # Xa = W^-1 X C^-T, so that Xa Xa' = W^-1 X A^-1 X' W^-1 for each subject
        Xa = solve_triangular(C, Xv.reshape(-1, grid.p).T, lower=True).T.reshape(Xv.shape)
        ev.grad_R = sum_winv - np.tensordot(Xa, Xa, axes=([0, 2], [0, 2])) - uu
    else:
        ev.grad_R = sum_winv - uu
    if grid.blocks:
        M = ev.Winv - ev.u[:, :, None] * ev.u[:, None, :] / ev.sigma2
        if Xa is not None:
            M = M - Xa @ Xa.transpose(0, 2, 1)
        ev.grad_psi = []
        for b in grid.blocks:
            MZ = np.where(b.same, M, 0.0) @ b.Z
            ev.grad_psi.append(np.tensordot(b.Z, MZ, axes=([0, 1], [0, 1])))


@dataclass
class PatternStats:
    """Sums over the subjects of each missingness pattern (no random effects): sum X (x) X,
    sum X (x) y and sum y y', so an evaluation costs nothing per subject."""

    Sxx: np.ndarray   # (G, T, p, T, p)
    Sxy: np.ndarray   # (G, T, p, T)
    Syy: np.ndarray   # (G, T, T)


def pattern_stats(grid: Grid) -> PatternStats:
    G = len(grid.patterns)
    T, p = grid.T, grid.p
    Sxx = np.zeros((G, T, p, T, p))
    Sxy = np.zeros((G, T, p, T))
    Syy = np.zeros((G, T, T))
    for g in range(G):
        who = grid.pattern == g
        X, y = grid.X[who], grid.y[who]
        Xf = X.reshape(len(X), T * p)
        Sxx[g] = (Xf.T @ Xf).reshape(T, p, T, p)   # BLAS, not a per-subject einsum
        Sxy[g] = (Xf.T @ y).reshape(T, p, T)
        Syy[g] = y.T @ y
    return PatternStats(Sxx, Sxy, Syy)


def evaluate_fast(grid: Grid, stats: PatternStats, R, reml: bool = True):
    """The profiled criterion and d f / d R of :func:`evaluate` (``profile=True``, no random effects)
    from the pattern sums: the same numbers without a pass over the subjects.

    Returns (f, grad_R), or None when the covariance is not positive definite.
    """
    Rg, _ = padded_cov(grid, np.asarray(R, dtype=float), ())
    try:
        L = np.linalg.cholesky(Rg)
    except np.linalg.LinAlgError:
        return None
    logdet = float(np.dot(grid.counts, 2 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)))
    Linv = np.linalg.inv(L)
    Wi = Linv.transpose(0, 2, 1) @ Linv                       # (G, T, T)
    A = np.einsum("gipjq,gij->pq", stats.Sxx, Wi, optimize=True)
    b = np.einsum("gipj,gij->p", stats.Sxy, Wi, optimize=True)
    try:
        C = np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        raise ModelError("The fixed effects are not estimable with this covariance structure "
                         "(X'V^-1X is singular); remove aliased or empty terms.") from None
    beta = np.linalg.solve(C.T, np.linalg.solve(C, b))
    xb_y = np.einsum("gipj,p->gij", stats.Sxy, beta)           # sum (X beta)_i y_j
    Srr = (stats.Syy - xb_y - xb_y.transpose(0, 2, 1)
           + np.einsum("gipjq,p,q->gij", stats.Sxx, beta, beta, optimize=True))
    Q = float(np.einsum("gij,gij->", Wi, Srr))
    N, p = grid.nobs, grid.p
    df = N - p if reml else N
    sigma2 = Q / df
    f = df * (LOG2PI + np.log(sigma2) + 1) + logdet + (2 * float(np.log(np.diag(C)).sum()) if reml else 0.0)
    pm = grid.patterns[:, :, None] & grid.patterns[:, None, :]
    Wm = np.where(pm, Wi, 0.0)
    grad = np.tensordot(grid.counts, Wm, axes=1) - np.einsum("gia,gab,gbj->ij", Wm, Srr, Wm) / sigma2
    if reml:
        Ainv = np.linalg.inv(A)
        M = np.einsum("gipjq,pq->gij", stats.Sxx, Ainv, optimize=True)
        grad = grad - np.einsum("gia,gab,gbj->ij", Wm, M, Wm)
    return float(f), grad
