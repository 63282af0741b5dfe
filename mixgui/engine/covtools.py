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
    """Non-zero second derivatives {(k, l): d2 fun / dx_k dx_l}, k <= l, for nonlinear ``fun``.

    Central differences of the complex-step first derivatives: the error is O(h^2) with
    h = 1e-4 * max(|x_l|, 1e-2), about 1e-9 relative, far below anything Kenward-Roger resolves.
    """
    if linear:
        return {}
    x = np.asarray(x, dtype=float)
    out = {}
    for l in range(len(x)):
        h = 1e-4 * max(abs(x[l]), 1e-2)
        xp, xm = x.copy(), x.copy()
        xp[l] += h
        xm[l] -= h
        d = (complex_step_jacobian(fun, xp) - complex_step_jacobian(fun, xm)) / (2 * h)
        for k in range(l + 1):
            if np.max(np.abs(d[k])) > 1e-12 * max(1.0, np.max(np.abs(fun(x)))):
                out[(k, l)] = d[k]
    return out


# -- random-effects blocks (G side) ---------------------------------------------------------

def n_vech(q: int) -> int:
    return q * (q + 1) // 2


def psi_from_theta(theta, q: int):
    """Relative covariance Psi = L L' of one random-effects block from the lower triangle of L.

    The entries of L are free (a diagonal entry may change sign without changing Psi), so the
    optimiser is unconstrained and a zero variance is reachable, as with lme4's theta.
    """
    rows, cols = np.tril_indices(q)
    L = np.zeros((q, q), dtype=np.result_type(theta, float))
    L[rows, cols] = theta
    return L @ L.T


def theta_from_psi(psi: np.ndarray) -> np.ndarray:
    return np.linalg.cholesky(psi)[np.tril_indices(len(psi))]


def vech(M: np.ndarray) -> np.ndarray:
    return M[np.tril_indices(len(M))].copy()


def unvech(v, q: int) -> np.ndarray:
    rows, cols = np.tril_indices(q)
    M = np.zeros((q, q), dtype=np.result_type(v, float))
    M[rows, cols] = v
    M[cols, rows] = v
    return M
