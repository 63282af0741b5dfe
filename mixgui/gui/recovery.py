"""Autosave, recovery after a crash, and the crash handler.

The session's work is copied to a recovery file (:class:`mixgui.session.project.Autosaver`) two
seconds after each change, in a background thread; a clean exit deletes it. When MixGUI starts and finds a recovery
file of a session that did not end cleanly, a banner above the panes offers to restore it.

:func:`install_crash_handler` (called by ``run_app``) routes uncaught exceptions, of the main
thread and of other threads, to :meth:`RecoveryManager.handle_crash`: it writes a crash report
(traceback and versions) into a ``crashes`` folder next to the recovery folder, saves a recovery
copy and shows a message, so the window stays open instead of vanishing.
"""
from __future__ import annotations

import datetime as _dt
import logging
import os
import platform
import sys
import threading
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

from mixgui import __version__
from mixgui.session.files import apply_project, to_project
from mixgui.session.project import Autosaver, find_recovery, load_project

log = logging.getLogger(__name__)

AUTOSAVE_DELAY_S = 2.0  # quiet time after a change: a burst of edits costs one write


def default_recovery_folder() -> Path:
    """``<application data>/recovery`` (e.g. ``~/.local/share/MixGUI/MixGUI/recovery`` on Linux)."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".mixgui") / "recovery"


def crash_folder(recovery_folder) -> Path:
    """Where crash reports go: a ``crashes`` folder next to the recovery folder."""
    return Path(recovery_folder).parent / "crashes"


def versions() -> str:
    """One line per component, for crash reports."""
    import numpy
    import pandas
    import PySide6
    from PySide6.QtCore import qVersion

    lines = [f"MixGUI {__version__}", f"Python {sys.version.split()[0]} ({platform.platform()})",
             f"PySide6 {PySide6.__version__}, Qt {qVersion()}", f"numpy {numpy.__version__}",
             f"pandas {pandas.__version__}"]
    for name in ("scipy", "pyqtgraph"):
        module = sys.modules.get(name)
        if module is not None:
            lines.append(f"{name} {getattr(module, '__version__', '?')}")
    return "\n".join(lines)


def write_crash_report(folder, exc_type, exc, tb, thread_name: str | None = None) -> Path:
    """Write the traceback and versions to ``folder/crash-<time>-<pid>.txt``; returns the file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    now = _dt.datetime.now()
    path = folder / f"crash-{now:%Y%m%d-%H%M%S}-{os.getpid()}.txt"
    n = 1
    while path.exists():  # two errors in the same second must not overwrite each other
        n += 1
        path = folder / f"crash-{now:%Y%m%d-%H%M%S}-{os.getpid()}-{n}.txt"
    text = ["MixGUI crash report", f"time: {now.isoformat(timespec='seconds')}",
            f"thread: {thread_name or threading.current_thread().name}", "", versions(), "",
            "".join(traceback.format_exception(exc_type, exc, tb))]
    path.write_text("\n".join(text), encoding="utf-8")
    return path


