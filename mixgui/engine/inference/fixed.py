"""The tests of the fixed effects under the df method asked for, with the one fallback rule.

Kenward-Roger can be impossible (e.g. on a huge crossed design), fail to compute or break down on
a fit that has not converged (an adjusted covariance that is not positive definite). In every
case Satterthwaite df on the unadjusted covariance are still valid: they are used instead and a
``df_method`` warning says why. This module is the only place that decides it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from mixgui.engine.inference.anova3 import anova_table
from mixgui.engine.inference.core import Inference, fixed_effects_table
from mixgui.errors import FitWarning, ModelError

FALLBACK = "satterthwaite"  # the df method used when the one asked for cannot be computed


@dataclass
class FixedTests:
    """Inference of one fit: the :class:`Inference` used, the ``fixed_effects`` and ``anova`` rows.

    ``asked``: the inference first built (whose settings the results file echoes), ``inference``
    the one the tests used (Satterthwaite after a late fallback); ``warnings`` hold the fallback
    (kind ``df_method``) and the approximations' own warnings.
    """

    inference: Inference
    asked: Inference
    fixed_effects: list
    anova: list
    warnings: list = field(default_factory=list)


def _sentence(text) -> str:
    text = str(text).rstrip()
    return text + ("" if text.endswith((".", "!", "?")) else ".")


def _positive_diagonal(vcov) -> bool:
    d = np.diag(np.asarray(vcov, float))
    return bool(np.all(np.isfinite(d)) and np.all(d > 0))


def fixed_effect_tests(model, design, df_method: str, nobs: int | None = None, *,
                       kr_information: str = "expected", kr_variant: str | None = None,
                       adjust: Callable[[Inference], None] | None = None) -> FixedTests:
    """t tests of each coefficient and type III F tests of each term under ``df_method``.

    Parameters
    ----------
    model : CovarianceModel
        A fitted mixed or repeated-measures model.
    design : Design
        Its design (column names and terms).
    df_method : str
        One of the engine's df methods.
    nobs : int, optional
    kr_information, kr_variant : str, optional
        Kenward-Roger's information matrix and variant (see :meth:`Inference.build`).
    adjust : callable, optional
        Called with the inference before the tests (e.g. to put the sandwich covariance in it).

    Returns
    -------
    FixedTests
        ``inference.method`` is the method actually used (``"satterthwaite"`` after a fallback).
    """
    warnings: list = []
    try:
        inference = Inference.build(model, df_method, nobs, kr_information=kr_information, kr_variant=kr_variant)
    except ModelError as e:  # e.g. Kenward-Roger on a huge crossed design: fall back, and say so
        warnings.append(FitWarning("df_method", f"{_sentence(e)} Satterthwaite df are shown instead.",
                                   "fixed_effects"))
        inference = Inference.build(model, FALLBACK, nobs)
    warnings += list(getattr(inference, "warnings", []) or [])
    if adjust is not None:
        adjust(inference)
    asked = inference
    try:
        if inference.method == "kenward-roger" and not _positive_diagonal(inference.vcov):
            raise np.linalg.LinAlgError("its adjusted covariance of the fixed effects is not positive definite")
        return FixedTests(inference, asked, fixed_effects_table(design.column_names, model.beta, inference),
                          anova_table(design, inference), warnings)
    except (np.linalg.LinAlgError, FloatingPointError) as e:
        if inference.method != "kenward-roger":
            raise
        # a safety net (reported as an engine bug): Kenward-Roger's adjustment can break down on a fit
        # that has not converged; Satterthwaite df on the unadjusted covariance are still valid
        warnings.append(FitWarning(
            "df_method", "The Kenward-Roger adjustment could not be computed for this fit "
            f"({str(e).rstrip('.') or 'a singular matrix'}; this happens when the fit has not converged). "
            "Satterthwaite df are shown instead.", "fixed_effects"))
        inference = Inference.build(model, FALLBACK, nobs)
        warnings += list(getattr(inference, "warnings", []) or [])
        return FixedTests(inference, asked, fixed_effects_table(design.column_names, model.beta, inference),
                          anova_table(design, inference), warnings)
