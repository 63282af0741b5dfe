"""The lme4 reference cases and hand-built designs shared by the lmm tests."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from mixgui.engine.covmodel import RandomBlock
from mixgui.engine.lmm.fit import fit_lmm

REF = Path(__file__).resolve().parents[2] / "reference" / "lmm"


def factor(values):
    """Codes and levels with R's default order (numbers numerically, text alphabetically)."""
    values = pd.Series(values)
    levels = sorted(values.unique())
    codes = np.searchsorted(np.array(levels, dtype=object), values.to_numpy(dtype=object))
    return codes.astype(np.intp), [str(v) for v in levels]


def block(group, values, cols=None, names=("(Intercept)",)):
    codes, levels = factor(values)
    n = len(codes)
    Z = np.ones((n, 1)) if cols is None else np.column_stack([np.ones(n)] + list(cols)) \
        if names[0] == "(Intercept)" else np.column_stack(list(cols))
    return RandomBlock(group, codes, levels, np.asarray(Z, float), list(names))


def dummies(values, prefix):
    codes, levels = factor(values)
    return np.stack([(codes == k).astype(float) for k in range(1, len(levels))], axis=1), \
        [f"{prefix}{lv}" for lv in levels[1:]]


def read(name):
    return pd.read_csv(REF / name)


def case_design(name):
    """(y, X, column names, blocks, reml) for each reference case."""
    if name.startswith("sleepstudy"):
        d = read("sleepstudy.csv")
        X = np.column_stack([np.ones(len(d)), d.Days])
        if name.startswith("sleepstudy_ri"):
            blocks = [block("Subject", d.Subject)]
        elif name.startswith("sleepstudy_rs"):
            blocks = [block("Subject", d.Subject, [d.Days], ["(Intercept)", "Days"])]
        else:  # (Days || Subject)
            blocks = [block("Subject", d.Subject), block("Subject", d.Subject, [d.Days], ["Days"])]
        return d.Reaction.to_numpy(), X, ["(Intercept)", "Days"], blocks
    if name == "pastes_nested":
        d = read("pastes.csv")
        inner = d.cask + ":" + d.batch
        return d.strength.to_numpy(), np.ones((len(d), 1)), ["(Intercept)"], \
            [block("batch", d.batch), block("cask:batch", inner)]
    if name.startswith("penicillin"):
        d = read("penicillin.csv")
        return d.diameter.to_numpy(), np.ones((len(d), 1)), ["(Intercept)"], \
            [block("plate", d.plate), block("sample", d["sample"])]
    if name == "orthodont_cat":
        d = read("orthodont.csv")
        A, an = dummies(d.age, "factor(age)")
        S, sn = dummies(d.Sex, "Sex")
        inter = np.column_stack([A[:, j] * S[:, 0] for j in range(A.shape[1])])
        X = np.column_stack([np.ones(len(d)), A, S, inter])
        names = ["(Intercept)"] + an + sn + [f"{a}:{sn[0]}" for a in an]
        return d.distance.to_numpy(), X, names, [block("Subject", d.Subject)]
    if name.startswith("crossed_slope"):
        d = read("crossed_sim.csv")
        X = np.column_stack([np.ones(len(d)), d.x])
        if name == "crossed_slope_subj":
            blocks = [block("subj", d.subj, [d.x], ["(Intercept)", "x"]), block("item", d["item"])]
        else:
            blocks = [block("subj", d.subj), block("item", d["item"], [d.x], ["(Intercept)", "x"])]
        return d.y.to_numpy(), X, ["(Intercept)", "x"], blocks
    if name == "q3_slopes":
        d = read("q3_sim.csv")
        X = np.column_stack([np.ones(len(d)), d.x1, d.x2])
        return d.y.to_numpy(), X, ["(Intercept)", "x1", "x2"], \
            [block("g", d.g, [d.x1, d.x2], ["(Intercept)", "x1", "x2"])]
    if name == "singular_slope":
        d = read("singular_slope.csv")
        X = np.column_stack([np.ones(len(d)), d.x])
        return d.y.to_numpy(), X, ["(Intercept)", "x"], [block("clinic", d.clinic, [d.x], ["(Intercept)", "x"])]
    if name == "singular_sim":
        d = read("singular_sim.csv")
        return d.y.to_numpy(), np.column_stack([np.ones(len(d)), d.x]), ["(Intercept)", "x"], [block("grp", d.grp)]
    raise KeyError(name)


CASES = ["sleepstudy_ri", "sleepstudy_ri_ml", "sleepstudy_rs", "sleepstudy_rs_ml", "sleepstudy_uncorr",
         "pastes_nested", "penicillin_crossed", "penicillin_ml", "orthodont_cat", "crossed_slope_subj",
         "crossed_slope_item", "q3_slopes", "singular_sim", "singular_slope"]


_fits = {}


def fit_case(name):
    if name not in _fits:
        ref = json.loads((REF / f"{name}.json").read_text())
        y, X, names, blocks = case_design(name)
        _fits[name] = (fit_lmm(y, X, blocks, reml=ref["reml"], column_names=names), ref)
    return _fits[name]


def rel_close(got, want, rtol, scale=None):
    got, want = np.asarray(got, float), np.asarray(want, float)
    scale = np.abs(want) if scale is None else scale
    assert np.all(np.abs(got - want) <= rtol * np.maximum(scale, 1e-12)), (got, want)
