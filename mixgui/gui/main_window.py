"""The main window: data on the left, the model in the middle, results and plots on the right.

The window owns the session state: the dataset shown and how it was made from its file (import
options, reshape steps, computed-variable recipes), the analysis shown, and a
:class:`~mixgui.gui.workers.FitController`; it only shows what the lower layers compute. Errors
from opening files go to a message box and leave the session as it was; errors from a fit become
a message in the results pane. Menus and their dialogs live in :mod:`mixgui.gui.menus`, autosave
and crash recovery in :mod:`mixgui.gui.recovery`, projects in :mod:`mixgui.gui.window_state`.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QSplitter, QVBoxLayout, QWidget

from mixgui import __version__
from mixgui.data.dataset import LEVELS, Dataset
from mixgui.gui.menus import Commands, ask_unsaved_changes, build_menus
from mixgui.gui.recovery import AUTOSAVE_INTERVAL_S, RecoveryManager
from mixgui.gui.widgets.data_grid import DataGrid
from mixgui.gui.widgets.model_panel import ModelPanel
from mixgui.gui.widgets.results_panel import ResultsPanel
from mixgui.gui.widgets.status_bar import FitStatusBar
from mixgui.gui.widgets.variable_list import VariableList, level_icon
from mixgui.gui.window_state import CATEGORICAL, SessionMixin, example_path  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)


class MainWindow(SessionMixin, QMainWindow):
    """MixGUI's main window.

    Closing with unsaved work asks Save / Discard / Cancel (:meth:`ask_unsaved_changes`) unless
    :attr:`confirm_close` is False (screenshots; the test suite turns it off except where it
    tests the question).

    Parameters
    ----------
    settings : QSettings, optional
        Where the layout and recent files are remembered; tests pass one in a temporary folder.
    run_fn : callable, optional
        The fit function (``run(spec, dataset, progress)``); tests inject slow fakes.
    batch_size : int
        Rows the data grid fetches per batch.
    remember_layout : bool
        Restore and save geometry and splitter state (off for screenshots).
    recovery_folder : str or Path, optional
        Where autosaved recovery copies go (default :func:`~mixgui.gui.recovery.default_recovery_folder`).
    autosave_interval : float
        Seconds between periodic autosaves.
    check_recovery : bool
        Offer the recovery copy of an earlier session that did not close cleanly.

    Attributes
    ----------
    dataset : Dataset or None
        The table shown, computed variables included.
    import_options, steps, recipes
        How ``dataset`` was made from its file: saved with analyses and projects, written into reports.
    """

    #: ask before closing with unsaved work
    confirm_close = True

    def __init__(self, settings: QSettings | None = None, run_fn=None, batch_size: int = 1000,
                 remember_layout: bool = True, recovery_folder=None,
                 autosave_interval: float = AUTOSAVE_INTERVAL_S, check_recovery: bool = True, parent=None):
        super().__init__(parent)
        from mixgui.gui.workers import FitController

        self.settings = settings if settings is not None else QSettings("MixGUI", "MixGUI")
        self.remember_layout = remember_layout
        self.dataset: Dataset | None = None
        self.import_options = None
        self.steps: list = []
        self.recipes: list = []
        self.analysis_path: Path | None = None
        self.project_path: Path | None = None
        self.last_error: str | None = None
        self.error_box: QMessageBox | None = None
        self.import_dialog = self.reshape_dialog = self.compute_dialog = None
        self._clean_state = None
        self._close_confirmed = False
        self.controller = FitController(run_fn, self)
        self.commands = Commands(self)
        self.recovery = RecoveryManager(self, recovery_folder, autosave_interval)

        self.data_grid = DataGrid(batch_size)
        self.variable_list = VariableList()
        self.model_panel = ModelPanel()
        self.results_panel = ResultsPanel()
        self.status = FitStatusBar()
        self.setStatusBar(self.status)
        self._build_panes()
        build_menus(self)
        self._connect()
        self._update_title()
        self.resize(1500, 900)
        if remember_layout:
            self._restore_layout()
        self.mark_saved()
        if check_recovery:
            self.recovery.check()

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
        layout.addWidget(self.recovery.banner)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

    def _connect(self) -> None:
        c = self.controller
        c.started.connect(self._fit_started)
        c.progress.connect(lambda rev, f, m: self.status.fit_progress(f, m))
        c.finished.connect(self._fit_finished)
        c.failed.connect(self._fit_failed)
        c.cancelled.connect(self._fit_cancelled)
        mp = self.model_panel
        mp.fitRequested.connect(self.fit)
        mp.factorToggled.connect(self._factor_toggled)
        for signal in (mp.formulaChanged, mp.reml_radio.toggled, mp.df_combo.currentIndexChanged, mp.factorToggled):
            signal.connect(lambda *_: self.recovery.mark_dirty())
        self.variable_list.levelChangeRequested.connect(self.set_level)
        self.status.cancelRequested.connect(self.cancel_fit)
        self.results_panel.rowClicked.connect(self.select_data_row)

    # -- the data and how they were made ---------------------------------------------
    def set_dataset(self, dataset: Dataset, keep_results: bool = False) -> None:
        """Show ``dataset``; cancels a running fit and, unless ``keep_results``, clears the results."""
        if not keep_results:
            self.controller.cancel()
            self.results_panel.clear()
        self.dataset = dataset
        self.data_grid.set_frame(dataset.frame)
        self.data_name_label.setText(dataset.name)
        n, k = dataset.frame.shape
        self.data_summary_label.setText(f"{n:,} rows · {k} columns".replace(",", " "))
        self._refresh_levels()
        self.status.show_text(f"Opened {dataset.name}")
        self.recovery.mark_dirty()
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
        self.recovery.mark_dirty()

    def _factor_toggled(self, column: str, checked: bool) -> None:
        current = self.dataset.levels.get(column) if self.dataset else None
        if checked and current not in CATEGORICAL:
            self.set_level(column, "nominal")
        elif not checked and current in CATEGORICAL:
            self.set_level(column, "continuous")

    def select_data_row(self, row: int) -> None:
        """Select data row ``row`` (0-based) in the grid, e.g. for a clicked plot point."""
        if self.data_grid.select_row(row):
            self.status.show_text(f"Row {row + 1} selected")

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
        self._update_actions()

    def _fit_finished(self, rev: int, result, seconds: float) -> None:
        self.results_panel.show_result(rev, result)
        self.status.fit_finished(seconds)
        self._update_actions()
        self.recovery.mark_dirty()
        self.recovery.save_after_fit()

    def _fit_failed(self, rev: int, message: str) -> None:
        self.results_panel.show_message(rev, message)
        self.status.fit_failed()
        self._update_actions()

    def _fit_cancelled(self, rev: int) -> None:
        if rev != self.controller.revision:
            return  # superseded by a newer request, which is running
        self.status.fit_cancelled()
        self._update_actions()
        if self.results_panel.revision is None:
            return  # nothing from an earlier fit is shown (e.g. a formula message)
        self.results_panel.set_stale("Fit cancelled. The results below are from the previous fit; "
                                     "press Fit to update them.")

    # -- unsaved work and closing -----------------------------------------------------
    def ask_unsaved_changes(self) -> str:
        """Ask Save / Discard / Cancel (tests replace this method)."""
        return ask_unsaved_changes(self)

    def request_close(self) -> bool:
        """Close as the user asked (File ▸ Quit): offers to save unsaved work first."""
        if self.confirm_close and self.commands.keep_work():
            return False
        self._close_confirmed = True
        return self.close()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.confirm_close and not self._close_confirmed and self.commands.keep_work():
            event.ignore()
            return
        self._close_confirmed = False
        if self.remember_layout:
            self.save_layout()
        self.controller.shutdown()  # cancel and wait: no thread outlives the window
        self.recovery.clean_exit()
        super().closeEvent(event)

    # -- messages, title, layout ------------------------------------------------------
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
        self._update_actions()

    def _update_actions(self) -> None:
        if not hasattr(self, "export_action"):
            return  # called while the window is being built
        has_data = self.dataset is not None
        for act in (self.save_analysis_action, self.save_project_action, self.save_project_as_action,
                    self.wide_to_long_action, self.long_to_wide_action, self.compute_action):
            act.setEnabled(has_data)
        self.export_action.setEnabled(self.results_panel.result is not None)

    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        for key, splitter in (("window/splitter", self.splitter), ("window/dataSplitter", self.data_splitter)):
            state = self.settings.value(key)
            if state is not None:
                splitter.restoreState(state)
        share = self.settings.value("window/plotShare")
        if share is not None:
            self.results_panel.set_plot_share(float(share))

    def save_layout(self) -> None:
        """Remember geometry, splitter positions and the plots' share of the results pane."""
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.setValue("window/dataSplitter", self.data_splitter.saveState())
        self.settings.setValue("window/plotShare", self.results_panel.plot_share())
        self.settings.sync()


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
