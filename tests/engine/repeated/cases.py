"""Data, references and an independent dense likelihood shared by the repeated-measures tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import block_diag

from mixgui.engine.covmodel import RandomBlock
from mixgui.engine.repeated.fit import fit_repeated

HERE = Path(__file__).resolve().parents[2] / "reference" / "repeated"


LABELS = ["8", "10", "12", "14"]


TOL_LL, TOL_EST, TOL_SE, TOL_COV = 1e-3, 1e-4, 2e-3, 5e-3


def orthodont(missing=False):
    d = pd.read_csv(HERE / ("orthodont_missing.csv" if missing else "orthodont_long.csv"))
    X = np.column_stack([np.ones(len(d)), d.agef == 10, d.agef == 12, d.agef == 14, d.Sex == "Female"]).astype(float)
    levels = sorted(d.Subject.unique())
    subject = np.searchsorted(levels, d.Subject.to_numpy())
    position = np.searchsorted([8, 10, 12, 14], d.age.to_numpy())
    return d, X, subject, position, levels


def blocks_for(d, subject, levels, kind):
    if kind == "ri":
        return [RandomBlock("Subject", subject, levels, np.ones((len(d), 1)), ["(Intercept)"])]
    if kind == "rs":
        return [RandomBlock("Subject", subject, levels, np.column_stack([np.ones(len(d)), d.agen]),
                            ["(Intercept)", "agen"])]
    return []


def fit_case(structure, missing=False, reml=True, re=None, **kw):
    d, X, subject, position, levels = orthodont(missing)
    return fit_repeated(d.distance.to_numpy(), X, subject, position, 4, structure, reml=reml,
                        blocks=blocks_for(d, subject, levels, re), position_labels=LABELS,
                        subject_labels=levels, **kw)


def check_against(fit, ref, se_factor=1.0):
    assert fit.converged
    assert fit.loglik == pytest.approx(ref["loglik"], abs=TOL_LL)
    assert fit.aic == pytest.approx(ref["aic"], abs=TOL_LL)
    assert fit.bic == pytest.approx(ref["bic"], abs=TOL_LL)
    est = [r["estimate"] for r in ref["fixed_effects"]]
    se = [r["std_error"] for r in ref["fixed_effects"]]
    assert fit.beta == pytest.approx(est, rel=TOL_EST, abs=1e-8)
    assert fit.std_errors * se_factor == pytest.approx(se, rel=TOL_SE)
    assert fit.marginal_covariance == pytest.approx(np.array(ref["marginal_covariance"]), rel=TOL_COV)
    assert fit.sigma == pytest.approx(ref["sigma"], rel=TOL_SE)


def dense_deviance(y, X, subject, position, T, R, blocks, Gs, reml):
    """-2 loglik by building each subject's V densely and stacking (no padding, no patterns)."""
    Vs, order = [], []
    for s in np.unique(subject):
        rows = np.nonzero(subject == s)[0]
        ix = position[rows]
        V = R[np.ix_(ix, ix)].copy()
        for b, G in zip(blocks, Gs):
            Z = b.Z[rows]
            same = b.codes[rows][:, None] == b.codes[rows][None, :]
            V += np.where(same, Z @ G @ Z.T, 0.0)
        Vs.append(V)
        order.extend(rows)
    order = np.array(order)
    V = block_diag(*Vs)
    yo, Xo = y[order], X[order]
    Vi = np.linalg.inv(V)
    A = Xo.T @ Vi @ Xo
    beta = np.linalg.solve(A, Xo.T @ Vi @ yo)
    r = yo - Xo @ beta
    N, p = X.shape
    dev = np.linalg.slogdet(V)[1] + r @ Vi @ r + (N - p if reml else N) * np.log(2 * np.pi)
    return dev + (np.linalg.slogdet(A)[1] if reml else 0.0)


def simulated(seed=3, S=40, T=5, nested=False):
    rng = np.random.default_rng(seed)
    subject = np.repeat(np.arange(S), T)
    position = np.tile(np.arange(T), S)
    keep = rng.random(S * T) > 0.25
    subject, position = subject[keep], position[keep]
    n = len(subject)
    X = np.column_stack([np.ones(n), position, rng.normal(size=n)])
    y = X @ [1.0, 0.5, -0.3] + rng.normal(size=S)[subject] + rng.normal(size=n)
    blocks = [RandomBlock("s", subject, [str(i) for i in range(S)], np.column_stack([np.ones(n), position]),
                          ["(Intercept)", "t"])]
    if nested:  # two levels per subject: (1 | s:half)
        codes = subject * 2 + (position >= T // 2)
        blocks.append(RandomBlock("s:half", codes, [str(i) for i in range(2 * S)], np.ones((n, 1)),
                                  ["(Intercept)"]))
    return y, X, subject, position, T, blocks
