#!/usr/bin/env python3
"""Write the benchmark data sets into a folder: deterministic (fixed seeds), nothing downloaded.

  long_100k.csv   20,000 patients x 5 visits: y ~ time * treat + age + (time | patient)
  long_1m.csv     200,000 patients x 5 visits, the same model (memory and scale; only with --big)
  mmrm_8k.csv     2,000 patients x 4 visits (0, 3, 6, 9), 5% of visits missing: unstructured residuals
  crossed_30k.csv 300 subjects x 150 items, 100 trials each: rt ~ cond + (1 + cond | subj) + (1 + cond | item)
  binary_50k.csv  10,000 patients x 5 visits, 0/1 outcome: y ~ time * treat + age + (1 | patient), logistic

usage: python bench/make_data.py OUTDIR [--big] [NAME ...]   (NAME: only these files, e.g. mmrm_8k.csv)

The same kinds of data, with the same seeds and generating models, as the project's shared
make_bench_data.py, so timings stay comparable with earlier notes. The benches call
:func:`ensure` to write what they need into a temporary folder when no data folder is given.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd


def longitudinal(n_patients: int, n_visits: int, seed: int) -> pd.DataFrame:
    """Random intercept and slope over visits; treatment changes the slope."""
    rng = np.random.default_rng(seed)
    pid = np.repeat(np.arange(1, n_patients + 1), n_visits)
    time = np.tile(np.arange(n_visits, dtype=float), n_patients)
    treat = np.repeat(rng.integers(0, 2, n_patients), n_visits)
    age = np.repeat(rng.normal(60, 10, n_patients).round(1), n_visits)
    u0 = np.repeat(rng.normal(0, 2, n_patients), n_visits)
    u1 = np.repeat(rng.normal(0, 0.5, n_patients), n_visits)
    y = 10 + 0.5 * time + treat + 0.3 * time * treat + 0.05 * age + u0 + u1 * time + rng.normal(0, 1, len(time))
    return pd.DataFrame({"y": y.round(4), "time": time, "treat": np.where(treat == 1, "treated", "control"),
                         "age": age, "patient": pid})


def mmrm(n_patients: int, seed: int) -> pd.DataFrame:
    """Four visits with an unstructured residual covariance (rising variances), 5% of visits dropped."""
    rng = np.random.default_rng(seed)
    visits = np.array([0, 3, 6, 9])
    cov = np.array([[4, 2.5, 2, 1.5], [2.5, 5, 3, 2.5], [2, 3, 6, 3.5], [1.5, 2.5, 3.5, 7.0]])
    e = (rng.standard_normal((n_patients, 4)) @ np.linalg.cholesky(cov).T).ravel()
    pid = np.repeat(np.arange(1, n_patients + 1), 4)
    visit = np.tile(visits, n_patients)
    treat = np.repeat(rng.integers(0, 2, n_patients), 4)
    y = 10 + 0.2 * visit + 0.5 * treat + 0.1 * visit * treat + e
    d = pd.DataFrame({"y": y.round(4), "visit": visit, "treat": np.where(treat == 1, "treated", "control"),
                      "patient": pid})
    return d.drop(rng.choice(len(d), size=len(d) // 20, replace=False)).sort_index()


def crossed(n_subj: int, n_item: int, per: int, seed: int) -> pd.DataFrame:
    """Subjects crossed with items, a correlated random intercept and condition slope on each."""
    rng = np.random.default_rng(seed)
    subj = np.repeat(np.arange(n_subj), per)
    item = np.concatenate([rng.choice(n_item, per, replace=False) for _ in range(n_subj)])
    cond = rng.integers(0, 2, len(subj)) - 0.5
    s = rng.multivariate_normal([0, 0], [[0.8, 0.2], [0.2, 0.3]], n_subj)
    i = rng.multivariate_normal([0, 0], [[0.5, -0.05], [-0.05, 0.15]], n_item)
    y = 6 + 0.3 * cond + s[subj, 0] + s[subj, 1] * cond + i[item, 0] + i[item, 1] * cond + rng.normal(0, 1, len(subj))
    return pd.DataFrame({"rt": y.round(4), "cond": cond, "subj": [f"s{k}" for k in subj],
                         "item": [f"i{k}" for k in item]})


def binary(n_patients: int, n_visits: int, seed: int) -> pd.DataFrame:
    """The longitudinal layout with a 0/1 outcome from a logistic random-intercept model."""
    d = longitudinal(n_patients, n_visits, seed)
    rng = np.random.default_rng(seed + 100)
    u = np.repeat(rng.normal(0, 1.0, n_patients), n_visits)
    treated = d["treat"] == "treated"
    eta = -0.5 + 0.2 * d["time"] + 0.3 * treated - 0.2 * d["time"] * treated + u
    d["y"] = (rng.random(len(d)) < 1 / (1 + np.exp(-eta))).astype(int)
    return d


MAKERS = {
    "long_100k.csv": lambda: longitudinal(20_000, 5, 1),
    "mmrm_8k.csv": lambda: mmrm(2_000, 7),
    "crossed_30k.csv": lambda: crossed(300, 150, 100, 5),
    "binary_50k.csv": lambda: binary(10_000, 5, 9),
    "long_1m.csv": lambda: longitudinal(200_000, 5, 2),
}
DEFAULT = ["long_100k.csv", "mmrm_8k.csv", "crossed_30k.csv", "binary_50k.csv"]


def ensure(folder: Path, names) -> Path:
    """Write each of ``names`` into ``folder`` unless it is already there; return the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        if name not in MAKERS:
            raise SystemExit(f"unknown data set {name}; choose from {', '.join(MAKERS)}")
        if not (folder / name).exists():
            MAKERS[name]().to_csv(folder / name, index=False)
    return folder


def main(argv: list) -> int:
    args = [a for a in argv[1:] if not a.startswith("--")]
    if not args:
        print(__doc__)
        return 2
    names = args[1:] or DEFAULT + (["long_1m.csv"] if "--big" in argv else [])
    ensure(Path(args[0]), names)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
