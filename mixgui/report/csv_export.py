"""A folder of plain files: one CSV per results table, plus the methods text, the analysis file
and the R script. CSVs hold the raw numbers at full precision (for further work in R or Excel);
a confidence interval becomes two columns. Written as UTF-8 with a byte-order mark so Excel
shows names like "R²" correctly; files are numbered in report order."""
from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

from mixgui.analysis.spec import atomic_write_text
from mixgui.errors import MixGUIError
from mixgui.report import ReportParts

BOM = "\ufeff"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()[:40] or "table"


def _plain(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        if math.isnan(v):
            return "NA"
        if math.isinf(v):
            return "Inf" if v > 0 else "-Inf"
        return repr(v)
    return str(v)


def table_csv(table) -> str:
    """One table as CSV text (header = column labels; CI split into lower and upper)."""
    header, getters = [], []
    for c in table.columns:
        if c.kind == "ci":
            header += [f"{c.label} lower", f"{c.label} upper"]
            getters += [lambda r, k=c.key: (r.get(k) or (None, None))[0],
                        lambda r, k=c.key: (r.get(k) or (None, None))[1]]
        else:
            header.append(c.label or c.key)
            getters.append(lambda r, k=c.key: r.get(k))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in table.rows:
        w.writerow([_plain(g(r)) for g in getters])
    return buf.getvalue()


def equations_text(equations: dict) -> str:
    """The model's equations as plain text, then as LaTeX."""
    from mixgui.report.equation_runs import plain_text, report_equations
    from mixgui.results.equations import latex_block

    body = "\n\n".join(f"{label}\n{plain_text(runs)}" for label, runs in report_equations(equations))
    return f"{body}\n\nLaTeX:\n{latex_block(equations)}\n"


def write_csv_folder(parts: ReportParts, folder) -> list:
    """Write the report's files into ``folder`` (created if needed); returns their paths."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise MixGUIError(f"{folder} is a file; give a folder name for the CSV export")
    folder.mkdir(parents=True, exist_ok=True)
    written = []

    def put(name: str, text: str) -> None:
        p = folder / name
        atomic_write_text(p, text)
        written.append(p)

    notes = "".join(f"\nNote. {n}\n" for n in parts.notes)
    put("00_methods.txt", f"{parts.title}\n{parts.subtitle}\n\n{parts.methods}\n{notes}")
    if parts.equations:
        put("00_model_equations.txt", equations_text(parts.equations))
    for k, t in enumerate(parts.tables, 1):
        extra = "".join(f"# Note. {f}\n" for f in t.footnotes) + "".join(f"# Warning: {w}\n" for w in t.warnings)
        put(f"{k:02d}_{_slug(t.key)}.csv", BOM + table_csv(t))
        if extra:
            put(f"{k:02d}_{_slug(t.key)}_notes.txt", f"{t.title}\n{extra}")
    for k, (name, png) in enumerate(parts.plots.items(), 1):
        from mixgui.report import atomic_write_bytes
        p = folder / f"plot_{k:02d}_{_slug(name)}.png"
        atomic_write_bytes(p, png)
        written.append(p)
    put("98_analysis.json", parts.analysis_json + "\n")
    put("99_script.R", parts.r_script)
    return written
