"""A 5,000,000-row CSV opened in a session and a random intercept fitted: time, peak memory, progress, Cancel.

Not a test (it takes minutes and ~1-3 GB): run it by hand, ideally under GNU time for a second
opinion on the peak resident memory::

    /usr/bin/time -v .venv/bin/python bench/bench_big_csv.py            # 5,000,000 rows
    .venv/bin/python bench/bench_big_csv.py --rows 500000 --subjects 5000

The data (``subject, y, x``; 50,000 subjects of 100 rows by default) are written to the system's
temporary folder (never into the repository) unless ``--csv`` names an existing file. The script
opens the file as the window does (:func:`mixgui.session.files.open_data`), fits
``y ~ x + (1 | subject)`` through :func:`mixgui.pipeline.run.run` with a
:class:`~mixgui.errors.Progress` that records every report (the longest gap between two reports,
in the design build and in the whole run, bounds how long Cancel can wait), then starts the same
fit again and presses Cancel at the first progress report, and again from a timer thread (as
the window's button does) a quarter, half and three quarters of the way through the design
build, timing how long the fit takes to stop each time. It prints one line per stage and the
peak resident memory of the process (``ru_maxrss``), and exits 1 when the peak reaches
``--limit-gb`` (4 by default), a fit does not stop, or one takes more than ``--max-stop`` seconds
(2 by default) to stop.

``--gaps S`` also lists every stretch longer than S seconds without a progress report, with the
reports on either side (``--gaps 0.5`` shows where Cancel would wait longer than half a second)::

    .venv/bin/python bench/bench_big_csv.py --csv /tmp/big.csv --gaps 0.5
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def peak_gb() -> float:
    """Peak resident memory of this process so far, in GB (Linux reports ru_maxrss in KB)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb * (1 if sys.platform != "darwin" else 1 / 1024) / 1024 ** 2


