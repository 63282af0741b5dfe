"""The analysis file: frozen dataclasses that read and write the JSON contract.

See ``spec/analysis-and-results.md``. The model builder edits an :class:`AnalysisSpec`;
``mixgui fit`` runs one. Files of older versions are migrated on read (:func:`migrate`).
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from mixgui.analysis.formula import Formula, parse_formula
from mixgui.errors import SpecError
from mixgui.fileio import atomic_write_text  # noqa: F401 (re-exported for callers of spec)

FORMAT = "mixgui-analysis"
VERSION = 1

METHODS = ("REML", "ML")
DF_METHODS = ("satterthwaite", "kenward-roger", "residual", "none")
STRUCTURES = ("ID", "DIAG", "CS", "CSH", "AR1", "ARH1", "TOEP", "UN")
CONTRAST_METHODS = ("pairwise", "consec", "trt.vs.ctrl", "poly", "custom")
ADJUSTMENTS = ("tukey", "holm", "bonferroni", "sidak", "none")
MAX_BOOTSTRAP = 100_000  # replicates; beyond this a run takes days and the p-value gains nothing


@dataclass(frozen=True)
class DataRef:
    """Where the data come from: a path (relative to the analysis file) and an Excel sheet."""

    path: str = ""
    sheet: str | None = None


@dataclass(frozen=True)
class Repeated:
    """Residual covariance within ``subject`` over the sorted values of ``index``."""

    structure: str = "UN"
    subject: str = ""
    index: str = ""


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
    """Marginal means over ``specs`` (optionally within levels of ``by``) and their contrasts."""

    specs: tuple = ()
    by: tuple = ()
    contrasts: tuple = ()


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
    anova_types: tuple = ()  # ordinary regression: extra ANOVA tables (2, 3) beside the sequential one
    effect_sizes: bool = False  # Cohen's f2 per fixed term, variance proportions, variance change vs null
    compare_structures: bool = False  # with repeated: fit every residual structure, compare AIC / BIC
    bootstrap: int = 0  # parametric-bootstrap replicates of the random-effect LRTs (0: none)
    bootstrap_seed: int | None = None  # None: a fixed default seed, so a re-run gives the same p-values
    pooling: str | None = None  # a random-intercept grouping column: fixed factor vs random effect

    def with_(self, **changes) -> AnalysisSpec:
        """A copy with some fields changed."""
        return replace(self, **changes)

    # -- JSON -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The analysis file as a JSON-ready dict (format and version always written)."""
        d = {"format": FORMAT, "version": VERSION}
        d["data"] = {"path": self.data.path, "sheet": self.data.sheet}
        d["formula"] = self.formula
        d["method"] = self.method
        d["df_method"] = self.df_method
        d["factors"] = list(self.factors)
        d["reference_levels"] = dict(self.reference_levels)
        d["repeated"] = asdict(self.repeated) if self.repeated else None
        d["random_effect_tests"] = self.random_effect_tests
        d["emmeans"] = [
            {"specs": _one_or_list(e.specs), **({"by": _one_or_list(e.by)} if e.by else {}),
             "contrasts": [{k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(c).items()
                            if v is not None} for c in e.contrasts]}
            for e in self.emmeans]
        if self.title:
            d["title"] = self.title
        if self.anova_types:
            d["anova_types"] = list(self.anova_types)
        # optional fields are written only when set, so files without them stay byte-identical
        if self.effect_sizes:
            d["effect_sizes"] = True
        if self.compare_structures:
            d["compare_structures"] = True
        if self.bootstrap:
            d["bootstrap"] = self.bootstrap
        if self.bootstrap_seed is not None:
            d["bootstrap_seed"] = self.bootstrap_seed
        if self.pooling is not None:
            d["pooling"] = self.pooling
        return d

    @classmethod
    def from_dict(cls, d: dict) -> AnalysisSpec:
        """Build a spec from a parsed analysis file, migrating older versions and checking values.

        Every field is type-checked: a value of the wrong kind (a number where a formula belongs,
        an object where a list of columns belongs, ``"no"`` for a yes/no option) is refused with a
        :class:`SpecError` that names the field and shows what it should look like, never guessed.
        """
        if not isinstance(d, dict):
            raise SpecError("the analysis file must hold a JSON object, like {\"formula\": ..., \"data\": ...}")
        d = migrate(d)
        data = d.get("data") or {}
        if isinstance(data, str):
            data = {"path": data}
        if not isinstance(data, dict) or not data.get("path"):
            raise SpecError('the analysis file has no data path; add "data": {"path": "yourfile.csv"}')
        if not isinstance(data["path"], str):
            raise SpecError(f'the data path must be text, like "data": {{"path": "yourfile.csv"}} (got {_shown(data["path"])})')
        sheet = data.get("sheet")
        if sheet is not None and not isinstance(sheet, str):
            if isinstance(sheet, int) and not isinstance(sheet, bool):
                sheet = str(sheet)  # a sheet called "2019" written as a number
            else:
                raise SpecError(f'"sheet" must be the name of an Excel sheet, like "Data" (got {_shown(sheet)})')
        formula = d.get("formula")
        if not isinstance(formula, str) or not formula.strip():
            raise SpecError('the analysis file has no formula; add e.g. "formula": "y ~ x + (1 | group)"')
        method = _choice(d, "method", "REML", METHODS, lambda v: v.upper(), 'use "REML" or "ML"')
        dfm = _choice(d, "df_method", "satterthwaite", DF_METHODS, _df_alias,
                      f"use one of {', '.join(DF_METHODS)}")
        rep = d.get("repeated")
        repeated = None
        if rep:
            if not isinstance(rep, dict):
                raise SpecError('"repeated" must be an object with structure, subject and index')
            s = rep.get("structure", "UN")
            if not isinstance(s, str) or s.upper() not in STRUCTURES:
                raise SpecError(f'repeated structure "{s}" is not known; use one of {", ".join(STRUCTURES)}')
            if not rep.get("subject") or not rep.get("index"):
                raise SpecError('"repeated" needs a "subject" column and an "index" column (the visit or time)')
            repeated = Repeated(s.upper(), _column_name(rep["subject"], '"repeated" subject'),
                                _column_name(rep["index"], '"repeated" index'))
        factors = d.get("factors") or []
        if isinstance(factors, str):
            factors = [factors]
        if not isinstance(factors, list):
            raise SpecError(f'"factors" must be a list of column names, e.g. ["Subject", "Sex"] (got {_shown(factors)})')
        factors = [_column_name(f, '"factors"') for f in factors]
        refs = d.get("reference_levels") or {}
        if not isinstance(refs, dict):
            raise SpecError('"reference_levels" must map a column to its reference level, e.g. {"Sex": "Male"}')
        refs = {str(k): _level_name(v, k) for k, v in refs.items()}
        ret = _yes_no(d, "random_effect_tests")
        title = d.get("title") or ""
        if not isinstance(title, str):
            raise SpecError(f'"title" must be text (got {_shown(title)})')
        emm = d.get("emmeans") or []
        if isinstance(emm, (str, dict)):
            emm = [emm]  # one request written without the list around it
        if not isinstance(emm, list):
            raise SpecError('"emmeans" must be a list of requests, e.g. [{"specs": "Sex", "contrasts": ["pairwise"]}]')
        compare = _yes_no(d, "compare_structures")
        if compare and repeated is None:
            raise SpecError('"compare_structures" compares residual covariance structures, so it needs "repeated" '
                            '(e.g. {"structure": "AR1", "subject": "Subject", "index": "Time"}); add it or remove '
                            '"compare_structures"')
        nboot = _whole_number(d.get("bootstrap"), "bootstrap", 0, MAX_BOOTSTRAP, " replicates, e.g. 1000")
        if nboot and not ret:
            raise SpecError('"bootstrap" adds parametric-bootstrap p-values to the likelihood-ratio tests of the '
                            'random effects; add "random_effect_tests": true or remove "bootstrap"')
        seed = d.get("bootstrap_seed")
        if seed is not None:
            seed = _whole_number(seed, "bootstrap_seed", 0, 2 ** 32 - 1, ", e.g. 42")
            if not nboot:
                raise SpecError('"bootstrap_seed" only seeds the parametric bootstrap; set "bootstrap" to a number '
                                'of replicates or remove "bootstrap_seed"')
        return cls(
            formula=formula, data=DataRef(data["path"], sheet), method=method, df_method=dfm,
            factors=tuple(factors), reference_levels=refs, repeated=repeated, random_effect_tests=ret,
            emmeans=tuple(_emmeans_from(e) for e in emm), title=title,
            anova_types=_anova_types(d.get("anova_types")), effect_sizes=_yes_no(d, "effect_sizes"),
            compare_structures=compare, bootstrap=nboot, bootstrap_seed=seed,
            pooling=_pooling(d.get("pooling"), formula))


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
    column = _column_name(v, '"pooling"')
    allowed = pooling_columns(parse_formula(formula_text))
    if column not in allowed:
        if not allowed:
            raise SpecError(f'"pooling" needs a random intercept for {_shown(column)} in the formula, like '
                            f'(1 | {column}); this formula has no random intercept')
        raise SpecError(f'"pooling" must name the grouping column of a random intercept in the formula; '
                        f'use {" or ".join(_shown(c) for c in allowed)} (got {_shown(column)})')
    return column


