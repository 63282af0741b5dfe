"""Second derivatives of the deviance in (theta, sigma), from the analytic gradient.

lmerTest's Satterthwaite df need the Hessian of the deviance in ``varpar = (theta, sigma)``
(beta profiled out, sigma not) and the Jacobian of ``vcov(beta)`` in ``varpar``; the
variance-component intervals need the same Hessian on another scale. numDeriv's Richardson
Hessian takes 1 + 8k + 4k(k - 1) deviance evaluations (225 for the six theta of two crossed
random slopes), each a full factorisation. Here:

* the sigma row and column are exact: with the internal scaling s = sigma / sy,
  ``D = log|Psi| + r^2 / s^2 + c log(2 pi s^2)`` (c = n, or n - p under REML), so
  dD/ds = -2 r^2 / s^3 + 2 c / s and its derivatives follow in closed form;
* the theta block is central differences of the analytic gradient
  ``dD/dtheta = d log|Psi| / dtheta + (d r^2 / dtheta) / s^2`` (:mod:`mixgui.engine.lmm.grad`),
  2k gradient evaluations; the truncation error is ~ (1e-4)^2 relative, far below what the
  df or an interval shows;
* ``vcov(beta) = sigma^2 (R_X'R_X)^-1`` is differenced from the same factorisations.
"""
from __future__ import annotations

import numpy as np

from mixgui.engine.lmm.blocks import same_theta
from mixgui.engine.lmm.grad import gradient_pieces

STEP = 1e-4  # relative central-difference step on theta (absolute 1e-5 near zero)


def _theta_gradient(pb, th_s, s, reml):
    """(dD/dtheta at fixed s in internal theta, parts, factor); None if unavailable."""
    pieces = gradient_pieces(pb, th_s, reml)
    if pieces is None:
        return None
    f, parts, dlog, dr2 = pieces
    if dlog is None or not np.all(np.isfinite(dlog)):
        return None
    return dlog + dr2 / s ** 2, dr2, parts, f


def varpar_derivatives(fit, rx_inv):
    """Gradient and Hessian of ``fit.deviance_at`` and the Jacobian of ``fit.vcov_at`` at varpar.

    Parameters
    ----------
    fit : LmmFit
    rx_inv : callable (problem, factor) -> (R_X'R_X)^-1 in data units

    Returns
    -------
    dict or None
        ``gradient`` (k,), ``hessian`` (k, k), ``vcov_jacobian`` (p * p, k) in lmerTest's varpar
        (theta in original units, then sigma); None when the analytic gradient is not available
        there (a random-effect variance on its boundary), and the caller differences the
        deviance instead.
    """
    return derivatives_at(fit._problem, fit.varpar, fit.reml, rx_inv)


def derivatives_at(pb, varpar, reml: bool, rx_inv, tick=None):
    """:func:`varpar_derivatives` for a problem at ``varpar = (theta, sigma)`` (original units).

    The fit calls this at its optimum when the convergence check needs a Hessian (the profiled
    Hessian follows from this one), so the same 2k gradient evaluations serve the check, the
    Satterthwaite df and the intervals. ``tick`` is called before each evaluation (progress,
    cancelling).
    """
    varpar = np.asarray(varpar, float)
    theta, sigma = varpar[:-1], varpar[-1]
    k = len(theta)
    if pb is None or sigma <= 0 or k == 0:
        return None
    s = sigma / pb.sy
    c = pb.n - pb.p if reml else pb.n
    ts = pb.tscale
    th_c = pb.to_internal(theta)
    # The optimiser's last evaluation is usually at the centre: keep it, and put it back as the
    # problem's kept factor afterwards (the fit's solutions and conditional variances reuse it).
    last = pb.grad_last
    centre = last if last is not None and last[0] == bool(reml) and same_theta(last[1], th_c) else None
    H = np.zeros((k + 1, k + 1))
    p = pb.p
    J = np.zeros((p * p, k + 1))
    for i in range(k):
        h = STEP * max(abs(theta[i]), 0.1)
        out = []
        for sign in (1.0, -1.0):
            th = theta.copy()
            th[i] += sign * h
            if tick is not None:
                tick()
            res = _theta_gradient(pb, pb.to_internal(th), s, reml)
            if res is None:
                return None
            out.append(res)
        H[:k, i] = ts * (out[0][0] - out[1][0]) / (2.0 * h)
        J[:, i] = sigma ** 2 * (rx_inv(pb, out[0][3]) - rx_inv(pb, out[1][3])).ravel() / (2.0 * h)
    H[:k, :k] = 0.5 * (H[:k, :k] + H[:k, :k].T)
    # The centre last: its factor is then the problem's kept one, reused by the fit's solutions.
    if centre is not None:
        pb.keep(centre)
    base = _theta_gradient(pb, th_c, s, reml)
    if base is None:
        return None
    g_s, dr2, parts, f = base
    r2 = parts[2]
    grad = np.append(ts * g_s, (-2.0 * r2 / s ** 3 + 2.0 * c / s) / pb.sy)
    P = rx_inv(pb, f)
    # d/dsigma = (1/sy) d/ds:  d2D/ds dtheta = -2 dr2 / s^3,  d2D/ds2 = 6 r^2 / s^4 - 2 c / s^2
    H[:k, k] = H[k, :k] = ts * (-2.0 * dr2 / s ** 3) / pb.sy
    H[k, k] = (6.0 * r2 / s ** 4 - 2.0 * c / s ** 2) / pb.sy ** 2
    J[:, k] = 2.0 * sigma * P.ravel()
    return {"gradient": grad, "hessian": H, "vcov_jacobian": J}
