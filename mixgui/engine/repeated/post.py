"""What a repeated-measures fit reports besides the likelihood: the marginal covariance of a
complete subject, boundary warnings, random-effects BLUPs and variance table, and the per-subject
pieces Kenward-Roger needs.
"""
from __future__ import annotations

import numpy as np

from mixgui.engine.covmodel import ClusterPieces
from mixgui.engine.numerics import complex_step_jacobian, second_derivatives
from mixgui.errors import FitWarning

SINGULAR_TOL = 1e-4   # relative standard deviation below which a random effect is "zero" (lme4's rule)
CORR_TOL = 1e-4       # |correlation| above 1 - CORR_TOL counts as on the boundary


def _representative(grid):
    """Z rows and same-level mask of one subject observed at every position.

    The first complete subject is used; when no subject is complete, each position takes the mean
    of Z over the rows at that position and all positions are taken to share the subject's levels.
    """
    complete = np.nonzero(grid.present.all(axis=1))[0]
    out = []
    for b in grid.blocks:
        if complete.size:
            s = complete[0]
            out.append((b.Z[s], b.same[s]))
        else:
            n = np.maximum(grid.present.sum(axis=0), 1)[:, None]
            out.append((b.Z.sum(axis=0) / n, np.ones((grid.T, grid.T), dtype=bool)))
    return out


def marginal_covariance(grid, R, Gs) -> np.ndarray:
    """T x T covariance of one subject observed at every position: residual part plus Z G Z'."""
    V = np.array(R, dtype=float)
    for (Z, same), G in zip(_representative(grid), Gs):
        V = V + np.where(same, Z @ G @ Z.T, 0.0)
    return V


def boundary_warnings(struct, R, Gs, grid) -> list:
    """Typed warnings for estimates on the boundary of the parameter space."""
    out = []
    d = np.sqrt(np.diag(R))
    C = R / np.outer(d, d)
    off = C[~np.eye(len(C), dtype=bool)]
    if struct.correlated and off.size and np.max(np.abs(off)) > 1 - CORR_TOL:
        out.append(FitWarning("singular", f"A correlation of the {struct.name} structure is estimated at +-1; "
                              "the structure is too rich for the data, so try a simpler one.", "repeated"))
    if struct.name in ("CS", "CSH") and off.size and off.min() < -1 / (grid.T - 1) + CORR_TOL:
        out.append(FitWarning("singular", f"The {struct.name} correlation is at its lowest possible value "
                              f"(-1/{grid.T - 1}); the structure does not describe these data, so try another.",
                              "repeated"))
    for b, G in zip(grid.blocks, Gs):
        sd = np.sqrt(np.clip(np.diag(G), 0, None))
        if np.any(sd < SINGULAR_TOL * np.sqrt(R[0, 0])):
            out.append(FitWarning("singular", f'A random-effect variance for "{b.group}" is estimated at zero; '
                                  "the residual structure already accounts for it, so consider removing "
                                  "the random term.", "variance_components"))
        elif b.q > 1:
            c = G / np.outer(sd, sd)
            if np.max(np.abs(c[~np.eye(b.q, dtype=bool)])) > 1 - CORR_TOL:
                out.append(FitWarning("singular", f'A random-effect correlation for "{b.group}" is estimated '
                                      "at +-1; consider uncorrelated random effects (||).",
                                      "variance_components"))
    return out


def blups(grid, psis, ev, sigma2):
    """Conditional modes of the random effects and their conditional standard deviations.

    b_l = G Z_l' V^-1 r and Var(b_l | y) = G - G Z_l' V^-1 Z_l G (beta taken as known, as lme4's
    condVar), level by level, accumulated over the grid without a loop over subjects.
    Returns (list of (L, q) modes, list of (L, q) standard deviations, conditional part of the
    fitted values (n,)), the lists following the blocks.
    """
    modes, sds = [], []
    cond = np.zeros(grid.nobs)
    rows = grid.rows[grid.present]
    for b, psi in zip(grid.blocks, psis):
        L = len(b.levels)
        lev = b.level_pad[grid.present]
        zu = (b.Z * ev.u[:, :, None])[grid.present]
        acc = np.zeros((L, b.q))
        np.add.at(acc, lev, zu)
        est = acc @ psi  # psi symmetric: (Psi Z'W^-1 r)' per level
        WZ = np.where(b.same, ev.Winv, 0.0) @ b.Z
        outer = (b.Z[:, :, :, None] * WZ[:, :, None, :])[grid.present]
        H = np.zeros((L, b.q, b.q))
        np.add.at(H, lev, outer)
        var = sigma2 * (psi[None] - psi[None] @ H @ psi[None])
        sds.append(np.sqrt(np.clip(np.diagonal(var, axis1=1, axis2=2), 0, None)))
        modes.append(est)
        cond[rows] += np.einsum("nq,nq->n", b.Z[grid.present], est[lev])
    return modes, sds, cond


