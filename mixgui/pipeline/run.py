"""The one entry point for every analysis: ``run(spec, dataset, progress) -> FitResult``.

Both the window (in its worker thread, :mod:`mixgui.gui.workers`) and ``mixgui fit`` call it.
Orchestration only: build the design, pick the fitter (ordinary regression, mixed,
repeated-measures or generalized model), gather the warnings, type the result
(:class:`~mixgui.results.result.FitResult`), render its tables and compute its figures' data, so
the window only shows what this function returned.
"""
from __future__ import annotations

import time

import numpy as np

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset, missing_column_message
from mixgui.engine.design import build_design
from mixgui.engine.repeated.structures_more import is_supported as structure_supported
from mixgui.errors import DataError, FitWarning, ModelError, Progress, SpecError
from mixgui.pipeline import contract as C
from mixgui.pipeline import glmm as G
from mixgui.pipeline.figures import compute_figures
from mixgui.results.equations import model_equations
from mixgui.results.render import render_tables
from mixgui.results.result import FitResult


def run(spec: AnalysisSpec, dataset: Dataset, progress: Progress | None = None, *,
        figures: bool = True) -> FitResult:
    """Fit the analysis ``spec`` on ``dataset``.

    Parameters
    ----------
    spec : AnalysisSpec
    dataset : Dataset
    progress : Progress, optional
        Reports progress; its ``cancel()`` stops the computation (raises ``Cancelled``).
    figures : bool
        Also compute the figures' data (``FitResult.figures``); ``mixgui fit`` without plots or a
        report skips them.

    Returns
    -------
    FitResult
        With its tables rendered and its figures computed: nothing is left for the caller's thread.

    Raises
    ------
    MixGUIError
        Bad input, with a sentence that says what to do.
    """
    progress = progress or Progress()
    refuse_unsupported(spec)
    formula = spec.parsed
    rep = spec.repeated
    extra, factors = [], list(spec.factors)
    if rep is not None:
        for role, col in [("repeated-measures subject", rep.subject)] + [
                ("repeated-measures index", c) for c in rep.index_columns]:
            dataset.require(col, role)
        extra = [rep.subject, *rep.index_columns] + ([rep.group] if rep.group else [])
        if rep.group:
            dataset.require(rep.group, "repeated-measures group")
        if spec.weights:  # rows without a weight are left out, as SAS and R do
            dataset.require(spec.weights, "weights")
            extra.append(spec.weights)
        factors.append(rep.subject)
    if spec.family != "gaussian":  # a 0/1-coded two-level outcome, trials, counts: checked by name there
        design = G.glmm_design(spec, formula, dataset)
    else:
        if formula.offsets:
            raise SpecError("an offset belongs to a count or binomial model; choose the family, or remove offset()")
        design = build_design(formula, dataset.frame, factors=factors, reference_levels=spec.reference_levels,
                              extra_columns=extra, where=dataset.name, progress=progress)
    if design.nobs <= design.X.shape[1]:
        raise DataError(f"only {design.nobs} complete rows for {design.X.shape[1]} fixed-effect coefficients; "
                        "the model needs more rows than coefficients")
    if np.ptp(design.y) == 0:
        raise DataError(f'the outcome "{formula.response}" has the same value in every row used, so there is '
                        "nothing to model; check the column or the rows")
    progress.step(0.05, "design built")
    t0 = time.perf_counter()
    if spec.family != "gaussian":
        part = G.glmm_contract(spec, design, dataset, progress)
    elif rep is None and not formula.random:
        part = C.ols_contract(spec, design)
    else:
        part = C.mixed_contract(spec, design, dataset, progress)
    data, fit = part.data, part.fit
    data["fit_seconds"] = time.perf_counter() - t0
    warnings = list(design.warnings) + list(getattr(fit, "warnings", []) or []) + part.warnings
    warnings += [FitWarning("missing_codes", note, "model") for note in getattr(dataset, "notes", [])]
    if spec.skipped_keys:
        warnings.append(FitWarning("skipped_keys", "This analysis file is from a newer MixGUI; these settings were "
                                   f"skipped: {', '.join(spec.skipped_keys)}. Update MixGUI to use them.", "model"))
    data["warnings"] = data["warning_details"] = None  # written from the typed warnings, here in the file
    data["formula"] = formula.text()
    data["data_name"] = dataset.name
    data["equations"] = model_equations(design, data)
    result = FitResult.from_contract(spec, data, warnings, design=design, fit=fit, inference=part.inference)
    result.tables = render_tables(result)
    if figures:
        progress.step(0.95, "figures")
        result.figures = compute_figures(result, progress)
    progress.step(1.0, "done")
    return result


def refuse_unsupported(spec: AnalysisSpec) -> None:
    """Refuse settings the analysis file may hold but this engine cannot compute yet.

    A setting is never ignored in silence: fitting a binomial outcome as a linear model, or a
    sandwich covariance as the model-based one, would give numbers that look right and are not.

    Raises
    ------
    SpecError
    """
    rep = spec.repeated
    wanted = [
        (spec.vcov != "model" and rep is None, "the empirical (sandwich) covariance without a repeated structure",
         "vcov"),
        (spec.df_method == "between-within" and rep is None, "between-within df without a repeated structure",
         "df_method"),
        (spec.weights is not None and rep is None, "weights without a repeated structure", "weights"),
        (spec.predictions and rep is None, "per-row predictions without a repeated structure", "predictions"),
        (rep is not None and not structure_supported(rep.structure), f"the {rep and rep.structure} structure",
         "repeated.structure"),
        (spec.family == "gaussian" and any(e.type != "link" for e in spec.emmeans),
         "marginal means on the response scale of a linear model", "emmeans.type"),
    ]
    for asked, what, key in wanted:
        if asked:
            raise SpecError(f"this analysis asks for {what}, which this version of MixGUI cannot compute yet; "
                            f'remove "{key}" to fit the model without it')


def check_columns(spec: AnalysisSpec, columns, where: str = "the data") -> None:
    """Refuse factors and reference levels that name no column of the data (a typo would be ignored).

    A misspelt factor leaves a numeric column continuous and a misspelt reference level leaves the
    default reference, both silently; the analysis file is refused instead, with the closest name.

    Raises
    ------
    DataError
    """
    columns = [str(c) for c in columns]
    for col in spec.factors:
        if col not in columns:
            raise DataError(missing_column_message(col, columns, where, "factor"))
    for col in spec.reference_levels:
        if col not in columns:
            raise DataError(missing_column_message(col, columns, where, "column with a reference level"))


__all__ = ["run", "check_columns", "refuse_unsupported", "FitResult", "FitWarning", "ModelError"]
