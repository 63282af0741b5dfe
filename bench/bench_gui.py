"""Does the window keep answering on a large study? The longest stall of the event loop, measured.

    QT_QPA_PLATFORM=offscreen python bench/bench_gui.py --rows 200000 --groups 50000

Generates a study (``patient``, ``time``, ``treat``, ``y``), opens it in the main window through an
analysis file, fits ``y ~ time * treat + (1 | patient)``, then shows the results and every plot tab
in turn, as a user clicking through them would. A 20 ms timer runs throughout; the longest gap
between two of its ticks, minus the 20 ms, is the stall: how long a click would wait for an answer.
The script prints the stall of each stage (opening, the fit in the worker, showing the result,
each plot tab) and, last, ``max stall X ms``.

With ``--cancel`` it also starts the fit again and presses Cancel at every stage the progress
reports (reading, fitting, tests, figures ...), checking each time that the window is idle again
within a second and says the fit was cancelled.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TICK_MS = 20


def make_study(folder: Path, rows: int, groups: int, seed: int = 1) -> Path:
    """A long-format study of ``groups`` patients with ``rows`` measurements in all; returns the analysis file."""
    rng = np.random.default_rng(seed)
    patient = np.sort(rng.integers(0, groups, rows))
    time_ = rng.integers(0, 6, rows).astype(float)
    treat = np.where(patient % 2 == 0, "control", "active")
    u = rng.normal(0, 2, groups)[patient]
    y = 10 + 0.5 * time_ + (treat == "active") * (0.3 * time_) + u + rng.normal(0, 1.5, rows)
    pd.DataFrame({"patient": patient + 1, "time": time_, "treat": treat, "y": y.round(3)}).to_csv(
        folder / "study.csv", index=False)
    analysis = {"format": "mixgui-analysis", "version": 2, "data": {"path": "study.csv"},
                "formula": "y ~ time * treat + (1 | patient)", "factors": ["patient"]}
    path = folder / "study.analysis.json"
    path.write_text(json.dumps(analysis), encoding="utf-8")
    return path


class StallMeter:
    """A 20 ms timer whose late ticks measure how long the event loop was busy."""

    def __init__(self):
        from PySide6.QtCore import QTimer
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.last = None
        self.last_cpu = None
        self.worst = 0.0
        self.worst_cpu = 0.0

    def start(self) -> None:
        self.last = time.perf_counter()
        self.last_cpu = time.thread_time()
        self.timer.start()

    def _tick(self) -> None:
        # thread_time is the window thread's own CPU: on a busy machine a stall is longer than the
        # work that caused it (the thread waits for a core), and the CPU figure tells the two apart
        now, cpu = time.perf_counter(), time.thread_time()
        stall = (now - self.last) * 1000 - TICK_MS
        if stall > self.worst:
            self.worst, self.worst_cpu = stall, (cpu - self.last_cpu) * 1000
        self.last, self.last_cpu = now, cpu

    def take(self) -> tuple[float, float]:
        """The worst stall since the last call and the window thread's CPU time in it (ms); start afresh."""
        worst, cpu = self.worst, self.worst_cpu
        self.worst, self.worst_cpu = 0.0, 0.0
        return max(worst, 0.0), cpu


def wait_until(app, condition, timeout_s: float) -> bool:
    end = time.perf_counter() + timeout_s
    while time.perf_counter() < end:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.005)
    return False


def settle(app, seconds: float) -> None:
    wait_until(app, lambda: False, seconds)


