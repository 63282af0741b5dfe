"""Shared numerics (mixgui.engine.numerics) against R's numDeriv and zapsmall."""
from __future__ import annotations

import numpy as np
import pytest

from mixgui.engine.numerics import (
    richardson_hessian,
    richardson_jacobian,
    zapsmall,
)


def test_richardson_derivatives_reproduce_numderiv():
    """Same numbers as numDeriv::hessian / numDeriv::jacobian (R, printed with 17 digits)."""
    f = lambda x: np.exp(x[0]) * np.sin(x[1]) + x[0] ** 2 * x[1]  # noqa: E731
    H = richardson_hessian(f, np.array([0.3, 1.1]))
    assert H == pytest.approx(np.array([[3.4030041043578767, 1.2122907195864108],
                                        [1.2122907195864108, -1.2030041043567254]]), rel=1e-12)
    H0 = richardson_hessian(f, np.array([0.0, 1.1]))  # absolute step at zero
    assert H0 == pytest.approx(np.array([[3.09120677944927591, 0.45359612121079629],
                                         [0.45359612121079629, -0.89120736006248358]]), rel=1e-12)
    J = richardson_jacobian(lambda v: np.array([v[0] * v[1], np.log(v[1]), np.exp(v[0])]), np.array([0.3, 1.1]))
    assert J == pytest.approx(np.array([[1.1000000000090180, 0.29999999999566945], [0, 0.90909090908248402],
                                        [1.3498588076127647, 0]]), rel=1e-12, abs=1e-15)


def test_zapsmall_like_r():
    # R >= 4.0: round(x, 7 - ceiling(log10(max|x|))): zapsmall(c(1/3, 1e-9, 2)) is 0.333333 0 2
    assert list(zapsmall([1 / 3, 1e-9, 2])) == [0.333333, 0.0, 2.0]
    assert list(zapsmall([np.nan, 0.5, np.inf])[1:2]) == [0.5]
