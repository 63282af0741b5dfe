"""The main window: data on the left, the model in the middle, results and plots on the right.

The window composes; it holds no document state. The document is a Qt-free :class:`~mixgui.session.document.Session`
(dataset, how it was made, analyses, kept fits, undo stack); what acts on it takes the session, never the window:

- :class:`~mixgui.gui.widgets.model_pane.ModelPane` (analyses list and model builder) edits it;
- :class:`~mixgui.gui.live_fit.LiveFit` fits its current analysis through a
  :class:`~mixgui.gui.workers.FitController` and keeps the results pane in step;
- :class:`~mixgui.gui.documents.DocumentActions` opens, saves, reshapes, computes and exports;
- :class:`~mixgui.gui.menus.MenuDialogs` asks for paths and choices;
- :class:`~mixgui.gui.recovery.RecoveryManager` autosaves and restores after a crash.

The window builds the panes and menus, shows the data, and turns the pieces' signals into
message boxes and status lines.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from mixgui import __version__
from mixgui.data.dataset import LEVELS, Dataset
from mixgui.gui.documents import DocumentActions
from mixgui.gui.help_window import HelpWindow
from mixgui.gui.help_window import topics as help_topics
from mixgui.gui.live_fit import REFIT_DELAY_MS, LiveFit
from mixgui.gui.menus import MenuDialogs, action, ask_unsaved_changes
from mixgui.gui.recovery import AUTOSAVE_DELAY_S, RecoveryManager
from mixgui.gui.widgets.data_grid import DataGrid
from mixgui.gui.widgets.model_pane import ModelPane
from mixgui.gui.widgets.panes import pane, pane_title
from mixgui.gui.widgets.power_dialog import open_power_dialog
from mixgui.gui.widgets.results_panel import ResultsPanel
from mixgui.gui.widgets.status_bar import FitStatusBar
from mixgui.gui.widgets.variable_list import VariableList, level_icon
from mixgui.session.document import DATASET, VARIABLES, Session

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
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
    autosave_delay : float
        Quiet seconds after a change before the recovery copy is written.
    check_recovery : bool
        Offer the recovery copy of an earlier session that did not close cleanly.
    refit_delay_ms : int
        Quiet time after a model edit before the results are refitted.

    Attributes
    ----------
    session : Session
        The document.
    controller : FitController
    live : LiveFit
    documents : DocumentActions
    dialogs : MenuDialogs
    recovery : RecoveryManager
    model_panel : ModelPane
        The model pane: analyses list, model builder (also :attr:`builder`) and Fit button.
    """

    #: ask before closing with unsaved work
    confirm_close = True

    def __init__(self, settings: QSettings | None = None, run_fn=None, batch_size: int = 1000,
                 remember_layout: bool = True, recovery_folder=None,
                 autosave_delay: float = AUTOSAVE_DELAY_S, check_recovery: bool = True,
                 refit_delay_ms: int = REFIT_DELAY_MS, parent=None):
        super().__init__(parent)
        from mixgui.gui.workers import FitController

        self.settings = settings if settings is not None else QSettings("MixGUI", "MixGUI")
        self.remember_layout = remember_layout
        self.session = Session()
        self.last_error: str | None = None
        self.error_box: QMessageBox | None = None
        self.crash_box: QMessageBox | None = None
        self.compare_dialog = None
        self._close_confirmed = False
        self.controller = FitController(run_fn, self)

        self.data_grid = DataGrid(batch_size)
        self.variable_list = VariableList()
        self.model_panel = ModelPane(self.session)  # first: it redraws before the others hear a change
        self.builder = self.model_panel.builder
        self.results_panel = ResultsPanel()
        self.status = FitStatusBar()
        self.setStatusBar(self.status)
        self.live = LiveFit(self.session, self.controller, self.model_panel, self.results_panel, self.status,
                            refit_delay_ms, self)
        self.recovery = RecoveryManager(self.session, recovery_folder, autosave_delay, self)
        self.documents = DocumentActions(self.session, self.live, self.recovery, self.results_panel, self)
        self.dialogs = MenuDialogs(self.session, self.documents, self.settings, self)
        self.dialogs.ask_unsaved = lambda: self.ask_unsaved_changes()
        self._build_panes()
        self._build_menus()
        self._connect()
        self._update_title()
        self.resize(1500, 900)
        if remember_layout:
            self._restore_layout()
        if check_recovery:
            self.recovery.check()

    # -- construction -----------------------------------------------------------------
    def _build_panes(self) -> None:
        self.data_name_label = QLabel("no data open")
        self.data_name_label.setObjectName("paneSubtitle")
        self.data_summary_label = QLabel("Open a data file (File ▸ Open data…) or the example.")
        self.data_summary_label.setObjectName("muted")
        self.data_summary_label.setWordWrap(True)  # a long hint must not widen the pane
        # two rows of two: one row of four would set the data pane's least width, which the
        # model builder and the results tables need more
        legend = QGridLayout()
        legend.setHorizontalSpacing(4)
        legend.setVerticalSpacing(2)
        for k, level in enumerate(LEVELS):
            icon = QLabel()
            icon.setPixmap(level_icon(level).pixmap(14, 14))
            text = QLabel(level)
            text.setObjectName("muted")
            row, col = divmod(k, 2)
            legend.addWidget(icon, row, 3 * col)
            legend.addWidget(text, row, 3 * col + 1)
            legend.setColumnMinimumWidth(3 * col + 2, 12)
        legend.setColumnStretch(6, 1)
        variables = QWidget()
        vl = QVBoxLayout(variables)
        vl.setContentsMargins(0, 8, 0, 0)
        vl.setSpacing(6)
        vl.addWidget(pane_title("VARIABLES"))
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
        self.splitter.addWidget(pane("DATA", self.data_name_label, self.data_splitter))
        self.splitter.addWidget(pane("MODEL", self.analysis_title_label, self.model_panel))
        self.splitter.addWidget(pane("RESULTS", None, self.results_panel))
        self.splitter.setSizes([300, 455, 713])
        for i, stretch in enumerate((2, 3, 4)):
            self.splitter.setStretchFactor(i, stretch)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 8, 8, 6)
        layout.addWidget(self.recovery.banner)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

    def _build_menus(self) -> None:
        """The menu bar; its actions are kept on the window (``open_data_action``, ...)."""
        d, analyses = self.dialogs, self.model_panel.analyses
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_data_action = action(self, "Open &data…", d.ask_open_data, QKeySequence.StandardKey.Open,
                                       "Open a .xlsx, .csv or .sav file (Ctrl+O)")
        self.open_example_action = action(self, "Open e&xample", d.open_example)
        self.open_analysis_action = action(self, "Open a&nalysis…", d.ask_open_analysis)
        self.save_analysis_action = action(self, "Save analysis &file…", d.ask_save_analysis,
                                           tip="Save the analysis shown (its model and how the data were read), "
                                               "without the data")
        self.open_project_action = action(self, "&Open project…", d.ask_open_project, "Ctrl+Shift+O")
        self.save_project_action = action(self, "&Save project", d.save_project, QKeySequence.StandardKey.Save,
                                          "Save data, analysis and settings in one .mixgui file (Ctrl+S)")
        self.save_project_as_action = action(self, "Save project &as…", d.save_project_as, "Ctrl+Shift+S")
        self.export_action = action(self, "&Export results…", d.ask_export, "Ctrl+E",
                                    "Excel, Word, HTML with plots, an R script or CSV files (Ctrl+E)")
        self.quit_action = action(self, "&Quit", self.request_close, QKeySequence.StandardKey.Quit)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(lambda: d.fill_recent_menu(self.recent_menu))
        for act in (self.open_data_action, self.open_example_action):
            file_menu.addAction(act)
        file_menu.insertMenu(self.open_example_action, self.recent_menu)
        file_menu.addSeparator()
        for act in (self.open_project_action, self.save_project_action, self.save_project_as_action):
            file_menu.addAction(act)
        file_menu.addSeparator()
        file_menu.addAction(self.open_analysis_action)
        file_menu.addAction(self.save_analysis_action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        edit_menu = bar.addMenu("&Edit")
        # The builder's own Undo/Redo actions, so their texts ("Undo Add Days to Covariates") and
        # enabled states follow the session's undo stack in one place. Their shortcuts are widened
        # to the whole window: Ctrl+Z undoes the last change (of a model, a level, the data)
        # wherever the focus is (a focused text field still undoes its own typing first).
        self.undo_action = self.builder.undo_action
        self.redo_action = self.builder.redo_action
        for act, tip in ((self.undo_action, "Undo the last change (Ctrl+Z)"),
                         (self.redo_action, "Redo the change just undone (Ctrl+Shift+Z)")):
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.setStatusTip(tip)
            act.setToolTip(tip)
            edit_menu.addAction(act)

        data_menu = bar.addMenu("&Data")
        self.wide_to_long_action = action(self, "&Reshape wide → long…", lambda: d.ask_reshape(0),
                                          tip="One row per visit: what a mixed model needs")
        self.long_to_wide_action = action(self, "Reshape long → &wide…", lambda: d.ask_reshape(1))
        self.compute_action = action(self, "&Compute variable…", d.ask_compute,
                                     tip="Centre, standardise, cluster means, log, recode or dichotomise a column")
        for act in (self.wide_to_long_action, self.long_to_wide_action):
            data_menu.addAction(act)
        data_menu.addSeparator()
        data_menu.addAction(self.compute_action)

        analysis_menu = bar.addMenu("&Analysis")
        # The Fit button and the status bar's Cancel own Ctrl+R and Esc; a second QAction with the
        # same shortcut would make both ambiguous (neither fires), so the menu only shows the keys.
        self.fit_action = action(self, "&Fit\tCtrl+R", self.fit)
        self.cancel_action = action(self, "&Cancel fit\tEsc", self.cancel_fit)
        analysis_menu.addAction(self.fit_action)
        analysis_menu.addAction(self.cancel_action)
        analysis_menu.addSeparator()
        self.new_analysis_action = action(self, "&New analysis", analyses.add, "Ctrl+Shift+N",
                                          "Start another analysis of the same data")
        self.duplicate_analysis_action = action(self, "&Duplicate analysis", analyses.duplicate,
                                                tip="Copy the analysis shown, to try a variant")
        self.rename_analysis_action = action(self, "Re&name analysis…", analyses.rename)
        self.remove_analysis_action = action(self, "&Remove analysis", analyses.remove,
                                             tip="Remove the analysis shown (Edit ▸ Undo brings it back)")
        for act in (self.new_analysis_action, self.duplicate_analysis_action, self.rename_analysis_action,
                    self.remove_analysis_action):
            analysis_menu.addAction(act)
        analysis_menu.addSeparator()
        self.compare_action = action(self, "&Compare analyses…", self.open_compare,
                                     tip="Likelihood-ratio test, AIC and BIC of two or more fitted analyses "
                                         "(R's anova)")
        analysis_menu.addAction(self.compare_action)
        analysis_menu.addAction(action(self, "&Plan a study…", lambda: open_power_dialog(self, self.session),
                                       tip="Power and sample size by simulation, from a design or from this fit"))

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(action(self, "Guided &tour", lambda: self.open_help("tour"), "F1",
                                   "A walk through the demo study, step by step (F1)"))
        concepts = help_menu.addMenu("&Concepts")
        for key, title in help_topics()[1:]:
            concepts.addAction(action(self, title, lambda _=False, k=key: self.open_help(k)))
        help_menu.addSeparator()
        help_menu.addAction(action(self, "&About MixGUI", self.show_about))

    def open_help(self, topic: str = "tour") -> HelpWindow:
        """Show the help window (non-modal, one for the window) at ``topic``."""
        if getattr(self, "help_window", None) is None:
            self.help_window = HelpWindow(topic, self)
        self.help_window.show_topic(topic)
        self.help_window.show()
        self.help_window.raise_()
        return self.help_window

    def _connect(self) -> None:
        c = self.controller
        for signal in (c.started, c.finished, c.failed, c.cancelled):
            signal.connect(lambda *_: self._update_actions())
        self.model_panel.fitRequested.connect(self.fit)
        unsubscribe = self.session.subscribe(self._session_changed)
        self.destroyed.connect(lambda *_: unsubscribe())
        self.variable_list.levelChangeRequested.connect(self.set_level)
        self.status.cancelRequested.connect(self.cancel_fit)
        self.results_panel.rowClicked.connect(self.select_data_row)
        self.results_panel.shown.connect(lambda *_: self._update_actions())
        self.results_panel.cleared.connect(self._update_actions)
        self.documents.error.connect(self.show_error)
        self.recovery.failed.connect(self.show_error)
        self.documents.message.connect(self.status.show_text)
        self.recovery.restored.connect(self._restored)
        self.recovery.crashed.connect(self._show_crash)

    @property
    def dataset(self) -> Dataset | None:
        """The table shown, computed variables included (the session's dataset)."""
        return self.session.dataset

    # -- the session shown -------------------------------------------------------------
    def _session_changed(self, event: str, index) -> None:
        if event in (DATASET, VARIABLES):
            self._show_data()
        a = self.session.current_analysis
        self.analysis_title_label.setText(a.spec.title if a is not None else "")

    def _show_data(self) -> None:
        ds = self.dataset
        if ds is None:
            return
        if self.data_grid.data_model().frame() is not ds.frame:
            self.data_grid.set_frame(ds.frame)
        self.data_name_label.setText(ds.name)
        n, k = ds.frame.shape
        self.data_summary_label.setText(f"{n:,} rows · {k} columns".replace(",", " "))
        self.variable_list.set_variables(ds.columns, ds.levels, _text_columns(ds))
        self._update_title()

    def set_dataset(self, dataset: Dataset) -> None:
        """Show newly read data (not undoable; the fits kept so far are forgotten)."""
        self.session.set_dataset(dataset)
        self.status.show_text(f"Opened {dataset.name}")

    def set_level(self, column: str, level: str) -> bool:
        """Change the measurement level of ``column`` as one undoable step (see :meth:`Session.set_level`).

        Uses the boxes as the builder shows them, so a covariate made nominal moves to Factors.
        """
        return self.documents.set_level(column, level, self.builder.draft())

    def select_data_row(self, row: int) -> None:
        """Select data row ``row`` (0-based) in the grid, e.g. for a clicked plot point."""
        if self.data_grid.select_row(row):
            self.status.show_text(f"Row {row + 1} selected")

    # -- what the menus and the tests call (the pieces do the work) --------------------
    def fit(self) -> int | None:
        """Fit the current analysis now, in the background; returns its revision (None if not started)."""
        return self.live.fit()

    def cancel_fit(self) -> None:
        """Stop the running fit (its results will not be shown), or the opening of a file."""
        self.documents.cancel_reading()
        self.live.cancel()

    # the document actions under the window's name, for scripts and tests
    def open_data(self, path, sheet: str | None = None, options=None, background: bool = False) -> bool:
        return self.documents.open_data(path, sheet, options, background)

    def open_analysis(self, path, fit: bool = True, background: bool = False) -> bool:
        return self.documents.open_analysis(path, fit, background)

    def open_example(self, fit: bool = True) -> bool:
        return self.documents.open_example(fit)

    def open_project(self, path, fit: bool = True) -> bool:
        return self.documents.open_project(path, fit)

    def save_project(self, path) -> bool:
        return self.documents.save_project(path)

    def save_analysis(self, path) -> bool:
        return self.documents.save_analysis(path)

    def export_results(self, path) -> bool:
        return self.documents.export_results(path)

    def can_export(self, explain: bool = False) -> bool:
        return self.documents.can_export(explain)

    def is_dirty(self) -> bool:
        """True when the document changed since it was opened or saved (the undo stack says so)."""
        return self.session.is_unsaved()

    def open_compare(self):
        """The Compare analyses dialog, or a message saying why there is nothing to compare."""
        from mixgui.gui.widgets.compare_dialog import NOTHING_TO_COMPARE, open_compare_dialog

        self.compare_dialog = open_compare_dialog(self.session, self)
        if self.compare_dialog is None:
            self.show_error("Compare analyses", NOTHING_TO_COMPARE)
        return self.compare_dialog

    def _restored(self) -> None:
        self.status.show_text("Restored the work saved before MixGUI closed")
        self.fit()

    # -- unsaved work and closing -----------------------------------------------------
    def ask_unsaved_changes(self) -> str:
        """Ask Save / Discard / Cancel (tests replace this method)."""
        return ask_unsaved_changes(self)

    def request_close(self) -> bool:
        """Close as the user asked (File ▸ Quit): offers to save unsaved work first."""
        if self.confirm_close and self.dialogs.keep_work():
            return False
        self._close_confirmed = True
        return self.close()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.confirm_close and not self._close_confirmed and self.dialogs.keep_work():
            event.ignore()
            return
        self._close_confirmed = False
        if self.remember_layout:
            self.save_layout()
        self.live.stop()  # a refit due later must not start on a closed window
        self.documents.shutdown()  # a file being read is forgotten, its thread waited for
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

    def _show_crash(self, text: str) -> None:
        if self.crash_box is None:
            self.crash_box = QMessageBox(QMessageBox.Icon.Critical, "Internal error", text,
                                         QMessageBox.StandardButton.Ok, self)
            self.crash_box.setWindowModality(Qt.WindowModality.WindowModal)
        self.crash_box.setText(text)
        self.crash_box.open()  # not exec(): a crash inside a nested event loop must not nest again

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
        for act in (self.save_analysis_action, self.save_project_action, self.save_project_as_action,
                    self.wide_to_long_action, self.long_to_wide_action, self.compute_action):
            act.setEnabled(self.dataset is not None)
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


def _text_columns(ds: Dataset) -> set:
    """Columns holding text (or booleans), which cannot be made continuous."""
    import pandas as pd

    return {str(c) for c, t in zip(ds.frame.columns, ds.frame.dtypes)
            if not pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t)}
