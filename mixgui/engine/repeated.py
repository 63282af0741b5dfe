"""Repeated-measures models: a residual covariance structure within subject (nlme::gls), optionally
together with lme4-style random effects (nlme::lme with a correlation structure).

The fit maximises nlme's (REML) likelihood over an unconstrained parametrisation of the structure
(see :mod:`mixgui.engine.covstruct`) with beta and sigma^2 profiled out, using analytic gradients
and BFGS followed by a few Newton steps, so estimates agree with R well beyond display precision.
The result reports covariance parameters in their natural units and exposes the likelihood in the
natural (SAS) parametrisation for Satterthwaite and Kenward-Roger.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from mixgui.engine import repeated_post as post
from mixgui.engine.covstruct import STRUCTURES, Structure, make_structure
from mixgui.engine.covtools import (complex_step_jacobian, n_vech, psi_from_theta, theta_canonical,
                                    tril_colmajor, unvech, vech)
from mixgui.engine.repeated_lik import Grid, build_grid, evaluate
from mixgui.errors import FitWarning, ModelError

GRAD_TOL = 1e-3  # max |d(-2 logLik)/d theta| accepted as converged


@dataclass
class RepeatedFit:
    """A fitted repeated-measures model; satisfies :class:`mixgui.engine.covmodel.CovarianceModel`.

    Attributes
    ----------
    structure : str               ``"ID"``, ``"DIAG"``, ``"CS"``, ``"CSH"``, ``"AR1"``, ``"ARH1"``, ``"TOEP"``, ``"UN"``
    reml : bool
    X : ndarray (n, p)            fixed-effects design, rows in input order
    beta : ndarray (p,)
    vcov : ndarray (p, p)         (X'V^-1X)^-1 at the estimate
    varpar : ndarray              the parametrisation of ``deviance_at`` and ``vcov_at`` (Satterthwaite),
                                  lmerTest's extended: each random block's lme4 theta (relative
                                  Cholesky factor, lower triangle column by column, diagonal >= 0),
                                  then the structure's unconstrained theta (log sd ratios, transformed
                                  correlations, see covstruct), then sigma.  Every value gives a
                                  positive definite covariance, so numerical derivatives with large
                                  steps stay valid; for an lme4 model (ID + random effects) it is
                                  exactly lmerTest's (theta, sigma).
    varpar_names : list of str
    kr_par : ndarray              the parametrisation of ``kr_clusters`` (Kenward-Roger): natural units,
                                  each random block's covariance matrix (lower triangle row by row, as
                                  pbkrtest), then the structure's SAS parameters: ID sigma2; DIAG
                                  var_<pos>; CS cs_cov, residual; CSH/ARH1 var_<pos>..., rho; AR1
                                  sigma2, rho; TOEP cov_lag0..cov_lag{T-1}; UN cov_<a>_<b> (a >= b).
                                  Linear (no second derivatives) except with rho in CSH, AR1, ARH1.
    kr_names : list of str
    theta : ndarray               the unconstrained optimum (fitting parametrisation, scale profiled)
    loglik, deviance, aic, bic : float   nlme's values (deviance = -2 loglik); AIC counts p +
                                  len(varpar) parameters; BIC uses log(N - p) under REML, as nlme
    nobs, n_subjects, n_positions : int
    n_parameters : int            covariance parameters, len(varpar) == len(kr_par)
    converged : bool
    warnings : list of FitWarning
    parameters : dict             residual structure, named: sigma2 or var_<label>, rho, rho_lag<k>,
                                  corr_<a>_<b>
    sigma : float                 nlme's residual scale (standard deviation at the first position)
    marginal_covariance : ndarray (T, T)  one subject observed at every position, random part included
    correlation : ndarray (T, T)  the correlation matrix implied by ``marginal_covariance``
    fitted_marginal, residuals_marginal : ndarray (n,)   X beta and y - X beta
    fitted_conditional : ndarray (n,)     X beta + Z b (BLUPs added; equal to marginal without random effects)
    fitted, residuals : ndarray (n,)      R's fitted() / resid() for gls and lme: the conditional ones
    resid_pearson : ndarray (n,)          residuals / residual standard deviation at the row's position
                                          (nlme's type = "pearson")
    singular : bool                       an estimate on the boundary (see ``warnings``)
    blocks : list of RandomBlock          the random-effects blocks (empty for gls)
    n_groups : dict                       group -> number of levels of each block
    varcorr : list of (q, q) ndarray      random-effects covariance matrices in data units, per block
    blups, blup_sd : lists of (L, q) ndarray   conditional modes and conditional standard deviations
                                          per block (lme4's ``condVar``, beta taken as known)
    The per-block attributes have the layout of :class:`mixgui.engine.lmm_result.LmmFit`.
    """

    structure: str
    reml: bool
    X: np.ndarray
    beta: np.ndarray
    vcov: np.ndarray
    varpar: np.ndarray
    varpar_names: list
    kr_par: np.ndarray
    kr_names: list
    theta: np.ndarray
    loglik: float
    deviance: float
    aic: float
    bic: float
    nobs: int
    n_subjects: int
    n_positions: int
    n_parameters: int
    converged: bool
    warnings: list
    parameters: dict
    sigma: float
    marginal_covariance: np.ndarray
    correlation: np.ndarray
    fitted: np.ndarray
    residuals: np.ndarray
    fitted_marginal: np.ndarray
    residuals_marginal: np.ndarray
    fitted_conditional: np.ndarray
    resid_pearson: np.ndarray
    singular: bool
    blocks: list
    n_groups: dict
    varcorr: list
    blups: list
    blup_sd: list
    column_names: list | None = None
    position_labels: list | None = None
    iterations: int = 0
    nevals: int = 0
    fit_seconds: float = 0.0
    _model: object = field(default=None, repr=False, compare=False)

    @property
    def std_errors(self) -> np.ndarray:
        return np.sqrt(np.diag(self.vcov))

    def deviance_at(self, varpar: np.ndarray) -> float:
        """-2 log-likelihood (REML criterion when ``reml``) at ``varpar``, beta profiled out.

        Returns inf where the covariance is not positive definite.
        """
        ev = self._model.evaluate_varpar(np.asarray(varpar, dtype=float))
        return np.inf if ev is None or not np.isfinite(ev.f) else ev.f

    def vcov_at(self, varpar: np.ndarray) -> np.ndarray:
        """(X'V^-1X)^-1 at ``varpar``."""
        ev = self._model.evaluate_varpar(np.asarray(varpar, dtype=float))
        if ev is None:
            raise ModelError("The covariance parameters give a covariance matrix that is not positive definite.")
        return np.linalg.inv(ev.A)

    def kr_clusters(self) -> list:
        """One :class:`ClusterPieces` per subject, derivatives of V_i with respect to ``kr_par``."""
        return post.kr_clusters(self._model, self.kr_par)


class _Model:
    """A structure, optional random blocks and the data grid: theta <-> matrices <-> likelihood."""

    def __init__(self, grid: Grid, struct: Structure, reml: bool, progress=None):
        self.grid, self.struct, self.reml, self.progress = grid, struct, reml, progress
        self.qs = [b.q for b in grid.blocks]
        self.n_re = sum(n_vech(q) for q in self.qs)
        self.n_evals = 0

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
    if name == "TOEP":
        for lag in range(1, T):
            if np.trace(pairs, lag) == 0:
                raise ModelError(f"TOEP estimates a correlation at lag {lag} but no subject has two visits "
                                 f"that far apart; use AR1 or CS, or check the index column.")
    n_cov = struct.n_natural + sum(n_vech(b.q) for b in grid.blocks)
    if n_cov >= grid.nobs - grid.p:
        what = f"{name} with these random effects" if grid.blocks else name
        raise ModelError(f"{what} has {n_cov} covariance parameters, too many for "
                         f"{grid.nobs} observations and {grid.p} fixed effects; choose a simpler structure.")


def _start(model: _Model) -> np.ndarray:
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


def _newton_polish(model: _Model, theta, f, g, steps: int = 4):
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


def fit_repeated(y, X, subject, position, n_positions, structure, reml=True, blocks=(),
                 position_labels=None, column_names=None, progress=None, subject_labels=None,
                 start=None) -> RepeatedFit:
    """Fit a linear model with a residual covariance structure within subject (and random effects).

    Parameters
    ----------
    y : array (n,)
    X : array (n, p)             full column rank
    subject : array of int (n,)  subject codes 0..S-1
    position : array of int (n,) index of the row's visit among the sorted distinct index values
    n_positions : int            T, the number of distinct index values
    structure : str              ID, DIAG, CS, CSH, AR1, ARH1, TOEP or UN
    reml : bool
    blocks : sequence of RandomBlock   random effects, each grouping nested in subject
    position_labels : list of str      names of the positions (default "0".."T-1")
    column_names : list of str         names of X's columns (kept on the result)
    progress : Progress, optional      stepped once per likelihood evaluation (cancellable)
    subject_labels : list of str       subject names, used in error messages only
    start : array, optional            unconstrained starting theta (e.g. from a previous fit)

    Returns
    -------
    RepeatedFit

    Raises
    ------
    ModelError
        The data cannot support the structure (see :func:`check_structure`), duplicate index
        values within a subject, or random effects not nested in subject.
    """
    t0 = time.perf_counter()
    labels = _labels(position_labels, n_positions)
    struct = make_structure(structure, int(n_positions), labels)
    grid = build_grid(y, X, subject, position, int(n_positions), blocks, subject_labels, labels)
    fit = _fit_grid(grid, struct, reml, progress, start)
    fit.column_names = list(column_names) if column_names is not None else None
    fit.fit_seconds = time.perf_counter() - t0
    return fit


def _labels(position_labels, T):
    if position_labels is None:
        return [str(k) for k in range(int(T))]
    if len(position_labels) != int(T):
        raise ModelError(f"There are {len(position_labels)} index labels for {int(T)} index positions; "
                         "pass one label per distinct index value.")
    return [str(v) for v in position_labels]


def _fit_grid(grid: Grid, struct: Structure, reml: bool, progress=None, start=None) -> RepeatedFit:
    check_structure(grid, struct, struct.labels)
    model = _Model(grid, struct, reml, progress)
    theta0 = _start(model) if start is None else np.asarray(start, dtype=float)
    warnings: list = []
    if len(theta0):
        res = minimize(model.objective, theta0, jac=True, method="BFGS", callback=_Stall(),
                       options={"gtol": 1e-7, "maxiter": 200 + 50 * len(theta0)})
        theta, (f, g) = res.x, model.objective(res.x)
        if np.max(np.abs(g)) > 1e-6 and len(theta) <= 60:  # polish; a Hessian costs 2k gradients
            theta, f, g = _newton_polish(model, theta, f, g)
        converged = bool(np.all(np.isfinite(g)) and np.max(np.abs(g)) < GRAD_TOL)
        iterations = int(res.nit)
    else:
        theta, converged, iterations = theta0, True, 0
    if not converged:
        warnings.append(FitWarning("convergence", f"The {struct.name} fit did not converge (the likelihood "
                                   "is still changing); try a simpler structure or rescale the response.",
                                   "repeated"))
    W, psis, ev = model.at_theta(theta)
    fit = _assemble(model, theta, W, psis, ev, converged, warnings, iterations)
    fit.position_labels = list(struct.labels)
    return fit


def _assemble(model: _Model, theta, W, psis, ev, converged, warnings, iterations) -> RepeatedFit:
    grid, struct, reml = model.grid, model.struct, model.reml
    s2 = ev.sigma2
    R = s2 * np.real(W)
    Gs = [s2 * p for p in psis]
    kr_par = np.concatenate([vech(G) for G in Gs] + [struct.natural_from_cov(R)])
    varpar = model.varpar_from_theta(theta, s2)
    N, p = grid.nobs, grid.p
    k = p + len(varpar)
    f = ev.f
    X = np.zeros((N, p))
    X[grid.rows[grid.present]] = grid.X[grid.present]
    yv = np.zeros(N)
    yv[grid.rows[grid.present]] = grid.y[grid.present]
    fitted = X @ ev.beta
    marg = post.marginal_covariance(grid, R, Gs)
    d = np.sqrt(np.diag(marg))
    warnings.extend(post.boundary_warnings(struct, R, Gs, grid))
    if grid.blocks:
        blups, blup_sd, cond = post.blups(grid, psis, ev, s2)
    else:
        blups, blup_sd, cond = [], [], np.zeros(N)
    position = np.zeros(N, dtype=np.int64)
    position[grid.rows[grid.present]] = np.nonzero(grid.present)[1]
    resid = yv - fitted - cond
    fit = RepeatedFit(
        structure=struct.name, reml=reml, X=X, beta=ev.beta, vcov=s2 * np.linalg.inv(ev.A),
        varpar=varpar, varpar_names=model.varpar_names(), kr_par=kr_par, kr_names=model.natural_names(),
        theta=np.asarray(theta, dtype=float),
        loglik=-f / 2, deviance=f, aic=f + 2 * k, bic=f + k * np.log(N - p if reml else N),
        nobs=N, n_subjects=grid.S, n_positions=grid.T, n_parameters=len(varpar), converged=converged,
        warnings=warnings, parameters=struct.report(R), sigma=float(np.sqrt(R[0, 0])),
        marginal_covariance=marg, correlation=marg / np.outer(d, d),
        fitted=fitted + cond, residuals=resid, fitted_marginal=fitted, residuals_marginal=yv - fitted,
        fitted_conditional=fitted + cond, resid_pearson=resid / np.sqrt(np.diag(R))[position],
        singular=any(w.kind == "singular" for w in warnings), blocks=list(grid.source_blocks),
        n_groups={b.group: len(b.levels) for b in grid.blocks}, varcorr=Gs, blups=blups, blup_sd=blup_sd,
        iterations=iterations, nevals=model.n_evals, _model=model)
    return fit


COMPARISON_NOTE = (
    "Lower AIC and BIC are better (BIC penalises parameters more). Prefer the simplest structure the data "
    "support, since extra covariance parameters cost precision; choose one that matches how the process is "
    "thought to behave (AR1 for correlation that fades with distance between visits, CS when all visits are "
    "alike, UN when nothing can be assumed and there are many subjects); and check that a richer structure "
    "really improves the fit. REML criteria are comparable only between models with the same fixed effects; "
    "use ML to compare models that differ in their fixed effects.")


class StructureComparison(list):
    """Rows of :func:`compare_structures` (a list of dicts), with ``note`` (how to choose),
    ``skipped`` ({structure: reason}) and ``fits`` ({structure: RepeatedFit})."""

    def __init__(self, rows=(), note: str = COMPARISON_NOTE, skipped=None, fits=None):
        super().__init__(rows)
        self.note = note
        self.skipped = dict(skipped or {})
        self.fits = dict(fits or {})


def compare_structures(y, X, subject, position, n_positions, structures=None, reml=True, blocks=(),
                       position_labels=None, subject_labels=None, progress=None) -> StructureComparison:
    """Fit several residual structures on the same rows and rank them by AIC and BIC.

    Parameters
    ----------
    y, X, subject, position, n_positions, reml, blocks, position_labels, subject_labels, progress
        As :func:`fit_repeated`.
    structures : sequence of str, optional
        Structures to try (default all of ``STRUCTURES``).  Those the data cannot support (too few
        positions, UN with too few subjects, ...) are skipped and listed in ``skipped``.

    Returns
    -------
    StructureComparison
        One dict per fitted structure: ``structure``, ``n_parameters`` (covariance parameters),
        ``df`` (all parameters, as R's anova), ``loglik``, ``aic``, ``bic``, ``converged``,
        ``best_aic``, ``best_bic`` (the lowest value among converged fits).

    Raises
    ------
    ModelError
        A problem common to every structure (no subject, duplicate index values, ...).
    """
    labels = _labels(position_labels, n_positions)
    grid = build_grid(y, X, subject, position, int(n_positions), blocks, subject_labels, labels)
    out = StructureComparison()
    for name in structures or STRUCTURES:
        struct = make_structure(name, int(n_positions), labels)
        try:
            fit = _fit_grid(grid, struct, reml, progress)
        except ModelError as e:
            out.skipped[struct.name] = str(e)
            continue
        out.fits[struct.name] = fit
        out.append({"structure": struct.name, "n_parameters": fit.n_parameters,
                    "df": fit.n_parameters + grid.p, "loglik": fit.loglik, "aic": fit.aic, "bic": fit.bic,
                    "converged": fit.converged, "best_aic": False, "best_bic": False})
    pool = [r for r in out if r["converged"]] or list(out)
    for key in ("aic", "bic"):
        if pool:
            min(pool, key=lambda r: r[key])["best_" + key] = True
    return out
