"""After the fit (mixgui.engine.repeated.post and the protocol): BLUPs, marginal covariance, KR clusters."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import block_diag

from mixgui.engine.covmodel import RandomBlock
from mixgui.engine.repeated.fit import fit_repeated
from mixgui.engine.repeated.likelihood import build_grid
from mixgui.engine.repeated.post import boundary_warnings, marginal_covariance
from mixgui.engine.repeated.structures import make_structure

from .cases import (
    LABELS,
    blocks_for,
    fit_case,
    orthodont,
    simulated,
)


@pytest.fixture(scope="module", params=["CS", "AR1", "CSH", "TOEP", "UN", "AR1+RI"])
def protocol_fit(request):
    structure, _, re = request.param.partition("+")
    return fit_case(structure, missing=True, re="ri" if re else None)


def test_deviance_at_and_vcov_at_reproduce_the_fit(protocol_fit):
    f = protocol_fit
    assert f.deviance_at(f.varpar) == pytest.approx(f.deviance, abs=1e-8)
    assert f.vcov_at(f.varpar) == pytest.approx(f.vcov, rel=1e-8)
    assert len(f.varpar_names) == len(f.varpar) == f.n_parameters == len(f.kr_par) == len(f.kr_names)
    assert f.varpar_names[-1] == "sigma" and f.varpar[-1] == pytest.approx(f.sigma)
    # an interior optimum in the natural parametrisation too: the gradient vanishes
    h = 1e-5 * np.maximum(np.abs(f.varpar), 1e-2)
    grad = [(f.deviance_at(f.varpar + np.eye(len(h))[k] * h[k]) - f.deviance_at(f.varpar - np.eye(len(h))[k] * h[k]))
            / (2 * h[k]) for k in range(len(h))]
    assert np.max(np.abs(grad)) < 1e-3


def test_kr_clusters_are_consistent(protocol_fit):
    f = protocol_fit
    clusters = _per_subject(f.kr_clusters())
    assert len(clusters) == f.n_subjects
    A = sum(c.X.T @ np.linalg.solve(c.V, c.X) for c in clusters)
    assert np.linalg.inv(A) == pytest.approx(f.vcov, rel=1e-8)
    full = next(c for c in clusters if len(c.V) == 4)
    assert full.V == pytest.approx(f.marginal_covariance, rel=1e-10)
    # derivatives against finite differences of V(kr_par)
    model, kp = f._model, f.kr_par
    k_all = len(kp)
    for k in range(k_all):
        h = 1e-6 * max(abs(kp[k]), 1e-2)
        e = np.eye(k_all)[k] * h
        plus = _cluster_V(model, kp + e)
        minus = _cluster_V(model, kp - e)
        assert full.dV[k] == pytest.approx((plus - minus) / (2 * h), abs=1e-6)
        for j in range(k_all):
            fd = (_cluster_dV(model, kp + np.eye(k_all)[j] * h, k)
                  - _cluster_dV(model, kp - np.eye(k_all)[j] * h, k)) / (2 * h)
            got = full.d2V.get((min(k, j), max(k, j)), np.zeros_like(full.V))
            assert got == pytest.approx(fd, abs=1e-5)


def _per_subject(pieces):
    """Pieces shared by the subjects of one visit pattern, expanded to one piece per subject."""
    from mixgui.engine.covmodel import ClusterPieces
    out = []
    for c in pieces:
        if np.ndim(c.X) == 3:
            out += [ClusterPieces(X=x, V=c.V, dV=list(c.dV), d2V=c.d2V, y=yy) for x, yy in zip(c.X, c.y)]
        else:
            out.append(c)
    return out


def _first_full(model, varpar):
    from mixgui.engine.repeated.post import kr_clusters
    return next(c for c in _per_subject(kr_clusters(model, varpar)) if len(c.V) == 4)


def _cluster_V(model, varpar):
    return _first_full(model, varpar).V


def _cluster_dV(model, varpar, k):
    return _first_full(model, varpar).dV[k]


def test_nonlinear_structures_have_second_derivatives():
    f = fit_case("AR1")
    c = f.kr_clusters()[0]
    assert (1, 1) in c.d2V and (0, 1) in c.d2V and (1, 0) not in c.d2V  # one key per pair
    assert fit_case("UN").kr_clusters()[0].d2V == {}


def test_blups_equal_dense_computation():
    """BLUPs G Z'V^-1 r and conditional variances G - G Z'V^-1 Z G for nested blocks (two levels per subject)."""
    y, X, subject, position, T, blocks = simulated(seed=11, nested=True)
    fit = fit_repeated(y, X, subject, position, T, "ARH1", blocks=blocks)
    Gs, v_r = fit._model.split_natural(fit.kr_par)
    R = fit._model.struct.cov_from_natural(v_r)
    n = len(y)
    V = np.zeros((n, n))
    same_subject = subject[:, None] == subject[None, :]
    V[same_subject] = R[np.ix_(position, position)][same_subject]
    Zs, Gbig = [], []
    for b, G in zip(blocks, Gs):
        Zb = np.zeros((n, b.n_levels * b.q))
        for j in range(b.q):
            Zb[np.arange(n), b.codes * b.q + j] = b.Z[:, j]
        Zs.append(Zb)
        Gbig.append(np.kron(np.eye(b.n_levels), G))
    Z, G = np.hstack(Zs), block_diag(*Gbig)
    V += Z @ G @ Z.T
    Vi = np.linalg.inv(V)
    u = G @ Z.T @ Vi @ (y - X @ fit.beta)
    se = np.sqrt(np.diag(G - G @ Z.T @ Vi @ Z @ G))
    k = 0
    for b, modes, sds in zip(blocks, fit.blups, fit.blup_sd):
        m = b.n_levels * b.q
        assert modes.ravel() == pytest.approx(u[k:k + m], abs=1e-10)
        assert sds.ravel() == pytest.approx(se[k:k + m], rel=1e-8)
        k += m
    assert fit.fitted_conditional == pytest.approx(X @ fit.beta + Z @ u)


# -- marginal covariance and boundary warnings ------------------------------------------------------
def _grid(missing=False, re="rs"):
    d, X, subject, position, levels = orthodont(missing)
    blocks = blocks_for(d, subject, levels, re)
    return d, build_grid(d.distance.to_numpy(), X, subject, position, 4, blocks=blocks,
                         subject_labels=levels, position_labels=LABELS)


def test_marginal_covariance_of_a_complete_subject():
    """R + Z G Z' with Z = [1, age] of a subject seen at 8, 10, 12, 14 (written out by hand)."""
    _, grid = _grid()
    R = make_structure("AR1", 4).matrix([np.arctanh(0.4)]) * 1.7
    G = np.array([[4.0, -0.2], [-0.2, 0.05]])
    Z = np.column_stack([np.ones(4), [8.0, 10.0, 12.0, 14.0]])
    np.testing.assert_allclose(marginal_covariance(grid, R, [G]), R + Z @ G @ Z.T, rtol=1e-13)
    np.testing.assert_allclose(marginal_covariance(grid, R, []), R, rtol=0)


