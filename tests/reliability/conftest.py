"""Reliability tests: a bounded, reproducible hypothesis profile and a count of the examples run.

Every property test in this folder uses ``settings.get_profile("mixgui-reliability")`` (or a copy
with fewer examples): a fixed seed (``derandomize=True``, so CI and a developer see the same
examples and a failure reproduces), no example database, no deadline (a fit of a few hundred rows
can take a second on a busy CI machine) and a bounded number of examples, so the folder takes a few
minutes on two cores. At the end of the session the number of examples each property test ran is
printed (``pytest_terminal_summary``), so "it passed" always comes with "on how many inputs".

The window fixtures (``make_window``, ``settings``, the leak check) are those of
``tests/gui/conftest.py``, loaded from that file so both folders share one definition.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import sys
from collections import Counter
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

MAX_EXAMPLES = int(os.environ.get("MIXGUI_RELIABILITY_EXAMPLES", "30"))

settings.register_profile(
    "mixgui-reliability",
    derandomize=True,  # a fixed seed: the same examples on every machine, every run
    database=None,  # nothing remembered between runs (derandomized runs need none)
    max_examples=MAX_EXAMPLES,
    deadline=None,  # fits have no fixed time; the folder's time is bounded by max_examples
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)

#: examples run per property test (node id -> count), printed at the end of the session
EXAMPLES: Counter = Counter()


def _counting(inner, key):
    @functools.wraps(inner)
    def wrapper(*args, **kwargs):
        EXAMPLES[key] += 1
        return inner(*args, **kwargs)

    return wrapper


def pytest_collection_modifyitems(session, config, items):
    """Wrap the inner test of every hypothesis test of this folder so its examples are counted."""
    here = Path(__file__).parent
    for item in items:
        fn = getattr(item, "obj", None)
        hyp = getattr(fn, "hypothesis", None)
        if hyp is None or here not in Path(str(item.fspath)).parents:
            continue
        if not getattr(hyp.inner_test, "_mixgui_counted", False):
            wrapped = _counting(hyp.inner_test, item.nodeid.split("[")[0])
            wrapped._mixgui_counted = True
            hyp.inner_test = wrapped


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not EXAMPLES:
        return
    tr = terminalreporter
    tr.section("hypothesis examples run (tests/reliability)")
    for key, n in sorted(EXAMPLES.items()):
        tr.write_line(f"{n:5d}  {key}")
    tr.write_line(f"{sum(EXAMPLES.values()):5d}  in total (profile mixgui-reliability, derandomized, "
                  f"max_examples={MAX_EXAMPLES})")


# -- the window fixtures, re-created from tests/gui/conftest.py ------------------------------
def gui_conftest():
    """tests/gui/conftest.py as a plain module, for its :class:`GatedRun` and :func:`fake_result`."""
    name = "_mixgui_gui_conftest"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "gui" / "conftest.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def styled_app(qapp):
    """The application styled as in real use; the clipboard emptied afterwards (offscreen Qt
    segfaults at exit when the clipboard still owns data, see tests/gui/conftest.py)."""
    from mixgui.gui.style import apply_style

    apply_style(qapp)
    yield qapp
    qapp.clipboard().clear()


@pytest.fixture
def qsettings(tmp_path):
    """A QSettings file in the test's temporary folder (default paths moved there too)."""
    from PySide6.QtCore import QSettings

    folder = str(tmp_path / "qsettings")
    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, folder)
    return QSettings(str(tmp_path / "mixgui.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(no_leaks, styled_app, qtbot, qsettings):
    """Factory of shown main windows registered with qtbot (closed, and so shut down, after the test)."""

    def make(**kwargs):
        from mixgui.gui.main_window import MainWindow

        window = MainWindow(settings=qsettings, **kwargs)
        qtbot.addWidget(window)
        window.show()
        return window

    return make


@pytest.fixture
def no_leaks(qapp):
    """Fail a test that leaves a main window open or a fit thread running (as tests/gui does)."""
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


@pytest.fixture
def gated_run_class():
    """tests/gui's :class:`GatedRun`: a fake fit that waits for the test to release it."""
    return gui_conftest().GatedRun
