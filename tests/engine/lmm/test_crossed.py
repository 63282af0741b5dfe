"""Crossed random effects with random slopes on both factors: the two ways of forming the first
term's update of the factor (sparse pair pattern, dense BLAS products, whole or in chunks) give
the same deviance and gradient, the analytic gradient matches finite differences, and the
derivatives behind the Satterthwaite df and the variance-component intervals (from the analytic
gradient) match numDeriv-style Richardson derivatives of the deviance and of vcov(beta).

Tolerances: the same model evaluated by different but exact algorithms agrees to rounding
(1e-9 relative on a deviance of ~1e3); finite-difference gradients carry O(h^2) truncation and
rounding of ~1e-6 relative; the Richardson Hessian is accurate to ~1e-7 relative and the
gradient-differenced one to ~1e-8, so 1e-5 relative is a safe bound that still catches any
missing term (those change the Hessian at the 1e-2 level or more).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.engine.covmodel import RandomBlock
from mixgui.engine.inference.satterthwaite import Satterthwaite
from mixgui.engine.lmm import blocks as blocks_mod
from mixgui.engine.lmm import curvature as lmm_curvature
from mixgui.engine.lmm import dense_cross
from mixgui.engine.lmm import fit as lmm_fit
from mixgui.engine.lmm import result as lmm_result
from mixgui.engine.lmm.fit import fit_lmm
from mixgui.engine.lmm.grad import deviance_and_gradient, gradient_pieces
from mixgui.engine.numerics import richardson_hessian, richardson_jacobian

REF = Path(__file__).resolve().parents[2] / "reference" / "lmm"


def _factor(values):
    codes, levels = pd.factorize(pd.Series(values), sort=True)
    return codes.astype(np.intp), [str(v) for v in levels]


def crossed_design(n_subj=40, n_item=24, per=12, seed=3):
    """Subjects x items, each subject sees ``per`` items; correlated slopes on both factors."""
    rng = np.random.default_rng(seed)
    subj = np.repeat(np.arange(n_subj), per)
    item = np.concatenate([rng.choice(n_item, per, replace=False) for _ in range(n_subj)])
    cond = rng.integers(0, 2, len(subj)) - 0.5
    s = rng.multivariate_normal([0, 0], [[0.8, 0.2], [0.2, 0.3]], n_subj)
    i = rng.multivariate_normal([0, 0], [[0.5, -0.05], [-0.05, 0.15]], n_item)
    y = 6 + 0.3 * cond + s[subj, 0] + s[subj, 1] * cond + i[item, 0] + i[item, 1] * cond + rng.normal(0, 1, len(subj))
    X = np.column_stack([np.ones(len(y)), cond])
    blocks = [RandomBlock("subj", *_factor(subj), X.copy(), ["(Intercept)", "cond"]),
              RandomBlock("item", *_factor(item), X.copy(), ["(Intercept)", "cond"])]
    return y, X, blocks


def _fit(monkeypatch, mode, reml=True, design=None):
    """Fit with the first term's update forced to 'pattern', 'dense' or 'chunks'."""
    monkeypatch.setattr(blocks_mod, "DENSE_PER_PAIR", 1e9 if mode == "pattern" else 0.0)
    if mode == "chunks":  # a few levels per chunk: no dense copy of Bz kept
        monkeypatch.setattr(dense_cross, "CHUNK_BYTES", 8 * 24 * 2 * 7)
    y, X, blocks = design or crossed_design()
    fit = fit_lmm(y, X, blocks, reml=reml)
    pb = fit._problem
    assert (pb.pattern is not None) == (mode == "pattern")
    if mode == "chunks":
        assert pb.dense._whole is None and len(pb.dense.bounds) > 1
    return fit


@pytest.mark.parametrize("reml", [True, False])
def test_pattern_dense_and_chunked_agree(monkeypatch, reml):
    th = None
    out = {}
    for mode in ("pattern", "dense", "chunks"):
        fit = _fit(monkeypatch, mode, reml)
        pb = fit._problem
        if th is None:
            th = pb.to_internal(fit.theta) * 1.1 + 0.05  # away from the optimum: a real gradient
        dev, g = deviance_and_gradient(pb, th, reml)
        out[mode] = (fit.loglik, dev, g, fit.blup_sd[0], fit.blup_sd[1])
    for mode in ("dense", "chunks"):
        assert out[mode][0] == pytest.approx(out["pattern"][0], rel=1e-9, abs=1e-7)
        assert out[mode][1] == pytest.approx(out["pattern"][1], rel=1e-9)
        np.testing.assert_allclose(out[mode][2], out["pattern"][2], rtol=1e-7, atol=1e-8)
        np.testing.assert_allclose(out[mode][3], out["pattern"][3], rtol=1e-5)
        np.testing.assert_allclose(out[mode][4], out["pattern"][4], rtol=1e-5)


@pytest.mark.parametrize("mode", ["dense", "chunks"])
def test_dense_gradient_matches_finite_differences(monkeypatch, mode):
    fit = _fit(monkeypatch, mode)
    pb = fit._problem
    th = pb.to_internal(fit.theta) * 0.9 + 0.02
    _, g = deviance_and_gradient(pb, th, True)
    num = np.empty_like(th)
    for i in range(len(th)):
        h = 1e-6 * max(1.0, abs(th[i]))
        e = np.zeros_like(th)
        e[i] = h
        num[i] = (pb.deviance(th + e, True) - pb.deviance(th - e, True)) / (2 * h)
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-5 * np.max(np.abs(num)))


