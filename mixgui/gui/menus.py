"""The main window's menus and what each command asks the user before calling the window.

The window's methods do the work given a path or a choice (``open_data(path, options=...)``,
``reshape(step)``, ``save_project(path)``); :class:`Commands` adds the questions: file dialogs,
the import, reshape and compute dialogs, "save your changes?". Dialogs are opened with
``open()``, not ``exec()``, so nothing blocks and tests can drive them (the open dialog is kept
on the window as ``import_dialog``, ``reshape_dialog`` or ``compute_dialog``).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from mixgui.data.importing import EXCEL_SUFFIXES, TEXT_SUFFIXES
from mixgui.gui.widgets.compare_dialog import open_compare_dialog
from mixgui.gui.widgets.power_dialog import open_power_dialog

DATA_FILTER = "Data files (*.csv *.txt *.tsv *.xlsx *.xlsm *.sav);;All files (*)"
ANALYSIS_FILTER = "MixGUI analysis (*.json);;All files (*)"
PROJECT_FILTER = "MixGUI project (*.mixgui);;All files (*)"
RECENT_KEY = "recent/files"
MAX_RECENT = 8


def action(parent, text: str, slot, shortcut=None, tip: str | None = None) -> QAction:
    """A menu action calling ``slot()`` (the ``checked`` argument is dropped)."""
    act = QAction(text, parent)
    if shortcut is not None:
        act.setShortcut(shortcut)
    if tip:
        act.setStatusTip(tip)
        act.setToolTip(tip)
    act.triggered.connect(lambda _=False: slot())
    return act


def build_menus(window) -> None:
    """Create the menu bar; actions are kept on the window (``window.open_data_action``, ...)."""
    c = window.commands
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    window.open_data_action = action(window, "Open &data…", c.open_data_dialog, QKeySequence.StandardKey.Open,
                                     "Open a .xlsx, .csv or .sav file (Ctrl+O)")
    window.open_example_action = action(window, "Open e&xample", c.open_example)
    window.open_analysis_action = action(window, "Open a&nalysis…", c.open_analysis_dialog)
    window.save_analysis_action = action(window, "Save analysis &file…", c.save_analysis_dialog,
                                         tip="Save the analysis shown (its model and how the data were read), "
                                             "without the data")
    window.open_project_action = action(window, "&Open project…", c.open_project_dialog, "Ctrl+Shift+O")
    window.save_project_action = action(window, "&Save project", c.save_project, QKeySequence.StandardKey.Save,
                                        "Save data, analysis and settings in one .mixgui file (Ctrl+S)")
    window.save_project_as_action = action(window, "Save project &as…", c.save_project_as, "Ctrl+Shift+S")
    window.export_action = action(window, "&Export results…", c.export_dialog, "Ctrl+E",
                                  "Excel, Word, HTML with plots, an R script or CSV files (Ctrl+E)")
    window.quit_action = action(window, "&Quit", window.request_close, QKeySequence.StandardKey.Quit)
    window.recent_menu = file_menu.addMenu("Open &recent")
    window.recent_menu.aboutToShow.connect(c.fill_recent_menu)
    for act in (window.open_data_action, window.open_example_action):
        file_menu.addAction(act)
    file_menu.insertMenu(window.open_example_action, window.recent_menu)
    file_menu.addSeparator()
    for act in (window.open_project_action, window.save_project_action, window.save_project_as_action):
        file_menu.addAction(act)
    file_menu.addSeparator()
    file_menu.addAction(window.open_analysis_action)
    file_menu.addAction(window.save_analysis_action)
    file_menu.addSeparator()
    file_menu.addAction(window.export_action)
    file_menu.addSeparator()
    file_menu.addAction(window.quit_action)

    edit_menu = bar.addMenu("&Edit")
    # The builder's own Undo/Redo actions, so their texts ("Undo Add Days to Covariates") and
    # enabled states follow the session's undo stack in one place. Their shortcuts are widened from
    # the builder to the whole window: Ctrl+Z undoes the last model edit wherever the focus is
    # (a focused text field still undoes its own typing first).
    window.undo_action = window.builder.undo_action
    window.redo_action = window.builder.redo_action
    for act, tip in ((window.undo_action, "Undo the last change of the analyses (Ctrl+Z)"),
                     (window.redo_action, "Redo the change just undone (Ctrl+Shift+Z)")):
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.setStatusTip(tip)
        act.setToolTip(tip)
        edit_menu.addAction(act)

    data_menu = bar.addMenu("&Data")
    window.wide_to_long_action = action(window, "&Reshape wide → long…", lambda: c.reshape_dialog(0),
                                        tip="One row per visit: what a mixed model needs")
    window.long_to_wide_action = action(window, "Reshape long → &wide…", lambda: c.reshape_dialog(1))
    window.compute_action = action(window, "&Compute variable…", c.compute_dialog,
                                   tip="Centre, standardise, cluster means, log, recode or dichotomise a column")
    for act in (window.wide_to_long_action, window.long_to_wide_action):
        data_menu.addAction(act)
    data_menu.addSeparator()
    data_menu.addAction(window.compute_action)

    analysis_menu = bar.addMenu("&Analysis")
    # The Fit button and the status bar's Cancel own Ctrl+R and Esc; a second QAction with the same
    # shortcut would make both ambiguous (neither fires), so the menu only shows the keys.
    window.fit_action = action(window, "&Fit\tCtrl+R", window.fit)
    window.cancel_action = action(window, "&Cancel fit\tEsc", window.cancel_fit)
    analysis_menu.addAction(window.fit_action)
    analysis_menu.addAction(window.cancel_action)
    analysis_menu.addSeparator()
    analyses = window.model_panel.analyses
    window.new_analysis_action = action(window, "&New analysis", analyses.add, "Ctrl+Shift+N",
                                        "Start another analysis of the same data")
    window.duplicate_analysis_action = action(window, "&Duplicate analysis", analyses.duplicate,
                                              tip="Copy the analysis shown, to try a variant")
    window.rename_analysis_action = action(window, "Re&name analysis…", analyses.rename)
    window.remove_analysis_action = action(window, "&Remove analysis", analyses.remove,
                                           tip="Remove the analysis shown (Edit ▸ Undo brings it back)")
    for act in (window.new_analysis_action, window.duplicate_analysis_action, window.rename_analysis_action,
                window.remove_analysis_action):
        analysis_menu.addAction(act)
    analysis_menu.addSeparator()
    window.compare_action = action(window, "&Compare analyses…", lambda: open_compare_dialog(window),
                                   tip="Likelihood-ratio test, AIC and BIC of two or more fitted analyses "
                                       "(R's anova)")
    analysis_menu.addAction(window.compare_action)
    analysis_menu.addAction(action(window, "&Plan a study…", lambda: open_power_dialog(window)))

    help_menu = bar.addMenu("&Help")
    help_menu.addAction(action(window, "&About MixGUI", window.show_about))
    for act in (window.save_analysis_action, window.save_project_action, window.save_project_as_action,
                window.wide_to_long_action, window.long_to_wide_action, window.compute_action,
                window.export_action):
        act.setEnabled(False)  # until there are data (see MainWindow._update_actions)


class Commands:
    """The menu commands of one window: ask, then call the window's methods."""

    def __init__(self, window):
        self.window = window

    # -- asking before work is replaced ------------------------------------------------
    def keep_work(self) -> bool:
        """True when the user wants to keep the unsaved work (Cancel), after offering to save it."""
        w = self.window
        if not w.is_dirty():
            return False
        answer = w.ask_unsaved_changes()
        if answer == "save":
            return not self.save_project()
        return answer != "discard"

    # -- data --------------------------------------------------------------------------
    def open_data_dialog(self) -> None:
        if self.keep_work():
            return
        path, _ = QFileDialog.getOpenFileName(self.window, "Open data", self._folder(), DATA_FILTER)
        if path:
            self.open_data_file(path)

    def open_data_file(self, path):
        """Open ``path``: .xlsx and .csv through the import dialog (returned), other files at once."""
        w = self.window
        suffix = Path(path).suffix.lower()
        if suffix not in EXCEL_SUFFIXES + TEXT_SUFFIXES:
            w.open_data(path)
            return None
        from mixgui.gui.widgets.import_dialog import ImportDialog

        same_file = w.dataset is not None and w.dataset.source and Path(w.dataset.source) == Path(path)
        dlg = ImportDialog(path, w.import_options if same_file else None, parent=w)
        dlg.accepted.connect(lambda: w.open_data(path, options=dlg.options()))
        return self._show(dlg, "import_dialog")

    def open_example(self) -> None:
        if not self.keep_work():
            self.window.open_example()

    def reshape_dialog(self, tab: int = 0):
        """The reshape dialog on the data as read (computed variables are recomputed afterwards)."""
        w = self.window
        if w.dataset is None:
            return None
        from mixgui.gui.widgets.reshape_dialog import ReshapeDialog

        dlg = ReshapeDialog(w.base_frame(), parent=w)
        dlg.tabs.setCurrentIndex(tab)
        dlg.accepted.connect(lambda: w.reshape(dlg.step()))
        return self._show(dlg, "reshape_dialog")

    def compute_dialog(self):
        w = self.window
        if w.dataset is None:
            return None
        from mixgui.gui.widgets.compute_dialog import ComputeDialog

        dlg = ComputeDialog(w.dataset.frame, parent=w)
        dlg.accepted.connect(lambda: w.add_recipe(dlg.recipe()))
        return self._show(dlg, "compute_dialog")

    def _show(self, dlg, attribute: str):
        dlg.setWindowModality(Qt.WindowModality.WindowModal)
        dlg.finished.connect(dlg.deleteLater)
        dlg.finished.connect(lambda *_: setattr(self.window, attribute, None))
        setattr(self.window, attribute, dlg)
        dlg.open()
        return dlg

    # -- analyses and projects ---------------------------------------------------------
    def open_analysis_dialog(self) -> None:
        if self.keep_work():
            return
        path, _ = QFileDialog.getOpenFileName(self.window, "Open analysis", self._folder(), ANALYSIS_FILTER)
        if path:
            self.window.open_analysis(path)

    def save_analysis_dialog(self) -> None:
        """Ask where to save the current analysis (the one shown in the builder)."""
        w = self.window
        start = str(w.analysis_path or Path(self._folder()) / "analysis.json")
        name = w.session.current_analysis.name if w.session.current_analysis else "analysis"
        path, _ = QFileDialog.getSaveFileName(w, f"Save analysis “{name}”", start, ANALYSIS_FILTER)
        if path:
            w.save_analysis(path if path.lower().endswith(".json") else path + ".json")

    def open_project_dialog(self) -> None:
        if self.keep_work():
            return
        path, _ = QFileDialog.getOpenFileName(self.window, "Open project", self._folder(), PROJECT_FILTER)
        if path:
            self.window.open_project(path)

    def save_project(self) -> bool:
        """Save to the project's file, or ask for one; True when saved."""
        w = self.window
        if w.project_path is not None:
            return w.save_project(w.project_path)
        return self.save_project_as()

    def save_project_as(self) -> bool:
        w = self.window
        if w.dataset is None:
            return False
        stem = w.dataset.name.split(":")[0].strip() or "project"
        start = str(w.project_path or Path(self._folder()) / f"{stem}.mixgui")
        path, _ = QFileDialog.getSaveFileName(w, "Save project", start, PROJECT_FILTER)
        if not path:
            return False
        return w.save_project(path if path.lower().endswith(".mixgui") else path + ".mixgui")

    def export_dialog(self) -> None:
        from mixgui.gui.widgets.export_dialog import ask_export_path

        w = self.window
        if not w.can_export(explain=True):
            return
        path = ask_export_path(w)
        if path:
            w.export_results(path)

    # -- recent files ------------------------------------------------------------------
    def recent_files(self) -> list:
        value = self.window.settings.value(RECENT_KEY) or []
        if isinstance(value, str):  # QSettings gives a lone string for a one-item list
            value = [value]
        return [str(v) for v in value]

    def add_recent(self, path) -> None:
        """Put ``path`` first in the recent files (at most eight, no duplicates)."""
        path = str(Path(path).resolve())
        files = [path] + [f for f in self.recent_files() if f != path]
        self.window.settings.setValue(RECENT_KEY, files[:MAX_RECENT])

    def fill_recent_menu(self) -> None:
        menu = self.window.recent_menu
        menu.clear()
        files = self.recent_files()
        for k, f in enumerate(files, 1):
            p = Path(f)
            act = menu.addAction(f"&{k} {p.name}  —  {p.parent}", lambda f=f: self.open_recent(f))
            act.setEnabled(p.exists())
        if not files:
            menu.addAction("(no recent files)").setEnabled(False)
        menu.addSeparator()
        menu.addAction("&Clear list", lambda: self.window.settings.remove(RECENT_KEY)).setEnabled(bool(files))

    def open_recent(self, path) -> None:
        """Open a recent file by its kind: project, analysis or data."""
        if self.keep_work():
            return
        suffix = Path(path).suffix.lower()
        if suffix == ".mixgui":
            self.window.open_project(path)
        elif suffix == ".json":
            self.window.open_analysis(path)
        else:
            self.open_data_file(path)

    def _folder(self) -> str:
        files = self.recent_files()
        return str(Path(files[0]).parent) if files else str(Path.home())


def ask_unsaved_changes(window) -> str:
    """Save / Discard / Cancel for unsaved work; returns ``"save"``, ``"discard"`` or ``"cancel"``."""
    box = QMessageBox(QMessageBox.Icon.Question, "Unsaved work",
                      "The data or the analysis changed since they were last saved. Save the project first?",
                      QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                      | QMessageBox.StandardButton.Cancel, window)
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    answer = box.exec()
    return {QMessageBox.StandardButton.Save: "save",
            QMessageBox.StandardButton.Discard: "discard"}.get(QMessageBox.StandardButton(answer), "cancel")
