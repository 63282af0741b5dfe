"""Optional analyses an analysis file can ask for, as blocks of the results contract.

``effect_sizes`` (Cohen's f2, variance proportions, variance change against the null model),
``structure_comparison`` (every residual structure on the same rows), ``pooling_comparison``
(the grouping as a fixed factor beside the random effect) and the bootstrap fields of
``random_effect_tests``. Each function takes the already fitted model and returns plain dicts;
:mod:`mixgui.pipeline.contract` decides when to call them.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from mixgui.engine import effects, ols
from mixgui.engine.design import rebuild_design
from mixgui.engine.effects.pooling import pooling_comparison
from mixgui.engine.repeated.fit import compare_structures
from mixgui.errors import FitWarning, ModelError
from mixgui.pipeline import repeated as repeated_sections

DEFAULT_SEED = 1  # the bootstrap's seed when the analysis file sets none: a re-run gives the same p-values


class SubProgress:
    """The part ``[lo, hi]`` of a parent :class:`mixgui.errors.Progress`.

    A computation that reports its own progress from 0 to 1 (the bootstrap) moves the parent's
    bar only within its share; cancelling is the parent's, so ``step`` raises ``Cancelled`` as
    soon as the owner cancels.
    """

    def __init__(self, parent, lo: float, hi: float):
        self.parent, self.lo, self.hi = parent, float(lo), float(hi)

    @property
    def cancelled(self) -> bool:
        return self.parent.cancelled

    def cancel(self) -> None:
        self.parent.cancel()

    def step(self, fraction: float | None = None, message: str = "") -> None:
        """Report ``fraction`` of this part (None: busy, no fraction) to the parent."""
        if fraction is not None:
            fraction = self.lo + (self.hi - self.lo) * min(max(float(fraction), 0.0), 1.0)
        self.parent.step(fraction, message)


def bootstrap_fields(rows: list, seed: int) -> list:
    """Rename the engine's bootstrap keys to the results file's names.

    ``p_value_boot`` becomes ``p_value_bootstrap`` and ``nboot`` ``bootstrap_replicates``; the
    seed used is added as ``bootstrap_seed``. Rows without a bootstrap are returned unchanged.
    """
    out = []
    for r in rows:
        r = dict(r)
        if "p_value_boot" in r:
            r["p_value_bootstrap"] = r.pop("p_value_boot")
            r["bootstrap_replicates"] = int(r.pop("nboot"))
            r["bootstrap_seed"] = int(seed)
        out.append(r)
    return out


def effect_sizes(design, fit, fitter) -> dict:
    """The ``effect_sizes`` block: local f2 per fixed term, variance proportions, variance change.

    Parameters
    ----------
    design : Design
    fit : LmmFit
        The mixed model (no repeated structure: the decomposition needs one residual variance).
    fitter : callable (Design, reml) -> fit
        Refits the reduced and null models with the same method as ``fit``.

    Returns
    -------
    dict
        ``f2`` (rows ``term, f2, r2_full, r2_reduced``), ``variance_proportions`` (rows
        ``component, group, variance, proportion``), ``variance_change`` (rows ``level,
        variance_null, variance_full, proportion_explained``), ``method`` (REML or ML of the refits).
    """
    parts = effects.variance_components(design.X, fit.beta, design.blocks, fit.varcorr, fit.sigma,
                                        design.column_names)
    return {"f2": effects.f2_table(design, fit, fitter),
            "variance_proportions": effects.variance_proportions(parts),
            "variance_change": effects.variance_explained(design, fit, fitter),
            "method": "REML" if getattr(fit, "reml", True) else "ML"}


def structure_comparison(spec, design, codes, progress=None) -> dict:
    """The ``structure_comparison`` block: every residual structure the data support, same rows.

    Every structure is fitted by ML, whatever the main model's method: AIC and BIC of ML fits are how
    structures are compared, and the final model is fitted by REML with the chosen structure (REML
    variances are not biased downward). The row of the model's own structure is therefore its ML
    refit, not the main fit when that is REML.

    Parameters
    ----------
    spec : AnalysisSpec
        Its ``repeated`` names the structure fitted in the main model.
    design : Design
    codes : (subject, position, labels[, coordinates])
        Subject codes, index positions, position labels (and the positions' times, for spatial
        structures), as the main fit used them.
    progress : Progress, optional
        Stepped by every likelihood evaluation; cancelling stops the comparison.

    Returns
    -------
    dict
        ``rows`` (per structure: ``structure, n_parameters, df, loglik, aic, bic, converged,
        best_aic, best_bic``), ``best_aic``, ``best_bic`` (structure names, None when nothing was
        fitted), ``fitted_structure``, ``method`` (always "ML"), ``note`` (how to choose),
        ``recommendation`` (which to choose here and why) and ``skipped``
        (structure -> why it could not be fitted).
    """
    subject, position, labels, *coords = codes
    out = compare_structures(design.y, design.X, subject, position, len(labels), reml=False,
                             blocks=design.blocks, position_labels=labels, progress=progress,
                             coordinates=coords[0] if coords else None,
                             weights=repeated_sections.weights(spec, design),
                             **repeated_sections.group_codes(spec, design))
    rows = [dict(r) for r in out]

    def best(key):
        return next((r["structure"] for r in rows if r["best_" + key]), None)

    return {"rows": rows, "best_aic": best("aic"), "best_bic": best("bic"),
            "fitted_structure": spec.repeated.structure, "method": "ML",
            "note": out.note, "recommendation": out.recommendation, "skipped": dict(out.skipped)}


def pooling(design, fit, column: str) -> dict:
    """The ``pooling_comparison`` block: ``column`` as a fixed factor and as a random intercept.

    The no-pooling model is the fixed part of the formula plus ``column`` as a factor (and its
    interaction with each random slope of that term, so every group has its own slopes as in
    the mixed model), fitted by least squares on the same rows; the partial-pooling estimates
    are the mixed model's intercept plus each group's random-intercept BLUP.

    Returns
    -------
    dict
        ``group``, ``fixed_formula`` (the no-pooling model), ``rows`` (per level: ``group, n,
        raw_mean, no_pooling, no_pooling_se, partial_pooling, complete_pooling, pulled``),
        ``grand_mean``, ``fixed_intercept``, ``explanation`` and ``notes``.

    Raises
    ------
    ModelError
        ``column`` has no random intercept in the model, or the fixed part has no intercept.
    """
    k, block = next(((k, b) for k, b in enumerate(design.blocks)
                     if b.group == column and "(Intercept)" in b.names), (None, None))
    if block is None:
        allowed = sorted({b.group for b in design.blocks if "(Intercept)" in b.names})
        raise ModelError(f"the pooling comparison needs a random intercept for {column}; use one of "
                         f"{', '.join(allowed) or '(none: add a term like (1 | group))'}")
    if "(Intercept)" not in design.column_names:
        raise ModelError("the pooling comparison needs a fixed intercept, the point the random intercepts vary "
                         "around; remove the 0 + (or - 1) from the formula")
    terms = tuple(design.formula.terms)
    # No pooling gives each group its own intercept and, where the random term has slopes, its own
    # slopes too: with a common slope the groups' intercepts would not be like for like with the BLUPs.
    slopes = [t for rt in design.formula.random if rt.intercept and (column,) in rt.groups for t in rt.terms]
    for t in [(column,)] + [tuple(t) + (column,) for t in slopes]:
        if t not in terms:
            terms += (t,)
    fixed_design = rebuild_design(design, replace(design.formula, terms=terms, random=()))
    blups = np.asarray(fit.blups[k])[:, block.names.index("(Intercept)")]
    intercept = float(np.asarray(fit.beta)[design.column_names.index("(Intercept)")])
    out = pooling_comparison(fixed_design, ols.fit_ols(fixed_design), column, blups, block.levels, intercept)
    out.pop("arrays")  # the same numbers as the rows; the results file keeps one copy
    notes = list(out["notes"])
    aliased = [c for c in fixed_design.dropped_columns if c.startswith(column)]
    if aliased:
        notes.append(f"{len(aliased)} {column} column(s) of the fixed-factor model are aliased with other "
                     f"predictors (a predictor constant within {column}?), so those groups' no-pooling "
                     "estimates are not their own.")
    if slopes:
        names = ", ".join(":".join(t) for t in slopes)
        notes.append(f"The {column} term also has random slopes ({names}): the intercepts compared are at 0 of "
                     "them, and they shrink together with the slopes, so the share pulled can fall outside 0 to 1.")
    out["notes"] = notes
    out["fixed_formula"] = fixed_design.formula.text()
    return out


def not_applicable(spec, decomposable: bool, has_random: bool) -> list:
    """Warnings for options asked for that this model does not support.

    The window lets the formula change after an option was set (an analysis file cannot combine
    them), so the option is left out with a sentence rather than failing the whole fit.
    ``decomposable``: a mixed model without a repeated structure (one residual variance).
    """
    out = []
    if spec.effect_sizes and not decomposable:
        out.append(FitWarning(
            "not_computed", "Effect sizes (f², variance proportions) are computed for mixed models without a "
            "repeated-measures structure; this model has no such decomposition, so they are left out.", "model"))
    if spec.pooling and not has_random:
        out.append(FitWarning(
            "not_computed", f"The pooling comparison needs a random intercept for {spec.pooling}; add one, like "
            f"(1 | {spec.pooling}), to see it.", "model"))
    return out
