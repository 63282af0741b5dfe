"""Stacked small-matrix kernels and the pair pattern (mixgui.engine.lmm.kernels) against numpy.

Each kernel is checked level by level against numpy's dense routine on random input; the pair
pattern against the dense product ``Bz blockdiag(M_l) Bz'`` it replaces. Tolerances: 1e-12
relative (the same arithmetic in a different order).
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from mixgui.engine.lmm.kernels import PairPattern, em_chol, em_mul, em_t, em_tri_inv

RNG = np.random.default_rng(20240601)


def _stack(q, r, L):
    return RNG.normal(size=(q, r, L))


def _spd_stack(q, L):
    A = _stack(q, q, L)
    return np.einsum("ikl,jkl->ijl", A, A) + q * np.eye(q)[:, :, None]


@pytest.mark.parametrize("q,r,s", [(1, 1, 1), (2, 3, 2), (3, 3, 3), (4, 2, 1)])
def test_em_mul_equals_matmul_per_level(q, r, s):
    L = 7
    A, B = _stack(q, r, L), _stack(r, s, L)
    want = np.einsum("ikl,kjl->ijl", A, B)
    np.testing.assert_allclose(em_mul(A, B), want, rtol=1e-12, atol=1e-14)
    C = RNG.normal(size=(q, r))
    C[0, 0] = 0.0  # a constant matrix's zeros are skipped, not multiplied
    np.testing.assert_allclose(em_mul(C, B), np.einsum("ik,kjl->ijl", C, B), rtol=1e-12, atol=1e-14)
    D = RNG.normal(size=(r, s))
    np.testing.assert_allclose(em_mul(A, D), np.einsum("ikl,kj->ijl", A, D), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("q", [1, 2, 3, 4])
def test_em_chol_and_triangular_inverse(q):
    L = 9
    A = _spd_stack(q, L)
    Lo = em_chol(A)
    Li = em_tri_inv(Lo)
    for level in range(L):
        want = np.linalg.cholesky(A[:, :, level])
        np.testing.assert_allclose(Lo[:, :, level], want, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(Li[:, :, level], np.linalg.inv(want), rtol=1e-11, atol=1e-13)
    assert np.all(np.triu(Li.transpose(2, 0, 1), 1) == 0)


def test_em_t_transposes_every_level():
    A = _stack(2, 3, 4)
    T = em_t(A)
    assert T.shape == (3, 2, 4)
    for level in range(4):
        np.testing.assert_array_equal(T[:, :, level], A[:, :, level].T)


def _pattern_case(q1=2, L1=6, mz=9, density=0.35):
    """A random Bz (mz rows, columns entry-major a * L1 + level) and SPD per-level matrices."""
    Bz = sp.random(mz, q1 * L1, density=density, random_state=7, format="csr")
    Bz.data = RNG.normal(size=Bz.nnz)
    return Bz, _spd_stack(q1, L1)


def _dense_bmb(Bz, M, q1, L1):
    """Bz blockdiag(M_l) Bz' with Bz's columns in entry-major order."""
    big = np.zeros((q1 * L1, q1 * L1))
    for level in range(L1):
        idx = np.arange(q1) * L1 + level
        big[np.ix_(idx, idx)] = M[:, :, level]
    B = Bz.toarray()
    return B @ big @ B.T


@pytest.mark.parametrize("q1,L1", [(1, 5), (2, 6), (3, 4)])
def test_pair_pattern_subtracts_bz_m_bz(q1, L1):
    Bz, M = _pattern_case(q1, L1)
    m = Bz.shape[0]
    pat = PairPattern(Bz, L1, q1, m)
    C0 = RNG.normal(size=(m, m))
    C = C0.copy()
    pat.subtract_from(C, M)
    want = C0 - _dense_bmb(Bz, M, q1, L1)
    low = np.tril_indices(m)
    np.testing.assert_allclose(C[low], want[low], rtol=1e-12, atol=1e-12)
    # the upper triangle is left alone
    up = np.triu_indices(m, 1)
    np.testing.assert_array_equal(C[up], C0[up])
    # every level-sharing pair of non-zeros counted once per ordered pair
    colnnz = np.diff(Bz.tocsc().indptr).reshape(q1, L1).sum(axis=0)
    assert pat.count_pairs(Bz, L1, q1) == int(np.sum(colnnz ** 2)) == pat.npairs


@pytest.mark.parametrize("q1,L1", [(1, 5), (2, 6)])
def test_pair_pattern_quadratic_forms(q1, L1):
    Bz, _ = _pattern_case(q1, L1)
    m = Bz.shape[0]
    pat = PairPattern(Bz, L1, q1, m)
    S = RNG.normal(size=(m, m))
    S = S + S.T
    F = pat.quad(np.tril(S))  # only the lower triangle is read
    B = Bz.toarray()
    for level in range(L1):
        Bl = B[:, np.arange(q1) * L1 + level]
        np.testing.assert_allclose(F[:, :, level], Bl.T @ S @ Bl, rtol=1e-11, atol=1e-11)
