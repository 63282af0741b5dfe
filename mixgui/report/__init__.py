"""Reports: one fitted analysis written as xlsx, docx, HTML, a folder of CSVs or an R script.

Every report has the same parts in the same order (:class:`ReportParts`): the methods paragraph,
the results tables (with their notes and warnings), optional plots, then the analysis file (JSON)
and an equivalent R script, so a reader can check or redo the analysis.

    write_report(result, "results.xlsx")            # or .docx, .html, .R, or a folder for CSVs
"""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from mixgui.errors import MixGUIError
from mixgui.fileio import atomic_write_bytes, atomic_write_text

FORMATS = {".xlsx": "xlsx", ".docx": "docx", ".html": "html", ".htm": "html", ".r": "r", "": "csv"}


@dataclass
class ReportParts:
    """What every report holds, format-independent.

    Attributes
    ----------
    title : str
    subtitle : str
        Data set, date.
    methods : str
        The methods paragraph.
    tables : list of Table
    notes : list of str
        Cautions that concern the whole analysis (e.g. about computed variables).
    equations : dict
        The results file's ``equations`` (LaTeX per part); empty when the result has none.
    plots : dict
        Plot name -> PNG bytes.
    analysis_json : str
        The analysis file.
    r_script : str
    """

    title: str
    subtitle: str
    methods: str
    tables: list
    notes: list = field(default_factory=list)
    equations: dict = field(default_factory=dict)
    plots: dict = field(default_factory=dict)
    analysis_json: str = ""
    r_script: str = ""


def build_parts(result, *, data_path=None, import_options=None, steps=(), recipes=(), plots=None) -> ReportParts:
    """Collect the parts of a report from a :class:`~mixgui.pipeline.run.FitResult`.

    Parameters
    ----------
    result : FitResult
    data_path : str or Path, optional
        The data file as R should read it (absolute is best); default the analysis file's path.
    import_options, steps, recipes
        How the table was made from the file (see :func:`mixgui.report.rscript.r_script`).
    plots : dict, optional
        Plot name -> PNG bytes, embedded where the format allows.
    """
    from mixgui.data.computed import notes as recipe_notes
    from mixgui.report.methods import methods_paragraph
    from mixgui.report.rscript import r_script

    spec = result.spec
    extra = [f'"{r.name}" is {r.describe()}.' for r in recipes]
    methods = methods_paragraph(spec, result.data, extra)  # the methods describe the results file
    analysis = spec.to_dict()
    if data_path is not None:
        analysis["data"] = dict(analysis["data"], path=Path(data_path).as_posix())
    if import_options is not None and not import_options.is_plain():
        analysis["data"]["import"] = import_options.to_dict()
    if steps:
        analysis["data"]["reshape"] = [s.to_dict() for s in steps]
    if recipes:
        analysis["computed"] = [r.to_dict() for r in recipes]
    when = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    name = result.info.get("data_name") or Path(spec.data.path).name
    return ReportParts(
        title=spec.title or f"Analysis of {result.info.get('formula') or spec.formula}",
        subtitle=f"Data: {name} · {when}",
        methods=methods, tables=list(result.tables), notes=recipe_notes(recipes),
        equations=dict(result.section("equations") or {}), plots=dict(plots or {}),
        analysis_json=json.dumps(analysis, indent=2, ensure_ascii=False),
        r_script=r_script(result, data_path, import_options=import_options, steps=steps, recipes=recipes))


def write_report(result, path, **kwargs) -> Path:
    """Write a report; the format follows the suffix.

    Parameters
    ----------
    result : FitResult
    path : str or Path
        ``.xlsx``, ``.docx``, ``.html``/``.htm``, ``.R`` (the script alone), or a folder (no suffix):
        one CSV per table plus the methods text, analysis file and script.
    **kwargs
        Passed to :func:`build_parts` (``data_path``, ``import_options``, ``steps``, ``recipes``, ``plots``).

    Returns
    -------
    Path
        What was written.

    Raises
    ------
    MixGUIError
        Unknown suffix, or the file cannot be written (open in Excel/Word, no permission).
    """
    path = Path(path)
    kind = "csv" if path.is_dir() else FORMATS.get(path.suffix.lower())
    if kind is None:
        raise MixGUIError(f"cannot write a {path.suffix} report; use .xlsx, .docx, .html, .R, or a folder name "
                          "for CSV files")
    parts = build_parts(result, **kwargs)
    try:
        if kind == "xlsx":
            from mixgui.report.xlsx import write_xlsx
            write_xlsx(parts, path)
        elif kind == "docx":
            from mixgui.report.docx import write_docx
            write_docx(parts, path)
        elif kind == "html":
            from mixgui.report.html import write_html
            write_html(parts, path)
        elif kind == "r":
            atomic_write_text(path, parts.r_script)
        else:
            from mixgui.report.csv_export import write_csv_folder
            write_csv_folder(parts, path)
    except PermissionError:
        raise MixGUIError(f"cannot write {path}: it is open in another program or the folder is read-only; "
                          "close it or choose another name") from None
    except FileNotFoundError:
        raise MixGUIError(f"cannot write {path}: the folder {path.parent} does not exist") from None
    return path


__all__ = ["write_report", "build_parts", "ReportParts", "atomic_write_bytes"]
