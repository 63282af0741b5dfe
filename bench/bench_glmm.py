"""Benchmark: logistic GLMM ``y ~ time * treat + age + (1 | patient)`` against lme4's glmer, in one run.

usage: python bench/bench_glmm.py DATA_DIR [--repeat N]

DATA_DIR holds binary_50k.csv (written by the project's make_bench_data tool); binary_100k.csv
(20,000 patients x 5 visits, the same recipe) is written there when missing. Both fits run in this
one invocation so the machine's load is shared; the figure that matters is the ratio.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FORMULA = "y ~ time * treat + age + (1 | patient)"
FILES = ("binary_50k.csv", "binary_100k.csv")


def make_binary(n_patients: int, n_visits: int, seed: int, path: Path) -> None:
    """The make_bench_data recipe for a binary outcome (its ``binary()``), at another size."""
    import numpy as np
    import pandas as pd
    rng = np.random.default_rng(seed)
    pid = np.repeat(np.arange(1, n_patients + 1), n_visits)
    t = np.tile(np.arange(n_visits, dtype=float), n_patients)
    treat = np.repeat(rng.integers(0, 2, n_patients), n_visits)
    age = np.repeat(rng.normal(60, 10, n_patients).round(1), n_visits)
    rng2 = np.random.default_rng(seed + 100)
    u = np.repeat(rng2.normal(0, 1.0, n_patients), n_visits)
    eta = -0.5 + 0.2 * t + 0.3 * treat - 0.2 * t * treat + u
    y = (rng2.random(len(t)) < 1 / (1 + np.exp(-eta))).astype(int)
    pd.DataFrame({"y": y, "time": t, "treat": np.where(treat == 1, "treated", "control"), "age": age,
                  "patient": pid}).to_csv(path, index=False)


def worker(path: str, repeat: int) -> None:
    import pandas as pd

    from mixgui.analysis.formula import parse_formula
    from mixgui.engine.design import build_design
    from mixgui.engine.glmm import fit_glmm
    frame = pd.read_csv(path)
    d = build_design(parse_formula(FORMULA), frame)
    best, fit = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        fit = fit_glmm(d.y, d.X, d.blocks, "binomial", "logit", column_names=d.column_names)
        best = min(best, time.perf_counter() - t0)
    print(json.dumps({"seconds": best, "loglik": fit.loglik, "nevals": fit.nevals, "converged": fit.converged,
                      "beta": list(map(float, fit.beta)), "se": list(map(float, fit.std_errors))}))


def main(argv) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    if argv[1] == "--worker":
        worker(argv[2], int(argv[3]))
        return 0
    data = Path(argv[1])
    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 1
    if not (data / "binary_100k.csv").exists():
        make_binary(20_000, 5, 9, data / "binary_100k.csv")
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")  # as the app does (mixgui.cli.limit_blas_threads)
    rows = []
    for name in FILES:
        path = data / name
        if not path.exists():
            print(f"{name}: missing in {data}; write it with the make_bench_data tool", file=sys.stderr)
            continue
        res = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", str(path), str(repeat)],
                             capture_output=True, text=True, env=env)
        ours = json.loads(res.stdout.strip().splitlines()[-1]) if res.returncode == 0 else None
        if ours is None:
            print(res.stderr, file=sys.stderr)
        r = None
        if shutil.which("Rscript"):
            rr = subprocess.run(["Rscript", str(HERE / "bench_glmm.R"), str(path), str(repeat)],
                                capture_output=True, text=True)
            line = [x for x in rr.stdout.splitlines() if x.startswith("{")]
            r = json.loads(line[-1]) if line else None
            if r is None:
                print(rr.stderr, file=sys.stderr)
        row = {"data": name, "ours_seconds": ours and ours["seconds"], "glmer_seconds": r and r["seconds"],
               "ours_loglik": ours and ours["loglik"], "glmer_loglik": r and r["loglik"]}
        if ours and r:
            row["ratio"] = ours["seconds"] / r["seconds"]
        rows.append(row)
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