class RecoveryBanner(QFrame):
    """A bar above the panes: "MixGUI did not close properly … [Restore] [Discard]"."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("recoveryBanner")
        self.setStyleSheet("QFrame#recoveryBanner { background: #e8f0fa; border: 1px solid #b9cfea;"
                           " border-radius: 4px; } QLabel { color: #255a96; }")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.restore_button = QPushButton("&Restore")
        self.restore_button.setToolTip("Open the work saved automatically before MixGUI closed")
        self.discard_button = QPushButton("&Discard")
        self.discard_button.setToolTip("Delete the recovery copy and start afresh")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.restore_button)
        lay.addWidget(self.discard_button)
        self.hide()


class RecoveryManager(QObject):
    """Autosave and crash recovery for one session.

    Every change of the document (anything on the undo stack, new data) restarts a short quiet
    time (``delay`` seconds); when it has passed and there is unsaved work, a recovery copy is
    written in a background thread, atomically, so a kill at any moment loses at most the last
    few seconds and never leaves a half-written copy.

    Parameters
    ----------
    session : Session
        The document copied (:func:`mixgui.session.files.to_project`) and restored into.
    folder : str or Path or None
        The recovery folder (None: :func:`default_recovery_folder`); crash reports go to
        :func:`crash_folder` of it.
    delay : float
        Quiet seconds after a change before the recovery copy is written.

    Signals
    -------
    saved(path)
        A recovery copy was written (emitted in the main thread).
    restored()
        A recovery copy was put in place of the document (the window fits it).
    failed(title, text)
        Restoring did not work; one sentence for the user.
    crashed(text)
        An uncaught error happened; the sentence for the user (the window shows it).
    """

    saved = Signal(str)
    restored = Signal()
    failed = Signal(str, str)
    crashed = Signal(str)
    _crashed = Signal(str)  # crash report path; queued to the main thread from other threads
    _written = Signal(object)  # a path, or an exception, from the writer thread

    def __init__(self, session, folder=None, delay: float = AUTOSAVE_DELAY_S, parent=None):
        super().__init__(parent)
        self.session = session
        self.folder = Path(folder) if folder else default_recovery_folder()
        self.autosaver = Autosaver(self.folder, lambda: to_project(session, include_original=False))
        self.offered: Path | None = None
        self.skipped: list = []
        self.last_crash_report: Path | None = None
        self.banner = RecoveryBanner()
        self.banner.restore_button.clicked.connect(self.restore)
        self.banner.discard_button.clicked.connect(self.discard_offer)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(int(max(delay, 0.0) * 1000))
        self.timer.timeout.connect(self.save_in_background)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mixgui-autosave")
        self._pending: Future | None = None
        self._stopped = False
        self._crashed.connect(self._after_crash)
        self._written.connect(self._after_write, Qt.ConnectionType.QueuedConnection)
        unsubscribe = [session.subscribe(lambda *_: self.changed()), session.undo_stack.subscribe(self.changed)]
        self.destroyed.connect(lambda *_: [u() for u in unsubscribe])

    # -- autosave ---------------------------------------------------------------------
    def changed(self) -> None:
        """The document changed: write a recovery copy after the quiet time, if there is unsaved work."""
        self.autosaver.mark_dirty()
        if not self._stopped and self.session.is_unsaved():
            self.timer.start()
        else:
            self.timer.stop()  # opened or saved: the work is safe in its own file

    def save_in_background(self) -> bool:
        """Start writing a recovery copy in the writer thread; False when there is nothing to save.

        The copy is taken here, in the main thread (the session's tables are never changed in
        place, so the thread sees a consistent document); only the compressing and writing run
        in the thread. A write still running delays the next one by another quiet time.
        """
        if self._stopped or not self.session.is_unsaved() or not self.autosaver.dirty:
            return False
        if self._pending is not None and not self._pending.done():
            self.timer.start()  # one write at a time: try again after the quiet time
            return False
        try:
            copy = self.autosaver.prepare()
        except Exception:  # noqa: BLE001 - a failed autosave must never disturb the user's work
            log.exception("autosave to %s failed", self.folder)
            return False
        self._pending = self._writer.submit(self._write, copy)
        return True

    def _write(self, copy) -> None:
        try:
            self._written.emit(self.autosaver.write(copy))
        except Exception as e:  # noqa: BLE001
            self._written.emit(e)

    def _after_write(self, outcome) -> None:
        if isinstance(outcome, Exception):
            log.error("autosave to %s failed: %s", self.folder, outcome)
        elif not self._stopped:
            self.saved.emit(str(outcome))

    def wait(self) -> None:
        """Wait for a recovery copy being written."""
        if self._pending is not None:
            try:
                self._pending.result()
            except Exception:  # noqa: BLE001 - reported by _write already
                pass

    def maybe_save(self) -> Path | None:
        """Write a recovery copy now when there is unsaved work that changed since the last copy."""
        if not self.session.is_unsaved() or not self.autosaver.dirty:
            return None
        return self.save_now()

    def save_now(self) -> Path | None:
        """Write a recovery copy now, in this thread (e.g. on a crash); None when there are no data."""
        if self.session.dataset is None:
            return None
        self.wait()
        try:
            path = self.autosaver.save_now()
        except Exception:  # noqa: BLE001 - a failed autosave must never disturb the user's work
            log.exception("autosave to %s failed", self.folder)
            return None
        self.saved.emit(str(path))
        return path

    def discard(self) -> None:
        """The work is saved in its own file: delete the recovery copy (after any write in flight)."""
        self.timer.stop()
        self.wait()
        self.autosaver.discard()

    def clean_exit(self) -> None:
        """The window closes normally: stop autosaving and delete this session's recovery copy."""
        self._stopped = True
        self.discard()
        self._writer.shutdown(wait=True)

    # -- recovery on start ------------------------------------------------------------
    def check(self) -> Path | None:
        """Look for a recovery file of an earlier session; show the banner when there is one.

        Damaged copies are skipped and named in the banner (:attr:`skipped`).
        """
        self.skipped = []
        try:
            path = find_recovery(self.folder, self.skipped)
        except OSError:
            log.exception("cannot look for recovery files in %s", self.folder)
            return None
        self.offered = path
        note = ""
        if self.skipped:
            names = ", ".join(p.name for p in self.skipped)
            note = f" A damaged recovery copy could not be read and was skipped ({names})."
        if path is None:
            if note:
                self.banner.label.setText(note.strip())
                self.banner.restore_button.hide()
                self.banner.show()
            else:
                self.banner.hide()
            return None
        when = _dt.datetime.fromtimestamp(path.stat().st_mtime).strftime("%d %b %Y at %H:%M:%S")
        self.banner.label.setText(f"MixGUI did not close properly last time. Work saved automatically on {when} "
                                  f"can be restored.{note}")
        self.banner.restore_button.show()
        self.banner.show()
        return path

    def restore(self) -> bool:
        """Open the offered recovery file; the session then holds unsaved work."""
        path = self.offered
        if path is None:
            return False
        try:
            project = load_project(path)
            apply_project(self.session, project, (project.metadata.get("autosave") or {}).get("project_path"))
        except Exception as e:  # noqa: BLE001 - a damaged copy: say so and keep the session
            self.failed.emit("Cannot restore", f"The recovery copy could not be read ({e}).")
            return False
        self.session.mark_unsaved()  # restored work has not been saved anywhere yet
        self._forget(path)
        self.restored.emit()
        return True

    def discard_offer(self) -> None:
        """Delete the offered recovery file (and hide the banner)."""
        if self.offered is not None:
            self._forget(self.offered)
        self.banner.hide()

    def _forget(self, path: Path) -> None:
        try:
            path.unlink()
        except OSError:
            pass
        self.offered = None
        self.banner.hide()

    # -- crashes ----------------------------------------------------------------------
    def handle_crash(self, exc_type, exc, tb, thread_name: str | None = None) -> Path | None:
        """Write a crash report, then (in the main thread) save a recovery copy and tell the user.

        Safe to call from any thread; never raises.
        """
        report = None
        try:
            report = write_crash_report(crash_folder(self.folder), exc_type, exc, tb, thread_name)
            self.last_crash_report = report
        except Exception:  # noqa: BLE001
            log.exception("could not write the crash report")
        log.error("uncaught %s: %s (report: %s)", getattr(exc_type, "__name__", exc_type), exc, report)
        self._crashed.emit(str(report or ""))  # direct in the main thread, queued from others
        return report

    def _after_crash(self, report: str) -> None:
        saved = self.save_now()
        where = f" The details are in {report}." if report else ""
        kept = " Your work was saved to a recovery copy." if saved else ""
        self.crashed.emit(f"MixGUI ran into an internal error.{kept}{where} You can keep working; saving the "
                          "project under a new name is the safest next step. Please send the crash report to "
                          "the developers.")


