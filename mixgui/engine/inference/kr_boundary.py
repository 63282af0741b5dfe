"""Kenward-Roger at a rank-deficient random-effects covariance, as SAS does it.

A random-effects covariance G estimated with a perfect correlation (rank deficient, every variance
positive) sits on the boundary of the positive semi-definite matrices. In G's linear elements (the
parametrisation pbkrtest and SAS's TYPE=UN use) the information still counts the direction that
leaves the boundary, which no admissible G can take; SAS's fit that keeps G semi-definite,
TYPE=FA0(q) (G = Lambda Lambda', Lambda lower triangular), has that direction as a Lambda diagonal
estimated at 0, whose derivative of V is 0, and drops it: its asymptotic covariance (ASYCOV) and
Kenward-Roger weight live on the boundary. Satterthwaite in lme4's theta (lmerTest's, ours) drops it
for the same reason, so without this the two df of a one-df contrast (equal by Kenward & Roger's
algebra) disagree: on the FDA bioequivalence model 75 against SAS's and Satterthwaite's 205.

:func:`fa_map` gives the change to the FA parameters of such a block, without the zero ones, and
:func:`transform` carries the Kenward-Roger sums over (the FA parameters are not linear: their
second derivatives add to R_kl and to the observed information).
"""
from __future__ import annotations

import numpy as np

PIVOT_TOL = 1e-4  # a Cholesky pivot below this fraction of its variance's sd is a zero (lme4's singular cut)


def _cholesky_psd(G: np.ndarray) -> tuple[np.ndarray, list]:
    """Lower-triangular L with L L' = G for a positive semi-definite G, and the zero pivots.

    A pivot below ``PIVOT_TOL`` of its sd is set to 0 with the rest of its column (the column
    then does not enter G), so L stays a valid factor of the rank-deficient matrix.
    """
    q = G.shape[0]
    L = np.zeros((q, q))
    zero = []
    for j in range(q):
        d = G[j, j] - L[j, :j] @ L[j, :j]
        if d <= (PIVOT_TOL ** 2) * G[j, j]:
            zero.append(j)
            continue
        L[j, j] = np.sqrt(d)
        L[j + 1:, j] = (G[j + 1:, j] - L[j + 1:, :j] @ L[j, :j]) / L[j, j]
    return L, zero


def _vech_pairs(q: int, order: str) -> list:
    """(a, b), a >= b, in the model's order of G's lower-triangle elements."""
    if order == "rows":
        return [(a, b) for a in range(q) for b in range(a + 1)]
    return [(a, b) for b in range(q) for a in range(b, q)]


def fa_map(model, m: int):
    """The natural Kenward-Roger parameters as functions of the reduced FA ones, or None.

    Parameters
    ----------
    model : CovarianceModel
        ``varcorr`` (the random-effects covariance matrices, in the order of the first natural
        parameters) and optionally ``kr_vech_order`` ("rows"; default "columns", pbkrtest's).
    m : int
        Number of natural covariance parameters.

    Returns
    -------
    (J, H) or None
        J (m, m2): d natural / d reduced; H (m, m2, m2): the second derivatives. None when no
        block has a zero pivot with all its variances positive (then nothing changes).
    """
    order = getattr(model, "kr_vech_order", "columns")
    blocks, off, changed = [], 0, False
    for G in list(getattr(model, "varcorr", None) or []):
        G = np.atleast_2d(np.asarray(G, float))
        q = G.shape[0]
        pairs = _vech_pairs(q, order)
        L, zero = _cholesky_psd(G) if q > 1 else (None, [])
        if zero and np.all(np.diag(G) > 0):
            changed = True
            keep = [(i, j) for (i, j) in pairs if j not in zero]
            blocks.append((off, pairs, L, keep))
        else:
            blocks.append((off, pairs, None, pairs))
        off += len(pairs)
    if not changed:
        return None
    m2 = m - sum(len(b[1]) - len(b[3]) for b in blocks)
    J, H = np.zeros((m, m2)), np.zeros((m, m2, m2))
    col = 0
    for start, pairs, L, keep in blocks:
        index = {p: start + k for k, p in enumerate(pairs)}
        if L is None:
            for k in range(len(pairs)):
                J[start + k, col + k] = 1.0
        else:
            for f, (i, j) in enumerate(keep):
                for (a, b), row in index.items():
                    # G_ab = sum_k L_ak L_bk
                    J[row, col + f] = (a == i) * L[b, j] + (b == i) * L[a, j]
                    for g, (k, ll) in enumerate(keep):
                        if j == ll:
                            H[row, col + f, col + g] = (a == i) * (b == k) + (b == i) * (a == k)
        col += len(keep)
    for k in range(off, m):  # the residual structure's parameters: unchanged
        J[k, col + k - off] = 1.0
    return J, H


def transform(sums, J: np.ndarray, H: np.ndarray):
    """The Kenward-Roger sums in the reduced parameters (see :class:`kenward_roger._Sums`).

    With X'V^-1 dV_k V^-1 X = -P_k the chain rule gives P' = J'P, Q' = J'QJ, K' = J'KJ and
    R' = J'RJ - sum_k H_k P_k; the observed information's terms likewise, with tr(V^-1 dV_k)
    and e' dV_k e for the second-derivative parts.
    """
    out = type(sums).__new__(type(sums))
    out.__dict__.update(sums.__dict__)
    out.P = np.einsum("kf,kpq->fpq", J, sums.P)
    out.Q = np.einsum("kf,lg,klpq->fgpq", J, J, sums.Q, optimize=True)
    out.R = np.einsum("kf,lg,klpq->fgpq", J, J, sums.R, optimize=True) - np.einsum("kfg,kpq->fgpq", H, sums.P)
    out.K = J.T @ sums.K @ J
    if sums.observed:
        out.trVd2 = J.T @ sums.trVd2 @ J + np.einsum("kfg,k->fg", H, sums.trVd)
        out.ed2e = J.T @ sums.ed2e @ J + np.einsum("kfg,k->fg", H, sums.edVe)
        out.ada = J.T @ sums.ada @ J
        out.b = J.T @ sums.b
    return out
