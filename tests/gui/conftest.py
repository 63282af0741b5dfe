"""Fixtures for the window tests: offscreen Qt, a private QSettings file, fake fits, leak checks."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import threading  # noqa: E402

import pytest  # noqa: E402

from mixgui.analysis.spec import AnalysisSpec  # noqa: E402
from mixgui.errors import Cancelled  # noqa: E402
from mixgui.results.result import FitResult, ModelInfo  # noqa: E402
from mixgui.results.tables import Column, Table  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _styled_app(qapp):
    """The application styled as in real use, so the style sheet is exercised too."""
    from mixgui.gui.style import apply_style

    apply_style(qapp)
    yield qapp
    # The offscreen platform plugin segfaults at exit when the clipboard still owns data
    # (a Qt bug; the xcb, Windows and macOS plugins are fine), so empty it when the session ends.
    qapp.clipboard().clear()


@pytest.fixture
def settings(tmp_path):
    """A QSettings file in the test's temporary folder (and default paths moved there too)."""
    from PySide6.QtCore import QSettings

    folder = str(tmp_path / "qsettings")
    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, folder)
    return QSettings(str(tmp_path / "mixgui.ini"), QSettings.Format.IniFormat)


@pytest.fixture(autouse=True)
def recovery_folder(tmp_path, monkeypatch):
    """Each test's autosave/recovery folder, in its temporary folder (never the user's)."""
    folder = tmp_path / "appdata" / "recovery"
    monkeypatch.setattr("mixgui.gui.recovery.default_recovery_folder", lambda: folder)
    return folder


@pytest.fixture(autouse=True)
def _collect_between_tests():
    """Python's cyclic collector runs between GUI tests, not inside one.

    A collection that starts in the event loop while a worker thread fits can free PySide and
    pyqtgraph wrappers in the middle of Qt's processing (seen once as a segfault on a fresh clone,
    never reproduced alone); each test's garbage is collected after its windows are closed instead.
    """
    import gc

    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


@pytest.fixture(autouse=True)
def _no_close_question(monkeypatch):
    """Windows close without asking about unsaved work (a modal question would block teardown);
    tests of the question set ``window.confirm_close = True``."""
    monkeypatch.setattr("mixgui.gui.main_window.MainWindow.confirm_close", False)


@pytest.fixture
def make_window(qtbot, settings):
    """Factory of shown main windows registered with qtbot (closed, and so shut down, after the test)."""

    def make(**kwargs):
        from mixgui.gui.main_window import MainWindow

        window = MainWindow(settings=settings, **kwargs)
        qtbot.addWidget(window)
        window.show()
        return window

    return make


@pytest.fixture(autouse=True)
def _no_leaked_windows_or_threads(qapp):
    """Fail a test that leaves a main window open (not given to qtbot) or a fit thread running."""
    yield
    qapp.processEvents()
    from mixgui.gui.main_window import MainWindow
    from mixgui.gui.workers import running_controllers

    leaked = [w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
    running = running_controllers()
    for w in leaked:
        w.close()
    for c in running:
        c.shutdown()
    assert not leaked, "a MainWindow was left open; register every window with qtbot.addWidget"
    assert not running, "a fit thread was left running after the test"


def fake_result(spec: AnalysisSpec, label: str) -> FitResult:
    """A tiny FitResult whose fixed-effects table says which request made it."""
    table = Table("fixed_effects", "Fixed effects", [Column("term", "Term", "text"), Column("estimate", "Estimate")],
                  [{"term": label, "estimate": 1.0}])
    return FitResult(spec, ModelInfo("lm", "OLS", "residual", 0, formula=spec.formula), tables=[table])


class GatedRun:
    """A fake ``run`` whose calls wait for their own gate, so tests decide when each fit ends.

    Call *n* (0-based) blocks until ``release(n)``; while waiting it calls ``progress.step``
    (so Cancel stops it) unless ``ignore_cancel`` is set, which mimics a computation that only
    notices cancellation after it has finished.
    """

    def __init__(self, ignore_cancel: bool = False, open_from: int | None = None, max_calls: int = 20):
        self.ignore_cancel = ignore_cancel
        self.open_from = open_from  # calls from this index on do not wait
        self.gates: list = [threading.Event() for _ in range(max_calls)]
        self.entered: list = [threading.Event() for _ in range(max_calls)]
        self.calls = 0
        self.cancelled_calls: list = []
        self._lock = threading.Lock()

    def release(self, n: int) -> None:
        self.gates[n].set()

    def release_all(self) -> None:
        for g in self.gates:
            g.set()

    def __call__(self, spec, dataset, progress):
        with self._lock:
            n = self.calls
            self.calls += 1
        self.entered[n].set()
        if self.open_from is not None and n >= self.open_from:
            self.gates[n].set()
        i = 0
        while not self.gates[n].wait(0.005):
            if not self.ignore_cancel:
                try:
                    progress.step(min(i / 2000, 0.95), "waiting for the test")
                except Cancelled:
                    self.cancelled_calls.append(n)
                    raise
            i += 1
        return fake_result(spec, f"call {n}")


@pytest.fixture
def gated_run():
    run = GatedRun()
    yield run
    run.release_all()  # never leave a worker blocked


@pytest.fixture
def gated_run_class():
    """The :class:`GatedRun` class, for tests that need one with other options."""
    return GatedRun


def type_formula_into(window, text: str) -> None:
    """Replace the model's formula as a user does: select all, paste ``text``, press Return.

    A paste is one ``textEdited`` (so one edit of the model, like a typed formula merged into one
    undo step); Return tidies the text into the builder's canonical form.
    """
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    edit = window.model_panel.formula_edit
    edit.setFocus()
    edit.selectAll()
    edit.insert(text)
    QTest.keyClick(edit, Qt.Key.Key_Return)


@pytest.fixture
def type_formula():
    """:func:`type_formula_into` as a fixture (tests/reliability imports this folder's fixtures)."""
    return type_formula_into


def choose_option(combo, data) -> None:
    """Pick the item whose data is ``data`` in a combo box, as a user's choice does (``activated``)."""
    i = combo.findData(data)
    assert i >= 0, f"{data!r} not offered"
    combo.setCurrentIndex(i)
    combo.activated.emit(i)


@pytest.fixture
def choose():
    """:func:`choose_option` as a fixture."""
    return choose_option
