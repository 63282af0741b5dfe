"""The vectorised likelihood (mixgui.engine.repeated.likelihood) against a dense computation; its gradient;
the subject x position grid."""
from __future__ import annotations

import numpy as np
import pytest

from mixgui.engine.repeated.fit import fit_repeated
from mixgui.engine.repeated.likelihood import build_grid, evaluate
from mixgui.engine.repeated.structures import STRUCTURES
from mixgui.engine.repeated.tools import psi_from_theta
from mixgui.errors import ModelError

from .cases import (
    dense_deviance,
    simulated,
)


@pytest.mark.parametrize("structure", STRUCTURES)
@pytest.mark.parametrize("reml", [True, False])
def test_vectorised_likelihood_equals_dense(structure, reml):
    y, X, subject, position, T, blocks = simulated(nested=True)
    fit = fit_repeated(y, X, subject, position, T, structure, reml=reml, blocks=blocks)
    model = fit._model
    rng = np.random.default_rng(1)
    for _ in range(2):  # away from the optimum as well
        v = fit.kr_par * (1 + 0.05 * rng.normal(size=len(fit.kr_par)))
        Gs, v_r = model.split_natural(v)
        R = model.struct.cov_from_natural(v_r)
        want = dense_deviance(y, X, subject, position, T, R, blocks, Gs, reml)
        assert model.evaluate_natural(v).f == pytest.approx(want, rel=1e-10)
        w = fit.varpar * (1 + 0.05 * rng.normal(size=len(fit.varpar)))
        th_b, th_r = model.split(w[:-1])
        Gs = [w[-1] ** 2 * psi_from_theta(t, b.q) for t, b in zip(th_b, blocks)]
        want = dense_deviance(y, X, subject, position, T, w[-1] ** 2 * model.struct.matrix(th_r), blocks, Gs, reml)
        assert fit.deviance_at(w) == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize("structure", ["CSH", "ARH1", "TOEP", "UN"])
def test_analytic_gradient(structure):
    y, X, subject, position, T, blocks = simulated(seed=5, nested=True)
    fit = fit_repeated(y, X, subject, position, T, structure, blocks=blocks)
    model = fit._model
    theta = fit.theta + 0.1 * np.random.default_rng(2).normal(size=len(fit.theta))
    f, g = model.objective(theta)
    h = 1e-6
    fd = [(model.objective(theta + h * e)[0] - model.objective(theta - h * e)[0]) / (2 * h)
          for e in np.eye(len(theta))]
    assert g == pytest.approx(fd, rel=1e-5, abs=1e-5)


# -- the grid and one evaluation, written out ------------------------------------------------------
def test_grid_layout_with_gaps():
    """Rows on the subject x position grid: a missing visit is a gap, patterns counted, pairs counted."""
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    X = np.ones((7, 1))
    subject = np.array([5, 5, 5, 9, 9, 2, 2])
    position = np.array([0, 1, 2, 0, 2, 1, 2])
    g = build_grid(y, X, subject, position, 3)
    np.testing.assert_array_equal(g.subjects, [2, 5, 9])  # subjects sorted by code
    np.testing.assert_array_equal(g.rows, [[-1, 5, 6], [0, 1, 2], [3, -1, 4]])
    np.testing.assert_array_equal(g.present, g.rows >= 0)
    np.testing.assert_array_equal(g.y, [[0, 6, 7], [1, 2, 3], [4, 0, 5]])
    assert sorted(g.counts.tolist()) == [1, 1, 1] and g.nobs == 7
    np.testing.assert_array_equal(g.pair_counts(), [[2, 1, 2], [1, 2, 2], [2, 2, 3]])
    with pytest.raises(ModelError, match="more than one row with index value"):
        build_grid(y, X, subject, np.array([0, 0, 2, 0, 2, 1, 2]), 3)
    with pytest.raises(ModelError, match="between 0 and 2"):
        build_grid(y, X, subject, position + 1, 3)
    with pytest.raises(ModelError, match="subject column"):
        build_grid(y, X, None, position, 3)


@pytest.mark.parametrize("reml", [True, False])
def test_one_evaluation_by_hand(reml):
    """Absolute covariance R (no profiling): f = log|V| + r'V^-1 r (+ log|X'V^-1X|) + df log(2 pi)."""
    rng = np.random.default_rng(4)
    S, T = 6, 3
    subject = np.repeat(np.arange(S), T)
    position = np.tile(np.arange(T), S)
    keep = np.ones(S * T, bool)
    keep[[4, 11]] = False  # two gaps
    X = np.column_stack([np.ones(S * T), rng.normal(size=S * T)])[keep]
    y = rng.normal(size=S * T)[keep]
    subject, position = subject[keep], position[keep]
    R = np.array([[2.0, 0.6, 0.3], [0.6, 1.5, 0.4], [0.3, 0.4, 1.0]])
    ev = evaluate(build_grid(y, X, subject, position, T), R, reml=reml, profile=False)
    V = np.where(subject[:, None] == subject[None, :], R[np.ix_(position, position)], 0.0)
    Vi = np.linalg.inv(V)
    A = X.T @ Vi @ X
    beta = np.linalg.solve(A, X.T @ Vi @ y)
    r = y - X @ beta
    n, p = X.shape
    f = np.linalg.slogdet(V)[1] + r @ Vi @ r + (np.linalg.slogdet(A)[1] if reml else 0.0) \
        + (n - p if reml else n) * np.log(2 * np.pi)
    assert ev.f == pytest.approx(f, rel=1e-12)
    np.testing.assert_allclose(ev.beta, beta, rtol=1e-12)
    np.testing.assert_allclose(ev.A, A, rtol=1e-12)
    assert evaluate(build_grid(y, X, subject, position, T), -R, reml=reml) is None  # not positive definite
