"""What the user does to the document, given a path or a choice: open, save, reshape, compute, export.

:class:`DocumentActions` calls the Qt-free session (:mod:`mixgui.session.files` and the undoable
edits of :class:`~mixgui.session.document.Session`) and turns what goes wrong into one sentence
(the ``error`` signal) instead of a traceback; the dialogs that ask for paths and choices are in
:mod:`mixgui.gui.menus`. It never holds the window: the window listens to its signals.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThreadPool, Signal

from mixgui.data.importing import ImportOptions, read_with_options
from mixgui.errors import MixGUIError
from mixgui.gui.turns import soon
from mixgui.session import column_facts, files
from mixgui.session.document import Session

log = logging.getLogger(__name__)


class DocumentActions(QObject):
    """Open, save, restructure, compute, change levels and export for one session.

    Parameters
    ----------
    session : Session
    live : LiveFit
        Fits after opening, and says whether the results shown can be exported.
    recovery : RecoveryManager
        Its copy is deleted once the work is saved in its own file.
    results_panel : ResultsPanel
        The result exported, and the plots' share of the pane saved with a project.

    Signals
    -------
    error(title, text)
        Something could not be done; ``text`` is one sentence for the user.
    message(text)
        A line for the status bar.
    fileUsed(path)
        A file was opened or saved (for the recent-files list).
    """

    error = Signal(str, str)
    message = Signal(str)
    fileUsed = Signal(str)
    #: a background read finished (emitted in the reading thread, delivered queued): token, value, error
    _read_done = Signal(int, object, object)

    def __init__(self, session: Session, live, recovery, results_panel, parent=None):
        super().__init__(parent)
        self.session = session
        self.live = live
        self.recovery = recovery
        self.results_panel = results_panel
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._token = 0  # the newest background read; an older one finishing is dropped
        self._pending: dict = {}
        self._read_done.connect(self._on_read, Qt.ConnectionType.QueuedConnection)

    # -- opening ------------------------------------------------------------------------
    def open_data(self, path, sheet: str | None = None, options: ImportOptions | None = None,
                  background: bool = False) -> bool:
        """Read a data file (as ``options`` say) and show it; on error say so and keep the session.

        With ``background`` the file is read in a worker thread (a 200,000-row file froze the window
        for a second) and shown when read; returns True once the reading has started.
        """
        options = options if options is not None else ImportOptions(sheet=sheet)
        if background:
            self._read_later("Cannot open the data", path, lambda: read_with_options(path, options),
                             lambda ds: files.open_data(self.session, path, options, dataset=ds), fit=False)
            return True
        return self._opened("Cannot open the data", path, lambda: files.open_data(self.session, path, options))

    def open_analysis(self, path, fit: bool = True, background: bool = False) -> bool:
        """Open an analysis file and its data (redoing its import, reshape and computed variables).

        With ``background`` the file and its data are read in a worker thread and shown (and
        fitted) when read; returns True once the reading has started.
        """
        if background:
            self._read_later("Cannot open the analysis", path, lambda: files.read_analysis(path),
                             lambda read: files.open_analysis(self.session, path, read=read), fit)
            return True
        if not self._opened("Cannot open the analysis", path, lambda: files.open_analysis(self.session, path)):
            return False
        if fit:
            self.live.fit()
        return True

    # -- reading in the background -------------------------------------------------------
    def is_reading(self) -> bool:
        """True while a file is being read in the background."""
        return self._token in self._pending

    def cancel_reading(self) -> None:
        """Forget the file being read: it is not shown when its reading ends."""
        if self.is_reading():
            self._token += 1
            self.message.emit("Opening cancelled")

    def shutdown(self) -> None:
        """Forget any reading and wait for its thread (the window is closing)."""
        self._token += 1
        self._pool.waitForDone()

    def _read_later(self, title: str, path, read, show, fit: bool) -> None:
        self._token += 1
        token = self._token
        self._pending[token] = (title, path, show, fit)
        self.message.emit(f"Reading {Path(path).name}…")

        def work():
            try:
                value, error = read(), None
            except Exception as e:  # noqa: BLE001 - reported in the window's thread, as _opened does
                value, error = None, e
            else:
                # the levels and group counts the builder shows, computed here and not in the window
                column_facts.warm_read(value)
            self._read_done.emit(token, value, error)

        self._pool.start(work)

    def _on_read(self, token: int, value, error) -> None:
        title, path, show, fit = self._pending.pop(token)
        if token != self._token:
            return  # superseded by another file, or cancelled

        def do():
            if error is not None:
                raise error
            show(value)

        if self._opened(title, path, do) and fit:
            # in a later turn: the data and the model just shown are painted first, before the fit's
            # worker competes with the window for the processor (a 0.1-0.2 s longer wait on 200k rows)
            soon(self, self.live.fit)

    def open_example(self, fit: bool = True) -> bool:
        """Open the demo study with its ready analysis."""
        return self.open_analysis(files.example_path(), fit=fit)

    def open_project(self, path, fit: bool = True) -> bool:
        """Open a ``.mixgui`` project: its data as saved, how they were made, and its analyses."""
        project = []
        if not self._opened("Cannot open the project", path,
                            lambda: project.append(files.open_project(self.session, path))):
            return False
        if project[0].load_warnings:
            self.message.emit(" ".join(project[0].load_warnings))
        if fit:
            self.live.fit()
        return True

    def _opened(self, title: str, path, do) -> bool:
        try:
            do()
        except MixGUIError as e:
            self.error.emit(title, str(e))
            return False
        except Exception as e:  # noqa: BLE001 - a reader bug must not close the window either
            log.exception("opening %s failed", path)
            self.error.emit(title, f"{Path(path).name} could not be opened ({type(e).__name__}: {e})")
            return False
        self.fileUsed.emit(str(path))
        self.message.emit(f"Opened {self.session.dataset.name}")
        return True

    # -- saving -------------------------------------------------------------------------
    def save_analysis(self, path) -> bool:
        """Write the current analysis, with how its data were made, to ``path``."""
        path = Path(path)
        try:
            files.save_analysis(self.session, path)
        except OSError as e:
            self.error.emit("Cannot save the analysis", f"{path} could not be written: {e.strerror or e}")
            return False
        self._saved(path)
        return True

    def save_project(self, path) -> bool:
        """Save data, analyses and how the data were made to a ``.mixgui`` file."""
        path = Path(path)
        try:
            files.save_project(self.session, path, {"plot_share": self.results_panel.plot_share()})
        except (MixGUIError, OSError) as e:
            self.error.emit("Cannot save the project", str(e))
            return False
        except Exception as e:  # noqa: BLE001 - a bug of ours: say so, keep the work (and the recovery copy)
            log.exception("saving %s failed", path)
            self.error.emit("Cannot save the project", f"{path.name} could not be written ({type(e).__name__}: {e})")
            return False
        self._saved(path)
        return True

    def _saved(self, path: Path) -> None:
        self.fileUsed.emit(str(path))
        self.recovery.discard()  # the saved file is now the safe copy
        self.message.emit(f"Saved {path.name}")

    # -- changing the data (undoable) ---------------------------------------------------
    def set_level(self, column: str, level: str, draft=None) -> bool:
        """Change ``column``'s measurement level (moving it between Factors and Covariates if needed)."""
        try:
            self.session.set_level(column, level, draft)
        except MixGUIError as e:
            self.message.emit(str(e))
            return False
        return True

    def reshape(self, step) -> bool:
        """Restructure the data (wide ↔ long); computed variables are recomputed, the analyses stay."""
        try:
            self.session.reshape(step)
        except MixGUIError as e:
            self.error.emit("Cannot restructure the data", str(e))
            return False
        n, k = self.session.dataset.frame.shape
        self.message.emit(f"Restructured: {n} rows · {k} columns")
        return True

    def add_recipe(self, recipe) -> bool:
        """Add a computed variable; results stay (no row changed) and the variable lists update."""
        try:
            self.session.add_recipe(recipe)
        except MixGUIError as e:
            self.error.emit("Cannot compute the variable", str(e))
            return False
        note = recipe.note()
        self.message.emit(f'Added "{recipe.name}": {recipe.describe()}' + (" (see the note)" if note else ""))
        return True

    # -- export -------------------------------------------------------------------------
    def can_export(self, explain: bool = False) -> bool:
        """True when the results shown are the current analysis's and up to date."""
        ok = self.live.can_export()
        if not ok and explain:
            self.error.emit("Nothing to export yet", "Export writes the results shown; fit the model first "
                                                     "(Ctrl+R) and wait until the results are up to date.")
        return ok

    def export_results(self, path) -> bool:
        """Write the results shown as a report (.xlsx, .docx, .html, .R or a folder of CSV files)."""
        from mixgui.gui.widgets.export_dialog import export_report

        if not self.can_export(explain=True):
            return False
        try:
            written = export_report(self.results_panel.result, self.session, path)
        except MixGUIError as e:
            self.error.emit("Cannot export", str(e))
            return False
        except Exception as e:  # noqa: BLE001 - a report bug must not cost the session
            log.exception("exporting %s failed", path)
            self.error.emit("Cannot export", f"{Path(path).name} could not be written ({type(e).__name__}: {e})")
            return False
        self.message.emit(f"Exported {written.name}")
        return True