def test_marginal_covariance_without_a_complete_subject_uses_position_means():
    """No subject seen at every position: each position's Z is the mean over the rows there."""
    d, X, subject, position, levels = orthodont()
    keep = ~((position == 3) & (subject % 2 == 0)) & ~((position == 0) & (subject % 2 == 1))
    d, X, subject, position = d[keep].reset_index(drop=True), X[keep], subject[keep], position[keep]
    age = d.agen.to_numpy() + np.where(d.Sex.to_numpy() == "Male", 0.5, 0.0)  # Z differs between subjects
    blocks = [RandomBlock("Subject", subject, levels, np.column_stack([np.ones(len(d)), age]), ["(Intercept)", "age"])]
    grid = build_grid(d.distance.to_numpy(), X, subject, position, 4, blocks=blocks)
    assert not grid.present.all(axis=1).any()
    Zbar = np.column_stack([np.ones(4), [age[position == t].mean() for t in range(4)]])
    R, G = np.eye(4) * 2.0, np.array([[1.0, 0.1], [0.1, 0.3]])
    np.testing.assert_allclose(marginal_covariance(grid, R, [G]), R + Zbar @ G @ Zbar.T, rtol=1e-13)


def test_boundary_warnings_name_what_is_on_the_boundary():
    _, grid = _grid()
    ar1, cs = make_structure("AR1", 4), make_structure("CS", 4)
    ok_R = ar1.matrix([np.arctanh(0.5)])
    ok_G = np.array([[4.0, 0.2], [0.2, 0.05]])
    assert boundary_warnings(ar1, ok_R, [ok_G], grid) == []
    (w,) = boundary_warnings(ar1, ar1.matrix([np.arctanh(1 - 1e-6)]), [ok_G], grid)
    assert w.kind == "singular" and "AR1" in str(w) and "simpler" in str(w)
    low = (1 + 1e-6) * np.eye(4) - 1 / 3 * np.ones((4, 4))  # CS correlation at -1/(T-1)
    msgs = [str(w) for w in boundary_warnings(cs, low, [ok_G], grid)]
    assert any("lowest possible value (-1/3)" in m for m in msgs)
    (w,) = boundary_warnings(ar1, ok_R, [np.array([[4.0, 0.0], [0.0, 0.0]])], grid)
    assert 'variance for "Subject" is estimated at zero' in str(w)
    sd = np.sqrt([4.0, 0.05])
    (w,) = boundary_warnings(ar1, ok_R, [np.outer(sd, sd)], grid)  # correlation exactly 1
    assert "(||)" in str(w)
    assert boundary_warnings(make_structure("DIAG", 4), np.diag([1.0, 2.0, 3.0, 4.0]), [], grid) == []
