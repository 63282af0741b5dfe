"""The result of one analysis as typed objects; the results file (JSON) is their serialisation.

:class:`FitResult` holds what :func:`mixgui.pipeline.run` computed: the model summary
(:class:`ModelInfo`), the main tables' rows as records (:class:`FixedEffect`,
:class:`VarianceComponent`, :class:`AnovaRow`, ...), the warnings (:class:`~mixgui.errors.FitWarning`),
the free-form further analyses (equations, marginal means, effect sizes, predictions ...) as
:class:`Section` objects, the rendered tables and the figures' data. :meth:`FitResult.to_dict`
writes the names of ``spec/analysis-and-results.md`` in the order the pipeline assembled them;
the window's tables are rendered from the same object, so what the window shows is what
``mixgui fit --json`` writes.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from mixgui.analysis.spec import AnalysisSpec
from mixgui.errors import FitWarning

if TYPE_CHECKING:  # engine objects kept for refits and figures; results never call the engine
    from mixgui.engine.design import Design
    from mixgui.results.figures import Figure
    from mixgui.results.tables import Table

Number = float | None  # None where the value is not defined (written as null)


class _Absent:
    """A key this result's file does not have (not the same as a null value)."""

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT: Any = _Absent()


def optional():
    """A field left out of the results file when it was not computed (a key the file has only sometimes)."""
    return field(default=ABSENT)


def json_value(v):
    """A value as JSON writes it: NaN and infinities None, numpy scalars and arrays as Python, tuples as lists."""
    if isinstance(v, Record):
        return v.to_dict()
    if isinstance(v, dict):
        return {str(k): json_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_value(x) for x in v]
    if isinstance(v, np.ndarray):
        return json_value(v.tolist())
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else None
    return v


class Record:
    """A row of a results table: its fields, in order, are the keys of the results file."""

    def raw(self) -> dict:
        """The fields present, in order, with their raw values (NaN kept)."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if v is not ABSENT:
                out[f.name] = v.raw() if isinstance(v, Record) else v
        return out

    def to_dict(self) -> dict:
        """The record as the results file writes it."""
        return json_value(self.raw())

    def get(self, name: str, default=None):
        """A field's value, ``default`` when this record does not have it."""
        v = getattr(self, name, ABSENT)
        return default if v is ABSENT else v

    @classmethod
    def from_dict(cls, d: dict):
        """The record of a row computed by the engine; a key that is not a field is an error (never dropped)."""
        names = {f.name for f in fields(cls)}
        unknown = [k for k in d if k not in names]
        if unknown:
            raise TypeError(f"{cls.__name__} has no field {unknown[0]!r}; add it to mixgui.results.result")
        return cls(**d)


@dataclass
class FixedEffect(Record):
    """A fixed-effect coefficient: a t test (linear models) or a z test (generalized ones)."""

    term: str
    estimate: Number
    std_error: Number
    df: Number = optional()
    t_value: Number = optional()
    z_value: Number = optional()
    p_value: Number = None
    ci_lower: Number = None
    ci_upper: Number = None
    exp_estimate: Number = optional()  # odds or rate ratio (log and logit links)
    exp_lower: Number = optional()
    exp_upper: Number = optional()


@dataclass
class VarianceComponent(Record):
    """A row of R's ``as.data.frame(VarCorr(m))``: a variance (``var2`` None) or a correlation,
    with Wald limits of ``sdcor`` when the model has them."""

    group: str
    var1: str | None
    var2: str | None
    vcov: Number
    sdcor: Number
    sdcor_lower: Number = optional()
    sdcor_upper: Number = optional()


@dataclass
class AnovaRow(Record):
    """A type III F test of a mixed model."""

    term: str
    num_df: Number
    den_df: Number
    f_value: Number
    p_value: Number


@dataclass
class SumsOfSquaresRow(Record):
    """A row of an ordinary regression's analysis-of-variance table (types I, II, III)."""

    term: str
    df: Number
    sum_sq: Number
    mean_sq: Number
    f: Number
    p: Number


@dataclass
class Glance(Record):
    """An ordinary regression's summary (R's ``broom::glance``)."""

    r_squared: Number
    adj_r_squared: Number
    sigma: Number
    statistic: Number
    p_value: Number
    df: Number
    loglik: Number
    aic: Number
    bic: Number
    deviance: Number
    df_residual: Number
    nobs: int


