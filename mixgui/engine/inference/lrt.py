"""Likelihood-ratio tests of random effects, and comparison of fitted models.

:func:`random_effect_tests` refits the model by maximum likelihood with and without each random
term (for a term with slopes: without each slope, and without the whole term) and reports
``2 (loglik1 - loglik0)`` with two p-values: ``p_value`` from the boundary mixture
``0.5 chi2(k-1) + 0.5 chi2(k)`` (Self & Liang 1987; Stram & Lee 1994; chi2(0) is a point mass at
zero), which allows for a variance being tested at its lower bound, and ``p_value_naive`` from
``chi2(k)`` (what lmerTest's ``ranova`` reports), ``k`` the number of covariance parameters
removed. Optionally a parametric bootstrap p-value, simulating from the reduced fit.

The fitter is a parameter, ``fit_fn(design, reml) -> fit`` with ``loglik`` (and ``beta``,
``sigma``, ``varcorr`` for the bootstrap), so this module does not import it.

:func:`compare_models` is R's ``anova(m0, m1, ...)`` for fits of the same data.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import stats

from mixgui.analysis.formula import term_label
from mixgui.engine.design import rebuild_design
from mixgui.errors import FitWarning


def lm_loglik(y, X) -> float:
    """ML log-likelihood of an ordinary regression: -n/2 (log(2 pi RSS / n) + 1)."""
    y = np.asarray(y, float)
    n = len(y)
    if X.shape[1]:
        beta = np.linalg.lstsq(X, y, rcond=None)[0]
        r = y - X @ beta
    else:
        r = y
    return float(-n / 2 * (np.log(2 * np.pi * float(r @ r) / n) + 1))


def n_cov_params(blocks) -> int:
    """Covariance parameters of the random part: q (q + 1) / 2 per block."""
    return int(sum(b.q * (b.q + 1) // 2 for b in blocks))


def _group_name(groups, g) -> str:
    # As design.py names blocks: an expanded nesting a/b is written b:a, as lme4 does.
    nested = len(groups) > 1 and g == groups[-1][: len(g)] and len(g) > 1
    return ":".join(term_label((v,)) for v in (reversed(g) if nested else g))


def _reductions(formula) -> list:
    """(label, reduced random terms) for every test; each random term is split per grouping factor."""
    units = []  # (index in formula.random, single-group RandomTerm, group name)
    for i, rt in enumerate(formula.random):
        for g in rt.groups:
            units.append((i, replace(rt, groups=(g,)), _group_name(rt.groups, g)))
    out = []
    for k, (_, unit, gname) in enumerate(units):
        others = [u for j, (_, u, _) in enumerate(units) if j != k]
        bar = "|" if unit.correlated else "||"
        text = f"({unit.lhs_text()} {bar} {gname})"
        pieces = len(unit.terms) + int(unit.intercept)
        if pieces == 1:
            out.append((text, others))
            continue
        for t in unit.terms:
            rest = tuple(s for s in unit.terms if s != t)
            out.append((f"{term_label(t)} in {text}", others + [replace(unit, terms=rest)]))
        if unit.correlated:
            out.append((text, others))  # the intercept is tested by removing the whole term
        elif unit.intercept:
            # with ||, the intercept is a block of its own and is tested alone
            out.append((f"(1 | {gname})", others + [replace(unit, intercept=False)]))
    return out


def _pvalues(stat, k) -> tuple:
    naive = float(stats.chi2.sf(stat, k)) if k > 0 else float("nan")
    low = (1.0 if stat <= 0 else 0.0) if k == 1 else float(stats.chi2.sf(stat, k - 1))
    return 0.5 * low + 0.5 * naive, naive


def simulate_response(design, fit, rng) -> np.ndarray:
    """One response drawn from a fitted model (``beta``, ``sigma``, ``varcorr`` on ``design``)."""
    y = design.X @ np.asarray(fit.beta, float) + float(fit.sigma) * rng.standard_normal(design.nobs)
    for b, G in zip(design.blocks, getattr(fit, "varcorr", [])):
        w, U = np.linalg.eigh(np.asarray(G, float))  # a square root that tolerates a singular G
        C = U * np.sqrt(np.clip(w, 0, None))
        u = rng.standard_normal((b.n_levels, b.q)) @ C.T
        y += np.sum(b.Z * u[np.asarray(b.codes)], axis=1)
    return y


class _LmFit:
    """ML fit of an ordinary regression, enough for the bootstrap and for compare_models."""

    def __init__(self, y, X):
        n = len(y)
        self.beta = np.linalg.lstsq(X, y, rcond=None)[0] if X.shape[1] else np.zeros(0)
        r = y - X @ self.beta
        self.sigma = float(np.sqrt(r @ r / n))
        self.varcorr = []
        self.loglik = lm_loglik(y, X)
        self.reml = False
        self.X = X
        self.varpar = np.array([self.sigma])


def _ml(design, fit_fn):
    return _LmFit(design.y, design.X) if not design.blocks else fit_fn(design, False)


def random_effect_tests(design, fit_fn, full_fit=None, nboot: int = 0, progress=None, seed=None) -> list:
    """Likelihood-ratio test of each random term (and each random slope).

    Parameters
    ----------
    design : Design
        The model's design (its ``formula.random`` says what to test).
    fit_fn : callable (Design, reml: bool) -> fit
        The fitter; called with ``reml=False``.
    full_fit : fit, optional
        An ML fit of ``design`` to reuse (otherwise refitted).
    nboot : int
        Parametric bootstrap replicates (0: none). Each simulates the response from the reduced
        ML fit and refits both models; ``p_value_boot = (1 + #{T* >= T}) / (1 + nboot)``.
    progress : mixgui.errors.Progress, optional
        ``step`` is called after every fit; cancelling raises :class:`mixgui.errors.Cancelled`.
    seed : int, optional

    Returns
    -------
    list of dict
        ``term, statistic, df, p_value, p_value_naive, loglik_full, loglik_reduced`` (and
        ``p_value_boot, nboot`` with the bootstrap).
    """
    reductions = _reductions(design.formula)
    total = len(reductions) * (1 + 2 * nboot) + 1
    done = [0]

    def tick(msg):
        done[0] += 1
        if progress is not None:
            progress.step(done[0] / total, msg)

    full = full_fit if full_fit is not None and not getattr(full_fit, "reml", False) else _ml(design, fit_fn)
    tick("full model refitted by ML")
    k_full = n_cov_params(design.blocks)
    rng = np.random.default_rng(seed)
    rows = []
    for label, random in reductions:
        red_design = rebuild_design(design, replace(design.formula, random=tuple(random)))
        red = _ml(red_design, fit_fn)
        tick(f"without {label}")
        k = k_full - n_cov_params(red_design.blocks)
        # A slightly negative statistic only reflects the optimiser's tolerance: 0, as for R's anova.
        stat = max(0.0, 2 * (full.loglik - red.loglik))
        p, naive = _pvalues(stat, k)
        row = {"term": label, "statistic": stat, "df": k, "p_value": p, "p_value_naive": naive,
               "loglik_full": float(full.loglik), "loglik_reduced": float(red.loglik)}
        if nboot:
            exceed = 0
            for _ in range(nboot):
                ystar = simulate_response(red_design, red, rng)
                l1 = _ml(replace(design, y=ystar), fit_fn).loglik
                tick(f"bootstrap for {label}")
                l0 = _ml(replace(red_design, y=ystar), fit_fn).loglik
                tick(f"bootstrap for {label}")
                exceed += 2 * (l1 - l0) >= stat
            row.update(p_value_boot=(1 + exceed) / (1 + nboot), nboot=nboot)
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------------------
def _npar(fit) -> int:
    if hasattr(fit, "npar"):
        return int(fit.npar)
    return len(np.ravel(fit.beta)) + len(np.ravel(fit.varpar))


def ml_refit_needed(fits) -> bool:
    """True when some fit is REML and the fits' fixed effects differ (their likelihoods are
    then not comparable: refit every model with ML, as R's ``anova`` does)."""
    if not any(getattr(f, "reml", False) for f in fits):
        return False
    Xs = [np.asarray(f.X, float) for f in fits]
    ref = Xs[0]
    for X in Xs[1:]:
        if X.shape != ref.shape:
            return True
        both = np.linalg.matrix_rank(np.hstack([ref, X]))
        if both != np.linalg.matrix_rank(ref) or both != np.linalg.matrix_rank(X):
            return True
    return False


def compare_models(fits, labels) -> dict:
    """Likelihood-ratio comparison of nested models, as R's ``anova(m0, m1, ...)``.

    Parameters
    ----------
    fits : list of fits with ``loglik``, ``reml``, ``X`` and ``npar`` (or ``beta`` and ``varpar``)
        Fitted to the same rows. R refits REML fits with ML before comparing; pass ML fits
        to reproduce its table.
    labels : list of str

    Returns
    -------
    dict
        ``rows`` (ordered by ``npar``; each ``model, npar, aic, bic, loglik, deviance, chisq,
        df, p_value``, the last three NaN in the first row), ``refit_required`` (True when REML
        fits with different fixed effects were given: the table is then not valid), ``reml``
        (some fit was REML) and ``warnings``.
    """
    n = int(getattr(fits[0], "nobs", None) or np.asarray(fits[0].X).shape[0])
    info = sorted(((_npar(f), i) for i, f in enumerate(fits)), key=lambda t: t[0])
    rows, prev = [], None
    for npar, i in info:
        ll = float(fits[i].loglik)
        row = {"model": labels[i], "npar": npar, "aic": -2 * ll + 2 * npar, "bic": -2 * ll + np.log(n) * npar,
               "loglik": ll, "deviance": -2 * ll, "chisq": np.nan, "df": np.nan, "p_value": np.nan}
        if prev is not None:
            chisq = 2 * max(0.0, ll - prev[1])  # lme4: 2 * pmax(0, diff(loglik))
            df = npar - prev[0]
            row.update(chisq=chisq, df=df, p_value=float(stats.chi2.sf(chisq, df)) if df > 0 else np.nan)
        rows.append(row)
        prev = (npar, ll)
    reml = any(getattr(f, "reml", False) for f in fits)
    refit = ml_refit_needed(fits)
    warnings = []
    if refit:
        warnings.append(FitWarning(
            "ml_refit",
            "These models were fitted by REML and differ in their fixed effects, so their likelihoods cannot be "
            "compared. Refit them by maximum likelihood (ML) to compare them.", "model"))
    elif reml:
        warnings.append(FitWarning(
            "ml_refit",
            "The comparison uses REML likelihoods (valid here: the fixed effects are the same); R's anova() "
            "refits with ML, which gives slightly different numbers.", "model"))
    return {"rows": rows, "refit_required": refit, "reml": reml, "warnings": warnings}