def _yes_no(d: dict, key: str) -> bool:
    """A yes/no option: true/false (1/0 accepted); missing or null is false."""
    v = d.get(key, False)
    if v is None:
        return False
    if not isinstance(v, bool) and not (isinstance(v, int) and v in (0, 1)):
        raise SpecError(f'"{key}" must be true or false (got {_shown(v)})')
    return bool(v)


def _whole_number(v, key: str, low: int, high: int, what: str) -> int:
    """A whole number in [low, high] (2000.0 accepted); missing or null is ``low``."""
    if v is None:
        return low
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
        raise SpecError(f'"{key}" must be a whole number from {low} to {high}{what} (got {_shown(v)})')
    return v


def _shown(v) -> str:
    """A wrong value as the user wrote it, shortened for a one-line message."""
    text = json.dumps(v, default=str) if not isinstance(v, str) else f'"{v}"'
    return text if len(text) <= 40 else text[:37] + "..."


def _df_alias(v: str) -> str:
    v = v.lower().replace("_", "-")
    return {"kr": "kenward-roger", "kenwardroger": "kenward-roger", "z": "none"}.get(v, v)


def _choice(d: dict, key: str, default: str, allowed: tuple, norm, hint: str) -> str:
    """A text option that must be one of ``allowed`` (after ``norm``); missing or null gives ``default``."""
    v = d.get(key)
    if v is None or v == "":
        return default
    if not isinstance(v, str) or norm(v) not in allowed:
        raise SpecError(f"{key} {_shown(v)} is not known; {hint}")
    return norm(v)


