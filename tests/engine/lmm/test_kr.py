"""Kenward-Roger pieces in batches (mixgui.engine.lmm.kr) against a dense construction.

The marginal covariance of all rows is built here from indicator matrices, V = sigma2 I +
sum_k Z_k (I_L kron G_k) Z_k', independently of the engine; each cluster's V is its diagonal
block. V is linear in pbkrtest's parameters (G's lower-triangle elements, column-major, then
sigma2), so each derivative dV_k is V(par + e_k) - V(par) exactly. Tolerance 1e-12 relative.
"""
from __future__ import annotations

import numpy as np
import pytest

from mixgui.engine.lmm import kr as kr_mod
from mixgui.engine.lmm.kr import kr_batches
from mixgui.engine.lmm.result import cluster_codes
from mixgui.errors import ModelError

from .cases import case_design


def _full_Z(blk):
    n, q = blk.Z.shape
    Z = np.zeros((n, blk.n_levels * q))
    for a in range(q):
        Z[np.arange(n), blk.codes * q + a] = blk.Z[:, a]
    return Z


def _dense_V(blocks, Gs, sigma2):
    n = len(blocks[0].codes)
    V = sigma2 * np.eye(n)
    for blk, G in zip(blocks, Gs):
        Z = _full_Z(blk)
        V += Z @ np.kron(np.eye(blk.n_levels), G) @ Z.T
    return V


def _params(Gs, sigma2):
    out = []
    for G in Gs:
        q = G.shape[0]
        out += [G[a, b] for b in range(q) for a in range(b, q)]
    return np.array(out + [sigma2])


def _from_params(par, blocks):
    Gs, k = [], 0
    for blk in blocks:
        q = blk.q
        G = np.zeros((q, q))
        for b in range(q):
            for a in range(b, q):
                G[a, b] = G[b, a] = par[k]
                k += 1
        Gs.append(G)
    return Gs, par[k]


CASES = {
    "sleepstudy_rs": [np.array([[612.1, 9.6], [9.6, 35.07]])],
    "pastes_nested": [np.array([[1.657]]), np.array([[8.434]])],
    "q3_slopes": [np.array([[2.0, 0.3, -0.2], [0.3, 1.5, 0.1], [-0.2, 0.1, 0.8]])],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_batches_hold_each_clusters_dense_covariance_and_derivatives(name, monkeypatch):
    y, X, _, blocks = case_design(name)
    Gs, sigma2 = CASES[name], 0.7 * float(np.var(y))
    monkeypatch.setattr(kr_mod, "BATCH_BYTES", 4_000)  # small batches: several per cluster size
    par = _params(Gs, sigma2)
    V = _dense_V(blocks, Gs, sigma2)
    dVs = []
    for k in range(len(par)):
        e = np.zeros(len(par))
        e[k] = 1.0
        G1, s1 = _from_params(par + e, blocks)
        dVs.append(_dense_V(blocks, G1, s1) - V)
    cc = cluster_codes(blocks, len(y))
    seen = np.zeros(len(y), int)
    nbatches = 0
    tagged = np.column_stack([X, np.arange(len(y))])  # X is only sliced: a last column names the rows
    for pieces in kr_batches(blocks, Gs, sigma2, tagged, cc):
        nbatches += 1
        G_, n = pieces.X.shape[:2]
        assert pieces.V.shape == (G_, n, n) and pieces.dV.shape == (G_, len(par), n, n)
        for g in range(G_):
            rows = pieces.X[g][:, -1].astype(int)
            assert len(set(cc[rows])) == 1 and np.sum(cc == cc[rows[0]]) == n  # one whole cluster
            np.testing.assert_allclose(pieces.V[g], V[np.ix_(rows, rows)], rtol=1e-12, atol=1e-9)
            for k in range(len(par)):
                np.testing.assert_allclose(pieces.dV[g, k], dVs[k][np.ix_(rows, rows)], rtol=1e-12, atol=1e-12)
            seen[rows] += 1
    assert np.all(seen == 1), "every row in exactly one cluster"
    assert nbatches > 1


def test_clusters_of_nested_factors_are_the_outer_levels():
    _, _, _, blocks = case_design("pastes_nested")
    cc = cluster_codes(blocks, len(blocks[0].codes))
    np.testing.assert_array_equal(cc, blocks[0].codes)  # batch: 10 clusters of 6 rows


def test_crossed_factors_make_one_cluster_and_a_too_large_one_is_refused(monkeypatch):
    y, X, _, blocks = case_design("penicillin_crossed")
    cc = cluster_codes(blocks, len(y))
    assert set(cc) == {0}
    monkeypatch.setattr(kr_mod, "KR_MAX_ROWS", len(y) - 1)
    with pytest.raises(ModelError, match="Satterthwaite"):
        next(kr_batches(blocks, [np.eye(1), np.eye(1)], 1.0, X, cc))
