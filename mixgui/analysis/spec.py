"""The analysis file: frozen dataclasses that read and write the JSON contract.

See ``spec/analysis-and-results.md``. The model builder edits an :class:`AnalysisSpec`;
``mixgui fit`` runs one. Files of older versions are migrated on read (:func:`migrate`).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from mixgui.errors import SpecError
from mixgui.fileio import atomic_write_text  # noqa: F401 (re-exported for callers of spec)

FORMAT = "mixgui-analysis"
VERSION = 1

METHODS = ("REML", "ML")
DF_METHODS = ("satterthwaite", "kenward-roger", "residual", "none")
STRUCTURES = ("ID", "DIAG", "CS", "CSH", "AR1", "ARH1", "TOEP", "UN")
CONTRAST_METHODS = ("pairwise", "consec", "trt.vs.ctrl", "poly", "custom")
ADJUSTMENTS = ("tukey", "holm", "bonferroni", "sidak", "none")


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
        return d

    @classmethod
    def from_dict(cls, d: dict) -> AnalysisSpec:
        """Build a spec from a parsed analysis file, migrating older versions and checking values."""
        if not isinstance(d, dict):
            raise SpecError("the analysis file must hold a JSON object, like {\"formula\": ..., \"data\": ...}")
        d = migrate(d)
        data = d.get("data") or {}
        if isinstance(data, str):
            data = {"path": data}
        if not isinstance(data, dict) or not data.get("path"):
            raise SpecError('the analysis file has no data path; add "data": {"path": "yourfile.csv"}')
        formula = d.get("formula")
        if not isinstance(formula, str) or not formula.strip():
            raise SpecError('the analysis file has no formula; add e.g. "formula": "y ~ x + (1 | group)"')
        method = str(d.get("method") or "REML").upper()
        if method not in METHODS:
            raise SpecError(f'method "{d.get("method")}" is not known; use "REML" or "ML"')
        dfm = str(d.get("df_method") or "satterthwaite").lower().replace("_", "-")
        dfm = {"kr": "kenward-roger", "kenwardroger": "kenward-roger", "z": "none"}.get(dfm, dfm)
        if dfm not in DF_METHODS:
            raise SpecError(f'df_method "{d.get("df_method")}" is not known; use one of {", ".join(DF_METHODS)}')
        rep = d.get("repeated")
        repeated = None
        if rep:
            if not isinstance(rep, dict):
                raise SpecError('"repeated" must be an object with structure, subject and index')
            s = str(rep.get("structure", "UN")).upper()
            if s not in STRUCTURES:
                raise SpecError(f'repeated structure "{rep.get("structure")}" is not known; use one of {", ".join(STRUCTURES)}')
            if not rep.get("subject") or not rep.get("index"):
                raise SpecError('"repeated" needs a "subject" column and an "index" column (the visit or time)')
            repeated = Repeated(s, str(rep["subject"]), str(rep["index"]))
        factors = d.get("factors") or []
        if isinstance(factors, str):
            factors = [factors]
        refs = d.get("reference_levels") or {}
        if not isinstance(refs, dict):
            raise SpecError('"reference_levels" must map a column to its reference level, e.g. {"Sex": "Male"}')
        return cls(
            formula=formula, data=DataRef(str(data["path"]), data.get("sheet")), method=method, df_method=dfm,
            factors=tuple(str(f) for f in factors), reference_levels={str(k): str(v) for k, v in refs.items()},
            repeated=repeated, random_effect_tests=bool(d.get("random_effect_tests", False)),
            emmeans=tuple(_emmeans_from(e) for e in (d.get("emmeans") or [])), title=str(d.get("title") or ""))


def _one_or_list(t: tuple):
    return t[0] if len(t) == 1 else list(t)


def _as_tuple(v) -> tuple:
    if v is None:
        return ()
    return (str(v),) if isinstance(v, str) else tuple(str(x) for x in v)


def _emmeans_from(e) -> EmmeansRequest:
    if isinstance(e, str):
        e = {"specs": e}
    if not isinstance(e, dict) or not e.get("specs"):
        raise SpecError('each "emmeans" entry needs "specs": the factor whose levels to compare')
    contrasts = []
    for c in e.get("contrasts") or []:
        if isinstance(c, str):
            c = {"method": c}
        m = str(c.get("method", "pairwise"))
        if m not in CONTRAST_METHODS:
            raise SpecError(f'contrast method "{m}" is not known; use one of {", ".join(CONTRAST_METHODS)}')
        adj = str(c.get("adjust", "tukey" if m == "pairwise" else "none")).lower()
        if adj not in ADJUSTMENTS:
            raise SpecError(f'adjustment "{adj}" is not known; use one of {", ".join(ADJUSTMENTS)}')
        w = c.get("weights")
        if m == "custom" and not w:
            raise SpecError('a custom contrast needs "weights", one number per level')
        contrasts.append(Contrast(m, adj, c.get("name"), tuple(float(x) for x in w) if w else None,
                                  str(c["ref"]) if c.get("ref") is not None else None))
    return EmmeansRequest(_as_tuple(e["specs"]), _as_tuple(e.get("by")), tuple(contrasts))


def migrate(d: dict) -> dict:
    """Bring an analysis file of any earlier version to the current one.

    Version 0 (files written before ``format``/``version`` existed) used ``"df"`` for the df method
    and ``"data"`` as a plain path string; both are accepted here.
    """
    d = dict(d)
    fmt = d.get("format", FORMAT)
    if fmt != FORMAT:
        raise SpecError(f'this is not a MixGUI analysis file (format "{fmt}")')
    version = d.get("version", 0)
    if not isinstance(version, int) or version > VERSION:
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
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"analysis file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"cannot read analysis file {path}: {e}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError(f"analysis file {path.name} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    spec = AnalysisSpec.from_dict(raw)
    return spec, resolve_data_path(spec, path.parent)


def resolve_data_path(spec: AnalysisSpec, folder) -> Path:
    p = Path(spec.data.path).expanduser()
    return p if p.is_absolute() else (Path(folder) / p).resolve()


def save_spec(spec: AnalysisSpec, path) -> None:
    """Write an analysis file atomically."""
    atomic_write_text(path, json.dumps(spec.to_dict(), indent=2, ensure_ascii=False) + "\n")
