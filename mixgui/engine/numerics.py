"""Numerical tools shared across the engine: derivatives and R's rounding of near-zeros.

One place for each: the Richardson-extrapolated derivatives (numDeriv's rules, which lmerTest and
our variance-component intervals use), complex-step derivatives (exact to rounding, for analytic
likelihoods), and R's ``zapsmall``.
"""
from __future__ import annotations

import math

import numpy as np

_ZERO_TOL = np.sqrt(np.finfo(float).eps / 7e-7)  # numDeriv's zero.tol


def zapsmall(x, digits: int = 7) -> np.ndarray:
    """R's ``zapsmall``: round to ``digits - ceiling(log10(max |x|))`` decimals.

    Non-finite entries are left as they are and do not count towards the maximum.

    Parameters
    ----------
    x : array_like
    digits : int

    Returns
    -------
    ndarray
    """
    x = np.asarray(x, float)
    finite = np.abs(x[np.isfinite(x)])
    if finite.size == 0:
        return x
    mx = finite.max()
    nd = digits if mx == 0 else max(0, digits - math.ceil(math.log10(mx)))
    return np.where(np.isfinite(x), np.round(x, nd), x)


def _steps(x, d, eps, floor=0.0):
    """Initial steps: numDeriv's rule (relative ``d``; absolute ``eps`` at zero).

    An optional ``floor`` (0 by default, as numDeriv) raises tiny relative steps, never beyond
    half the parameter, so a step does not cross zero unless the parameter is zero.
    """
    x = np.abs(np.asarray(x, float))
    h = d * x + eps * (x < _ZERO_TOL)
    return np.where(x < _ZERO_TOL, h, np.maximum(h, np.minimum(floor, x / 2)))


def _richardson(a):
    """Extrapolate a sequence of estimates made with steps h, h/2, h/4, ... (error O(h^2))."""
    a = list(a)
    for m in range(1, len(a)):
        a = [(a[k + 1] * 4 ** m - a[k]) / (4 ** m - 1) for k in range(len(a) - 1)]
    return a[0]


def richardson_jacobian(func, x, d=1e-4, eps=1e-4, r=4, floor=0.0) -> np.ndarray:
    """Jacobian of a vector function by central differences and Richardson extrapolation.

    With the defaults, ``numDeriv::jacobian(method = "Richardson")``.

    Returns
    -------
    ndarray, shape (len(func(x)), len(x))
    """
    x = np.asarray(x, float)
    n = len(x)
    h0 = _steps(x, d, eps, floor)
    cols = []
    for i in range(n):
        est, h = [], h0[i]
        for _ in range(r):
            e = np.zeros(n)
            e[i] = h
            est.append((np.asarray(func(x + e), float) - np.asarray(func(x - e), float)) / (2 * h))
            h /= 2
        cols.append(_richardson(est))
    return np.column_stack(cols)


def richardson_hessian(func, x, d=0.1, eps=1e-4, r=4, floor=0.0) -> np.ndarray:
    """Hessian of a scalar function as ``numDeriv::hessian`` (``genD``, Richardson, v = 2; the defaults).

    Off-diagonal terms use the diagonal estimates, as genD does, so the result is symmetric.
    """
    x = np.asarray(x, float)
    n = len(x)
    f0 = float(func(x))
    h0 = _steps(x, d, eps, floor)
    H = np.zeros((n, n))
    for i in range(n):
        est, h = [], h0[i]
        for _ in range(r):
            e = np.zeros(n)
            e[i] = h
            est.append((func(x + e) - 2 * f0 + func(x - e)) / h ** 2)
            h /= 2
        H[i, i] = _richardson(est)
    for i in range(n):
        for j in range(i):
            est, h = [], h0.copy()
            for _ in range(r):
                e = np.zeros(n)
                e[i], e[j] = h[i], h[j]
                num = func(x + e) - 2 * f0 + func(x - e) - H[i, i] * h[i] ** 2 - H[j, j] * h[j] ** 2
                est.append(num / (2 * h[i] * h[j]))
                h = h / 2
            H[i, j] = H[j, i] = _richardson(est)
    return H


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
