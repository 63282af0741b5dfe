"""Residual covariance structures (mixgui.engine.repeated.structures): matrices and parameter round trips."""
from __future__ import annotations

import numpy as np
import pytest

from mixgui.engine.repeated.structures import STRUCTURES, acf_to_pacf, make_structure, pacf_to_acf

from .cases import (
    LABELS,
    fit_case,
)


def test_toeplitz_pacf_round_trip():
    pacf = np.array([0.4, -0.3, 0.6, 0.1])
    acf = pacf_to_acf(pacf)
    assert acf_to_pacf(acf) == pytest.approx(pacf)
    T = make_structure("TOEP", 5)
    assert np.linalg.eigvalsh(T.matrix(np.arctanh(pacf))).min() > 0


@pytest.mark.parametrize("name", STRUCTURES)
def test_natural_parameters_round_trip(name):
    s = make_structure(name, 4, LABELS)
    theta = np.random.default_rng(0).normal(scale=0.4, size=s.n_theta)
    C = 2.5 * s.matrix(theta)
    assert s.cov_from_natural(s.natural_from_cov(C)) == pytest.approx(C)
    assert len(s.natural_names()) == s.n_natural


def test_parameter_names():
    assert set(fit_case("CS").parameters) == {"sigma2", "rho"}
    assert set(fit_case("ARH1").parameters) == {"var_8", "var_10", "var_12", "var_14", "rho"}
    assert set(fit_case("TOEP").parameters) == {"sigma2", "rho_lag1", "rho_lag2", "rho_lag3"}
    un = fit_case("UN").parameters
    assert "corr_8_14" in un and "var_12" in un and len(un) == 10
    assert set(fit_case("DIAG").parameters) == {"var_8", "var_10", "var_12", "var_14"}
    f = fit_case("ID")
    assert set(f.parameters) == {"sigma2"} and f.correlation == pytest.approx(np.eye(4))