def _column_name(v, what: str) -> str:
    """A column name: text (a whole number is accepted and read as its digits)."""
    if isinstance(v, str) and v:
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    raise SpecError(f"{what} must name a column as text, like \"Subject\" (got {_shown(v)})")


def _level_name(v, column) -> str:
    """A reference level: text or a number (10 and 10.0 both mean the level written 10)."""
    if isinstance(v, str):
        return v
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        return str(int(v))
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
        return str(v)
    raise SpecError(f'the reference level of "{column}" must be one of its values, like "Male" or 10 (got {_shown(v)})')


def _anova_types(v) -> tuple:
    if v in (None, "", []):
        return ()
    items = v if isinstance(v, list) else [v]
    out = []
    for x in items:
        if str(x) not in ("1", "2", "3"):
            raise SpecError(f'anova_types holds {x!r}; use a list of 2 and/or 3 (type II, type III tables)')
        out.append(int(x))
    return tuple(sorted(set(out) - {1}))


def _one_or_list(t: tuple):
    return t[0] if len(t) == 1 else list(t)


def _as_tuple(v, what: str = '"specs"') -> tuple:
    if v is None:
        return ()
    if isinstance(v, (str, int)) and not isinstance(v, bool):
        return (_column_name(v, what),)
    if isinstance(v, list):
        return tuple(_column_name(x, what) for x in v)
    raise SpecError(f'{what} must be a factor name or a list of them, like "Sex" or ["Sex", "Time"] (got {_shown(v)})')


def _emmeans_from(e) -> EmmeansRequest:
    if isinstance(e, str):
        e = {"specs": e}
    if not isinstance(e, dict) or not e.get("specs"):
        raise SpecError('each "emmeans" entry needs "specs": the factor whose levels to compare')
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
            raise SpecError(f'each contrast must be a method name or an object like {{"method": "pairwise"}} (got {_shown(c)})')
        m = c.get("method", "pairwise")
        if not isinstance(m, str) or m not in CONTRAST_METHODS:
            raise SpecError(f'contrast method {_shown(m)} is not known; use one of {", ".join(CONTRAST_METHODS)}')
        adj = c.get("adjust", "tukey" if m == "pairwise" else "none")
        if adj is None:
            adj = "none"  # "adjust": null, as older files wrote it
        if not isinstance(adj, str) or adj.lower() not in ADJUSTMENTS:
            raise SpecError(f'adjustment {_shown(adj)} is not known; use one of {", ".join(ADJUSTMENTS)}')
        adj = adj.lower()
        w = c.get("weights")
        if m == "custom" and not w:
            raise SpecError('a custom contrast needs "weights", one number per level')
        if w is not None:
            if not isinstance(w, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                   and math.isfinite(x) for x in w):
                raise SpecError(f'custom contrast weights must be a list of numbers, one per level, like [1, -1, 0] '
                                f'(got {_shown(w)})')
        name = c.get("name")
        if name is not None and not isinstance(name, str):
            raise SpecError(f'a contrast\'s "name" must be text (got {_shown(name)})')
        ref = c.get("ref")
        if ref is not None:
            ref = _level_name(ref, "the control level")
        contrasts.append(Contrast(m, adj, name, tuple(float(x) for x in w) if w else None, ref))
    return EmmeansRequest(_as_tuple(e["specs"]), _as_tuple(e.get("by"), '"by"'), tuple(contrasts))


def migrate(d: dict) -> dict:
    """Bring an analysis file of any earlier version to the current one.

    Version 0 (files written before ``format``/``version`` existed) used ``"df"`` for the df method
    and ``"data"`` as a plain path string; both are accepted here.
    """
    d = dict(d)
    fmt = d.get("format", FORMAT)
    if fmt != FORMAT:
        raise SpecError(f'this is not a MixGUI analysis file (format {_shown(fmt)}); it should say "format": "{FORMAT}"')
    version = d.get("version", 0)
    if version is None:
        version = 0
    if isinstance(version, float) and version.is_integer():
        version = int(version)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise SpecError(f'"version" must be a whole number like {VERSION} (got {_shown(version)}); '
                        "remove it to let MixGUI read the file as an early version")
    if version > VERSION:
        raise SpecError(f"this analysis file is version {version}, newer than this MixGUI ({VERSION}); "
                        "update MixGUI to open it")
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
