"""Small numerical tools shared by the covariance structures and the repeated-measures fit:
complex-step derivatives of matrix-valued functions, and the parametrisation of a random-effects
block's covariance (the G side).
"""
from __future__ import annotations

import numpy as np


def complex_step_jacobian(fun, x, h: float = 1e-30) -> np.ndarray:
    """d fun / d x_k for a complex-step-safe matrix function, shape (len(x),) + fun(x).shape."""
    x = np.asarray(x, dtype=float)
    out = []
    for k in range(len(x)):
        xc = x.astype(complex)
        xc[k] += 1j * h
        out.append(np.imag(fun(xc)) / h)
    return np.array(out) if out else np.zeros((0,) + np.shape(fun(x)))


def second_derivatives(fun, x, linear: bool) -> dict:
    """Non-zero second derivatives {(k, j): d2 fun / dx_k dx_j}, k <= j, for nonlinear ``fun``.

    Central differences of the complex-step first derivatives: the error is O(h^2) with
    h = 1e-4 * max(|x_j|, 1e-2), about 1e-9 relative, far below anything Kenward-Roger resolves.
    """
    if linear:
        return {}
    x = np.asarray(x, dtype=float)
    out = {}
    for j in range(len(x)):
        h = 1e-4 * max(abs(x[j]), 1e-2)
        xp, xm = x.copy(), x.copy()
        xp[j] += h
        xm[j] -= h
        d = (complex_step_jacobian(fun, xp) - complex_step_jacobian(fun, xm)) / (2 * h)
        for k in range(j + 1):
            if np.max(np.abs(d[k])) > 1e-12 * max(1.0, np.max(np.abs(fun(x)))):
                out[(k, j)] = d[k]
    return out


# -- random-effects blocks (G side) ---------------------------------------------------------

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