@dataclass
class Diagnostics(Record):
    """Assumption checks of an ordinary regression."""

    durbin_watson: Number
    breusch_pagan: Number
    breusch_pagan_df: Number
    breusch_pagan_p: Number
    shapiro_wilk: Number
    shapiro_wilk_p: Number


@dataclass
class RandomEffectTest(Record):
    """A likelihood-ratio test of one random term; the bootstrap fields only when one was run."""

    term: str
    statistic: Number
    df: int
    p_value: Number
    p_value_naive: Number
    loglik_full: Number
    loglik_reduced: Number
    p_value_bootstrap: Number = optional()
    bootstrap_replicates: int = optional()
    bootstrap_seed: int = optional()


@dataclass
class FixedEffectTest(Record):
    """A likelihood-ratio test of one fixed term of a generalized model (R's ``drop1(m, test = "Chisq")``):
    ``chisq`` = 2 (loglik with the term - loglik without), ``df`` its columns, ``aic`` of the model without it."""

    term: str
    df: int
    chisq: Number
    p_value: Number
    aic: Number


@dataclass
class CovarianceParameter(Record):
    """A covariance parameter of a repeated-measures model with its test (SAS COVTEST)."""

    parameter: str
    estimate: Number
    std_error: Number
    z_value: Number
    p_value: Number
    lower: Number
    upper: Number
    kind: str


@dataclass
class NullModelTest(Record):
    """SAS's null-model likelihood-ratio test (same fixed effects, independent errors)."""

    df: int
    chi_square: Number
    p_value: Number


@dataclass
class RSquared(Record):
    """Nakagawa & Schielzeth's R² and the ICC of a mixed model (top-level keys of the file)."""

    r2_marginal: Number = optional()
    r2_conditional: Number = optional()
    icc_adjusted: Number = optional()
    icc_unadjusted: Number = optional()


@dataclass
class RepeatedInfo(Record):
    """The residual covariance of a repeated-measures model.

    ``parameters``: the structure's parameters by name (names depend on the structure);
    ``marginal_covariance`` and ``correlation``: T x T, rows in index order.
    """

    structure: str
    subject: str
    index: str | list[str]
    parameters: dict[str, float]
    marginal_covariance: list[list[float]]
    correlation: list[list[float]]
    positions: list[str]
    groups: list[dict] = optional()  # with repeated.group: per level its parameters and covariance


@dataclass
class ModelInfo(Record):
    """What was fitted and how well: the top-level scalars of the results file.

    The fields after ``nobs`` are present only for the models that have them (an ordinary
    regression's fit statistics are in its :class:`Glance`).
    """

    model: str  # "lm", "lmm", "gls" or "glmm"
    method: str
    df_method: str
    nobs: int
    family: str = optional()
    link: str = optional()
    nagq: int = optional()
    n_groups: dict[str, int] = optional()
    converged: bool = optional()
    singular: bool = optional()
    loglik: Number = optional()
    aic: Number = optional()
    bic: Number = optional()
    deviance: Number = optional()
    aicc: Number = optional()
    vcov: str = optional()
    weights: str = optional()
    kr_information: str = optional()
    kr_variant: str = optional()
    trials: str = optional()
    dispersion: Number = optional()
    fit_seconds: float = optional()
    formula: str = optional()
    data_name: str = optional()


@dataclass
class Section:
    """A free-form part of the results file (equations, marginal means, effect sizes, predictions,
    comparisons ...): its key and its data exactly as the file holds them."""

    key: str
    data: Any


#: record lists of the results file and the record type of their rows
ROW_TYPES = {"fixed_effects": FixedEffect, "variance_components": VarianceComponent, "anova": AnovaRow,
             "random_effect_tests": RandomEffectTest, "anova_type1": SumsOfSquaresRow,
             "anova_type2": SumsOfSquaresRow, "anova_type3": SumsOfSquaresRow,
             "covariance_parameters": CovarianceParameter}
ROW_TYPES["fixed_effect_tests"] = FixedEffectTest  # generalized models: likelihood-ratio tests of fixed terms
#: single records of the results file
RECORD_TYPES = {"glance": Glance, "diagnostics": Diagnostics, "repeated": RepeatedInfo,
                "null_model_lrt": NullModelTest}


def _row_type(key: str, row: dict) -> type:
    """The record type of a row of list ``key``: a mixed model's type I/II rows are F tests."""
    if key.startswith("anova_type") and "num_df" in row:
        return AnovaRow
    return ROW_TYPES[key]


INFO_KEYS = tuple(f.name for f in fields(ModelInfo))
R2_KEYS = tuple(f.name for f in fields(RSquared))
WARNING_KEYS = ("warnings", "warning_details")


