"""The main window: data on the left, the model in the middle, results on the right.

The window owns the session state (the dataset and the analysis shown) and a
:class:`~mixgui.gui.workers.FitController`; it only shows what the lower layers compute. Errors
from opening files go to a message box and leave the session as it was; errors from a fit become
a message in the results pane.
"""
from __future__ import annotations

import importlib.resources
import logging
import os
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from mixgui import __version__
from mixgui.analysis.spec import DataRef, load_spec, save_spec
from mixgui.data.dataset import LEVELS, Dataset
from mixgui.errors import MixGUIError
from mixgui.gui.widgets.data_grid import DataGrid
from mixgui.gui.widgets.model_panel import ModelPanel
from mixgui.gui.widgets.results_panel import ResultsPanel
from mixgui.gui.widgets.status_bar import FitStatusBar
from mixgui.gui.widgets.variable_list import VariableList, level_icon

log = logging.getLogger(__name__)

CATEGORICAL = ("nominal", "ordinal", "identifier")
DATA_FILTER = "Data files (*.csv *.txt *.tsv *.xlsx *.xlsm *.sav);;All files (*)"
ANALYSIS_FILTER = "MixGUI analysis (*.json);;All files (*)"


def example_path(name: str = "square_study.analysis.json") -> Path:
    """Path of a file shipped in ``mixgui.resources/examples``."""
    return Path(str(importlib.resources.files("mixgui.resources") / "examples" / name))


