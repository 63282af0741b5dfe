"""The fitted model's CovarianceModel protocol (mixgui.engine.lmm.result): deviance_at, vcov_at, kr_clusters."""
from __future__ import annotations

import numpy as np
import pytest

from mixgui.engine.covmodel import RandomBlock
from mixgui.engine.lmm.fit import fit_lmm
from mixgui.errors import ModelError

from .cases import (
    fit_case,
)


def _dense_deviance(y, X, blocks, theta, sigma, reml):
    """-2 (RE)ML log-likelihood from the explicit n x n V (independent of the engine)."""
    n, p = X.shape
    V = np.eye(n)
    k = 0
    for b in blocks:
        T = np.zeros((b.q, b.q))
        for j in range(b.q):
            for i in range(j, b.q):
                T[i, j] = theta[k]
                k += 1
        Zf = np.zeros((n, b.n_levels * b.q))
        for a in range(b.q):
            Zf[np.arange(n), b.codes * b.q + a] = b.Z[:, a]
        V += Zf @ np.kron(np.eye(b.n_levels), T @ T.T) @ Zf.T
    V *= sigma ** 2
    Vi = np.linalg.inv(V)
    XtViX = X.T @ Vi @ X
    beta = np.linalg.solve(XtViX, X.T @ Vi @ y)
    r = y - X @ beta
    dev = np.linalg.slogdet(V)[1] + r @ Vi @ r + n * np.log(2 * np.pi)
    if reml:
        dev += np.linalg.slogdet(XtViX)[1] - p * np.log(2 * np.pi)
    return dev, np.linalg.inv(XtViX)  # = sigma^2 (X' (V / sigma^2)^-1 X)^-1, lmerTest's vcov


@pytest.mark.parametrize("name", ["sleepstudy_rs", "sleepstudy_rs_ml", "pastes_nested", "penicillin_crossed",
                                  "crossed_slope_item"])
def test_deviance_at_and_vcov_at(name):
    fit, _ = fit_case(name)
    assert fit.deviance_at(fit.varpar) == pytest.approx(fit.deviance, abs=1e-8)
    np.testing.assert_allclose(fit.vcov_at(fit.varpar), fit.vcov, rtol=1e-10)
    # away from the optimum, against the explicit n x n computation (lmerTest's devfun_vp)
    vp = fit.varpar * np.linspace(0.8, 1.2, len(fit.varpar))
    y = fit.fitted_conditional + fit.residuals
    want_dev, want_cov = _dense_deviance(y, fit.X, fit.blocks, vp[:-1], vp[-1], fit.reml)
    assert fit.deviance_at(vp) == pytest.approx(want_dev, rel=1e-10)
    np.testing.assert_allclose(fit.vcov_at(vp), want_cov, rtol=1e-8)


def _single_clusters(pieces):
    """Split batched pieces (X: G x n x p, dV: G x m x n x n) into one piece per cluster."""
    from mixgui.engine.covmodel import ClusterPieces

    out = []
    for pc in pieces:
        if np.ndim(pc.X) == 2:
            out.append(pc)
            continue
        for g in range(pc.X.shape[0]):
            out.append(ClusterPieces(X=pc.X[g], V=pc.V[g], dV=[d for d in np.asarray(pc.dV)[g]]))
    return out


@pytest.mark.parametrize("name,nclusters", [("sleepstudy_rs", 18), ("sleepstudy_uncorr", 18),
                                            ("pastes_nested", 10), ("penicillin_crossed", 1)])
def test_kr_clusters(name, nclusters):
    fit, _ = fit_case(name)
    pieces = _single_clusters(fit.kr_clusters())
    assert len(pieces) == nclusters
    assert sum(pc.X.shape[0] for pc in pieces) == fit.nobs
    # linear parametrisation: V = sum_k psi_k dV_k with psi = (vech of each G, sigma^2)
    psi = [G[i, j] for G in fit.varcorr for j in range(G.shape[0]) for i in range(j, G.shape[0])]
    psi.append(fit.sigma ** 2)
    for pc in pieces:
        assert len(pc.dV) == len(psi)
        np.testing.assert_allclose(sum(p * d for p, d in zip(psi, pc.dV)), pc.V, rtol=1e-12, atol=1e-9)
        for d in pc.dV:
            np.testing.assert_array_equal(d, d.T)
    # the clusters' V are the diagonal blocks of the marginal covariance: X'V^-1X is the inverse
    # of vcov and the log-determinants add up to that of the full n x n V
    XtViX = sum(pc.X.T @ np.linalg.solve(pc.V, pc.X) for pc in pieces)
    np.testing.assert_allclose(np.linalg.inv(XtViX), fit.vcov, rtol=1e-7)
    V = fit.sigma ** 2 * np.eye(fit.nobs)
    for b, G in zip(fit.blocks, fit.varcorr):
        same = b.codes[:, None] == b.codes[None, :]
        V += same * (b.Z @ G @ b.Z.T)
    assert sum(np.linalg.slogdet(pc.V)[1] for pc in pieces) == pytest.approx(np.linalg.slogdet(V)[1], rel=1e-10)


def test_kr_clusters_refuse_a_huge_crossed_cluster():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 60, 4100), rng.integers(0, 70, 4100)
    y = rng.standard_normal(4100) + rng.standard_normal(60)[a] + rng.standard_normal(70)[b]
    blocks = [RandomBlock("a", a, [str(i) for i in range(60)], np.ones((4100, 1)), ["(Intercept)"]),
              RandomBlock("b", b, [str(i) for i in range(70)], np.ones((4100, 1)), ["(Intercept)"])]
    fit = fit_lmm(y, np.ones((4100, 1)), blocks)
    with pytest.raises(ModelError, match="Satterthwaite"):
        list(fit.kr_clusters())
