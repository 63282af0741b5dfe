"""Benchmark of small-sample inference against lmerTest and pbkrtest, in one run.

    python bench/bench_inference.py [DATA_DIR]

DATA_DIR holds long_100k.csv; without DATA_DIR (or when the file is missing there) bench/make_data.py
writes it (into a temporary folder when no DATA_DIR is given).
Times, on long_100k (y ~ time * treat + age + (time | patient)):
  ours: fit + Satterthwaite df (everything `mixgui fit` computes for that df method), and
        fit + Kenward-Roger;
  R:    lmerTest::lmer (which prepares Satterthwaite), and pbkrtest's Kenward-Roger through
        summary(m, ddf = "Kenward-Roger") with the fit excluded.
Prints the ratios the inference issue asks for: ours(fit + KR) / pbkrtest(KR) <= 0.5 and
ours(fit + Satterthwaite) / lmerTest(lmer) <= 0.25.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_data import ensure  # noqa: E402  (bench/make_data.py, beside this file)

FORMULA = "y ~ time * treat + age + (time | patient)"


def ours(frame: pd.DataFrame, df_method: str) -> tuple:
    from mixgui.analysis.spec import AnalysisSpec
    from mixgui.data.dataset import Dataset
    from mixgui.pipeline.run import run

    spec = AnalysisSpec.from_dict({"data": {"path": "long_100k.csv"}, "formula": FORMULA, "df_method": df_method})
    t0 = time.perf_counter()
    result = run(spec, Dataset(frame.copy(), name="long_100k"), figures=False)  # as `mixgui fit`
    wall = time.perf_counter() - t0
    return result.info.fit_seconds, wall, result.info.loglik


def main(argv: list) -> int:
    given = [a for a in argv[1:] if not a.startswith("--")]
    data_dir = Path(given[0]) if given else Path(tempfile.mkdtemp(prefix="mixgui_bench_"))
    path = ensure(data_dir, ["long_100k.csv"]) / "long_100k.csv"
    frame = pd.read_csv(path)
    rows = []
    sat_fit, sat_wall, ll = ours(frame, "satterthwaite")
    kr_fit, kr_wall, _ = ours(frame, "kenward-roger")
    print(f"ours  fit + Satterthwaite: {sat_fit:.2f} s   fit + Kenward-Roger: {kr_fit:.2f} s   loglik {ll:.4f}")
    if shutil.which("Rscript"):
        out = subprocess.run(["Rscript", str(HERE / "bench_inference.R"), str(path)], capture_output=True, text=True)
        line = [x for x in out.stdout.splitlines() if x.startswith("{")]
        if not line:
            print("R failed:", out.stderr.strip()[-500:])
            return 1
        r = json.loads(line[-1])
        print(f"R     lme4::lmer {r['lme4_seconds']:.2f} s   lmerTest::lmer {r['lmertest_seconds']:.2f} s   "
              f"pbkrtest KR (fit excluded) {r.get('pbkrtest_seconds')} s   loglik {r['loglik']:.4f}")
        rows.append(("fit + Satterthwaite vs lmerTest::lmer", sat_fit, r["lmertest_seconds"], 0.25))
        if r.get("pbkrtest_seconds"):
            rows.append(("fit + Kenward-Roger vs pbkrtest KR", kr_fit, r["pbkrtest_seconds"], 0.5))
        print(f"loglik difference (ours - lme4): {ll - r['loglik']:+.2e}")
        for name, a, b, target in rows:
            print(f"{name:42s} ratio {a / b:.3f} (target <= {target})  {'OK' if a / b <= target else 'MISSED'}")
    else:
        print("Rscript not found: R timings skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