@pytest.mark.parametrize("reml", [True, False])
def test_varpar_derivatives_match_richardson(reml):
    y, X, blocks = crossed_design()
    fit = fit_lmm(y, X, blocks, reml=reml)
    d = fit.varpar_derivatives()
    assert d is not None
    v = np.asarray(fit.varpar)
    H = richardson_hessian(fit.deviance_at, v, d=1e-2, eps=1e-4)
    np.testing.assert_allclose(d["hessian"], H, rtol=1e-5, atol=1e-5 * np.max(np.abs(H)))
    J = richardson_jacobian(lambda u: fit.vcov_at(u).ravel(), v)
    np.testing.assert_allclose(d["vcov_jacobian"], J, rtol=1e-5, atol=1e-5 * np.max(np.abs(J)))
    g = np.array([(fit.deviance_at(v + e) - fit.deviance_at(v - e)) / 2e-6 for e in 1e-6 * np.eye(len(v))])
    np.testing.assert_allclose(d["gradient"], g, atol=1e-4)  # ~0 at the optimum


def test_satterthwaite_same_df_with_the_analytic_derivatives():
    """lmerTest's df from numDeriv derivatives of the deviance, and ours from the analytic gradient."""
    y, X, blocks = crossed_design()
    fit = fit_lmm(y, X, blocks)
    fast = Satterthwaite(fit)

    class NoDerivs:  # the same model without the derivatives: Richardson on deviance_at / vcov_at
        def __init__(self, f):
            self.varpar, self.vcov, self.beta = f.varpar, f.vcov, f.beta
            self.deviance_at, self.vcov_at = f.deviance_at, f.vcov_at

    slow = Satterthwaite(NoDerivs(fit))
    for L in (np.array([0.0, 1.0]), np.array([1.0, 0.0]), np.array([1.0, 0.5])):
        assert fast.df(L) == pytest.approx(slow.df(L), rel=1e-5)


def test_dense_mode_matches_lme4_reference(monkeypatch):
    """crossed_sim: (x | subj) + (1 | item), lme4 1.1-31's numbers (tests/reference/lmm)."""
    ref = json.loads((REF / "crossed_slope_subj.json").read_text())
    d = pd.read_csv(REF / "crossed_sim.csv")
    X = np.column_stack([np.ones(len(d)), d.x])
    blocks = [RandomBlock("subj", *_factor(d.subj), X.copy(), ["(Intercept)", "x"]),
              RandomBlock("item", *_factor(d["item"]), np.ones((len(d), 1)), ["(Intercept)"])]
    for mode in ("dense", "chunks"):
        fit = _fit(monkeypatch, mode, design=(d.y.to_numpy(float), X, blocks))
        assert fit.loglik >= ref["loglik"] - 1e-6
        assert fit.loglik == pytest.approx(ref["loglik"], abs=1e-4)
        np.testing.assert_allclose(fit.theta, ref["theta"], rtol=2e-3)


@pytest.mark.parametrize("mode", ["pattern", "dense"])
@pytest.mark.parametrize("reml", [True, False])
def test_kept_curvature_is_the_curvature_at_the_fit(monkeypatch, mode, reml):
    """The convergence check's curvature (kept on the fit) equals a fresh one at the fit's varpar.

    The fit reuses its last factor and inverse (conditional SDs) and the check's derivatives
    (df, intervals); computed again from scratch, on a fresh problem, they agree to rounding.
    """
    fit = _fit(monkeypatch, mode, reml)
    kept = fit.varpar_derivatives()
    y, X, blocks = crossed_design()
    again = fit_lmm(y, X, blocks, reml=reml)
    again._problem.forget()
    fresh = lmm_curvature.derivatives_at(again._problem, fit.varpar, reml, lmm_result._rx_inv)
    for key in ("gradient", "hessian", "vcov_jacobian"):
        np.testing.assert_allclose(kept[key], fresh[key], rtol=1e-7, atol=1e-9 * np.max(np.abs(fresh[key])))
    # conditional SDs from the kept inverse (a rank-p correction under REML) = a fresh inversion
    pb = again._problem
    th = pb.to_internal(fit.theta)
    pb.forget()
    f = pb.factor(th)
    assert "Cinv" not in f
    plain = pb.cond_cov(f)  # a fresh inversion of the leading block
    pb.forget()
    f = gradient_pieces(pb, th, reml)[0]
    assert "Cinv" in f
    for a, b in zip(pb.cond_cov(f), plain):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_profiled_hessian_from_the_curvature(monkeypatch):
    """The check's Hessian (Schur complement of the (theta, sigma) curvature) = differences of
    the profiled deviance."""
    fit = _fit(monkeypatch, "pattern")
    pb = fit._problem
    obj = lmm_fit._Objective(pb, True, None)
    x = pb.to_internal(fit.theta)
    H = lmm_fit._profiled_hessian(obj, x)
    k = len(x)
    num = np.empty((k, k))
    for i in range(k):
        h = 1e-4 * max(1.0, abs(x[i]))
        e = np.zeros(k)
        e[i] = h
        num[:, i] = (deviance_and_gradient(pb, x + e, True)[1] - deviance_and_gradient(pb, x - e, True)[1]) / (2 * h)
    np.testing.assert_allclose(H, 0.5 * (num + num.T), rtol=1e-5, atol=1e-6 * np.max(np.abs(num)))
    assert obj.derivs is not None
