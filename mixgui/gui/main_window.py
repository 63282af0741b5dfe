"""The main window: data on the left, the model in the middle, results and plots on the right.

The window owns the :class:`~mixgui.session.document.Session` (the dataset, the analyses and one
undo stack), how the dataset was made from its file (import options, reshape steps,
computed-variable recipes) and a :class:`~mixgui.gui.workers.FitController`; it only shows what
the lower layers compute. The model pane (:class:`~mixgui.gui.widgets.model_pane.ModelPane`: the
analyses list and the model builder) edits the session's current analysis, and the results
follow each edit through :class:`~mixgui.gui.live_fit.LiveFit`. Errors from opening files go to a
message box and leave the session as it was; errors from a fit become a message in the results
pane. Menus and their dialogs live in :mod:`mixgui.gui.menus`, autosave and crash recovery in
:mod:`mixgui.gui.recovery`, files and projects in :mod:`mixgui.gui.window_state`.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from mixgui import __version__
from mixgui.analysis import builder as B
from mixgui.data.dataset import LEVELS, Dataset
from mixgui.gui.live_fit import REFIT_DELAY_MS, LiveFit
from mixgui.gui.menus import Commands, ask_unsaved_changes, build_menus
from mixgui.gui.recovery import AUTOSAVE_INTERVAL_S, RecoveryManager
from mixgui.gui.widgets.data_grid import DataGrid
from mixgui.gui.widgets.model_pane import ModelPane
from mixgui.gui.widgets.results_panel import ResultsPanel
from mixgui.gui.widgets.status_bar import FitStatusBar
from mixgui.gui.widgets.variable_list import VariableList, level_icon
from mixgui.gui.window_state import CATEGORICAL, SessionMixin, example_path  # noqa: F401 (re-exported)
from mixgui.session.document import DATASET, Session

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
    refit_delay_ms : int
        Quiet time after a model edit before the results are refitted.

    Attributes
    ----------
    session : Session
        The dataset, the analyses and their undo stack; shared with the model builder.
    dataset : Dataset or None
        The table shown, computed variables included (the session's).
    import_options, steps, recipes
        How ``dataset`` was made from its file: saved with analyses and projects, written into reports.
    model_panel : ModelPane
        The model pane: analyses list, model builder (also :attr:`builder`) and Fit button.
    live : LiveFit
        Refits after edits and keeps the last result of each analysis.
    """

    #: ask before closing with unsaved work
    confirm_close = True

    def __init__(self, settings: QSettings | None = None, run_fn=None, batch_size: int = 1000,
                 remember_layout: bool = True, recovery_folder=None,
                 autosave_interval: float = AUTOSAVE_INTERVAL_S, check_recovery: bool = True,
                 refit_delay_ms: int = REFIT_DELAY_MS, parent=None):
        super().__init__(parent)
        from mixgui.gui.workers import FitController

        self.settings = settings if settings is not None else QSettings("MixGUI", "MixGUI")
        self.remember_layout = remember_layout
        self.session = Session()
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
        self.model_panel = ModelPane(self.session)
        self.builder = self.model_panel.builder
        self.results_panel = ResultsPanel()
        self.status = FitStatusBar()
        self.setStatusBar(self.status)
        # made after the builder, so it hears each session change after the builder has redrawn
        self.live = LiveFit(self, refit_delay_ms)
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
        self.splitter.setSizes([300, 455, 713])
        for i, stretch in enumerate((2, 3, 4)):
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
        self.model_panel.fitRequested.connect(self.fit)
        unsubscribe = self.session.subscribe(self._session_changed)
        self.destroyed.connect(lambda *_: unsubscribe())
        self.variable_list.levelChangeRequested.connect(self.set_level)
        self.status.cancelRequested.connect(self.cancel_fit)
        self.results_panel.rowClicked.connect(self.select_data_row)
        self.results_panel.shown.connect(lambda *_: self._update_actions())
        self.results_panel.cleared.connect(self._update_actions)

    @property
    def dataset(self) -> Dataset | None:
        """The table shown, computed variables included (the session's dataset)."""
        return self.session.dataset

    def _session_changed(self, event: str, index) -> None:
        if event == DATASET:
            return  # set_dataset does the rest
        a = self.session.current_analysis
        self.analysis_title_label.setText(a.spec.title if a is not None else "")
        self.recovery.mark_dirty()

    # -- the data and how they were made ---------------------------------------------
    def set_dataset(self, dataset: Dataset, keep_results: bool = False) -> None:
        """Show ``dataset`` here and in the model builder.

        Cancels a running fit and, unless ``keep_results`` (the rows did not change, e.g. a
        computed variable was added), clears the results and forgets every analysis's kept fit.
        """
        if not keep_results:
            self.controller.cancel()
            self.live.data_replaced()
            self.results_panel.clear()
        self.builder.set_dataset(dataset)
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

    def set_level(self, column: str, level: str) -> None:
        """Change the measurement level of ``column`` (nominal/ordinal/identifier make it a factor).

        The builder's variables show the new level. When the current analysis has ``column`` in
        the other predictor box (a covariate made nominal, a factor made continuous) it moves
        there, as one undoable edit, and the model refits.
        """
        if self.dataset is None or column not in self.dataset.levels:
            return
        if level == "continuous" and column in self._text_columns():
            self.status.show_text(f"{column} holds text, so it cannot be continuous")
            return
        draft = self.builder.draft()  # the boxes as shown, before the new level can colour a re-reading
        self.dataset.levels[column] = level
        self.variable_list.set_variables(self.dataset.columns, self.dataset.levels, self._text_columns())
        if level in CATEGORICAL and column in draft.covariates:
            self.session.edit_draft(B.add_to_role(draft, "factors", [column]), f"Treat {column} as categorical")
        elif level not in CATEGORICAL and column in draft.factors:
            self.session.edit_draft(B.add_to_role(draft, "covariates", [column]), f"Treat {column} as continuous")
        self.builder.set_dataset(self.dataset)  # the same table with a new level: redraw the icons
        self.recovery.mark_dirty()

    def select_data_row(self, row: int) -> None:
        """Select data row ``row`` (0-based) in the grid, e.g. for a clicked plot point."""
        if self.data_grid.select_row(row):
            self.status.show_text(f"Row {row + 1} selected")

    # -- fitting ----------------------------------------------------------------------
    def fit(self, auto: bool = False) -> int | None:
        """Fit the current analysis now, in the background; returns its revision (None if not started).

        The Fit button and Ctrl+R call this, and so does the refit after an edit (:class:`LiveFit`,
        with ``auto``: its result refreshes the recovery copy only when one is due, since edits can
        come every few seconds and a copy holds the whole table).
        """
        self.live.timer.stop()
        if self.dataset is None:
            self.results_panel.show_message(None, "Open a data file first (File ▸ Open data…).")
            return None
        error = self.builder.formula_error()
        spec = self.builder.spec()
        if error or not spec.formula.strip():
            self.controller.cancel()
            text = (f"The formula cannot be read. {error[0].upper()}{error[1:]}." if error else
                    "The model has no outcome yet: drag a variable into Outcome, or type a formula.")
            self.results_panel.show_message(None, text)
            self.live.message_shown()
            self.status.show_text("Ready · fix the formula to fit" if error else "Ready · choose an outcome to fit")
            return None
        ds = self.dataset
        # A snapshot: level edits during the fit must not change what this fit sees.
        snapshot = Dataset(ds.frame, ds.name, dict(ds.levels), dict(ds.labels), ds.source)
        rev = self.controller.submit(spec, snapshot)
        self.live.submitted(rev, spec, auto)
        return rev

    def cancel_fit(self) -> None:
        """Stop the running fit (its results will not be shown)."""
        self.controller.cancel()

    def _fit_started(self, rev: int) -> None:
        self.results_panel.set_updating(True)
        self.status.fit_started()
        self._update_actions()

    def _fit_finished(self, rev: int, result, seconds: float) -> None:
        auto = self.live.was_auto(rev)
        self.status.fit_finished(seconds)
        if self.live.finished(rev, result):
            self.results_panel.show_result(rev, result)
            self.live.after_shown()
        else:  # the model was edited or another analysis shown meanwhile: kept, but never shown under it
            self.status.show_text("Ready · the model shown changed during the fit")
        self._update_actions()
        self.recovery.mark_dirty()
        if auto:
            self.recovery.maybe_save()
        else:
            self.recovery.save_after_fit()

    def _fit_failed(self, rev: int, message: str) -> None:
        self.status.fit_failed()
        if self.live.failed(rev):
            self.results_panel.show_message(rev, message)
            self.model_panel.set_note("The fit did not succeed: see the message in the results pane.", warning=True)
        else:
            self.status.show_text("Ready · a fit of a model no longer shown did not succeed")
        self._update_actions()

    def _fit_cancelled(self, rev: int) -> None:
        quiet = self.live.cancelled(rev)
        if rev != self.controller.revision:
            return  # superseded by a newer request, which is running
        if quiet:  # an edit went back to a model whose fit is shown: nothing is stale
            self.status.fit_cancelled()
            self.status.show_text("Ready · results belong to the model shown")
            self._update_actions()
            return
        if self.live.pending():  # cancelled by an edit: the refit follows in a moment
            self.status.fit_cancelled()
            self.status.show_text("Ready · the model changed; refitting in a moment")
            self._update_actions()
            return
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
        self.live.stop()  # a refit due later must not start on a closed window
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