@dataclass
class FitResult:
    """Everything one run produced (see the module docstring).

    ``design``, ``fit`` and ``inference`` are the engine's objects behind the numbers, kept so a
    finished analysis can be refitted (model comparison); ``tables`` and ``figures`` are filled
    by the pipeline in the worker thread, never by the window. ``layout`` is the order of the
    results file's keys.
    """

    spec: AnalysisSpec
    info: ModelInfo
    fixed_effects: list[FixedEffect] = field(default_factory=list)
    warnings: list[FitWarning] = field(default_factory=list)
    anova: list[AnovaRow] | None = None
    variance_components: list[VarianceComponent] | None = None
    blups: dict[str, dict[str, list]] | None = None
    repeated: RepeatedInfo | None = None
    covariance_parameters: list[CovarianceParameter] | None = None
    null_model_lrt: NullModelTest | None = None
    r_squared: RSquared | None = None
    random_effect_tests: list[RandomEffectTest] | None = None
    fixed_effect_tests: list[FixedEffectTest] | None = None
    glance: Glance | None = None
    # an ordinary regression's rows are sums of squares, a mixed model's are F tests as in ``anova``
    anova_type1: list[SumsOfSquaresRow | AnovaRow] | None = None
    anova_type2: list[SumsOfSquaresRow | AnovaRow] | None = None
    anova_type3: list[SumsOfSquaresRow] | None = None
    diagnostics: Diagnostics | None = None
    diagnostic_notes: dict[str, str] | None = None
    sections: dict[str, Section] = field(default_factory=dict)
    layout: tuple[str, ...] = ()
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    design: Design | None = None
    fit: object = None  # LmmFit, RepeatedFit, GlmmFit or OlsFit (engine types, not imported here)
    inference: object = None  # mixgui.engine.inference.Inference, None for OLS and GLMMs

    @classmethod
    def from_contract(cls, spec: AnalysisSpec, data: dict, warnings: list, **engine) -> FitResult:
        """The typed result of the results file ``data`` assembled by the pipeline.

        Every key becomes a typed record, a field of :class:`ModelInfo` or a :class:`Section`;
        ``warnings`` and ``warning_details`` are written from ``warnings``.
        """
        info = ModelInfo(**{k: data[k] for k in INFO_KEYS if k in data})
        out = cls(spec, info, warnings=list(warnings), layout=tuple(data), **engine)
        r2 = {k: data[k] for k in R2_KEYS if k in data}
        out.r_squared = RSquared(**r2) if r2 else None
        for key, value in data.items():
            if key in INFO_KEYS or key in R2_KEYS or key in WARNING_KEYS:
                continue
            if key in ROW_TYPES:
                setattr(out, key, [_row_type(key, r).from_dict(r) for r in value])
            elif key in RECORD_TYPES:
                setattr(out, key, RECORD_TYPES[key].from_dict(value))
            elif key in ("blups", "diagnostic_notes"):
                setattr(out, key, value)
            else:
                out.sections[key] = Section(key, value)
        return out

    def section(self, key: str, default=None):
        """The data of the free-form section ``key`` (e.g. ``"emmeans"``), ``default`` when absent."""
        s = self.sections.get(key)
        return default if s is None else s.data

    def _value(self, key: str):
        if key in INFO_KEYS:
            return getattr(self.info, key)
        if key in R2_KEYS:
            return getattr(self.r_squared, key)
        if key == "warnings":
            return [w.message for w in self.warnings]
        if key == "warning_details":
            return [{"kind": w.kind, "table": w.table, "message": w.message} for w in self.warnings]
        if key in ROW_TYPES:
            return [r.raw() for r in getattr(self, key)]
        if key in RECORD_TYPES:
            return getattr(self, key).raw()
        if key in ("blups", "diagnostic_notes"):
            return getattr(self, key)
        return self.sections[key].data

    def raw_dict(self) -> dict:
        """The results file's keys in order with their raw values (NaN kept, numpy as computed)."""
        return {key: self._value(key) for key in self.layout}

    def to_dict(self) -> dict:
        """The results file as a JSON-ready dict (NaN and infinities None)."""
        return json_value(self.raw_dict())

    @property
    def data(self) -> dict:
        """The results file as a dict of raw values (:meth:`raw_dict`); for reading numbers in tests and scripts."""
        return self.raw_dict()

    def to_json(self, indent: int = 2) -> str:
        """The results file (NaN and inf written as null)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)
