"""Make the demo study ``examples/square_study.xlsx`` (deterministic: fixed seed).

Mirrors the working example of a mixed-models primer: 64 patients in 9 clinics, treated vs control,
age at entry, and a SQUARE test score (0-20) at four visits T0, T3, T6, T9 (months). Clinics differ in
their average level, patients in their level and in how fast they change; treated patients improve
faster. Two sheets: ``long`` (one row per visit) and ``wide`` (T0..T9 as columns).

usage: python resources/make_demo.py [OUT.xlsx]
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261125


def make_demo() -> tuple:
    """Return the (long, wide) DataFrames of the demo study."""
    rng = np.random.default_rng(SEED)
    sizes = [8, 7, 7, 8, 6, 7, 7, 7, 7]  # 64 patients over 9 clinics
    clinic_effect = rng.normal(0, 1.2, len(sizes))
    rows, pid = [], 0
    for c, n in enumerate(sizes):
        for _ in range(n):
            pid += 1
            treated = rng.random() < 0.5
            age = int(np.clip(rng.normal(52, 11), 25, 80))
            u0, u1 = rng.multivariate_normal([0, 0], [[2.0, -0.05], [-0.05, 0.04]])
            for t in (0, 3, 6, 9):
                mu = (9.0 + clinic_effect[c] + u0 - 0.04 * (age - 52)
                      + (0.15 + u1) * t + (0.25 * t if treated else 0.0))
                score = int(np.clip(np.round(mu + rng.normal(0, 1.1)), 0, 20))
                rows.append({"clinic": f"C{c + 1}", "patient": pid, "treatment": "treated" if treated else "control",
                             "age": age, "time": t, "visit": f"T{t}", "score": score})
    long = pd.DataFrame(rows)
    wide = long.pivot(index=["clinic", "patient", "treatment", "age"], columns="visit", values="score")
    wide = wide[["T0", "T3", "T6", "T9"]].reset_index()
    wide.columns.name = None
    return long, wide


def main(out=None) -> Path:
    out = Path(out or Path(__file__).parent / "examples" / "square_study.xlsx")
    long, wide = make_demo()
    with pd.ExcelWriter(out, engine="openpyxl") as xw:
        long.to_excel(xw, sheet_name="long", index=False)
        wide.to_excel(xw, sheet_name="wide", index=False)
    return out


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else None))
