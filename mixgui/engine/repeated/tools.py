"""The parametrisation of a random-effects block's covariance (the G side) and half-vectorisation,
shared by the covariance structures and the repeated-measures fit.
"""
from __future__ import annotations

import numpy as np


def n_vech(q: int) -> int:
    return q * (q + 1) // 2


def tril_colmajor(q: int):
    """Row and column indices of a lower triangle, column by column (lme4's order of theta)."""
    upper_r, upper_c = np.triu_indices(q)
    return upper_c, upper_r


def psi_from_theta(theta, q: int):
    """Relative covariance Psi = L L' of one random-effects block from L's lower triangle.

    ``theta`` lists the lower triangle column by column, as lme4's theta.  The entries of L are
    free (a diagonal entry may change sign without changing Psi), so the optimiser is
    unconstrained and a zero variance is reachable.
    """
    rows, cols = tril_colmajor(q)
    L = np.zeros((q, q), dtype=np.result_type(theta, float))
    L[rows, cols] = theta
    return L @ L.T


def theta_canonical(theta, q: int) -> np.ndarray:
    """The same Psi with L's diagonal made non-negative (lme4's convention for theta)."""
    rows, cols = tril_colmajor(q)
    L = np.zeros((q, q))
    L[rows, cols] = theta
    L = L * np.where(np.diag(L) < 0, -1.0, 1.0)[None, :]
    return L[rows, cols]


def vech(M: np.ndarray) -> np.ndarray:
    return M[np.tril_indices(len(M))].copy()


def unvech(v, q: int) -> np.ndarray:
    rows, cols = np.tril_indices(q)
    M = np.zeros((q, q), dtype=np.result_type(v, float))
    M[rows, cols] = v
    M[cols, rows] = v
    return M