def write_csv(path: Path, rows: int, subjects: int, seed: int = 1) -> None:
    """``subject, y, x`` with a real random intercept (SD 2) and residual SD 1, in chunks (low memory)."""
    rng = np.random.default_rng(seed)
    u = rng.normal(0, 2.0, subjects)
    per = rows // subjects
    chunk_subjects = max(1, 200_000 // per)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("subject,y,x\n")
        for start in range(0, subjects, chunk_subjects):
            ids = np.repeat(np.arange(start, min(subjects, start + chunk_subjects)), per)
            x = rng.normal(0, 1, len(ids))
            y = 10 + 0.5 * x + u[ids] + rng.normal(0, 1, len(ids))
            lines = "\n".join(f"S{i},{a:.6f},{b:.6f}" for i, a, b in zip(ids, y, x))
            f.write(lines + "\n")


def cancel_once(run, spec, dataset, Progress, Cancelled, after):
    """Run the fit and press Cancel at the first report (``after`` None) or ``after`` seconds in.

    Returns (pressed at, seconds from the press to the stop, CPU seconds of this process in that
    time), or None when the fit finished. On a shared machine the CPU figure is the steadier one.
    """
    progress = Progress()
    pressed = []

    def press():
        if not pressed:
            pressed.append((time.perf_counter(), time.process_time()))
            progress.cancel()
    if after is None:
        progress._callback = lambda fraction, message: press()
    else:
        timer = threading.Timer(after, press)
    t = time.perf_counter()
    if after is not None:
        timer.start()
    try:
        run(spec, dataset, progress)
    except Cancelled:
        stop, cpu = time.perf_counter(), time.process_time()
        return pressed[0][0] - t, stop - pressed[0][0], cpu - pressed[0][1]
    finally:
        if after is not None:
            timer.cancel()
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--subjects", type=int, default=50_000)
    ap.add_argument("--csv", type=Path, default=None, help="an existing subject,y,x file (else one is written)")
    ap.add_argument("--limit-gb", type=float, default=4.0)
    ap.add_argument("--keep", action="store_true", help="keep the generated CSV")
    ap.add_argument("--max-stop", type=float, default=2.0, help="longest acceptable Cancel-to-stop time (s)")
    ap.add_argument("--gaps", type=float, default=None, metavar="S",
                    help="list every gap of more than S seconds between two progress reports")
    args = ap.parse_args(argv)

    from mixgui.analysis.spec import AnalysisSpec
    from mixgui.errors import Cancelled, Progress
    from mixgui.pipeline.run import run
    from mixgui.session import files
    from mixgui.session.document import Session

    csv = args.csv or Path(tempfile.gettempdir()) / f"mixgui_big_{args.rows}.csv"
    t = time.perf_counter()
    if not csv.exists():
        write_csv(csv, args.rows, args.subjects)
        print(f"wrote {csv} ({csv.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s", flush=True)
    print(f"start: peak RSS {peak_gb():.2f} GB", flush=True)

    t = time.perf_counter()
    session = Session()
    files.open_data(session, csv)
    frame = session.dataset.frame
    print(f"open: {len(frame):,} rows in {time.perf_counter() - t:.1f} s; table {frame.memory_usage(deep=True).sum() / 1e9:.2f} GB "
          f"({', '.join(f'{c}:{frame[c].dtype}' for c in frame.columns)}); peak RSS {peak_gb():.2f} GB", flush=True)

    spec = AnalysisSpec(formula="y ~ x + (1 | subject)", df_method="satterthwaite")
    reports = []
    t = time.perf_counter()
    c = time.process_time()
    result = run(spec, session.dataset, Progress(
        lambda f, m: reports.append((time.perf_counter() - t, f, m, time.process_time() - c))))
    fit_s, fit_cpu = time.perf_counter() - t, time.process_time() - c
    fe = {r["term"]: r for r in result.data["fixed_effects"]}
    vc = result.data["variance_components"]
    gaps = np.diff([0.0] + [r[0] for r in reports] + [fit_s])
    built = next((r[0] for r in reports if r[1] is not None and r[1] >= 0.05), fit_s)
    design_gaps = np.diff([0.0] + [r[0] for r in reports if r[0] <= built])
    cpu_gaps = np.diff([0.0] + [r[3] for r in reports] + [fit_cpu])
    design_cpu_gaps = np.diff([0.0] + [r[3] for r in reports if r[0] <= built])
    worst = reports[int(np.argmax(cpu_gaps[:-1]))][2] if len(reports) and cpu_gaps[:-1].max() >= cpu_gaps[-1] else "done"
    print(f"fit: {fit_s:.1f} s (design {built:.1f} s), {fit_cpu:.1f} s CPU; {len(reports)} progress reports, longest "
          f"gap {gaps.max():.2f} s, {cpu_gaps.max():.2f} s CPU, before \"{worst}\" (in the design build "
          f"{design_gaps.max():.2f} s, {design_cpu_gaps.max():.2f} s CPU); "
          f"x = {fe['x']['estimate']:.4f} (SE {fe['x']['std_error']:.4f}, df {fe['x']['df']:.0f}); "
          f"SD(subject) = {vc[0]['sdcor']:.3f}, SD(residual) = {vc[-1]['sdcor']:.3f}; peak RSS {peak_gb():.2f} GB",
          flush=True)

    if args.gaps is not None:
        marks = [(0.0, None, "start", 0.0)] + reports + [(fit_s, 1.0, "end", fit_cpu)]
        for a, b in zip(marks[:-1], marks[1:]):
            if b[0] - a[0] > args.gaps:
                print(f"  gap {b[0] - a[0]:5.2f} s ({b[3] - a[3]:.2f} s CPU) at {a[0]:6.2f} s, from \"{a[2]}\" "
                      f"({a[1] if a[1] is None else round(a[1], 3)}) to \"{b[2]}\" "
                      f"({b[1] if b[1] is None else round(b[1], 3)})", flush=True)
        first = next((i for i, m in enumerate(marks) if m[1] is not None and m[1] >= 0.6), len(marks) - 1)
        late = np.diff([m[0] for m in marks[first:]]) if first < len(marks) - 1 else np.zeros(1)
        print(f"  longest gap from \"fitted; computing tests\" to the end (tests, equations, tables, figures): "
              f"{max(late):.2f} s", flush=True)

    stops = []
    for share in (None, 0.25, 0.5, 0.75):
        stop = cancel_once(run, spec, session.dataset, Progress, Cancelled, None if share is None else share * built)
        when = "at the first report" if share is None else f"{share:.0%} into the design build"
        if stop is None:
            print(f"cancel {when}: the fit did NOT stop", flush=True)
        else:
            print(f"cancel {when}: pressed {stop[0]:.2f} s after the start, stopped {stop[1]:.2f} s later "
                  f"({stop[2]:.2f} s CPU)", flush=True)
        stops.append(stop)
    cancelled = all(st is not None and st[1] <= args.max_stop for st in stops)
    peak = peak_gb()
    print(f"peak RSS {peak:.2f} GB (limit {args.limit_gb:g} GB)", flush=True)
    if args.csv is None and not args.keep:
        os.unlink(csv)
    return 0 if peak < args.limit_gb and cancelled else 1


if __name__ == "__main__":
    sys.exit(main())
