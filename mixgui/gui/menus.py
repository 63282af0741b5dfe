"""What each menu command asks the user before the document is changed.

:class:`~mixgui.gui.documents.DocumentActions` does the work given a path or a choice
(``open_data(path, options=...)``, ``reshape(step)``, ``save_project(path)``); :class:`MenuDialogs`
adds the questions: file dialogs, the import, reshape and compute dialogs, "save your changes?",
and keeps the recent files. Dialogs are opened with ``open()``, not ``exec()``, so nothing blocks
and tests can drive them (the open dialog is kept as ``import_dialog``, ``reshape_dialog`` or
``compute_dialog``).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMessageBox

from mixgui.data.importing import EXCEL_SUFFIXES, TEXT_SUFFIXES

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


class MenuDialogs:
    """The questions behind the menu commands: ask, then call :class:`DocumentActions`.

    Parameters
    ----------
    session : Session
    actions : DocumentActions
    settings : QSettings
        Where the recent files (and the last export format) are remembered.
    dialog_parent : QWidget, optional
        The widget the dialogs are modal to (None in tests without a window).

    Attributes
    ----------
    ask_unsaved : callable
        Asks Save / Discard / Cancel and returns ``"save"``, ``"discard"`` or ``"cancel"``.
    import_dialog, reshape_dialog, compute_dialog
        The dialog of that kind while it is open, else None.
    """

    def __init__(self, session, actions, settings, dialog_parent=None):
        self.session = session
        self.actions = actions
        self.settings = settings
        self.parent = dialog_parent
        self.ask_unsaved = lambda: ask_unsaved_changes(self.parent)
        self.import_dialog = self.reshape_dialog = self.compute_dialog = None
        actions.fileUsed.connect(self.add_recent)

    # -- a    # -- asking before work is replaced ------------------------------------------------
    def keep_work(self) -> bool:
        """True when the user wants to keep the unsaved work (Cancel), after offering to save it."""
        if not self.session.is_unsaved():
            return False
        answer = self.ask_unsaved()
        if answer == "save":
            return not self.save_project()
        return answer != "discard"

    # -- data --------------------------------------------------------------------------
    def ask_open_data(self) -> None:
        if self.keep_work():
            return
        path, _ = QFileDialog.getOpenFileName(self.parent, "Open data", self._folder(), DATA_FILTER)
        if path:
            self.open_data_file(path)

    def open_data_file(self, path):
        """Open ``path``: .xlsx and .csv through the import dialog (returned), other files at once."""
        suffix = Path(path).suffix.lower()
        if suffix not in EXCEL_SUFFIXES + TEXT_SUFFIXES:
            self.actions.open_data(path, background=True)
            return None
        from mixgui.gui.widgets.import_dialog import ImportDialog

        ds = self.session.dataset
        same_file = ds is not None and ds.source and Path(ds.source) == Path(path)
        dlg = ImportDialog(path, self.session.provenance.import_options if same_file else None, parent=self.parent)
        dlg.accepted.connect(lambda: self.actions.open_data(path, options=dlg.options(), background=True))
        return self._show(dlg, "import_dialog")

    def open_example(self) -> None:
        if not self.keep_work():
            self.actions.open_example()

    def ask_reshape(self, tab: int = 0):
        """The reshape dialog on the data as read (computed variables are recomputed afterwards)."""
        if self.session.dataset is None:
            return None
        from mixgui.data.provenance import base_frame
        from mixgui.gui.widgets.reshape_dialog import ReshapeDialog

        dlg = ReshapeDialog(base_frame(self.session.dataset, self.session.provenance), parent=self.parent)
        dlg.tabs.setCurrentIndex(tab)
        dlg.accepted.connect(lambda: self.actions.reshape(dlg.step()))
        return self._show(dlg, "reshape_dialog")

    def ask_compute(self):
        if self.session.dataset is None:
            return None
        from mixgui.gui.widgets.compute_dialog import ComputeDialog

        dlg = ComputeDialog(self.session.dataset.frame, parent=self.parent)
        dlg.accepted.connect(lambda: self.actions.add_recipe(dlg.recipe()))
        return self._show(dlg, "compute_dialog")

    def _show(self, dlg, attribute: str):
        dlg.setWindowModality(Qt.WindowModality.WindowModal)
        dlg.finished.connect(dlg.deleteLater)
        dlg.finished.connect(lambda *_: setattr(self, attribute, None))
        setattr(self, attribute, dlg)
        dlg.open()
        return dlg

    # -- analyses and projects ---------------------------------------------------------
    def ask_open_analysis(self) -> None:
        if self.keep_work():
            return
        path, _ = QFileDialog.getOpenFileName(self.parent, "Open analysis", self._folder(), ANALYSIS_FILTER)
        if path:
            self.actions.open_analysis(path, background=True)

    def ask_save_analysis(self) -> None:
        """Ask where to save the current analysis (the one shown in the builder)."""
        s = self.session
        start = str(s.analysis_path or Path(self._folder()) / "analysis.json")
        name = s.current_analysis.name if s.current_analysis else "analysis"
        path, _ = QFileDialog.getSaveFileName(self.parent, f"Save analysis “{name}”", start, ANALYSIS_FILTER)
        if path:
            self.actions.save_analysis(path if path.lower().endswith(".json") else path + ".json")

    def ask_open_project(self) -> None:
        if self.keep_work():
            return
        path, _ = QFileDialog.getOpenFileName(self.parent, "Open project", self._folder(), PROJECT_FILTER)
        if path:
            self.actions.open_project(path)

    def save_project(self) -> bool:
        """Save to the project's file, or ask for one; True when saved."""
        if self.session.project_path is not None:
            return self.actions.save_project(self.session.project_path)
        return self.save_project_as()

    def save_project_as(self) -> bool:
        s = self.session
        if s.dataset is None:
            return False
        stem = s.dataset.name.split(":")[0].strip() or "project"
        start = str(s.project_path or Path(self._folder()) / f"{stem}.mixgui")
        path, _ = QFileDialog.getSaveFileName(self.parent, "Save project", start, PROJECT_FILTER)
        if not path:
            return False
        return self.actions.save_project(path if path.lower().endswith(".mixgui") else path + ".mixgui")

    def ask_export(self) -> None:
        from mixgui.gui.widgets.export_dialog import ask_export_path

        if not self.actions.can_export(explain=True):
            return
        path = ask_export_path(self.session, self.settings, self.parent)
        if path:
            self.actions.export_results(path)

    # -- recent files ------------------------------------------------------------------
    def recent_files(self) -> list:
        value = self.settings.value(RECENT_KEY) or []
        if isinstance(value, str):  # QSettings gives a lone string for a one-item list
            value = [value]
        return [str(v) for v in value]

    def add_recent(self, path) -> None:
        """Put ``path`` first in the recent files (at most eight, no duplicates)."""
        path = str(Path(path).resolve())
        files = [path] + [f for f in self.recent_files() if f != path]
        self.settings.setValue(RECENT_KEY, files[:MAX_RECENT])

    def fill_recent_menu(self, menu) -> None:
        """Fill ``menu`` with the recent files (called as it is about to show)."""
        menu.clear()
        files = self.recent_files()
        for k, f in enumerate(files, 1):
            p = Path(f)
            act = menu.addAction(f"&{k} {p.name}  —  {p.parent}", lambda f=f: self.open_recent(f))
            act.setEnabled(p.exists())
        if not files:
            menu.addAction("(no recent files)").setEnabled(False)
        menu.addSeparator()
        menu.addAction("&Clear list", lambda: self.settings.remove(RECENT_KEY)).setEnabled(bool(files))

    def open_recent(self, path) -> None:
        """Open a recent file by its kind: project, analysis or data."""
        if self.keep_work():
            return
        suffix = Path(path).suffix.lower()
        if suffix == ".mixgui":
            self.actions.open_project(path)
        elif suffix == ".json":
            self.actions.open_analysis(path, background=True)
        else:
            self.open_data_file(path)

    def _folder(self) -> str:
        files = self.recent_files()
        return str(Path(files[0]).parent) if files else str(Path.home())


def ask_unsaved_changes(parent=None) -> str:
    """Save / Discard / Cancel for unsaved work; returns ``"save"``, ``"discard"`` or ``"cancel"``."""
    box = QMessageBox(QMessageBox.Icon.Question, "Unsaved work",
                      "The data or the analysis changed since they were last saved. Save the project first?",
                      QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                      | QMessageBox.StandardButton.Cancel, parent)
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    answer = box.exec()
    return {QMessageBox.StandardButton.Save: "save",
            QMessageBox.StandardButton.Discard: "discard"}.get(QMessageBox.StandardButton(answer), "cancel")