def run(rows: int, groups: int, cancel: bool, timeout_s: float) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from mixgui.gui.main_window import MainWindow
    from mixgui.gui.style import apply_style

    app = QApplication.instance() or QApplication(sys.argv)
    apply_style(app)
    folder = Path(tempfile.mkdtemp(prefix="mixgui_bench_gui_"))
    t0 = time.perf_counter()
    analysis = make_study(folder, rows, groups)
    print(f"study: {rows:,} rows, {groups:,} patients ({time.perf_counter() - t0:.1f} s to write); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (stalls grow with the load)")
    settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    window.resize(1400, 900)
    window.show()
    meter = StallMeter()
    meter.start()
    stalls, cpus = {}, {}

    def stage(name: str, seconds: float) -> None:
        stalls[name], cpus[name] = meter.take()
        print(f"  {name:<28} {seconds:7.2f} s   longest stall {stalls[name]:7.0f} ms  (its CPU {cpus[name]:4.0f} ms)")

    done = {"finished": 0}
    window.controller.finished.connect(lambda *_: done.__setitem__("finished", done["finished"] + 1))
    t = time.perf_counter()
    # as File > Open analysis does: the file and its data are read in a worker thread
    window.open_analysis(str(analysis), fit=True, background=True)
    if not wait_until(app, lambda: not window.documents.is_reading(), timeout_s) or window.dataset is None:
        print(f"the analysis could not be opened: {window.last_error}")
        return 2
    settle(app, 0.05)  # the timer's next tick measures the showing of the data
    stage("open the data", time.perf_counter() - t)
    t = time.perf_counter()
    fit_end = {}

    def fitted(_rev, fraction, _message) -> None:
        # the worker's last progress report is delivered just before its result: the fit stage
        # ends here, so the stall of showing the result is counted apart
        if fraction >= 1.0 and not fit_end:
            fit_end["t"] = time.perf_counter()
            stage("fit (in the worker)", fit_end["t"] - t)

    window.controller.progress.connect(fitted)
    if not wait_until(app, lambda: done["finished"] >= 1 and window.results_panel.result is not None, timeout_s):
        print(f"no result within {timeout_s:.0f} s")
        return 2
    window.controller.progress.disconnect(fitted)
    settle(app, 1.0)  # the results pane and the visible plot are drawn after the result arrives
    stage("show the results", time.perf_counter() - fit_end.get("t", t))
    plots = window.results_panel.plots
    for i in range(plots.count()):
        t = time.perf_counter()
        plots.setCurrentIndex(i)
        tab = plots.widget(i)
        # a tab's view is drawn when first shown: wait for it, then for it to be painted
        wait_until(app, lambda tab=tab: getattr(tab, "is_built", lambda: True)(), 30.0)
        settle(app, 0.3)
        stage(f"plot: {plots.tabText(i)[:26]}", time.perf_counter() - t)
    failures = []
    if cancel:
        failures = cancel_at_every_stage(app, window, meter, stage, timeout_s)
    worst = max(stalls, key=stalls.get)
    print(f"window thread's CPU in the longest stall: {cpus[worst]:.0f} ms; load average now "
          f"{os.getloadavg()[0]:.1f}")
    print(f"max stall {stalls[worst]:.0f} ms")
    window.controller.shutdown()
    window.close()
    if failures:
        print("Cancel failed at: " + ", ".join(failures))
        return 1
    return 0


def cancel_at_every_stage(app, window, meter, stage, timeout_s: float) -> list:
    """Refit and press Cancel once at each stage the progress names; returns the stages where it failed."""
    messages = []
    # the last report ("done", fraction 1) comes with the result itself: there is nothing left to cancel
    window.controller.progress.connect(lambda rev, f, m: messages.append(m) if f < 1.0 else None)
    t = time.perf_counter()
    window.fit()
    wait_until(app, lambda: not window.controller.is_running(), timeout_s)
    settle(app, 1.0)
    stage("refit (to learn the stages)", time.perf_counter() - t)
    stages = list(dict.fromkeys(m for m in messages if m))
    print(f"  stages reported: {', '.join(stages)}")
    failures = []
    for name in stages:
        messages.clear()
        t = time.perf_counter()
        window.fit()
        if not wait_until(app, lambda n=name: n in messages, timeout_s):
            continue  # this fit went faster than the stage: nothing to cancel there
        stage(f"refit until {name[:18]}", time.perf_counter() - t)
        t = time.perf_counter()
        window.status.cancel_button.click()
        idle = wait_until(app, lambda: not window.controller.is_running(), 5.0)
        said = "cancel" in window.status.text().lower()
        stage(f"cancel during {name[:15]}", time.perf_counter() - t)
        if not (idle and said):
            print(f"    not cancelled: idle {idle}, the status says {window.status.text()!r}")
            failures.append(name)
        settle(app, 0.3)
    return failures


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--groups", type=int, default=50_000)
    ap.add_argument("--cancel", action="store_true", help="also press Cancel at every stage of a fit")
    ap.add_argument("--timeout", type=float, default=600, help="seconds to wait for the fit")
    args = ap.parse_args(argv)
    return run(args.rows, args.groups, args.cancel, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
