"""The optimisation behind :func:`mixgui.engine.repeated.fit.fit_repeated`: the model as a function of
its unconstrained parameters (with analytic gradient), the checks of what the data can support,
starting values, and BFGS followed by Newton polishing.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from mixgui.engine.numerics import complex_step_jacobian
from mixgui.engine.repeated.likelihood import Grid, evaluate, evaluate_fast, pattern_stats
from mixgui.engine.repeated.structures import Structure
from mixgui.engine.repeated.tools import (
    n_vech,
    psi_from_theta,
    theta_canonical,
    tril_colmajor,
    unvech,
    vech,
)
from mixgui.errors import FitWarning, ModelError

GRAD_TOL = 1e-3  # max |d(-2 logLik)/d theta| accepted as converged


class Model:
    """A structure, optional random blocks and the data grid: theta <-> matrices <-> likelihood."""

    def __init__(self, grid: Grid, struct: Structure, reml: bool, progress=None):
        self.grid, self.struct, self.reml, self.progress = grid, struct, reml, progress
        self.qs = [b.q for b in grid.blocks]
        self.n_re = sum(n_vech(q) for q in self.qs)
        self.n_evals = 0
        self._stats = None  # per-pattern sums, made on the first evaluation without random effects

    # fitting parametrisation ---------------------------------------------------------------
    def split(self, theta):
        out, k = [], 0
        for q in self.qs:
            out.append(theta[k:k + n_vech(q)])
            k += n_vech(q)
        return out, theta[k:]

    def objective(self, theta):
        """-2 log-likelihood (profiled) and its analytic gradient at unconstrained theta."""
        self.n_evals += 1
        if self.progress is not None:
            self.progress.step(None, f"fitting {self.struct.name} (evaluation {self.n_evals})")
        th_b, th_r = self.split(theta)
        W = self.struct.matrix(th_r)
        psis = [psi_from_theta(t, q) for t, q in zip(th_b, self.qs)]
        if not np.all(np.isfinite(W)):
            return np.inf, np.zeros_like(theta)
        if not self.qs:  # no random effects: sums per visit pattern, nothing per subject
            if self._stats is None:
                self._stats = pattern_stats(self.grid)
            out = evaluate_fast(self.grid, self._stats, W, self.reml)
            if out is None or not np.isfinite(out[0]):
                return np.inf, np.zeros_like(theta)
            dW = complex_step_jacobian(self.struct.matrix, th_r)
            return out[0], np.tensordot(dW, out[1], axes=([1, 2], [0, 1]))
        ev = evaluate(self.grid, W, psis, self.reml, profile=True, gradient=True)
        if ev is None or not np.isfinite(ev.f):
            return np.inf, np.zeros_like(theta)
        grads = []
        for t, q, gpsi in zip(th_b, self.qs, ev.grad_psi or []):
            dpsi = complex_step_jacobian(lambda x, q=q: psi_from_theta(x, q), t)
            grads.append(np.tensordot(dpsi, gpsi, axes=([1, 2], [0, 1])))
        dW = complex_step_jacobian(self.struct.matrix, th_r)
        grads.append(np.tensordot(dW, ev.grad_R, axes=([1, 2], [0, 1])))
        return ev.f, np.concatenate(grads)

    def at_theta(self, theta):
        th_b, th_r = self.split(theta)
        psis = [psi_from_theta(t, q) for t, q in zip(th_b, self.qs)]
        W = self.struct.matrix(th_r)
        return W, psis, evaluate(self.grid, W, psis, self.reml, profile=True)

    # Satterthwaite parametrisation: (lme4 theta, structure theta, sigma) ------------------------
    def varpar_names(self):
        names = []
        for b in self.grid.blocks:
            for i, j in zip(*tril_colmajor(b.q)):
                tail = b.names[i] if i == j else f"{b.names[i]}_{b.names[j]}"
                names.append(f"theta_{b.group}_{tail}")
        return names + self.struct.theta_names() + ["sigma"]

    def varpar_from_theta(self, theta, sigma2):
        th_b, th_r = self.split(np.asarray(theta, dtype=float))
        parts = [theta_canonical(t, q) for t, q in zip(th_b, self.qs)]
        return np.concatenate(parts + [th_r, [np.sqrt(sigma2)]])

    def evaluate_varpar(self, v):
        th_b, th_r = self.split(v[:-1])
        s2 = v[-1] ** 2
        W = self.struct.matrix(th_r)
        if not np.all(np.isfinite(W)):
            return None
        Gs = [s2 * psi_from_theta(t, q) for t, q in zip(th_b, self.qs)]
        return evaluate(self.grid, s2 * W, Gs, self.reml, profile=False)

    # Kenward-Roger parametrisation: natural units -------------------------------------------
    def natural_names(self):
        names = []
        for b in self.grid.blocks:
            for i, j in zip(*np.tril_indices(b.q)):
                tail = b.names[i] if i == j else f"{b.names[i]}_{b.names[j]}"
                names.append(f"G_{b.group}_{tail}")
        return names + self.struct.natural_names()

    def split_natural(self, v):
        out, k = [], 0
        for q in self.qs:
            out.append(unvech(v[k:k + n_vech(q)], q))
            k += n_vech(q)
        return out, v[k:]

    def evaluate_natural(self, v):
        Gs, v_r = self.split_natural(v)
        with np.errstate(invalid="ignore"):  # e.g. a negative variance under a square root
            R = self.struct.cov_from_natural(v_r)
        if not np.all(np.isfinite(R)):
            return None
        return evaluate(self.grid, R, Gs, self.reml, profile=False)


def _moment_cov(grid: Grid) -> np.ndarray:
    """Pairwise moment estimate of the T x T residual covariance from OLS residuals (a start)."""
    Xf = grid.X[grid.present]
    beta = np.linalg.lstsq(Xf, grid.y[grid.present], rcond=None)[0]
    r = np.where(grid.present, grid.y - grid.X @ beta, 0.0)
    n = grid.pair_counts()
    S = (r.T @ r) / np.maximum(n, 1)
    d = np.diag(S).copy()
    d[d <= 0] = max(np.mean(d[d > 0]) if np.any(d > 0) else 1.0, 1e-8)
    S[np.diag_indices_from(S)] = d
    return S


def check_structure(grid: Grid, struct: Structure, labels) -> None:
    """Raise ModelError when the data cannot support ``struct`` (one sentence, what to do)."""
    T, name = grid.T, struct.name
    if getattr(struct, "inner", None) is not None:  # GROUP=: each level on its own, then the total
        from mixgui.engine.repeated.grouped import check_groups
        check_groups(grid, struct, check_structure)
        _check_count(grid, struct)
        return
    if T < struct.min_positions:
        raise ModelError(f"{name} needs at least {struct.min_positions} index positions but the data have "
                         f"only {T}; use ID or DIAG, or check the index column.")
    per_position = grid.present.sum(axis=0)
    if struct.heterogeneous and np.any(per_position == 0):
        k = int(np.argmax(per_position == 0))
        raise ModelError(f"{name} estimates a variance at every index position but no row has index "
                         f"{labels[k]}; use a homogeneous structure or drop that position.")
    if struct.correlated and not np.any(grid.present.sum(axis=1) >= 2):
        raise ModelError(f"{name} needs subjects observed at two or more index positions but every subject "
                         "has a single row; use ID or DIAG, or check the subject and index columns.")
    pairs = grid.pair_counts()
    if name == "UN":
        k = T * (T + 1) // 2
        if k >= grid.S:
            raise ModelError(f"UN has {k} covariance parameters but there are only {grid.S} subjects; "
                             "use a structure with fewer parameters (TOEP, ARH1, CSH, AR1 or CS).")
        i, j = np.unravel_index(np.argmin(pairs), pairs.shape)
        if pairs[i, j] < 2:
            raise ModelError(f"UN needs the index positions {labels[i]} and {labels[j]} observed together in "
                             f"at least 2 subjects but there are {int(pairs[i, j])}; use a structure with "
                             "fewer parameters (TOEP, ARH1, CSH, AR1 or CS).")
    if name == "ANTE1":
        for i in range(T - 1):
            if pairs[i, i + 1] == 0:
                raise ModelError(f"ANTE(1) estimates a correlation between the visits {labels[i]} and "
                                 f"{labels[i + 1]} but no subject has both; use AR1 or CS, or drop one "
                                 "of those visits.")
    k = getattr(struct, "k", None)
    if name == "TOEP" or name.startswith("TOEP(") or name == "TOEPH":
        for lag in range(1, (k or T)):
            if np.trace(pairs, lag) == 0:
                raise ModelError(f"{name} estimates a correlation at lag {lag} but no subject has two visits "
                                 f"that far apart; use AR1 or CS, or check the index column.")
    _check_count(grid, struct)


def _check_count(grid: Grid, struct: Structure) -> None:
    name = struct.name
    n_cov = struct.n_natural + sum(n_vech(b.q) for b in grid.blocks)
    if n_cov >= grid.nobs - grid.p:
        what = f"{name} with these random effects" if grid.blocks else name
        raise ModelError(f"{what} has {n_cov} covariance parameters, too many for "
                         f"{grid.nobs} observations and {grid.p} fixed effects; choose a simpler structure.")


def _start(model: Model) -> np.ndarray:
    S = _moment_cov(model.grid)
    parts = []
    if model.qs:
        # the random effects take over part of the within-subject covariance: start them at
        # half the residual variance and the residual structure with halved correlations
        d = np.sqrt(np.diag(S))
        R = S / np.outer(d, d)
        S = (0.5 * R + 0.5 * np.eye(len(S))) * np.outer(d, d)
        for q in model.qs:
            parts.append(vech(np.eye(q) * np.sqrt(0.5)))
    parts.append(model.struct.start(S))
    return np.concatenate(parts) if parts else np.zeros(0)


def _newton_polish(model: Model, theta, f, g, steps: int = 4):
    """A few Newton steps with a finite-difference Hessian of the analytic gradient.

    BFGS can stop where its line search makes no more progress (flat or badly scaled
    likelihoods), a little short of the optimum; Newton from there converges quadratically.
    """
    k = len(theta)
    for _ in range(steps):
        if np.max(np.abs(g)) < 1e-8:
            break
        H = np.zeros((k, k))
        for i in range(k):
            h = 1e-5 * max(1.0, abs(theta[i]))
            e = np.zeros(k)
            e[i] = h
            H[:, i] = (model.objective(theta + e)[1] - model.objective(theta - e)[1]) / (2 * h)
        H = (H + H.T) / 2
        try:
            if np.linalg.eigvalsh(H).min() <= 0:
                break  # not locally convex (a ridge or a boundary): leave it to BFGS's answer
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        for scale in (1.0, 0.5, 0.25):
            f_new, g_new = model.objective(theta - scale * step)
            if f_new <= f + 1e-10:
                theta, f, g = theta - scale * step, f_new, g_new
                break
        else:
            break
        if g @ step < 1e-12:  # the predicted decrease is below rounding of the criterion
            break
    return theta, f, g


class _Stall:
    """BFGS callback that stops once 10 iterations improved -2 logLik by less than 1e-7.

    Over-parametrised combinations (a random intercept with CS) have flat ridges where BFGS
    would crawl for hundreds of iterations without changing any reported number.
    """

    def __init__(self):
        self.history = []

    def __call__(self, intermediate_result):
        self.history.append(float(intermediate_result.fun))
        if len(self.history) > 10 and self.history[-11] - self.history[-1] < 1e-7:
            raise StopIteration


def optimise(model: Model, start=None):
    """Maximise the (REML) likelihood; returns (theta, converged, iterations, warnings)."""
    theta0 = _start(model) if start is None else np.asarray(start, dtype=float)
    warnings: list = []
    if not len(theta0):
        return theta0, True, 0, warnings
    res = minimize(model.objective, theta0, jac=True, method="BFGS", callback=_Stall(),
                   options={"gtol": 1e-7, "maxiter": 200 + 50 * len(theta0)})
    theta, (f, g) = res.x, model.objective(res.x)
    if np.max(np.abs(g)) > 1e-6 and len(theta) <= 60:  # polish; a Hessian costs 2k gradients
        theta, f, g = _newton_polish(model, theta, f, g)
    converged = bool(np.all(np.isfinite(g)) and np.max(np.abs(g)) < GRAD_TOL)
    if not converged:
        warnings.append(FitWarning("convergence", f"The {model.struct.name} fit did not converge (the likelihood "
                                   "is still changing); try a simpler structure or rescale the response.",
                                   "repeated"))
    return theta, converged, int(res.nit), warnings