class CrashHandler:
    """Installs itself as ``sys.excepthook`` and ``threading.excepthook``; :meth:`uninstall` undoes it.

    A hard crash (a segmentation fault in Qt or a native library) cannot be caught in Python;
    :mod:`faulthandler` then writes the Python stacks to ``crashes/fatal-<pid>.txt``, which is
    removed again at a clean exit when it stayed empty.
    """

    def __init__(self, manager: RecoveryManager):
        self.manager = manager
        self._previous = (sys.excepthook, threading.excepthook)
        self._fatal_file = None
        self._faulthandler_was_on = False

    def install(self) -> CrashHandler:
        sys.excepthook = self.excepthook
        threading.excepthook = self.thread_excepthook
        self._enable_faulthandler()
        return self

    def uninstall(self) -> None:
        if sys.excepthook == self.excepthook:
            sys.excepthook = self._previous[0]
        if threading.excepthook == self.thread_excepthook:
            threading.excepthook = self._previous[1]
        self._disable_faulthandler()

    def _enable_faulthandler(self) -> None:
        import faulthandler

        try:
            folder = crash_folder(self.manager.folder)
            folder.mkdir(parents=True, exist_ok=True)
            self._fatal_file = open(folder / f"fatal-{os.getpid()}.txt", "w", encoding="utf-8")  # noqa: SIM115
        except OSError:
            log.warning("cannot write hard-crash reports to %s", crash_folder(self.manager.folder))
            return
        self._faulthandler_was_on = faulthandler.is_enabled()
        faulthandler.enable(self._fatal_file, all_threads=True)

    def _disable_faulthandler(self) -> None:
        import faulthandler

        if self._fatal_file is None:
            return
        faulthandler.disable()
        if self._faulthandler_was_on and sys.__stderr__ is not None:
            faulthandler.enable(sys.__stderr__)  # as before (e.g. pytest's own handler)
        path = Path(self._fatal_file.name)
        self._fatal_file.close()
        self._fatal_file = None
        try:
            if path.stat().st_size == 0:
                path.unlink()
        except OSError:
            pass

    def excepthook(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):  # Ctrl+C in the terminal: stop as usual
            sys.__excepthook__(exc_type, exc, tb)
            return
        traceback.print_exception(exc_type, exc, tb)  # still on stderr, for developers
        self.manager.handle_crash(exc_type, exc, tb)

    def thread_excepthook(self, args) -> None:
        if args.exc_type is SystemExit:
            return
        traceback.print_exception(args.exc_type, args.exc_value, args.exc_traceback)
        name = args.thread.name if args.thread is not None else None
        self.manager.handle_crash(args.exc_type, args.exc_value, args.exc_traceback, name)


def install_crash_handler(manager: RecoveryManager) -> CrashHandler:
    """Route uncaught exceptions to ``manager`` (see :class:`CrashHandler`)."""
    return CrashHandler(manager).install()
