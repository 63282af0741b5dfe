"""The vectorised likelihood (mixgui.engine.repeated.likelihood) against a dense computation; its gradient."""
from __future__ import annotations

import numpy as np
import pytest

from mixgui.engine.repeated.fit import fit_repeated
from mixgui.engine.repeated.structures import STRUCTURES
from mixgui.engine.repeated.tools import psi_from_theta

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
