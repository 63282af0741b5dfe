#!/usr/bin/env python3
"""Benchmark of the mixed-model engine against lme4, on the same data in the same run.

usage: python bench/bench_engine.py DATA_DIR [--insteval CSV] [--big] [--repeat N] [--threads N] [--no-r]
       python bench/bench_engine.py --make-data PATH/make_bench_data.py [...]

DATA_DIR holds long_100k.csv and crossed_30k.csv (and long_1m.csv with --big), as written by
make_bench_data.py; ``--make-data TOOL`` runs that tool into a temporary folder instead.
crossed_200k.csv (1,000 subjects x 500 items, 200 trials each) is written into DATA_DIR by this
script when missing (deterministic). InstEval is read from ``--insteval`` (default: the copy in
bench/data/insteval.csv).

Models (REML, as lmer's default):
  long_100k        y ~ time * treat + age + (time | patient)          100,000 rows, 20,000 patients
  insteval         y ~ service + (1 | s) + (1 | d) + (1 | dept)       73,421 ratings, crossed
  insteval_slopes  y ~ service + (service | d) + (1 | s)              crossed, a correlated random slope
  crossed_30k      rt ~ cond + (1 + cond | subj) + (1 + cond | item)   300 subjects x 150 items
  crossed_200k     rt ~ cond + (1 + cond | subj) + (1 + cond | item)   1,000 subjects x 500 items
  long_1m          y ~ time * treat + age + (1 | patient)             1,000,000 rows (--big)

Ours is the whole ``mixgui fit`` of an analysis file (its ``fit_seconds``: the fit, Satterthwaite
df, variance-component intervals, BLUPs, R2/ICC); lme4's is the ``lmer`` call alone. Each model
runs in its own subprocess, so its peak memory (ru_maxrss, data included) is its own. Reading the
data is outside the timing on both sides. Both wall time and CPU time are reported: on a shared
machine the CPU ratio is the steadier comparison. BLAS runs single-threaded (``--threads``), as
R's reference BLAS does here, so the ratio compares algorithms rather than core counts.

Targets: ours <= 0.1 x lme4's time on every model (CPU time over the fit_seconds span; the CPU
of the whole run, the design included, is shown beside it), our log-likelihood >= lme4's -
1e-3, peak memory under 2 GB, the variance-component intervals at most 20 % of the fit's CPU
(timed where the pipeline calls them; the derivatives they reuse from the fit are shown apart).
Exit status 1 when a target is missed.
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
DEFAULT_INSTEVAL = HERE / "data" / "insteval.csv"
RATIO_TARGET = 0.1
MEM_TARGET_MB = 2048
CI_SHARE_TARGET = 0.2  # the variance-component intervals' CPU, as a share of the fit's
CROSSED = "rt ~ cond + (1 + cond | subj) + (1 + cond | item)"
SPECS = {  # model -> (data file, formula, factors)
    "long_100k": ("long_100k.csv", "y ~ time * treat + age + (time | patient)", []),
    "long_1m": ("long_1m.csv", "y ~ time * treat + age + (1 | patient)", []),
    "insteval": (None, "y ~ service + (1 | s) + (1 | d) + (1 | dept)", ["service"]),
    "insteval_slopes": (None, "y ~ service + (service | d) + (1 | s)", ["service"]),
    "crossed_30k": ("crossed_30k.csv", CROSSED, []),
    "crossed_200k": ("crossed_200k.csv", CROSSED, []),
}


def make_crossed(path: Path, n_subj: int = 1000, n_item: int = 500, per: int = 200, seed: int = 11) -> None:
    """Write a crossed subjects x items design with correlated random slopes on both factors.

    Each subject sees ``per`` distinct items (40 % of the items at the defaults); cond is -0.5 / 0.5.
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    subj = np.repeat(np.arange(n_subj), per)
    item = np.concatenate([rng.choice(n_item, per, replace=False) for _ in range(n_subj)])
    cond = rng.integers(0, 2, len(subj)) - 0.5
    s = rng.multivariate_normal([0, 0], [[0.8, 0.2], [0.2, 0.3]], n_subj)
    i = rng.multivariate_normal([0, 0], [[0.5, -0.05], [-0.05, 0.15]], n_item)
    y = 6 + 0.3 * cond + s[subj, 0] + s[subj, 1] * cond + i[item, 0] + i[item, 1] * cond + rng.normal(0, 1, len(subj))
    pd.DataFrame({"rt": y.round(4), "cond": cond, "subj": [f"s{k}" for k in subj],
                  "item": [f"i{k}" for k in item]}).to_csv(path, index=False)


