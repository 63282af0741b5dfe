"""Residual covariance structures (mixgui.engine.repeated.structures): matrices and parameter round trips."""
from __future__ import annotations

import numpy as np
import pytest

from mixgui.engine.repeated.structures import STRUCTURES, acf_to_pacf, make_structure, pacf_to_acf
from mixgui.errors import ModelError

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


# -- each structure's matrix against its textbook form --------------------------------------------
# The textbook matrices are written here from SAS's / nlme's definitions, independently of the
# engine's parametrisation; tolerance 1e-13 (a few floating-point operations).
T4 = 4
LAG = np.abs(np.subtract.outer(np.arange(T4), np.arange(T4)))


def _textbook(name, sd, rho, acf=None, L=None):
    """The T x T covariance matrix of structure ``name`` with standard deviations ``sd``."""
    if name == "UN":
        return L @ L.T
    S = np.outer(sd, sd)
    if name == "ID":
        return np.eye(T4)
    if name == "DIAG":
        return np.diag(sd ** 2)
    if name in ("CS", "CSH"):
        return S * np.where(LAG == 0, 1.0, rho)
    if name in ("AR1", "ARH1"):
        return S * rho ** LAG
    if name == "TOEP":
        return S * np.concatenate([[1.0], acf])[LAG]
    raise KeyError(name)


def test_id_diag_cs_ar1_matrices():
    theta_diag = np.array([0.1, -0.2, 0.3])
    np.testing.assert_array_equal(make_structure("ID", T4).matrix(np.zeros(0)), np.eye(T4))
    sd = np.exp(np.concatenate([[0.0], theta_diag]))  # log standard-deviation ratios to the first
    np.testing.assert_allclose(make_structure("DIAG", T4).matrix(theta_diag), _textbook("DIAG", sd, None), rtol=1e-13)
    # CS: theta maps onto (-1/(T-1), 1); at theta = log((1 + 3 rho) / (1 - rho)) the correlation is rho
    for rho in (-0.3, 0.0, 0.45, 0.95):
        th = np.log((1 + 3 * rho) / (1 - rho))
        np.testing.assert_allclose(make_structure("CS", T4).matrix([th]), _textbook("CS", np.ones(T4), rho),
                                   rtol=1e-13, atol=1e-15)
    for rho in (-0.6, 0.2, 0.9):
        np.testing.assert_allclose(make_structure("AR1", T4).matrix([np.arctanh(rho)]),
                                   _textbook("AR1", np.ones(T4), rho), rtol=1e-13, atol=1e-15)


def test_heterogeneous_matrices():
    ratios, rho = np.array([0.2, -0.1, 0.4]), 0.35
    sd = np.exp(np.concatenate([[0.0], ratios]))
    np.testing.assert_allclose(make_structure("ARH1", T4).matrix(np.append(ratios, np.arctanh(rho))),
                               _textbook("ARH1", sd, rho), rtol=1e-13)
    th = np.log((1 + 3 * rho) / (1 - rho))
    np.testing.assert_allclose(make_structure("CSH", T4).matrix(np.append(ratios, th)),
                               _textbook("CSH", sd, rho), rtol=1e-13)


def _pacf_by_yule_walker(acf):
    """phi_kk = last coefficient of the order-k Yule-Walker solution (an independent route)."""
    r = np.concatenate([[1.0], acf])
    out = []
    for k in range(1, len(acf) + 1):
        R = r[np.abs(np.subtract.outer(np.arange(k), np.arange(k)))]
        out.append(np.linalg.solve(R, r[1:k + 1])[-1])
    return np.array(out)


def test_toeplitz_matrix_from_partial_autocorrelations():
    pacf = np.array([0.5, -0.3, 0.2])
    W = make_structure("TOEP", T4).matrix(np.arctanh(pacf))
    acf = W[0, 1:]
    np.testing.assert_allclose(W, _textbook("TOEP", np.ones(T4), None, acf=acf), rtol=1e-13)  # Toeplitz
    np.testing.assert_allclose(_pacf_by_yule_walker(acf), pacf, rtol=1e-12)
    # an AR(1) process has pacf (rho, 0, 0) and acf rho^k
    np.testing.assert_allclose(pacf_to_acf(np.array([0.6, 0.0, 0.0])), [0.6, 0.36, 0.216], rtol=1e-14)


def test_unstructured_matrix_is_the_cholesky_product():
    theta = np.array([0.3, 0.2, -0.4, 0.1, 0.5, -0.2, 0.05, 0.3, -0.1])  # row by row below (0, 0)
    L = np.zeros((T4, T4))
    rows, cols = np.tril_indices(T4)
    vals = np.concatenate([[0.0], theta])
    L[rows, cols] = np.where(rows == cols, np.exp(vals), vals)
    np.testing.assert_allclose(make_structure("UN", T4).matrix(theta), _textbook("UN", None, None, L=L), rtol=1e-13)
    assert make_structure("UN", T4).matrix(theta)[0, 0] == pytest.approx(1.0)


@pytest.mark.parametrize("name", [s for s in STRUCTURES if not s.startswith("SP(")])
def test_start_recovers_theta_of_an_exact_structure(name):
    """Given sigma^2 W(theta) itself, the starting values are theta (moments of an exact matrix).

    Not the spatial structures: their start is a moment guess of the correlation over unit distance,
    which the optimiser refines (their fits are checked against nlme in test_new_structures).
    """
    s = make_structure(name, T4, LABELS)
    theta = np.random.default_rng(5).normal(scale=0.3, size=s.n_theta)
    got = s.start(3.7 * s.matrix(theta))
    np.testing.assert_allclose(got, theta, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", STRUCTURES)
def test_theta_natural_round_trip_and_report(name):
    s = make_structure(name, T4, LABELS)
    theta = np.random.default_rng(8).normal(scale=0.3, size=s.n_theta)
    C = 2.0 * s.matrix(theta)
    v = s.natural_from_cov(C)
    np.testing.assert_allclose(s.cov_from_natural(v), C, rtol=1e-13)
    rep = s.report(C)
    if "sigma2" in rep:
        assert rep["sigma2"] == pytest.approx(C[0, 0])
    if "rho" in rep:
        assert rep["rho"] == pytest.approx(C[0, 1] / np.sqrt(C[0, 0] * C[1, 1]))
    for k, lab in enumerate(LABELS):
        if f"var_{lab}" in rep:
            assert rep[f"var_{lab}"] == pytest.approx(C[k, k])


def test_complex_arguments_for_complex_step():
    """Every builder takes a complex theta: d matrix / d theta by complex step equals finite differences."""
    for name in STRUCTURES:
        s = make_structure(name, T4)
        theta = np.random.default_rng(2).normal(scale=0.3, size=s.n_theta)
        for k in range(s.n_theta):
            tc = theta.astype(complex)
            tc[k] += 1e-30j
            cs = np.imag(s.matrix(tc)) / 1e-30
            e = np.zeros(s.n_theta)
            e[k] = 1e-6
            fd = (s.matrix(theta + e) - s.matrix(theta - e)) / 2e-6
            np.testing.assert_allclose(cs, fd, rtol=1e-7, atol=1e-9, err_msg=f"{name} theta[{k}]")


def test_unknown_structure_is_refused_by_name():
    with pytest.raises(ModelError, match='Unknown repeated structure "AR2"; choose one of ID, DIAG'):
        make_structure("AR2", 4)
    assert make_structure("ar1", 3).name == "AR1"
