"""Export results: choose a format and a file; the report is written by :mod:`mixgui.report`.

The report gets everything needed to redo the analysis: the data file, how it was read (import
options), restructured (reshape steps) and extended (computed variables). The plots shown under
the results are rendered to PNG and embedded where the format allows (HTML, Word, Excel, the
CSV folder); an R script holds code only.
"""
from __future__ import annotations

import logging
import os
import tempfile
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
PLOT_DPI = 150
PLOT_INCHES = 6.0


def plot_images(plot_tabs, dpi: int = PLOT_DPI) -> dict:
    """Figure title -> PNG bytes for each plot tab (tabs whose export fails are left out)."""
    from mixgui.gui.plots.views import export_png

    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="mixgui-plots-") as folder:
        for k, tab in enumerate(plot_tabs):
            path = Path(folder) / f"plot{k}.png"
            try:
                export_png(tab.view, path, dpi=dpi, inches=PLOT_INCHES)
                out[tab.figure.title] = path.read_bytes()
            except Exception:  # noqa: BLE001 - one plot that cannot be drawn must not stop the report
                log.exception("plot %s could not be exported", tab.figure.key)
    return out


def export_report(window, path) -> Path:
    """Write the report of the result ``window`` shows to ``path`` (format from the suffix).

    Raises
    ------
    MixGUIError
        The file cannot be written (open in another program, no permission).
    """
    path = Path(path)
    result = window.results_panel.result
    plots = {} if path.suffix.lower() == ".r" else plot_images(window.results_panel.plots.tabs)
    ds = window.dataset
    data_path = Path(ds.source).resolve() if ds is not None and ds.source else None
    options = window.import_options if window.import_options is not None and not window.import_options.is_plain() \
        else None
    return write_report(result, path, data_path=data_path, import_options=options, steps=list(window.steps),
                        recipes=list(window.recipes), plots=plots)


def ask_export_path(window) -> str | None:
    """Ask where to export (a file dialog with the formats); None when cancelled."""
    start_folder = str(Path(window.project_path or window.analysis_path or Path.home()).parent) \
        if (window.project_path or window.analysis_path) else str(Path.home())
    last = window.settings.value("export/filter", FORMATS[0][0])
    stem = (window.dataset.name if window.dataset else "results").split(":")[0].strip() or "results"
    path, chosen = QFileDialog.getSaveFileName(window, "Export results", os.path.join(start_folder, f"{stem} results"),
                                               ";;".join(f for f, _ in FORMATS), last)
    if not path:
        return None
    window.settings.setValue("export/filter", chosen)
    suffix = dict(FORMATS).get(chosen, "")
    if suffix and not path.lower().endswith(suffix.lower()):
        path += suffix
    return path
