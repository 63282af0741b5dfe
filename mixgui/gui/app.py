"""Start the window: ``mixgui``, ``mixgui --demo``, ``mixgui --demo --screenshot FILE``."""
from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from mixgui.gui.main_window import MainWindow
from mixgui.gui.recovery import install_crash_handler
from mixgui.gui.style import apply_style

log = logging.getLogger(__name__)

SCREENSHOT_SIZE = (1500, 920)
SCREENSHOT_TIMEOUT_MS = 180_000


def make_app() -> QApplication:
    """The QApplication (the existing one if any), named and styled."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("MixGUI")
    app.setOrganizationName("MixGUI")
    app.setApplicationDisplayName("MixGUI")
    apply_style(app)
    return app


class _Screenshot:
    """Waits for the first fit to end, grabs the window to a PNG and quits the application."""

    def __init__(self, app: QApplication, window: MainWindow, path: str):
        self.app, self.window, self.path = app, window, Path(path)
        self.ok = False
        window.controller.finished.connect(lambda *_: self._later(True))
        window.controller.failed.connect(lambda *_: self._later(False))
        QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, self._timeout)

    def _later(self, ok: bool) -> None:
        self.ok = ok
        QTimer.singleShot(400, self._grab)  # let the results pane lay itself out first

    def _timeout(self) -> None:
        print(f"mixgui: no fit result within {SCREENSHOT_TIMEOUT_MS // 1000} s; screenshot taken anyway",
              file=sys.stderr)
        self.ok = False
        self._grab()

    def _grab(self) -> None:
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        saved = self.window.grab().save(str(self.path), "PNG")
        if not saved:
            print(f"mixgui: could not write {self.path}", file=sys.stderr)
        elif not self.ok:
            print(f"mixgui: the fit did not succeed: {self.window.results_panel.message()}", file=sys.stderr)
        code = 0 if saved and self.ok else 1
        self.window.close()
        self.app.exit(code)


def run_app(demo: bool = False, screenshot: str | None = None, open_path: str | None = None) -> int:
    """Open the main window and run the event loop.

    Parameters
    ----------
    demo : bool
        Open the demo study with its analysis and fit it once.
    screenshot : str, optional
        Open the demo (unless ``open_path`` is given), fit, save the whole window to this PNG and
        exit (status 0 when the fit succeeded and the file was written). Works with
        ``QT_QPA_PLATFORM=offscreen``.
    open_path : str, optional
        A data file (.csv, .xlsx, .sav) or an analysis file (.json) to open.

    Returns
    -------
    int
        The exit status.
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app = make_app()
    window = MainWindow(remember_layout=screenshot is None, check_recovery=screenshot is None)
    window.confirm_close = screenshot is None  # a screenshot run has nobody to ask
    handler = install_crash_handler(window.recovery)  # an uncaught error shows a message and keeps the work
    shot = None
    if screenshot:
        window.resize(*SCREENSHOT_SIZE)
        shot = _Screenshot(app, window, screenshot)
    window.show()
    if open_path:
        if Path(open_path).suffix.lower() == ".json":
            opened = window.open_analysis(open_path)
        else:
            opened = window.open_data(open_path)
            if opened and screenshot:
                window.fit()  # with no formula this shows a message at once
    elif demo or screenshot:
        opened = window.open_example()
    else:
        opened = True
    if shot is not None and not opened:
        print(f"mixgui: {window.last_error}", file=sys.stderr)
        window.close()
        handler.uninstall()
        return 1
    if shot is not None and not window.controller.is_running():
        shot._later(False)  # nothing to wait for (e.g. the formula did not parse)
    if os.environ.get("MIXGUI_REPORT_STARTUP") == "1":
        # for installer/smoke_test.py: the first turn of the event loop, when the window (with the
        # demo loaded) has been shown, as wall-clock time the caller can subtract its start from
        QTimer.singleShot(0, lambda: print(f"mixgui-startup: window shown at {time.time():.3f}",
                                           file=sys.stderr, flush=True))
    code = app.exec()
    handler.uninstall()
    del shot
    return int(code)