def worker(model: str, data_dir: Path, insteval: Path, repeat: int) -> None:
    """Run ``mixgui fit`` on one model (in a subprocess); print a JSON line with its figures."""
    import resource

    sys.path.insert(0, str(HERE.parent))
    import importlib

    from mixgui.analysis.spec import AnalysisSpec
    from mixgui.data.readers import read_table
    from mixgui.pipeline.run import run

    # the module, not the function `run` that mixgui.pipeline re-exports under the same name
    run_mod = importlib.import_module("mixgui.pipeline.run")
    # The design is built before fit_seconds starts: time its CPU apart, so that the CPU figure
    # can cover the same span as fit_seconds (and, separately, the whole run).
    design_cpu = [0.0]
    build = run_mod.build_design

    def timed_build(*a, **k):
        c = time.process_time()
        try:
            return build(*a, **k)
        finally:
            design_cpu[0] += time.process_time() - c

    run_mod.build_design = timed_build
    # The variance-component intervals, timed inside fit_seconds (wall and CPU) where the pipeline
    # calls them; and, apart, the deviance's derivatives in (theta, sigma) that they share with the
    # convergence check and the Satterthwaite df (formed once, wherever first asked for).
    spans = {"ci": [0.0, 0.0], "derivs": [0.0, 0.0]}

    def timed(key, fn):
        def wrapper(*a, **k):
            w, c = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **k)
            finally:
                spans[key][0] += time.perf_counter() - w
                spans[key][1] += time.process_time() - c
        return wrapper

    contract_mod = importlib.import_module("mixgui.pipeline.contract")
    contract_mod.variance_component_cis = timed("ci", contract_mod.variance_component_cis)
    for name in ("mixgui.engine.lmm.fit", "mixgui.engine.lmm.curvature"):
        mod = importlib.import_module(name)
        mod.derivatives_at = timed("derivs", mod.derivatives_at)

    fname, formula, factors = SPECS[model]
    path = insteval if fname is None else data_dir / fname
    dataset = read_table(path)
    spec = AnalysisSpec.from_dict({"data": {"path": str(path)}, "formula": formula, "method": "REML",
                                   "factors": factors})
    best, best_cpu, best_all, res = float("inf"), float("inf"), float("inf"), None
    ci = None
    for _ in range(repeat):
        design_cpu[0] = 0.0
        for v in spans.values():
            v[:] = [0.0, 0.0]
        c0 = time.process_time()
        res = run(spec, dataset, figures=False)  # as `mixgui fit` without --plots or --report
        total = time.process_time() - c0
        best_all = min(best_all, total)
        if total - design_cpu[0] < best_cpu:  # the intervals of the run whose CPU figure is kept
            ci = {"ci_wall": spans["ci"][0], "ci_cpu": spans["ci"][1], "derivs_cpu": spans["derivs"][1]}
        best_cpu = min(best_cpu, total - design_cpu[0])
        best = min(best, res.info.fit_seconds)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    print(json.dumps({"model": model, "seconds": best, "cpu": best_cpu, "cpu_all": best_all, "loglik": res.info.loglik,
                      "peak_mb": peak_mb, "nevals": res.fit.nevals, "converged": res.info.converged, **ci}))


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
        if len(parts) == 4:
            out[parts[0]] = {"seconds": float(parts[1]), "cpu": float(parts[2]), "loglik": float(parts[3])}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="?", help="folder with long_100k.csv and crossed_30k.csv (and long_1m.csv)")
    ap.add_argument("--make-data", help="path to make_bench_data.py: write the data into a temporary folder")
    ap.add_argument("--insteval", help="InstEval CSV (default: bench/data/insteval.csv)")
    ap.add_argument("--big", action="store_true", help="also the 1,000,000-row model")
    ap.add_argument("--models", help="comma-separated subset of the models")
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
    insteval = Path(args.insteval) if args.insteval else DEFAULT_INSTEVAL
    if args.worker:
        worker(args.worker, data_dir, insteval, args.repeat)
        return 0
    models = ["long_100k", "insteval", "insteval_slopes", "crossed_30k", "crossed_200k"] + (["long_1m"] if args.big else [])
    if args.models:
        models = [m for m in models if m in args.models.split(",")]
    # only when asked for: lme4 takes most of an hour on it, and bench_engine.R fits every file it finds
    if "crossed_200k" in models and not (data_dir / "crossed_200k.csv").exists():
        make_crossed(data_dir / "crossed_200k.csv")
    ours = run_ours(models, data_dir, insteval, args.repeat, args.threads)
    ref = {} if args.no_r else run_lme4(data_dir, insteval, args.big, args.repeat)
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)

    nan = float("nan")
    print("ours = mixgui fit's fit_seconds (fit, Satterthwaite df, VC intervals, BLUPs); lme4 = lmer(); "
          "wall and CPU seconds.\nours cpu: the fit_seconds span; +design: the whole run, building the design "
          "(lme4's model frame and Z, inside lmer) included\nintervals: the variance-component intervals' "
          "CPU / ours cpu (their wall seconds beside it); derivs: the deviance's derivatives in (theta, "
          "sigma), formed once in the fit and shared by the convergence check, the Satterthwaite df and "
          "the intervals, CPU / ours cpu")
    print(f"{'model':<15} {'ours':>7} {'lme4':>8} {'ratio':>6} {'ours cpu':>8} {'lme4 cpu':>8} {'ratio':>6} "
          f"{'+design':>7} {'ratio':>6} {'loglik ours':>15} {'loglik lme4':>15} {'peak MB':>7} "
          f"{'ci wall':>7} {'intervals':>9} {'derivs':>6}")
    failed = []
    for m in models:
        o, r = ours.get(m), ref.get(m)
        if o is None:
            failed.append(f"{m}: no result")
            continue
        r = r or {"seconds": nan, "cpu": nan, "loglik": nan}
        ratio, cratio = o["seconds"] / r["seconds"], o["cpu"] / r["cpu"]
        aratio = o["cpu_all"] / r["cpu"]
        ci_share, d_share = o["ci_cpu"] / o["cpu"], o["derivs_cpu"] / o["cpu"]
        print(f"{m:<15} {o['seconds']:7.2f} {r['seconds']:8.2f} {ratio:6.3f} {o['cpu']:8.2f} {r['cpu']:8.2f} "
              f"{cratio:6.3f} {o['cpu_all']:7.2f} {aratio:6.3f} {o['loglik']:15.4f} {r['loglik']:15.4f} "
              f"{o['peak_mb']:7.0f} {o['ci_wall']:7.3f} {ci_share:9.1%} {d_share:6.1%}")
        if ci_share > CI_SHARE_TARGET:
            failed.append(f"{m}: variance-component intervals take {ci_share:.1%} of the fit's CPU "
                          f"> {CI_SHARE_TARGET:.0%}")
        if cratio > RATIO_TARGET:
            failed.append(f"{m}: CPU time ratio {cratio:.3f} > {RATIO_TARGET}")
        if o["loglik"] < r["loglik"] - 1e-3:
            failed.append(f"{m}: loglik {o['loglik']:.4f} below lme4's {r['loglik']:.4f}")
        if o["peak_mb"] > MEM_TARGET_MB:
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
