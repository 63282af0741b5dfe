"""Kill -9 a real MixGUI window mid-session: the next start offers the work of all but the last seconds.

A driver script starts the real main window (offscreen) in a subprocess, opens the demo study and
makes changes of three kinds (a measurement level, the model, a computed variable) as a user does,
printing a line after each. The test kills it with SIGKILL a few seconds after the last change (no
clean exit, no Python handler runs), then starts a window on the same recovery folder, restores
the offered copy and checks that every change is in it.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

DRIVER = textwrap.dedent('''
    import os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication
    from mixgui.data.computed import Center
    from mixgui.gui.main_window import MainWindow

    folder, ini = sys.argv[1], sys.argv[2]
    app = QApplication([])
    w = MainWindow(settings=QSettings(ini, QSettings.Format.IniFormat), recovery_folder=folder,
                   remember_layout=False, check_recovery=False, refit_delay_ms=3_600_000)  # no refits: edits only
    w.confirm_close = False
    w.show()
    w.open_example(fit=False)

    def step(k):
        if k == 0:
            w.set_level("visit", "ordinal")
        elif k == 1:
            w.builder.estimation_box.method_buttons["ML"].click()
        elif k == 2:
            w.documents.add_recipe(Center("age_c", "age"))
        else:
            print("done", flush=True)  # the test kills us from here on; the loop keeps running
            return
        print(f"changed {k}", flush=True)
        QTimer.singleShot(300, lambda: step(k + 1))

    QTimer.singleShot(0, lambda: step(0))
    print("ready", os.getpid(), flush=True)
    app.exec()
''')

#: at most this many seconds of work may be lost (the autosave's quiet time plus writing)
LOSS_S = 4.0


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_kill_9_mid_session_loses_at_most_the_last_seconds(make_window, qtbot, tmp_path):
    folder = tmp_path / "recovery"
    script = tmp_path / "driver.py"
    script.write_text(DRIVER, encoding="utf-8")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen([sys.executable, str(script), str(folder), str(tmp_path / "driver.ini")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, f"the driver ended early after {lines}"
            lines.append(line.strip())
            if line.strip() == "done":
                break
        assert lines[-1] == "done" and lines[0].startswith("ready")
        last_change = time.monotonic()
        # the moment of the kill: LOSS_S after the last change; its copy must already be on disk
        time.sleep(LOSS_S)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    killed_after = time.monotonic() - last_change
    assert killed_after < LOSS_S + 2.0

    w = make_window(recovery_folder=folder)  # the next start
    rec = w.recovery
    assert rec.offered is not None and rec.offered.name == f"recovery-{proc.pid}.mixgui"
    assert rec.banner.isVisible() and "did not close properly" in rec.banner.label.text()
    with qtbot.waitSignal(w.controller.finished, timeout=60_000):
        rec.banner.restore_button.click()
    assert w.dataset.levels["visit"] == "ordinal"
    assert w.model_panel.spec().method == "ML"
    assert "age_c" in w.dataset.columns and w.dataset.frame["age_c"].mean() == pytest.approx(0, abs=1e-9)
    assert w.is_dirty() and not rec.offered
