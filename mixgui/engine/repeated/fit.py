"""Repeated-measures models: a residual covariance structure within subject (nlme::gls), optionally
together with lme4-style random effects (nlme::lme with a correlation structure).

The fit maximises nlme's (REML) likelihood over an unconstrained parametrisation of the structure
(see :mod:`mixgui.engine.repeated.structures`) with beta and sigma^2 profiled out, using analytic gradients
and BFGS followed by a few Newton steps, so estimates agree with R well beyond display precision.
The result reports covariance parameters in their natural units; for inference it exposes the
likelihood in lmerTest's kind of parametrisation (theta, sigma: Satterthwaite) and the marginal
covariance's derivatives in SAS's natural parameters (Kenward-Roger).
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from mixgui.engine.repeated import post
from mixgui.engine.repeated.grouped import Grouped
from mixgui.engine.repeated.likelihood import Grid, build_grid
from mixgui.engine.repeated.model import Model, check_structure, optimise
from mixgui.engine.repeated.structures import STRUCTURES, Structure, make_structure
from mixgui.engine.repeated.tools import vech
from mixgui.errors import ModelError


@dataclass
class RepeatedFit:
    """A fitted repeated-measures model; satisfies :class:`mixgui.engine.covmodel.CovarianceModel`.

    Attributes
    ----------
    structure : str               ``"ID"``, ``"DIAG"``, ``"CS"``, ``"CSH"``, ``"AR1"``, ``"ARH1"``, ``"TOEP"``, ``"UN"``
    reml : bool
    X : ndarray (n, p)            fixed-effects design, rows in input order
    beta : ndarray (p,)
    vcov : ndarray (p, p)         (X'V^-1X)^-1 at the estimate, unscaled under ML too (as SAS, mmrm,
                                  lme4; nlme's gls multiplies it by N / (N - p) under ML)
    vcov_scale : float            1 (kept for callers that rescale ``vcov_at``)
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
    The per-block attributes have the layout of :class:`mixgui.engine.lmm.result.LmmFit`.
    """

    structure: str
    reml: bool
    X: np.ndarray
    beta: np.ndarray
    vcov: np.ndarray
    vcov_scale: float
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
    log_weights: float = 0.0      # sum of log weights (SAS WEIGHT), already in loglik, deviance, aic, bic
    _model: object = field(default=None, repr=False, compare=False)
    kr_vech_order = "rows"  # kr_par's order of a random block's G elements (see kr_boundary); not a field

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
        return np.linalg.inv(ev.A) * self.vcov_scale

    def bw_layout(self):
        """(within flags per column of X, subjects, observations) for between-within df: a column
        is within-subject when it changes between the visits of some subject."""
        g = self._model.grid
        sw = getattr(self._model, "sqrt_weights", None)  # weights scale the grid's rows: undo that
        Xg = g.X if sw is None else g.X / np.where(g.present, sw, 1.0)[:, :, None]
        X = np.where(g.present[:, :, None], Xg, np.nan)
        spread = np.nanmax(X, axis=1) - np.nanmin(X, axis=1)   # (S, p); nan for a subject with no rows
        within = np.nanmax(np.where(np.isnan(spread), 0.0, spread), axis=0) > 1e-12
        return within, g.S, g.nobs

    def kr_clusters(self) -> list:
        """One :class:`ClusterPieces` per subject, derivatives of V_i with respect to ``kr_par``."""
        return post.kr_clusters(self._model, self.kr_par)


def fit_repeated(y, X, subject, position, n_positions, structure, reml=True, blocks=(),
                 position_labels=None, column_names=None, progress=None, subject_labels=None,
                 start=None, coordinates=None, weights=None, group=None, group_levels=None) -> RepeatedFit:
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
    coordinates : array (T,) or (T, d), optional   the time (or point) of each position, for the
                                       spatial structures SP(POW), SP(EXP), SP(GAU)
    weights : array (n,), optional     positive weights (SAS WEIGHT, nlme varFixed(~1/w)): the residual
                                       covariance of a subject is W^-1/2 R W^-1/2; random effects unchanged
    group : array of int (n,), optional   level code 0..K-1 of each row (SAS GROUP=): every level gets
                                       its own covariance parameters (see :mod:`.grouped`)
    group_levels : list of str         names of the K levels

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
    struct, position, n_positions = _structure(structure, n_positions, labels, coordinates, position, group,
                                               group_levels)
    yw, Xw, bw, sw = weighted_rows(y, X, blocks, weights)
    grid = build_grid(yw, Xw, subject, position, int(n_positions), bw, subject_labels, struct.labels)
    fit = _fit_grid(grid, struct, reml, progress, start, sw)
    fit.column_names = list(column_names) if column_names is not None else None
    fit.fit_seconds = time.perf_counter() - t0
    return fit


def _vcov_scale(reml: bool, N: int, p: int) -> float:
    # SAS PROC MIXED, mmrm and lme4 report the ML covariance of beta as it is; nlme's gls and lme
    # scale it by N / (N - p). A trial statistician compares with SAS, so we do not scale.
    return 1.0


def _labels(position_labels, T):
    if position_labels is None:
        return [str(k) for k in range(int(T))]
    if len(position_labels) != int(T):
        raise ModelError(f"There are {len(position_labels)} index labels for {int(T)} index positions; "
                         "pass one label per distinct index value.")
    return [str(v) for v in position_labels]


def _fit_grid(grid: Grid, struct: Structure, reml: bool, progress=None, start=None, sw=None) -> RepeatedFit:
    check_structure(grid, struct, struct.labels)
    model = Model(grid, struct, reml, progress)
    theta, converged, iterations, warnings = optimise(model, start)
    W, psis, ev = model.at_theta(theta)
    fit = _assemble(model, theta, W, psis, ev, converged, warnings, iterations)
    fit.position_labels = list(struct.labels)
    if sw is not None:
        post.unweight(fit, sw)
    return fit


def _structure(name, T, labels, coordinates, position, group, group_levels):
    """The structure, and the positions widened level by level when there is a group."""
    if group is None:
        return make_structure(name, int(T), labels, coordinates), position, int(T)
    group = np.asarray(group, dtype=np.int64)
    levels = list(group_levels) if group_levels is not None else [str(k) for k in range(int(group.max()) + 1)]
    struct = Grouped(name, int(T), levels, labels, coordinates)
    return struct, group * int(T) + np.asarray(position, dtype=np.int64), struct.T


def group_sections(fit) -> list:
    """Per level of a GROUP= fit: its parameters and the covariance of a complete subject (else [])."""
    struct = fit._model.struct
    if getattr(struct, "inner", None) is None:
        return []
    R = struct.cov_from_natural(fit.kr_par[len(fit.kr_par) - struct.n_natural:])
    return struct.per_level(np.asarray(R, float), np.asarray(fit.marginal_covariance, float))


def weighted_rows(y, X, blocks, weights):
    """Rows scaled by sqrt(w), so that a model of V* = D V D (D = diag sqrt(w)) is the weighted one.

    With y* = D y, X* = D X, Z* = D Z the model Var(y*) = Z* G Z*' + R has
    Var(y) = Z G Z' + D^-1 R D^-1: SAS's WEIGHT (the residual part only). Returns
    (y*, X*, blocks*, sqrt(w) or None).

    Raises
    ------
    ModelError
        Weights of the wrong length, missing, zero or negative.
    """
    if weights is None:
        return y, X, blocks, None
    w = np.asarray(weights, dtype=float).ravel()
    if len(w) != len(np.asarray(y)):
        raise ModelError("There is not one weight per row; choose a weights column of the same table.")
    if not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ModelError("Every weight must be a positive number, but the weights column has zero, negative or "
                         "missing values; fix those rows or drop them.")
    sw = np.sqrt(w)
    bw = [dataclasses.replace(b, Z=np.asarray(b.Z, float) * sw[:, None]) for b in blocks]
    return np.asarray(y, float) * sw, np.asarray(X, float) * sw[:, None], bw, sw


def _assemble(model: Model, theta, W, psis, ev, converged, warnings, iterations) -> RepeatedFit:
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
    scale = _vcov_scale(reml, N, p)
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
        structure=struct.name, reml=reml, X=X, beta=ev.beta, vcov=s2 * np.linalg.inv(ev.A) * scale,
        vcov_scale=scale,
        varpar=varpar, varpar_names=model.varpar_names(), kr_par=kr_par, kr_names=model.natural_names(),
        theta=np.asarray(theta, dtype=float),
        loglik=float(-f / 2), deviance=float(f), aic=float(f + 2 * k), bic=float(f + k * np.log(N - p if reml else N)),
        nobs=N, n_subjects=grid.S, n_positions=grid.T, n_parameters=len(varpar), converged=converged,
        warnings=warnings, parameters=struct.report(R), sigma=float(np.sqrt(R[0, 0])),
        marginal_covariance=marg, correlation=marg / np.outer(d, d),
        fitted=fitted + cond, residuals=resid, fitted_marginal=fitted, residuals_marginal=yv - fitted,
        fitted_conditional=fitted + cond, resid_pearson=resid / np.sqrt(np.diag(R))[position],
        singular=any(w.kind == "singular" for w in warnings), blocks=list(grid.source_blocks),
        n_groups={b.group: len(b.levels) for b in grid.blocks}, varcorr=Gs, blups=blups, blup_sd=blup_sd,
        iterations=iterations, nevals=model.n_evals, _model=model)
    return fit


CHOOSING = (
    "Lower AIC and BIC are better (BIC penalises parameters more). Prefer the simplest structure the data "
    "support, since extra covariance parameters cost precision; choose one that matches how the process is "
    "thought to behave (AR1 for correlation that fades with distance between visits, CS when all visits are "
    "alike, UN when nothing can be assumed and there are many subjects); and check that a richer structure "
    "really improves the fit. ")
#: how to choose, for a comparison of ML fits (the default, and the only one the results file holds)
COMPARISON_NOTE = CHOOSING + (
    "The structures are compared by ML fits with the same fixed effects and rows; the final model is then "
    "fitted by REML with the chosen structure, because REML variance estimates are not biased downward as ML "
    "ones are. So the log-likelihood, AIC and BIC here are ML values and differ from those of a REML model.")
#: the same for a comparison of REML fits (engine callers only)
REML_NOTE = CHOOSING + (
    "REML criteria are comparable only between models with the same fixed effects; use ML to compare models "
    "that differ in their fixed effects.")


class StructureComparison(list):
    """Rows of :func:`compare_structures` (a list of dicts), with ``note`` (how to choose in general),
    ``recommendation`` (which to choose here and why), ``skipped`` ({structure: reason}) and ``fits``
    ({structure: RepeatedFit})."""

    def __init__(self, rows=(), note: str = COMPARISON_NOTE, skipped=None, fits=None):
        super().__init__(rows)
        self.note = note
        self.recommendation = ""
        self.skipped = dict(skipped or {})
        self.fits = dict(fits or {})


def compare_structures(y, X, subject, position, n_positions, structures=None, reml=False, blocks=(),
                       position_labels=None, subject_labels=None, progress=None,
                       coordinates=None, weights=None, group=None, group_levels=None) -> StructureComparison:
    """Fit several residual structures on the same rows and rank them by AIC and BIC.

    Parameters
    ----------
    y, X, subject, position, n_positions, blocks, position_labels, subject_labels, progress, weights
    group, group_levels
        As :func:`fit_repeated`.
    reml : bool
        Fit by REML instead of ML. The default, ML, is how structures are compared before the final
        model is fitted by REML with the chosen one (the results file's comparison is always ML).
    structures : sequence of str, optional
        Structures to try (default all of ``STRUCTURES``).  Those the data cannot support (too few
        positions, UN with too few subjects, ...) are skipped and listed in ``skipped``.

    Returns
    -------
    StructureComparison
        One dict per fitted structure: ``structure``, ``n_parameters`` (covariance parameters),
        ``df`` (all parameters, as R's anova), ``loglik``, ``aic``, ``bic``, ``converged``,
        ``boundary`` (an estimate on the boundary), ``best_aic``, ``best_bic`` (the lowest value among
        converged fits off the boundary).

    Raises
    ------
    ModelError
        A problem common to every structure (no subject, duplicate index values, ...).
    """
    labels = _labels(position_labels, n_positions)
    yw, Xw, bw, sw = weighted_rows(y, X, blocks, weights)
    widened = _structure("ID", n_positions, labels, coordinates, position, group, group_levels)
    grid = build_grid(yw, Xw, subject, widened[1], widened[2], bw, subject_labels, widened[0].labels)
    out = StructureComparison(note=REML_NOTE if reml else COMPARISON_NOTE)
    for name in structures or STRUCTURES:
        struct = _structure(name, n_positions, labels, coordinates, position, group, group_levels)[0]
        try:
            fit = _fit_grid(grid, struct, reml, progress, sw=sw)
        except ModelError as e:
            out.skipped[struct.name] = str(e)
            continue
        out.fits[struct.name] = fit
        out.append({"structure": struct.name, "n_parameters": fit.n_parameters,
                    "df": fit.n_parameters + grid.p, "loglik": fit.loglik, "aic": fit.aic, "bic": fit.bic,
                    "converged": fit.converged, "boundary": bool(fit.singular),
                    "best_aic": False, "best_bic": False})
    # a fit on the boundary (a correlation at +-1, a variance at 0) or not converged is not a candidate
    pool = ([r for r in out if r["converged"] and not r["boundary"]] or [r for r in out if r["converged"]]
            or list(out))
    for key in ("aic", "bic"):
        if pool:
            min(pool, key=lambda r: r[key])["best_" + key] = True
    out.recommendation = recommend(out, reml)
    return out


def recommend(rows, reml: bool = False) -> str:
    """Which structure to choose and why, in words, from the rows of a comparison (of ML fits unless
    ``reml``): the best by AIC and BIC, those about as good, those that failed or hit a boundary, and
    that the final model is fitted by REML with the chosen structure."""
    if not rows:
        return "No structure could be fitted to these data; check the subject and index columns."
    a = next((r for r in rows if r["best_aic"]), None)
    b = next((r for r in rows if r["best_bic"]), None)
    parts = []
    if a and b and a["structure"] == b["structure"]:
        parts.append(f"{a['structure']} has the lowest AIC and BIC: choose it.")
    elif a and b:
        parts.append(f"{a['structure']} has the lowest AIC and {b['structure']} the lowest BIC; BIC prefers "
                     f"fewer parameters, so choose {b['structure']} unless the extra covariance parameters of "
                     f"{a['structure']} are plausible for how the outcome varies over time (AIC lower by "
                     f"{b['aic'] - a['aic']:.1f}).")
    near = [r["structure"] for r in rows if a and r is not a and r["converged"] and not r["boundary"]
            and r["aic"] - a["aic"] < 2]
    if near:
        parts.append(f"Within 2 AIC units, and so about as good: {', '.join(near)}; the simpler one is safer.")
    bad = [r["structure"] for r in rows if not r["converged"]]
    edge = [r["structure"] for r in rows if r["converged"] and r["boundary"]]
    if bad:
        parts.append(f"Did not converge (not candidates): {', '.join(bad)}.")
    if edge:
        parts.append(f"Hit a boundary, a correlation at +-1 or a variance at 0 (too rich for the data, not "
                     f"candidates): {', '.join(edge)}.")
    parts.append("These criteria come from REML fits with the same fixed effects; fit the final model by REML "
                 "with the chosen structure." if reml else
                 "Structures are compared by AIC and BIC of ML fits with the same fixed effects and rows; fit "
                 "the final model by REML with the chosen structure, because REML variance estimates are not "
                 "biased downward.")
    return " ".join(parts)
