"""Command line: ``mixgui`` opens the window; ``mixgui fit ANALYSIS.json`` runs an analysis headless;
``mixgui compare A.json B.json ...`` fits several analyses of the same data and compares the models.

Neither command prints a traceback: bad input exits 2 with one line on standard error that
says what is wrong and how to fix it; a fit with statistical problems exits 0 and reports them in
the results file (``converged``, ``singular``, ``warnings``).
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback
import warnings
from pathlib import Path

from mixgui import __version__
from mixgui.errors import Cancelled, MixGUIError


def fit_command(argv: list) -> int:
    """Run ``mixgui fit``; returns the exit status."""
    ap = argparse.ArgumentParser(prog="mixgui fit", description="Fit an analysis file and write the results.")
    ap.add_argument("analysis", help="analysis file (.json)")
    ap.add_argument("--json", dest="json_out", help="write the results file here (default: standard output)")
    ap.add_argument("--report", help="also write a report: .xlsx, .docx, .html, .R, or a folder name for CSV files")
    ap.add_argument("--plots", help="also write every plot as a PNG file into this folder")
    args = ap.parse_args(argv)
    return _headless(_fit, args)


def compare_command(argv: list) -> int:
    """Run ``mixgui compare A.json B.json [...]``; returns the exit status."""
    ap = argparse.ArgumentParser(
        prog="mixgui compare", description="Fit two or more analysis files of the same data and compare the models "
        "with likelihood-ratio tests (R's anova); the table goes to standard output.")
    ap.add_argument("analyses", nargs="+", help="analysis files (.json), two or more")
    ap.add_argument("--json", dest="json_out", help="also write the comparison as JSON here")
    args = ap.parse_args(argv)
    return _headless(_compare, args)


def power_command(argv: list) -> int:
    """Run ``mixgui power DESIGN.json``; returns the exit status."""
    ap = argparse.ArgumentParser(prog="mixgui power", description="Plan a study: power by simulation.")
    ap.add_argument("design", help="design file (.json, format mixgui-design)")
    ap.add_argument("--json", dest="json_out", help="write the results here (default: standard output)")
    args = ap.parse_args(argv)
    return _headless(_power, args)


def _power(args) -> int:
    import json

    from mixgui.analysis.spec import atomic_write_text
    from mixgui.planning import plan_file
    from mixgui.results.result import json_value as _clean

    text = json.dumps(_clean(plan_file(args.design)), indent=2, ensure_ascii=False) + "\n"
    if args.json_out:
        atomic_write_text(args.json_out, text)
    else:
        sys.stdout.write(text)
    return 0


def _headless(run_fn, args) -> int:
    # Results and messages are UTF-8 whatever the console's code page (a piped stdout on Windows
    # is cp1252, which cannot write a column called "Δ" and would end in a traceback).
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="backslashreplace")
    with warnings.catch_warnings():
        # numpy's and scipy's numerical RuntimeWarnings (an overflow in a confidence bound, ...) would
        # print two lines of source on standard error of a run that succeeded; statistical trouble is
        # reported in the results file's "warnings" instead
        warnings.simplefilter("ignore", RuntimeWarning)
        return _guarded(run_fn, args)


def _load_and_run(path, cache: dict | None = None, figures: bool = False):
    """Read an analysis file and its data, check them, fit: (FitResult, data path).

    ``cache`` maps (data path, sheet) to a Dataset already read, so analyses of one file read it once;
    ``figures``: also compute the figures' data (for plots and reports).
    """
    import json

    from mixgui.analysis.spec import is_newer, load_spec
    from mixgui.data.importing import load_analysis_data
    from mixgui.pipeline.run import check_columns, run

    spec, data_path = load_spec(path)
    cache = {} if cache is None else cache
    # the table is rebuilt as the window made it: import options, reshape steps, computed variables
    d = spec.to_dict()
    # a newer MixGUI's file: its unknown import options are skipped with a warning, not refused
    newer = is_newer(json.loads(Path(path).read_text(encoding="utf-8-sig")))
    key = (str(data_path), json.dumps([d["data"], d.get("computed")], sort_keys=True, default=str))
    if key not in cache:
        cache[key] = load_analysis_data(data_path, d, newer=newer)
    dataset, made = cache[key]
    spec = spec.with_(skipped_keys=spec.skipped_keys + tuple(made["skipped_keys"]))
    check_columns(spec, dataset.columns, dataset.name)
    return run(spec, dataset, figures=figures), data_path


def _compare(args) -> int:
    import json

    from mixgui.analysis.spec import atomic_write_text
    from mixgui.pipeline.compare import compare_analyses
    from mixgui.results.result import json_value as _clean

    if len(args.analyses) < 2:
        raise MixGUIError("a comparison needs at least two analysis files, like: mixgui compare m0.json m1.json")
    cache: dict = {}
    results = [_load_and_run(a, cache)[0] for a in args.analyses]
    stems = [Path(a).stem for a in args.analyses]
    # labels name the files the user typed; the same name twice gets its position added
    labels = stems if len(set(stems)) == len(stems) else [f"{s} ({i + 1})" for i, s in enumerate(stems)]
    table, data = compare_analyses(results, labels)
    if args.json_out:
        atomic_write_text(args.json_out, json.dumps(_clean(data), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.write(table.to_text() + "\n")
    return 0


def _fit(args) -> int:
    from mixgui.analysis.spec import atomic_write_text

    result, data_path = _load_and_run(args.analysis, figures=bool(args.report or args.plots))
    text = result.to_json()
    if args.json_out:
        atomic_write_text(args.json_out, text + "\n")
    else:
        sys.stdout.write(text + "\n")
    pngs = _plots(result) if (args.report or args.plots) else {}
    if args.plots:
        from mixgui.fileio import atomic_write_bytes
        Path(args.plots).mkdir(parents=True, exist_ok=True)
        for key, (_title, png) in pngs.items():
            atomic_write_bytes(Path(args.plots) / f"{key}.png", png)
    if args.report:
        from mixgui.report import write_report
        write_report(result, args.report, data_path=data_path,
                     plots={title: png for title, png in pngs.values()})
    return 0


def _guarded(run_fn, args) -> int:
    """``run_fn(args)`` with every failure turned into one line on standard error and an exit status."""
    try:
        return run_fn(args)
    except MixGUIError as e:
        print(f"mixgui: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mixgui: interrupted", file=sys.stderr)
        return 130
    except Cancelled:
        print("mixgui: cancelled", file=sys.stderr)
        return 130
    except Exception as e:  # a bug of ours: one line for the user, the details in a crash file
        crash = Path.home() / ".mixgui-crash.txt"
        try:
            crash.write_text(traceback.format_exc())
            where = f" (details in {crash})"
        except OSError:
            where = ""
        print(f"mixgui: internal error: {type(e).__name__}: {e}{where}. Please report it.", file=sys.stderr)
        return 3


def limit_blas_threads() -> None:
    """Use one BLAS thread unless the user set a number.

    The engine's matrices are small or batched, so threads gain little; OpenBLAS threads that
    spin-wait next to the fit worker (or other programs) made a fit up to ten times slower on a
    busy two-core machine. Must run before numpy is first imported.
    """
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def _plots(result) -> dict:
    """The result's plots as PNG bytes; none (with a note) where Qt cannot start on this machine."""
    try:
        from mixgui.gui.plots.render import render_pngs
        return render_pngs(result)
    except ImportError as e:  # Qt's system libraries missing on a headless server
        print(f"mixgui: plots left out (Qt could not start: {e})", file=sys.stderr)
        return {}


def main(argv=None) -> int:
    """Entry point of the ``mixgui`` command."""
    limit_blas_threads()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "fit":
        return fit_command(argv[1:])
    if argv and argv[0] == "compare":
        return compare_command(argv[1:])
    if argv and argv[0] == "power":
        return power_command(argv[1:])
    ap = argparse.ArgumentParser(prog="mixgui", description="MixGUI: linear mixed models, point and click.",
                                 epilog="Headless use: mixgui fit ANALYSIS.json [--json OUT.json]; "
                                        "mixgui compare A.json B.json [--json OUT.json]")
    ap.add_argument("--version", action="version", version=f"MixGUI {__version__}")
    ap.add_argument("--demo", action="store_true", help="open the demo study with a ready analysis")
    ap.add_argument("--screenshot", help="with --demo: fit, save a screenshot of the window to this PNG and exit")
    ap.add_argument("file", nargs="?", help="a data file (.csv, .xlsx, .sav) or an analysis file (.json) to open")
    args = ap.parse_args(argv)
    from mixgui.gui.app import run_app
    return run_app(demo=args.demo, screenshot=args.screenshot, open_path=args.file)


if __name__ == "__main__":
    sys.exit(main())
