#!/usr/bin/env python3
"""Benchmark of the mixed-model engine against lme4, on the same data in the same run.

usage: python bench/bench_engine.py [DATA_DIR] [--make-data TOOL] [--insteval CSV] [--big]
                                    [--repeat N] [--threads N] [--no-r]

DATA_DIR holds long_100k.csv (and long_1m.csv with --big), as written by
/work/shared/tools/make_bench_data.py; without DATA_DIR, ``--make-data TOOL`` runs that tool into
a temporary folder. InstEval is read from ``--insteval`` (default: DATA_DIR/insteval.csv, else
the shared reference copy).

Models (REML, as lmer's default):
  long_100k  y ~ time * treat + age + (time | patient)         100,000 rows, 20,000 patients
  insteval   y ~ service + (1 | s) + (1 | d) + (1 | dept)      73,421 ratings, crossed
  insteval_slopes  y ~ service + (service | d) + (1 | s)      crossed, with a correlated random slope
  long_1m    y ~ time * treat + age + (1 | patient)            1,000,000 rows (--big)

Each model is fitted in its own subprocess, so its peak memory (ru_maxrss, data included) is
its own. Only the call to ``fit_lmm`` is timed (best of ``--repeat``); reading the data and
building the design are outside the timing, as in bench_engine.R, which times ``lmer`` alone.
BLAS runs single-threaded by default (``--threads``), as R's reference BLAS does here, so the
ratio compares algorithms rather than core counts and is not upset by other load on the machine.

Targets: ours <= 0.25 x lme4's time on long_100k, insteval and insteval_slopes, our log-likelihood >= lme4's - 1e-3,
long_1m under 2 GB peak. Exit status 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED_INSTEVAL = Path("/work/shared/reference/data/insteval.csv")
RATIO_TARGET = 0.25
MEM_TARGET_MB = 2048


def _design(model: str, data_dir: Path, insteval: Path):
    """(y, X, column names, blocks) for one benchmark model, built as lme4 would."""
    import numpy as np
    import pandas as pd

    from mixgui.engine.covmodel import RandomBlock

    def factor(values):
        codes, levels = pd.factorize(pd.Series(values), sort=True)
        return codes.astype(np.intp), [str(v) for v in levels]

    if model in ("long_100k", "long_1m"):
        d = pd.read_csv(data_dir / f"{model}.csv")
        t = d["time"].to_numpy(float)
        tr = (d["treat"] == "treated").to_numpy(float)
        n = len(d)
        X = np.column_stack([np.ones(n), t, tr, d["age"].to_numpy(float), t * tr])
        names = ["(Intercept)", "time", "treattreated", "age", "time:treattreated"]
        codes, levels = factor(d["patient"])
        if model == "long_100k":
            blocks = [RandomBlock("patient", codes, levels, np.column_stack([np.ones(n), t]), ["(Intercept)", "time"])]
        else:
            blocks = [RandomBlock("patient", codes, levels, np.ones((n, 1)), ["(Intercept)"])]
        return d["y"].to_numpy(float), X, names, blocks
    d = pd.read_csv(insteval)
    n = len(d)
    service = (d["service"].astype(str) == "1").to_numpy(float)
    X = np.column_stack([np.ones(n), service])
    if model == "insteval_slopes":  # crossed, with a correlated random slope on the second factor
        blocks = [RandomBlock("d", *factor(d["d"].astype(str)), X.copy(), ["(Intercept)", "service1"]),
                  RandomBlock("s", *factor(d["s"].astype(str)), np.ones((n, 1)), ["(Intercept)"])]
    else:
        blocks = [RandomBlock(g, *factor(d[g].astype(str)), np.ones((n, 1)), ["(Intercept)"])
                  for g in ("s", "d", "dept")]
    return d["y"].to_numpy(float), X, ["(Intercept)", "service1"], blocks


def worker(model: str, data_dir: Path, insteval: Path, repeat: int) -> None:
    """Fit one model (in a subprocess) and print a JSON line with time, loglik and peak memory."""
    import resource

    sys.path.insert(0, str(HERE.parent))
    from mixgui.engine.lmm.fit import fit_lmm

    y, X, names, blocks = _design(model, data_dir, insteval)
    best, fit = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        fit = fit_lmm(y, X, blocks, reml=True, column_names=names)
        best = min(best, time.perf_counter() - t0)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    print(json.dumps({"model": model, "seconds": best, "loglik": fit.loglik, "peak_mb": peak_mb,
                      "nevals": fit.nevals, "converged": fit.converged}))


def run_ours(models, data_dir, insteval, repeat, threads):
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    out = {}
    for model in models:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", model, str(data_dir),
               "--insteval", str(insteval), "--repeat", str(repeat)]
        res = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if res.returncode != 0:
            print(f"{model}: our fit failed\n{res.stderr}", file=sys.stderr)
            continue
        out[model] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


def run_lme4(data_dir, insteval, big, repeat):
    if shutil.which("Rscript") is None:
        return {}
    cmd = ["Rscript", str(HERE / "bench_engine.R"), str(data_dir), str(insteval), str(repeat)] + (["--big"] if big else [])
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        print(f"lme4 run failed:\n{res.stderr}", file=sys.stderr)
    out = {}
    for line in res.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            out[parts[0]] = {"seconds": float(parts[1]), "loglik": float(parts[2])}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="?", help="folder with long_100k.csv (and long_1m.csv)")
    ap.add_argument("--make-data", help="path to make_bench_data.py: write the data into a temporary folder")
    ap.add_argument("--insteval", help="InstEval CSV (default: DATA/insteval.csv, else the shared copy)")
    ap.add_argument("--big", action="store_true", help="also the 1,000,000-row model")
    ap.add_argument("--repeat", type=int, default=1, help="time the best of N fits (both sides)")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads for our fits (default 1)")
    ap.add_argument("--no-r", action="store_true", help="skip lme4")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    tmp = None
    if args.data:
        data_dir = Path(args.data)
    elif args.make_data:
        tmp = tempfile.mkdtemp(prefix="mixgui_bench_")
        data_dir = Path(tmp)
        subprocess.run([sys.executable, args.make_data, str(data_dir)] + (["--big"] if args.big else []), check=True)
    else:
        ap.error("give a data folder or --make-data PATH_TO_make_bench_data.py")
    insteval = Path(args.insteval) if args.insteval else (
        data_dir / "insteval.csv" if (data_dir / "insteval.csv").exists() else SHARED_INSTEVAL)
    if args.worker:
        worker(args.worker, data_dir, insteval, args.repeat)
        return 0

    models = ["long_100k", "insteval", "insteval_slopes"] + (["long_1m"] if args.big else [])
    ours = run_ours(models, data_dir, insteval, args.repeat, args.threads)
    ref = {} if args.no_r else run_lme4(data_dir, insteval, args.big, args.repeat)
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"{'model':<15} {'ours s':>8} {'lme4 s':>8} {'ratio':>6} {'our loglik':>16} {'lme4 loglik':>16} "
          f"{'peak MB':>8} {'evals':>5}")
    failed = []
    for m in models:
        o, r = ours.get(m), ref.get(m)
        if o is None:
            failed.append(f"{m}: no result")
            continue
        ratio = o["seconds"] / r["seconds"] if r else float("nan")
        print(f"{m:<15} {o['seconds']:8.2f} {r['seconds'] if r else float('nan'):8.2f} {ratio:6.3f} "
              f"{o['loglik']:16.4f} {r['loglik'] if r else float('nan'):16.4f} {o['peak_mb']:8.0f} {o['nevals']:5d}")
        if r and m in ("long_100k", "insteval", "insteval_slopes") and ratio > RATIO_TARGET:
            failed.append(f"{m}: time ratio {ratio:.3f} > {RATIO_TARGET}")
        if r and o["loglik"] < r["loglik"] - 1e-3:
            failed.append(f"{m}: loglik {o['loglik']:.4f} below lme4's {r['loglik']:.4f}")
        if m == "long_1m" and o["peak_mb"] > MEM_TARGET_MB:
            failed.append(f"{m}: peak memory {o['peak_mb']:.0f} MB > {MEM_TARGET_MB} MB")
        if not o["converged"]:
            failed.append(f"{m}: did not converge")
    if not ref and not args.no_r:
        print("(Rscript not found: lme4 columns empty)")
    for f in failed:
        print("MISSED:", f)
    if not failed:
        print("all targets met")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
