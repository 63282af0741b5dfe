"""Likelihood-ratio tests of the fixed terms of a GLMM, as R's ``drop1(m, test = "Chisq")``.

Each term that may be dropped under marginality (R's ``drop.scope``: a term is kept when a
higher-order term contains all its variables, so with ``a * b`` only ``a:b`` is tested) is removed,
the model refitted by the same approximation (Laplace or quadrature, always maximum likelihood:
GLMMs have no REML), and ``2 (loglik_full - loglik_reduced)`` referred to chi-square with df = the
number of fixed-effect columns removed. The columns of the remaining terms do not change when a
droppable term goes (their coding only changes when a term they are marginal to is removed), so
the reduced design is the full one without that term's columns.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from mixgui.engine.glmm.fit import fit_glmm
from mixgui.errors import Progress

__all__ = ["droppable_terms", "drop1_lrt"]


class _Labelled:
    """A progress whose busy ticks keep saying which term is being tested (the fit's own words
    would replace the message), and whose fractions stay within this term's share of the tests."""

    def __init__(self, parent: Progress, message: str):
        self.parent, self.message = parent, message

    @property
    def cancelled(self) -> bool:
        return self.parent.cancelled

    def step(self, fraction: float | None = None, message: str = "") -> None:
        self.parent.step(None, self.message)


def droppable_terms(terms: list, term_vars: list) -> list:
    """Indices of the terms not contained in a higher-order term (R's ``drop.scope``)."""
    sets = [set(v) for v in term_vars]
    return [i for i, s in enumerate(sets) if not any(j != i and s < t for j, t in enumerate(sets))]


def drop1_lrt(design, fit, progress: Progress | None = None) -> list:
    """Likelihood-ratio test of each droppable fixed term of a fitted GLMM.

    Parameters
    ----------
    design : Design
        The design ``fit`` was fitted on (its ``terms``, ``term_vars``, ``term_columns``).
    fit : GlmmFit
    progress : Progress, optional
        Told the fraction of the terms done before each refit (a refit per term: on large data each
        takes as long as the model's own fit), and checked for Cancel throughout every refit.

    Returns
    -------
    list of dict
        One row per tested term in R's order: ``term``, ``df`` (columns removed), ``statistic``
        (the LRT chi-square), ``p_value``, ``aic`` (of the reduced model, as drop1's AIC column),
        ``loglik_full``, ``loglik_reduced`` and ``converged`` (of the reduced fit).
    """
    progress = progress or Progress()
    rows = []
    idx = droppable_terms(list(design.terms), list(design.term_vars))
    for k, i in enumerate(idx):
        cols = list(design.term_columns[i])
        if not cols:  # every column aliased: nothing to drop (R reports df 0 and no test)
            continue
        label = f"Likelihood-ratio test of {design.terms[i]} ({k + 1} of {len(idx)})"
        progress.step(k / len(idx), label)
        keep = [j for j in range(fit.X.shape[1]) if j not in set(cols)]
        X, names, df = fit.X[:, keep], [fit.column_names[j] for j in keep], len(cols)
        if not keep:
            # the only term of a model without intercept (y ~ 0 + arm): R's drop1 refits y ~ 1 (the
            # formula left has no "- 1" to keep), so the test is of equal means, on one df fewer
            X, names, df = np.ones((len(fit.y), 1)), ["(Intercept)"], len(cols) - 1
            if df == 0:
                continue
        red = fit_glmm(fit.y, X, fit.blocks, fit.family, fit.link, fit.n_trials, fit.offset,
                       fit.nagq, names, _Labelled(progress, label))
        # the full model is the larger one: a reduced loglik above it is optimiser noise, not evidence
        stat = max(0.0, 2.0 * (fit.loglik - red.loglik))
        rows.append({"term": design.terms[i], "df": df, "statistic": stat,
                     "p_value": float(stats.chi2.sf(stat, df)), "aic": float(red.aic),
                     "loglik_full": float(fit.loglik), "loglik_reduced": float(red.loglik),
                     "converged": bool(red.converged)})
    if idx:
        progress.step(1.0, "Likelihood-ratio tests of the fixed terms done")
    return rows