class MainWindow(QMainWindow):
    """MixGUI's main window.

    Parameters
    ----------
    settings : QSettings, optional
        Where the layout is remembered; tests pass one in a temporary folder.
    run_fn : callable, optional
        The fit function (``run(spec, dataset, progress)``); tests inject slow fakes.
    batch_size : int
        Rows the data grid fetches per batch.
    remember_layout : bool
        Restore and save geometry and splitter state (off for screenshots).
    """

    def __init__(self, settings: QSettings | None = None, run_fn=None, batch_size: int = 1000,
                 remember_layout: bool = True, parent=None):
        super().__init__(parent)
        from mixgui.gui.workers import FitController

        self.settings = settings if settings is not None else QSettings("MixGUI", "MixGUI")
        self.remember_layout = remember_layout
        self.dataset: Dataset | None = None
        self.analysis_path: Path | None = None
        self.last_error: str | None = None
        self.error_box: QMessageBox | None = None
        self.controller = FitController(run_fn, self)

        self.data_grid = DataGrid(batch_size)
        self.variable_list = VariableList()
        self.model_panel = ModelPanel()
        self.results_panel = ResultsPanel()
        self.status = FitStatusBar()
        self.setStatusBar(self.status)
        self._build_panes()
        self._build_menus()
        self._connect()
        self._update_title()
        self.resize(1500, 900)
        if remember_layout:
            self._restore_layout()

    # -- construction -----------------------------------------------------------------
    def _build_panes(self) -> None:
        self.data_name_label = QLabel("no data open")
        self.data_name_label.setObjectName("paneSubtitle")
        self.data_summary_label = QLabel("Open a data file (File ▸ Open data…) or the example.")
        self.data_summary_label.setObjectName("muted")
        legend = QHBoxLayout()
        legend.setSpacing(4)
        for level in LEVELS:
            icon = QLabel()
            icon.setPixmap(level_icon(level).pixmap(14, 14))
            legend.addWidget(icon)
            text = QLabel(level)
            text.setObjectName("muted")
            legend.addWidget(text)
            legend.addSpacing(8)
        legend.addStretch(1)
        variables = QWidget()
        vl = QVBoxLayout(variables)
        vl.setContentsMargins(0, 8, 0, 0)
        vl.setSpacing(6)
        vl.addWidget(_title("VARIABLES"))
        vl.addWidget(self.variable_list, 1)
        vl.addLayout(legend)
        grid_box = QWidget()
        gl = QVBoxLayout(grid_box)
        gl.setContentsMargins(0, 0, 0, 0)
        gl.setSpacing(6)
        gl.addWidget(self.data_grid, 1)
        gl.addWidget(self.data_summary_label)
        self.data_splitter = QSplitter(Qt.Orientation.Vertical)
        self.data_splitter.setObjectName("dataSplitter")
        self.data_splitter.addWidget(grid_box)
        self.data_splitter.addWidget(variables)
        self.data_splitter.setStretchFactor(0, 3)
        self.data_splitter.setStretchFactor(1, 2)
        self.data_splitter.setChildrenCollapsible(False)

        self.analysis_title_label = QLabel("")
        self.analysis_title_label.setObjectName("paneSubtitle")
        self.analysis_title_label.setWordWrap(True)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.setHandleWidth(8)
        self.splitter.addWidget(_pane("DATA", self.data_name_label, self.data_splitter))
        self.splitter.addWidget(_pane("MODEL", self.analysis_title_label, self.model_panel))
        self.splitter.addWidget(_pane("RESULTS", None, self.results_panel))
        self.splitter.setSizes([380, 350, 770])
        for i, stretch in enumerate((2, 1, 4)):
            self.splitter.setStretchFactor(i, stretch)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 8, 8, 6)
        layout.addWidget(self.splitter)
        self.setCentralWidget(central)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_data_action = _action(self, "Open &data…", self.open_data_dialog, QKeySequence.StandardKey.Open)
        self.open_example_action = _action(self, "Open &example", self.open_example)
        self.open_analysis_action = _action(self, "Open &analysis…", self.open_analysis_dialog, "Ctrl+Shift+O")
        self.save_analysis_action = _action(self, "&Save analysis…", self.save_analysis_dialog,
                                            QKeySequence.StandardKey.Save)
        self.quit_action = _action(self, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        for act in (self.open_data_action, self.open_example_action, self.open_analysis_action):
            file_menu.addAction(act)
        file_menu.addSeparator()
        file_menu.addAction(self.save_analysis_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(_action(self, "&About MixGUI", self.show_about))

    def _connect(self) -> None:
        c = self.controller
        c.started.connect(self._fit_started)
        c.progress.connect(lambda rev, f, m: self.status.fit_progress(f, m))
        c.finished.connect(self._fit_finished)
        c.failed.connect(self._fit_failed)
        c.cancelled.connect(self._fit_cancelled)
        self.model_panel.fitRequested.connect(self.fit)
        self.model_panel.factorToggled.connect(self._factor_toggled)
        self.variable_list.levelChangeRequested.connect(self.set_level)
        self.status.cancelRequested.connect(self.cancel_fit)

    # -- opening and saving -----------------------------------------------------------
    def open_data(self, path, sheet: str | None = None) -> bool:
        """Read a data file and show it; on error show a message and keep the session."""
        from mixgui.data.readers import read_table

        try:
            dataset = read_table(path, sheet)
        except MixGUIError as e:
            self.show_error("Cannot open the data", str(e))
            return False
        except Exception as e:  # noqa: BLE001 - a reader bug must not close the window
            log.exception("reading %s failed", path)
            self.show_error("Cannot open the data", f"{Path(path).name} could not be read ({type(e).__name__}: {e})")
            return False
        self.set_dataset(dataset)
        self.analysis_path = None
        self.model_panel.set_spec(self.model_panel.spec().with_(data=DataRef(str(dataset.source), sheet)))
        return True

    def open_analysis(self, path, fit: bool = True) -> bool:
        """Open an analysis file and its data; on error show a message and keep the session."""
        from mixgui.data.readers import read_table

        try:
            spec, data_path = load_spec(path)
            dataset = read_table(data_path, spec.data.sheet)
        except MixGUIError as e:
            self.show_error("Cannot open the analysis", str(e))
            return False
        except Exception as e:  # noqa: BLE001
            log.exception("opening analysis %s failed", path)
            self.show_error("Cannot open the analysis", f"{Path(path).name} could not be opened "
                                                        f"({type(e).__name__}: {e})")
            return False
        for col in spec.factors:  # the analysis says these columns are categorical
            if col in dataset.levels and dataset.levels[col] not in CATEGORICAL:
                dataset.levels[col] = "nominal"
        self.set_dataset(dataset)
        self.analysis_path = Path(path)
        self.model_panel.set_spec(spec)
        self.analysis_title_label.setText(spec.title)
        if fit:
            self.fit()
        return True

    def open_example(self, fit: bool = True) -> bool:
        """Open the demo study with its ready analysis."""
        return self.open_analysis(example_path(), fit=fit)

    def save_analysis(self, path) -> bool:
        """Write the analysis shown to ``path`` (data path relative to it when possible)."""
        path = Path(path)
        spec = self.model_panel.spec()
        if self.dataset is not None and self.dataset.source:
            source = Path(self.dataset.source).resolve()
            try:
                rel = os.path.relpath(source, path.resolve().parent)
            except ValueError:  # another drive on Windows
                rel = str(source)
            spec = spec.with_(data=DataRef(rel.replace(os.sep, "/"), spec.data.sheet))
        try:
            save_spec(spec, path)
        except OSError as e:
            self.show_error("Cannot save the analysis", f"{path} could not be written: {e.strerror or e}")
            return False
        self.analysis_path = path
        self.status.show_text(f"Saved {path.name}")
        return True

    def open_data_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open data", "", DATA_FILTER)
        if not path:
            return
        sheet = None
        if Path(path).suffix.lower() in (".xlsx", ".xlsm"):
            from mixgui.data.readers import excel_sheets
            try:
                sheets = excel_sheets(path)
            except MixGUIError as e:
                self.show_error("Cannot open the data", str(e))
                return
            if len(sheets) > 1:
                sheet, ok = QInputDialog.getItem(self, "Choose a sheet", f"{Path(path).name} has several sheets:",
                                                 sheets, 0, False)
                if not ok:
                    return
        self.open_data(path, sheet)

    def open_analysis_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open analysis", "", ANALYSIS_FILTER)
        if path:
            self.open_analysis(path)

    def save_analysis_dialog(self) -> None:
        start = str(self.analysis_path or "analysis.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save analysis", start, ANALYSIS_FILTER)
        if path:
            self.save_analysis(path if path.lower().endswith(".json") else path + ".json")

    def set_dataset(self, dataset: Dataset) -> None:
        """Show ``dataset``; cancels a running fit and clears results of the previous data."""
        self.controller.cancel()
        self.dataset = dataset
        self.data_grid.set_frame(dataset.frame)
        self.data_name_label.setText(dataset.name)
        n, k = dataset.frame.shape
        self.data_summary_label.setText(f"{n:,} rows · {k} columns".replace(",", " "))
        self._refresh_levels()
        self.results_panel.clear()
        self.status.show_text(f"Opened {dataset.name}")
        self._update_title()

    # -- measurement levels -----------------------------------------------------------
    def _text_columns(self) -> set:
        import pandas as pd

        frame = self.dataset.frame
        return {str(c) for c, t in zip(frame.columns, frame.dtypes)
                if not pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t)}

    def _refresh_levels(self) -> None:
        ds = self.dataset
        self.variable_list.set_variables(ds.columns, ds.levels, self._text_columns())
        categorical = {c for c in ds.columns if ds.levels.get(c) in CATEGORICAL}
        self.model_panel.set_columns(ds.columns, categorical, self._text_columns())

    def set_level(self, column: str, level: str) -> None:
        """Change the measurement level of ``column`` (nominal/ordinal/identifier make it a factor)."""
        if self.dataset is None or column not in self.dataset.levels:
            return
        if level == "continuous" and column in self._text_columns():
            self.status.show_text(f"{column} holds text, so it cannot be continuous")
            return
        self.dataset.levels[column] = level
        self.variable_list.set_variables(self.dataset.columns, self.dataset.levels, self._text_columns())
        self.model_panel.set_factor_checked(column, level in CATEGORICAL)

    def _factor_toggled(self, column: str, checked: bool) -> None:
        current = self.dataset.levels.get(column) if self.dataset else None
        if checked and current not in CATEGORICAL:
            self.set_level(column, "nominal")
        elif not checked and current in CATEGORICAL:
            self.set_level(column, "continuous")

    # -- fitting ----------------------------------------------------------------------
    def fit(self) -> int | None:
        """Fit the analysis shown in the background; returns its revision (None if not started)."""
        if self.dataset is None:
            self.results_panel.show_message(None, "Open a data file first (File ▸ Open data…).")
            return None
        error = self.model_panel.formula_error()
        if error:
            self.controller.cancel()
            self.results_panel.show_message(None, f"The formula cannot be read. {error[0].upper()}{error[1:]}.")
            self.status.show_text("Ready · fix the formula to fit")
            return None
        ds = self.dataset
        # A snapshot: level edits during the fit must not change what this fit sees.
        snapshot = Dataset(ds.frame, ds.name, dict(ds.levels), dict(ds.labels), ds.source)
        return self.controller.submit(self.model_panel.spec(), snapshot)

    def cancel_fit(self) -> None:
        """Stop the running fit (its results will not be shown)."""
        self.controller.cancel()

    def _fit_started(self, rev: int) -> None:
        self.results_panel.set_updating(True)
        self.status.fit_started()

    def _fit_finished(self, rev: int, result, seconds: float) -> None:
        self.results_panel.show_result(rev, result)
        self.status.fit_finished(seconds)

    def _fit_failed(self, rev: int, message: str) -> None:
        self.results_panel.show_message(rev, message)
        self.status.fit_failed()

    def _fit_cancelled(self, rev: int) -> None:
        if rev != self.controller.revision:
            return  # superseded by a newer request, which is running
        self.status.fit_cancelled()
        if self.results_panel.revision is None:
            return  # nothing from an earlier fit is shown (e.g. a formula message)
        self.results_panel.set_stale("Fit cancelled. The results below are from the previous fit; "
                                     "press Fit to update them.")

    # -- messages ---------------------------------------------------------------------
    def show_error(self, title: str, text: str) -> None:
        """A window-modal, non-blocking message box with one sentence."""
        self.last_error = text
        if self.error_box is not None:
            self.error_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()
        self.error_box = box

    def show_about(self) -> None:
        QMessageBox.about(self, "About MixGUI",
                          f"<b>MixGUI {__version__}</b><p>Linear mixed models by pointing and clicking, "
                          "with numbers that agree with R (lme4, lmerTest, emmeans).</p>")

    def _update_title(self) -> None:
        self.setWindowTitle(f"MixGUI — {self.dataset.name}" if self.dataset else "MixGUI")

    # -- layout and closing -----------------------------------------------------------
    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        for key, splitter in (("window/splitter", self.splitter), ("window/dataSplitter", self.data_splitter)):
            state = self.settings.value(key)
            if state is not None:
                splitter.restoreState(state)

    def save_layout(self) -> None:
        """Remember geometry and splitter positions."""
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.setValue("window/dataSplitter", self.data_splitter.saveState())
        self.settings.sync()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.remember_layout:
            self.save_layout()
        self.controller.shutdown()  # cancel and wait: no thread outlives the window
        super().closeEvent(event)


def _title(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("paneTitle")
    return label


def _pane(title: str, subtitle: QLabel | None, body: QWidget) -> QFrame:
    """A white card with a small capital title, an optional subtitle and the body."""
    pane = QFrame()
    pane.setObjectName("pane")
    layout = QVBoxLayout(pane)
    layout.setContentsMargins(14, 12, 14, 14)
    layout.setSpacing(8)
    head = QHBoxLayout()
    head.setSpacing(10)
    head.addWidget(_title(title))
    if subtitle is not None:
        head.addWidget(subtitle, 1)
    else:
        head.addStretch(1)
    layout.addLayout(head)
    layout.addWidget(body, 1)
    return pane


def _action(parent, text: str, slot, shortcut=None) -> QAction:
    act = QAction(text, parent)
    if shortcut is not None:
        act.setShortcut(shortcut)
    act.triggered.connect(lambda _=False: slot())
    return act

