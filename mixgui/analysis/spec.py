"""The analysis file: frozen dataclasses that read and write the JSON contract.

See ``spec/analysis-and-results.md``. The model builder edits an :class:`AnalysisSpec`;
``mixgui fit`` runs one. Files of older versions are migrated on read (:func:`migrate`).
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path

from mixgui.analysis import options as O
from mixgui.analysis.formula import Formula, parse_formula
from mixgui.analysis.values import (
    anova_types_from,
    as_tuple,
    check_keys,
    choice,
    column_name,
    df_alias,
    generalized_options,
    known_value,
    level_name,
    sas_options,
    shown,
    whole_number,
    yes_no,
)
from mixgui.errors import SpecError
from mixgui.fileio import atomic_write_text  # noqa: F401 (re-exported for callers of spec)

FORMAT = "mixgui-analysis"
VERSION = 2  # 2: generalized models, SAS repeated-measures options, predictions, emmeans type

METHODS = O.values(O.METHODS)
DF_METHODS = O.values(O.DF_METHODS)
STRUCTURES = O.values(O.STRUCTURES)
CONTRAST_METHODS = O.CONTRAST_METHODS
ADJUSTMENTS = O.values(O.ADJUSTMENTS)
MAX_BOOTSTRAP = 100_000  # replicates; beyond this a run takes days and the p-value gains nothing

# The keys each object of the analysis file may hold (anything else is refused by name).
KEYS = ("format", "version", "data", "formula", "method", "df_method", "factors", "reference_levels", "repeated",
        "random_effect_tests", "emmeans", "title", "anova_types", "effect_sizes", "compare_structures",
        "bootstrap", "bootstrap_seed", "pooling", "family", "link", "trials", "nagq", "kr_information",
        "kr_variant", "vcov", "weights", "predictions", "computed")
# "import" (ImportOptions: title rows, missing codes...), "reshape" and "computed" are read by
# mixgui.data.importing.load_analysis_data, which rebuilds the table the analysis was made on.
DATA_KEYS = ("path", "sheet", "import", "reshape")
REPEATED_KEYS = ("structure", "subject", "index", "group")
EMMEANS_KEYS = ("specs", "by", "contrasts", "type")
CONTRAST_KEYS = ("method", "adjust", "name", "weights", "ref")


@dataclass(frozen=True)
class DataRef:
    """Where the data come from: a path (relative to the analysis file), an Excel sheet, and how the
    table was made from the file: ``import_options`` (title rows, missing codes, dates: the dict of
    :class:`mixgui.data.importing.ImportOptions`) and ``reshape`` (wide-to-long steps, as dicts).
    """

    path: str = ""
    sheet: str | None = None
    import_options: dict | None = None
    reshape: tuple = ()


@dataclass(frozen=True)
class Repeated:
    """Residual covariance within ``subject`` over the sorted values of ``index``.

    ``index`` is a column, or for a spatial structure a tuple of columns (Euclidean distance);
    ``group`` gives each of its levels its own covariance parameters (SAS ``GROUP=``).
    """

    structure: str = "UN"
    subject: str = ""
    index: str | tuple = ""
    group: str | None = None

    @property
    def index_columns(self) -> tuple:
        """The index as a tuple of column names."""
        return tuple(self.index) if isinstance(self.index, tuple) else (self.index,)


@dataclass(frozen=True)
class Contrast:
    """One family of contrasts among marginal means."""

    method: str = "pairwise"
    adjust: str = "tukey"
    name: str | None = None
    weights: tuple | None = None
    ref: str | None = None  # control level for trt.vs.ctrl (default: the first level)


@dataclass(frozen=True)
class EmmeansRequest:
    """Marginal means over ``specs`` (optionally within levels of ``by``) and their contrasts.

    ``type`` is ``"link"`` (the model's scale) or ``"response"`` (probabilities or rates of a
    generalized model, as emmeans' ``type = "response"``).
    """

    specs: tuple = ()
    by: tuple = ()
    contrasts: tuple = ()
    type: str = "link"


@dataclass(frozen=True)
class AnalysisSpec:
    """Everything that defines one analysis. Immutable: edits make a new spec (undo-friendly)."""

    formula: str = ""
    data: DataRef = field(default_factory=DataRef)
    method: str = "REML"
    df_method: str = "satterthwaite"
    factors: tuple = ()
    reference_levels: dict = field(default_factory=dict)
    repeated: Repeated | None = None
    random_effect_tests: bool = False
    emmeans: tuple = ()
    title: str = ""
    anova_types: tuple = ()  # extra ANOVA tables (1, 2, 3); regression always shows the sequential one
    effect_sizes: bool = False  # Cohen's f2 per fixed term, variance proportions, variance change vs null
    compare_structures: bool = False  # with repeated: fit every residual structure, compare AIC / BIC
    bootstrap: int = 0  # parametric-bootstrap replicates of the random-effect LRTs (0: none)
    bootstrap_seed: int | None = None  # None: a fixed default seed, so a re-run gives the same p-values
    pooling: str | None = None  # a random-intercept grouping column: fixed factor vs random effect
    family: str = "gaussian"  # generalized models: binomial, poisson, negative_binomial
    link: str | None = None  # None: the family's canonical link (logit, log)
    trials: str | None = None  # binomial: the column with the number of trials (outcome = successes)
    nagq: int = 1  # adaptive Gauss-Hermite points (1 = Laplace)
    kr_information: str | None = None  # None: observed with an R-side structure (SAS), else expected (pbkrtest)
    kr_variant: str | None = None  # "linear": SAS's KR(LINEAR)
    vcov: str = "model"  # "empirical": sandwich covariance of the fixed effects (SAS EMPIRICAL)
    weights: str | None = None  # a column of weights (SAS WEIGHT)
    predictions: bool = False  # per-row fitted values with limits, and residuals
    computed: tuple = ()  # computed-variable recipes (dicts of mixgui.data.computed), redone on load
    skipped_keys: tuple = ()  # keys of a newer version's file that were skipped (reported as a warning)

    def with_(self, **changes) -> AnalysisSpec:
        """A copy with some fields changed."""
        return replace(self, **changes)

    @cached_property
    def parsed(self) -> Formula:
        """The formula parsed once per spec (a changed spec is a new object, parsed again when asked).

        Raises
        ------
        SpecError
            The formula is not valid lme4 syntax (not cached: asked again, it raises again).
        """
        return parse_formula(self.formula)

    @property
    def link_name(self) -> str:
        """The link in use: the one asked for, or the family's canonical link."""
        return self.link or O.LINKS[self.family][0]

    # -- JSON -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The analysis file as a JSON-ready dict (format and version always written)."""
        d = {"format": FORMAT, "version": VERSION}
        d["data"] = {"path": self.data.path, "sheet": self.data.sheet}
        if self.data.import_options:
            d["data"]["import"] = dict(self.data.import_options)
        if self.data.reshape:
            d["data"]["reshape"] = [dict(r) for r in self.data.reshape]
        d["formula"] = self.formula
        d["method"] = self.method
        d["df_method"] = self.df_method
        d["factors"] = list(self.factors)
        d["reference_levels"] = dict(self.reference_levels)
        d["repeated"] = _repeated_dict(self.repeated)
        d["random_effect_tests"] = self.random_effect_tests
        d["emmeans"] = [
            {"specs": _one_or_list(e.specs), **({"by": _one_or_list(e.by)} if e.by else {}),
             **({"type": e.type} if e.type != "link" else {}),
             "contrasts": [{k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(c).items()
                            if v is not None} for c in e.contrasts]}
            for e in self.emmeans]
        if self.title:
            d["title"] = self.title
        if self.computed:
            d["computed"] = [dict(r) for r in self.computed]
        if self.anova_types:
            d["anova_types"] = list(self.anova_types)
        # optional fields are written only when set, so files without them stay as they were
        defaults = AnalysisSpec()
        for key in ("effect_sizes", "compare_structures", "bootstrap", "bootstrap_seed", "pooling", "family",
                    "link", "trials", "nagq", "kr_information", "kr_variant", "vcov", "weights", "predictions"):
            if getattr(self, key) != getattr(defaults, key):
                d[key] = getattr(self, key)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> AnalysisSpec:
        """Build a spec from a parsed analysis file, migrating older versions and checking values.

        Every field is type-checked: a value of the wrong kind (a number where a formula belongs,
        an object where a list of columns belongs, ``"no"`` for a yes/no option) is refused with a
        :class:`SpecError` that names the field and shows what it should look like, never guessed.
        An unknown key is refused with the nearest known one, unless the file is of a newer version,
        whose extra keys are skipped and listed in ``skipped_keys``.
        """
        if not isinstance(d, dict):
            raise SpecError("the analysis file must hold a JSON object, like {\"formula\": ..., \"data\": ...}")
        newer = is_newer(d)
        d = migrate(d)
        skipped = check_keys(d, KEYS, "the analysis file", newer)
        data = _data_from(d.get("data"), newer, skipped)
        formula = d.get("formula")
        if not isinstance(formula, str) or not formula.strip():
            raise SpecError('the analysis file has no formula; add e.g. "formula": "y ~ x + (1 | group)"')
        method = choice(d, "method", "REML", METHODS, lambda v: v.upper(), 'use "REML" or "ML"')
        dfm = choice(d, "df_method", "satterthwaite", DF_METHODS, df_alias, f"use one of {', '.join(DF_METHODS)}")
        repeated = _repeated_from(d.get("repeated"), newer, skipped)
        factors = d.get("factors") or []
        if isinstance(factors, str):
            factors = [factors]
        if not isinstance(factors, list):
            raise SpecError(f'"factors" must be a list of column names, e.g. ["Subject", "Sex"] (got {shown(factors)})')
        factors = [column_name(f, '"factors"') for f in factors]
        refs = d.get("reference_levels") or {}
        if not isinstance(refs, dict):
            raise SpecError('"reference_levels" must map a column to its reference level, e.g. {"Sex": "Male"}')
        refs = {str(k): level_name(v, k) for k, v in refs.items()}
        ret = yes_no(d, "random_effect_tests")
        title = d.get("title") or ""
        if not isinstance(title, str):
            raise SpecError(f'"title" must be text (got {shown(title)})')
        emm = d.get("emmeans") or []
        if isinstance(emm, (str, dict)):
            emm = [emm]  # one request written without the list around it
        if not isinstance(emm, list):
            raise SpecError('"emmeans" must be a list of requests, e.g. [{"specs": "Sex", "contrasts": ["pairwise"]}]')
        compare = yes_no(d, "compare_structures")
        if compare and repeated is None:
            raise SpecError('"compare_structures" compares residual covariance structures, so it needs "repeated" '
                            '(e.g. {"structure": "AR1", "subject": "Subject", "index": "Time"}); add it or remove '
                            '"compare_structures"')
        nboot = whole_number(d.get("bootstrap"), "bootstrap", 0, MAX_BOOTSTRAP, " replicates, e.g. 1000")
        if nboot and not ret:
            raise SpecError('"bootstrap" adds parametric-bootstrap p-values to the likelihood-ratio tests of the '
                            'random effects; add "random_effect_tests": true or remove "bootstrap"')
        seed = d.get("bootstrap_seed")
        if seed is not None:
            seed = whole_number(seed, "bootstrap_seed", 0, 2 ** 32 - 1, ", e.g. 42")
            if not nboot:
                raise SpecError('"bootstrap_seed" only seeds the parametric bootstrap; set "bootstrap" to a number '
                                'of replicates or remove "bootstrap_seed"')
        return cls(
            formula=formula, data=data, method=method, df_method=dfm,
            factors=tuple(factors), reference_levels=refs, repeated=repeated, random_effect_tests=ret,
            emmeans=tuple(_emmeans_from(e, newer, skipped) for e in emm), title=title,
            anova_types=anova_types_from(d.get("anova_types")), effect_sizes=yes_no(d, "effect_sizes"),
            compare_structures=compare, bootstrap=nboot, bootstrap_seed=seed,
            pooling=_pooling(d.get("pooling"), formula), predictions=yes_no(d, "predictions"),
            computed=_dict_list(d.get("computed"), '"computed"'),
            skipped_keys=tuple(skipped), **generalized_options(d), **sas_options(d))


def pooling_columns(formula: Formula) -> list:
    """Columns the pooling comparison can use: grouping columns of a random intercept.

    A column qualifies when it is, on its own, the grouping factor of a random term with an
    intercept (``(1 | g)``, ``(x | g)``, the outer factor of ``(1 | g/h)``), since the comparison
    sets each group's fixed-factor estimate beside the overall intercept plus its BLUP.
    """
    return list(dict.fromkeys(g[0] for rt in formula.random if rt.intercept for g in rt.groups if len(g) == 1))


def _pooling(v, formula_text: str) -> str | None:
    if v is None or v == "":
        return None
    column = column_name(v, '"pooling"')
    allowed = pooling_columns(parse_formula(formula_text))
    if column not in allowed:
        if not allowed:
            raise SpecError(f'"pooling" needs a random intercept for {shown(column)} in the formula, like '
                            f'(1 | {column}); this formula has no random intercept')
        raise SpecError(f'"pooling" must name the grouping column of a random intercept in the formula; '
                        f'use {" or ".join(shown(c) for c in allowed)} (got {shown(column)})')
    return column


def _one_or_list(t: tuple):
    return t[0] if len(t) == 1 else list(t)


def _emmeans_from(e, newer: bool = False, skipped: list | None = None) -> EmmeansRequest:
    if isinstance(e, str):
        e = {"specs": e}
    if not isinstance(e, dict) or not e.get("specs"):
        raise SpecError('each "emmeans" entry needs "specs": the factor whose levels to compare')
    _skip(skipped, check_keys(e, EMMEANS_KEYS, 'an "emmeans" entry', newer), "emmeans")
    raw = e.get("contrasts") or []
    if isinstance(raw, (str, dict)):
        raw = [raw]  # one contrast written without the list around it
    if not isinstance(raw, list):
        raise SpecError('"contrasts" must be a list, e.g. ["pairwise"] or [{"method": "consec", "adjust": "holm"}]')
    contrasts = []
    for c in raw:
        if isinstance(c, str):
            c = {"method": c}
        if not isinstance(c, dict):
            raise SpecError(f'each contrast must be a method name or an object like {{"method": "pairwise"}} (got {shown(c)})')
        _skip(skipped, check_keys(c, CONTRAST_KEYS, "a contrast", newer), "contrasts")
        m = c.get("method", "pairwise")
        if not isinstance(m, str):
            raise SpecError(f'contrast method {shown(m)} is not known; use one of {", ".join(CONTRAST_METHODS)}')
        m = known_value(m, CONTRAST_METHODS, "contrast method")
        adj = c.get("adjust", "tukey" if m == "pairwise" else "none")
        if adj is None:
            adj = "none"  # "adjust": null, as older files wrote it
        if not isinstance(adj, str):
            raise SpecError(f'adjustment {shown(adj)} is not known; use one of {", ".join(ADJUSTMENTS)}')
        adj = known_value(O.ADJUSTMENT_ALIASES.get(adj.lower(), adj.lower()), ADJUSTMENTS, "adjustment")
        w = c.get("weights")
        if m == "custom" and not w:
            raise SpecError('a custom contrast needs "weights", one number per level')
        if w is not None:
            if not isinstance(w, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                   and math.isfinite(x) for x in w):
                raise SpecError(f'custom contrast weights must be a list of numbers, one per level, like [1, -1, 0] '
                                f'(got {shown(w)})')
        name = c.get("name")
        if name is not None and not isinstance(name, str):
            raise SpecError(f'a contrast\'s "name" must be text (got {shown(name)})')
        ref = c.get("ref")
        if ref is not None:
            ref = level_name(ref, "the control level")
        contrasts.append(Contrast(m, adj, name, tuple(float(x) for x in w) if w else None, ref))
    kind = choice(e, "type", "link", O.EMMEANS_TYPES, lambda v: v.lower(), 'use "link" or "response"')
    return EmmeansRequest(as_tuple(e["specs"]), as_tuple(e.get("by"), '"by"'), tuple(contrasts), kind)


def _skip(skipped: list | None, keys: list, where: str) -> None:
    if skipped is not None:
        skipped.extend(f"{where}.{k}" for k in keys)


def is_newer(d: dict) -> bool:
    """True when a parsed analysis file says it was written by a newer MixGUI (its extra keys are skipped)."""
    v = d.get("version") if isinstance(d, dict) else None
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v > VERSION


def _data_from(data, newer: bool, skipped: list) -> DataRef:
    if isinstance(data, str):
        data = {"path": data}
    data = data or {}
    if not isinstance(data, dict) or not data.get("path"):
        raise SpecError('the analysis file has no data path; add "data": {"path": "yourfile.csv"}')
    _skip(skipped, check_keys(data, DATA_KEYS, '"data"', newer), "data")
    if not isinstance(data["path"], str):
        raise SpecError(f'the data path must be text, like "data": {{"path": "yourfile.csv"}} (got {shown(data["path"])})')
    sheet = data.get("sheet")
    if sheet is not None and not isinstance(sheet, str):
        if isinstance(sheet, int) and not isinstance(sheet, bool):
            sheet = str(sheet)  # a sheet called "2019" written as a number
        else:
            raise SpecError(f'"sheet" must be the name of an Excel sheet, like "Data" (got {shown(sheet)})')
    imp = data.get("import")
    if imp is not None and not isinstance(imp, dict):
        raise SpecError(f'"import" must be an object of import options, like {{"skip_rows": 1}} (got {shown(imp)})')
    return DataRef(data["path"], sheet, imp or None, _dict_list(data.get("reshape"), '"reshape"'))


def _dict_list(v, what: str) -> tuple:
    """A list of objects (reshape steps, computed variables), kept as dicts for the data layer to read."""
    if v in (None, []):
        return ()
    if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
        raise SpecError(f"{what} must be a list of objects, as MixGUI writes it (got {shown(v)})")
    return tuple(v)


def _repeated_from(rep, newer: bool, skipped: list) -> Repeated | None:
    if not rep:
        return None
    if not isinstance(rep, dict):
        raise SpecError('"repeated" must be an object with structure, subject and index')
    _skip(skipped, check_keys(rep, REPEATED_KEYS, '"repeated"', newer), "repeated")
    s = rep.get("structure", "UN")
    name = O.normalise_structure(s) if isinstance(s, str) else None
    if name is None:
        near = O.nearest(str(s), STRUCTURES + ("TOEP(k)",))
        hint = f'did you mean "{near}"?' if near else f"use one of {', '.join(STRUCTURES)} or TOEP(k)"
        raise SpecError(f'repeated structure {shown(s)} is not known; {hint}')
    if not rep.get("subject") or not rep.get("index"):
        raise SpecError('"repeated" needs a "subject" column and an "index" column (the visit or time)')
    index = rep["index"]
    if isinstance(index, list):
        if name not in O.SPATIAL:
            raise SpecError(f'"repeated" index is a list of columns, which only a spatial structure '
                            f'({", ".join(O.SPATIAL)}) can use; give {name} one visit or time column')
        index = tuple(column_name(c, '"repeated" index') for c in index)
        index = index[0] if len(index) == 1 else index
    else:
        index = column_name(index, '"repeated" index')
    group = rep.get("group")
    group = None if group in (None, "") else column_name(group, '"repeated" group')
    return Repeated(name, column_name(rep["subject"], '"repeated" subject'), index, group)


def _repeated_dict(rep: Repeated | None) -> dict | None:
    if rep is None:
        return None
    d = {"structure": rep.structure, "subject": rep.subject,
         "index": list(rep.index) if isinstance(rep.index, tuple) else rep.index}
    if rep.group is not None:
        d["group"] = rep.group
    return d


def migrate(d: dict) -> dict:
    """Bring an analysis file of any earlier version to the current one.

    Version 0 (files written before ``format``/``version`` existed) used ``"df"`` for the df method
    and ``"data"`` as a plain path string; both are accepted here.
    """
    d = dict(d)
    fmt = d.get("format", FORMAT)
    if fmt != FORMAT:
        raise SpecError(f'this is not a MixGUI analysis file (format {shown(fmt)}); it should say "format": "{FORMAT}"')
    version = d.get("version", 0)
    if version is None:
        version = 0
    if isinstance(version, float) and version.is_integer():
        version = int(version)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise SpecError(f'"version" must be a whole number like {VERSION} (got {shown(version)}); '
                        "remove it to let MixGUI read the file as an early version")
    if version < 1:
        if "df" in d and "df_method" not in d:
            d["df_method"] = d.pop("df")
        if isinstance(d.get("data"), str):
            d["data"] = {"path": d["data"], "sheet": None}
    d["version"] = VERSION
    return d


def load_spec(path) -> tuple:
    """Read an analysis file.

    Returns
    -------
    (AnalysisSpec, Path)
        The spec and the absolute path of its data file (resolved against the file's folder).
    """
    path = Path(path)
    try:
        # utf-8-sig: Windows editors (Notepad) save JSON with a byte-order mark
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SpecError(f"analysis file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"cannot read analysis file {path}: {e}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError(f"analysis file {path.name} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except RecursionError:
        raise SpecError(f"analysis file {path.name} is nested too deeply to be an analysis file") from None
    spec = AnalysisSpec.from_dict(raw)
    return spec, resolve_data_path(spec, path.parent)


def resolve_data_path(spec: AnalysisSpec, folder) -> Path:
    p = Path(spec.data.path).expanduser()
    return p if p.is_absolute() else (Path(folder) / p).resolve()


def save_spec(spec: AnalysisSpec, path) -> None:
    """Write an analysis file atomically."""
    atomic_write_text(path, json.dumps(spec.to_dict(), indent=2, ensure_ascii=False) + "\n")
