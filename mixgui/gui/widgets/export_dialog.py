"""Export results: choose a format and a file; the report is written by :mod:`mixgui.report`.

The report gets everything needed to redo the analysis: the data file, how it was read (import
options), restructured (reshape steps) and extended (computed variables). The plots shown under
the results are rendered to PNG and embedded where the format allows (HTML, Word, Excel, the
CSV folder); an R script holds code only.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from mixgui.report import write_report

log = logging.getLogger(__name__)

#: (file-dialog filter, suffix); "" is a folder of CSV files
FORMATS = [
    ("Excel workbook (*.xlsx)", ".xlsx"),
    ("Word document (*.docx)", ".docx"),
    ("Web page with plots (*.html)", ".html"),
    ("R script (*.R)", ".R"),
    ("Folder of CSV files (*)", ""),
]


def plot_images(result) -> dict:
    """Figure title -> PNG bytes for each figure of ``result`` (as ``mixgui fit --report`` draws them).

    Each figure is drawn afresh at a fixed size rather than grabbed from its tab, so a report does
    not depend on how large the window was; a figure that cannot be drawn is left out.
    """
    from mixgui.gui.plots.render import render_pngs

    try:
        return {title: png for title, png in render_pngs(result).values()}
    except Exception:  # noqa: BLE001 - the tables matter more than the pictures
        log.exception("the plots could not be drawn for the report")
        return {}


def export_report(result, session, path) -> Path:
    """Write the report of ``result`` (fitted on ``session``'s data) to ``path`` (format from the suffix).

    Raises
    ------
    MixGUIError
        The file cannot be written (open in another program, no permission).
    """
    path = Path(path)
    plots = {} if path.suffix.lower() == ".r" else plot_images(result)
    ds = session.dataset
    prov = session.provenance
    data_path = Path(ds.source).resolve() if ds is not None and ds.source else None
    options = prov.import_options if prov.import_options is not None and not prov.import_options.is_plain() \
        else None
    return write_report(result, path, data_path=data_path, import_options=options, steps=list(prov.steps),
                        recipes=list(prov.recipes), plots=plots)


def start_folder(session, last_folder: str | None = None) -> str:
    """Where the export dialog opens: beside the project or analysis file, else beside the data file,
    else where the last export went, else the home folder."""
    ds = session.dataset
    for near in (session.project_path, session.analysis_path, ds.source if ds is not None else None):
        if near and Path(near).parent.is_dir():
            return str(Path(near).resolve().parent)
    if last_folder and Path(last_folder).is_dir():
        return last_folder
    return str(Path.home())


def resolve_export_path(path: str, chosen_filter: str) -> str:
    """The file to write, from what the user typed and the format chosen in the dialog.

    A name typed with a report suffix (``report.html``) is taken as typed, whatever format the list
    shows: the name is the user's deliberate act, the list is often just last time's choice. A name
    without one gets the chosen format's suffix; ``x.csv`` with the CSV folder means the folder ``x``.
    """
    typed = Path(path).suffix.lower()
    if typed in {suffix.lower() for _, suffix in FORMATS if suffix} | {".htm"}:
        return path
    suffix = dict(FORMATS).get(chosen_filter, "")
    if suffix:
        return path + suffix
    return path[:-4] if typed == ".csv" else path


def ask_export_path(session, settings, parent=None) -> str | None:
    """Ask where to export (a file dialog with the formats, next to the session's files); None when cancelled."""
    folder = start_folder(session, settings.value("export/folder", None))
    last = settings.value("export/filter", FORMATS[0][0])
    stem = (session.dataset.name if session.dataset else "results").split(":")[0].strip() or "results"
    path, chosen = QFileDialog.getSaveFileName(parent, "Export results", os.path.join(folder, f"{stem} results"),
                                               ";;".join(f for f, _ in FORMATS), last)
    if not path:
        return None
    settings.setValue("export/filter", chosen)
    settings.setValue("export/folder", str(Path(path).parent))
    return resolve_export_path(path, chosen)
