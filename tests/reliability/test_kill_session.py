"""Kill -9 a Qt-free session mid-work: the recovery copy holds everything but the last seconds.

``tests/gui/test_kill_recovery.py`` does this with the real window. Here the document layer alone:
a subprocess opens a CSV in a :class:`~mixgui.session.document.Session`, edits it every 0.2 s
(the analysis's title says which edit it is) and, like the window's recovery manager, runs an
:class:`~mixgui.session.project.Autosaver` in a worker thread that writes a copy at most once per
``INTERVAL`` s while there are changes. The test kills it with SIGKILL at a moment it did not
announce, then finds the copy as the next start would and checks that every edit made more than
``LOSS_S`` seconds before the kill is in it.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mixgui.session import files
from mixgui.session.document import Session
from mixgui.session.project import find_recovery, load_project

INTERVAL = 1.0
LOSS_S = INTERVAL + 1.5  # the interval, plus writing the copy (zip + fsync) on a loaded machine

DRIVER = textwrap.dedent('''
    import sys, threading, time
    from mixgui.session import files
    from mixgui.session.document import Session
    from mixgui.session.project import Autosaver

    csv, folder, interval = sys.argv[1], sys.argv[2], float(sys.argv[3])
    s = Session()
    files.open_data(s, csv)
    lock = threading.Lock()
    saver = Autosaver(folder, lambda: files.to_project(s, include_original=False), interval=interval)
    s.subscribe(lambda event, index: saver.mark_dirty())

    def autosave():  # the recovery manager's worker: a copy at most once per interval
        while True:
            with lock:
                copy = saver.prepare() if saver.dirty and (saver.last_save is None or
                                                          time.monotonic() - saver.last_save >= interval) else None
            if copy is not None:
                saver.write(copy)
                saver.last_save = time.monotonic()
            time.sleep(0.05)
    threading.Thread(target=autosave, daemon=True).start()
    print("ready", flush=True)
    k = 0
    while True:
        k += 1
        with lock:
            s.edit_analysis(spec=s.current_analysis.spec.with_(formula="Reaction ~ Days + (1 | Subject)",
                                                               title=f"edit {k}"), text=f"edit {k}")
        print(k, flush=True)
        time.sleep(0.2)
''')


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
@pytest.mark.parametrize("after", [3.0, 4.7])
def test_kill_9_loses_at_most_the_last_seconds(tmp_path, after):
    csv = tmp_path / "sleep.csv"
    csv.write_bytes((Path(__file__).resolve().parents[1] / "reference" / "cli" / "sleepstudy.csv").read_bytes())
    folder = tmp_path / "recovery"
    script = tmp_path / "driver.py"
    script.write_text(DRIVER, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script), str(csv), str(folder), str(INTERVAL)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    made = {}  # edit number -> when the driver said it was done
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        start = time.monotonic()
        while time.monotonic() - start < after:  # kill at a moment the driver does not know
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            made[int(line)] = time.monotonic()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        killed = time.monotonic()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    offered = find_recovery(folder)  # the next start: the dead session's copy
    assert offered is not None and offered.name == f"recovery-{proc.pid}.mixgui"
    project = load_project(offered)
    kept = int(project.analyses[0].title.split()[-1])
    must = max(k for k, when in made.items() if when <= killed - LOSS_S)
    assert kept >= must, f"edit {kept} recovered; edit {must} was made {killed - made[must]:.1f} s before the kill"
    restored = Session()
    files.apply_project(restored, project)
    assert restored.current_analysis.spec.formula == "Reaction ~ Days + (1 | Subject)"
    assert len(restored.dataset.frame) == 180
