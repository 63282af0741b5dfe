"""MMRM benchmark: our unstructured (UN) REML fit against nlme::gls on the same data, in one run.

usage: python bench/bench_mmrm.py [--data DIR] [--repeats N]

The data are mmrm_8k.csv from ``bench/make_data.py`` (2,000 patients x 4 visits 0, 3, 6, 9, 5% of
visits missing), written to a temporary folder unless ``--data`` names a folder (made there when missing).  Model:
y ~ factor(visit) * treat, unstructured covariance of the visits within patient, REML.
When Rscript is on the PATH, bench_mmrm.R fits the same model with
gls(..., correlation = corSymm(form = ~ pos | patient), weights = varIdent(form = ~ 1 | factor(visit)))
and reports the time of gls() alone.  Target (issue 17): ours <= 0.1 x nlme's time, loglik >= nlme's - 1e-3.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from make_data import ensure  # noqa: E402  (bench/make_data.py)

from mixgui.engine.repeated.fit import fit_repeated  # noqa: E402


def design(d: pd.DataFrame):
    """y, X (R's columns of y ~ factor(visit) * treat), subject codes, positions, T."""
    visits = np.sort(d["visit"].unique())
    pos = np.searchsorted(visits, d["visit"].to_numpy())
    trt = (d["treat"] == "treated").to_numpy(float)
    vis = [(pos == k).astype(float) for k in range(1, len(visits))]
    X = np.column_stack([np.ones(len(d))] + vis + [trt] + [v * trt for v in vis])
    names = (["(Intercept)"] + [f"factor(visit){v:g}" for v in visits[1:]] + ["treattreated"]
             + [f"factor(visit){v:g}:treattreated" for v in visits[1:]])
    subject = pd.factorize(d["patient"], sort=True)[0]
    return d["y"].to_numpy(float), X, subject, pos, len(visits), names, [f"{v:g}" for v in visits]


def ours(path: Path, repeats: int):
    d = pd.read_csv(path)
    y, X, subject, pos, T, names, labels = design(d)
    times, fit = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        fit = fit_repeated(y, X, subject, pos, T, "UN", reml=True, position_labels=labels, column_names=names)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), fit


def nlme(path: Path):
    if shutil.which("Rscript") is None:
        return None
    out = subprocess.run(["Rscript", str(Path(__file__).with_name("bench_mmrm.R")), str(path)],
                         capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        print("R failed:", out.stderr.strip().splitlines()[-1:], file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="folder holding mmrm_8k.csv (made when absent)")
    ap.add_argument("--repeats", type=int, default=5, help="our fit is timed this many times (median)")
    args = ap.parse_args(argv)
    folder = args.data or Path(tempfile.mkdtemp(prefix="mixgui_bench_"))
    path = ensure(folder, ["mmrm_8k.csv"]) / "mmrm_8k.csv"
    sec, fit = ours(path, args.repeats)
    r = nlme(path)
    print(f"MMRM benchmark: {path} ({fit.nobs} rows, {fit.n_subjects} patients, UN over {fit.n_positions} visits, REML)")
    print(f"{'engine':<18}{'seconds':>10}{'loglik':>20}")
    print(f"{'mixgui (median)':<18}{sec:>10.3f}{fit.loglik:>20.6f}")
    ok = fit.converged
    if r is not None:
        ratio = sec / r["seconds"]
        print(f"{'nlme::gls':<18}{r['seconds']:>10.3f}{r['loglik']:>20.6f}")
        print(f"ratio ours/nlme = {ratio:.3f} (target <= 0.1); loglik difference = {fit.loglik - r['loglik']:+.2e} "
              "(target >= -1e-3)")
        ok = ok and ratio <= 0.1 and fit.loglik >= r["loglik"] - 1e-3
    else:
        print("Rscript not found: nlme comparison skipped")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