def kr_clusters(model, varpar) -> list:
    """Per subject: X_i, V_i and derivatives of V_i with respect to the natural ``varpar``.

    Random-effects covariances and the SAS parameters of ID, DIAG, CS, TOEP and UN enter V
    linearly (no second derivatives); CSH, AR1 and ARH1 are nonlinear in rho and the variances, and
    their second derivatives come from :func:`second_derivatives`.
    """
    grid, struct = model.grid, model.struct
    Gs, v_r = model.split_natural(np.asarray(varpar, dtype=float))
    R = struct.cov_from_natural(v_r)
    dR = complex_step_jacobian(struct.cov_from_natural, v_r)
    d2R = second_derivatives(struct.cov_from_natural, v_r, struct.linear)
    off = model.n_re
    if not grid.blocks:
        return _pattern_pieces(grid, R, dR, d2R)
    units = []  # per block: list of (q, q) derivative matrices of G w.r.t. its vech elements
    for b in grid.blocks:
        mats = []
        for i, j in zip(*np.tril_indices(b.q)):
            E = np.zeros((b.q, b.q))
            E[i, j] = E[j, i] = 1.0
            mats.append(E)
        units.append(mats)
    out = []
    for s in range(grid.S):
        ix = np.nonzero(grid.present[s])[0]
        sub = np.ix_(ix, ix)
        V = R[sub].copy()
        dV = []
        for b, G, mats in zip(grid.blocks, Gs, units):
            Z = b.Z[s][ix]
            same = b.same[s][sub]
            V += np.where(same, Z @ G @ Z.T, 0.0)
            dV.extend(np.where(same, Z @ E @ Z.T, 0.0) for E in mats)
        dV.extend(dR[k][sub] for k in range(len(dR)))
        # one key per unordered pair (i <= j): Kenward-Roger adds the symmetric (j, i) term itself
        d2V = {(i + off, j + off): m[sub] for (i, j), m in d2R.items()}
        out.append(ClusterPieces(X=grid.X[s][ix], V=V, dV=dV, d2V=d2V, y=grid.y[s][ix]))
    return out


def _pattern_pieces(grid, R, dR, d2R) -> list:
    """Without random effects V_i depends only on which visits subject i has: one piece per
    pattern of observed visits, V and its derivatives shared by the pattern's subjects."""
    out = []
    for g, pat in enumerate(grid.patterns):
        ix = np.nonzero(pat)[0]
        if not ix.size:
            continue
        who = np.nonzero(grid.pattern == g)[0]
        sub = np.ix_(ix, ix)
        dV = np.stack([dR[k][sub] for k in range(len(dR))])
        d2V = {key: m[sub] for key, m in d2R.items()}
        out.append(ClusterPieces(X=grid.X[who][:, ix], V=R[sub], dV=dV, d2V=d2V, y=grid.y[who][:, ix]))
    return out


def unweight(fit, sw) -> None:
    """Bring a fit of rows scaled by sqrt(w) back to the data's scale (SAS WEIGHT).

    The estimates, covariances, BLUPs and every likelihood-based quantity are those of the weighted
    model already (see :func:`mixgui.engine.repeated.fit.weighted_rows`); what changes is the scale
    of X, the fitted values and residuals, and the likelihood's constant: log|V| = log|V*| - sum log w.
    Pearson residuals r / sqrt(R_ii / w) equal the scaled ones and stay as they are.
    """
    import dataclasses

    grid, model = fit._model.grid, fit._model
    sw = np.asarray(sw, float)
    y = (fit.fitted_marginal + fit.residuals_marginal) / sw
    cond = (np.asarray(fit.fitted_conditional) - fit.fitted_marginal) / sw
    fit.X = np.asarray(fit.X, float) / sw[:, None]
    fit.fitted_marginal = fit.X @ fit.beta
    fit.residuals_marginal = y - fit.fitted_marginal
    fit.fitted = fit.fitted_conditional = fit.fitted_marginal + cond
    fit.residuals = y - fit.fitted
    s = float(np.sum(2 * np.log(sw)))
    fit.log_weights = s
    fit.loglik += s / 2
    fit.deviance -= s
    fit.aic -= s
    fit.bic -= s
    model.sqrt_weights = np.where(grid.present, sw[np.where(grid.present, grid.rows, 0)], 1.0)
    if grid.blocks:  # a complete subject at weight 1: the random part with the data's own Z
        plain = dataclasses.replace(grid, blocks=[dataclasses.replace(b, Z=b.Z / model.sqrt_weights[:, :, None])
                                                  for b in grid.blocks])
        R = model.struct.cov_from_natural(fit.kr_par[len(fit.kr_par) - model.struct.n_natural:])
        fit.marginal_covariance = marginal_covariance(plain, R, fit.varcorr)
        d = np.sqrt(np.diag(fit.marginal_covariance))
        fit.correlation = fit.marginal_covariance / np.outer(d, d)
