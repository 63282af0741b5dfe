"""Reliability tests: a bounded, reproducible hypothesis profile and a count of the examples run.

Every property test in this folder uses ``settings.get_profile("mixgui-reliability")`` (or a copy
with fewer examples): a fixed seed (``derandomize=True``, so CI and a developer see the same
examples and a failure reproduces), no example database, no deadline (a fit of a few hundred rows
can take a second on a busy CI machine) and a bounded number of examples, so the folder takes a few
minutes on two cores. At the end of the session the number of examples each property test ran is
printed (``pytest_terminal_summary``), so "it passed" always comes with "on how many inputs".

The window tests (test_gui_stress.py) import the fixtures of ``tests/gui/conftest.py``
(``make_window``, ``settings``, the recovery folder, the leak check) into their own module, so both
folders share one definition and the engine tests here never start Qt.
"""
from __future__ import annotations

import functools
import os
from collections import Counter
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

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
