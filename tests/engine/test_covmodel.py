"""The CovarianceModel protocol (mixgui.engine.covmodel), checked on both fitters that implement it.

What inference relies on, computed here independently from the clusters' own V (dense linear
algebra, no engine code): at the estimate, ``vcov_at(varpar)`` is (sum_c X_c' V_c^-1 X_c)^-1 (times
N / (N - p) for a repeated-measures ML fit, nlme's convention) and
``deviance_at(varpar)`` is the (RE)ML criterion log|V| + r'V^-1 r (+ log|X'V^-1X| for REML)
+ constants, with r = y - X beta. Tolerance 1e-8 relative: V is rebuilt from the estimate, the
fitters profile sigma and beta out (their own rounding, ~1e-10).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.formula import parse_formula
from mixgui.engine.covmodel import ClusterPieces, CovarianceModel, RandomBlock
from mixgui.engine.design import build_design
from mixgui.engine.lmm import fit_lmm

from .repeated.cases import fit_case as repeated_case
from .repeated.cases import orthodont

SLEEP = __import__("pathlib").Path(__file__).resolve().parents[1] / "reference" / "lmm" / "sleepstudy.csv"


def _lmm(reml):
    d = build_design(parse_formula("Reaction ~ Days + (Days | Subject)"), pd.read_csv(SLEEP), factors=["Subject"])
    return fit_lmm(d.y, d.X, d.blocks, reml=reml), d.y


def _repeated(reml):
    d, *_ = orthodont()
    return repeated_case("UN", reml=reml, re=None), d.distance.to_numpy()


FITS = {"lmm_reml": lambda: _lmm(True), "lmm_ml": lambda: _lmm(False),
        "repeated_reml": lambda: _repeated(True), "repeated_ml": lambda: _repeated(False)}


def _assemble(fit):
    """Stack the clusters (each a ClusterPieces, or a batch of them) into lists of X_c, V_c."""
    Xs, Vs = [], []
    for c in fit.kr_clusters():
        assert isinstance(c, ClusterPieces)
        X, V = np.asarray(c.X), np.asarray(c.V)
        if V.ndim == 3:  # a batch of equal-size clusters
            Xs += list(X)
            Vs += list(V)
        elif X.ndim == 3:  # the subjects of one visit pattern share V (repeated measures without random effects)
            Xs += list(X)
            Vs += [V] * len(X)
        else:
            Xs.append(X)
            Vs.append(V)
    return Xs, Vs


@pytest.mark.parametrize("name", sorted(FITS))
def test_protocol_attributes(name):
    fit, _ = FITS[name]()
    for attr in ("X", "beta", "vcov", "reml", "varpar"):
        assert hasattr(fit, attr), attr
    for method in ("deviance_at", "vcov_at", "kr_clusters"):
        assert callable(getattr(fit, method)), method
    assert set(CovarianceModel.__annotations__) == {"X", "beta", "vcov", "reml", "varpar"}
    assert fit.reml == name.endswith("reml")


@pytest.mark.parametrize("name", sorted(FITS))
def test_vcov_at_the_estimate_is_the_gls_covariance_of_the_clusters(name):
    fit, _ = FITS[name]()
    Xs, Vs = _assemble(fit)
    info = sum(X.T @ np.linalg.solve(V, X) for X, V in zip(Xs, Vs))
    atol = 1e-10 * np.max(np.abs(fit.vcov))  # entries that are zero up to rounding
    # unscaled under ML too, as SAS PROC MIXED, mmrm and lme4 (nlme's gls would scale by N / (N - p))
    np.testing.assert_allclose(np.linalg.inv(info), fit.vcov, rtol=1e-8, atol=atol)
    np.testing.assert_allclose(fit.vcov_at(fit.varpar), fit.vcov, rtol=1e-8, atol=atol)


@pytest.mark.parametrize("name", sorted(FITS))
def test_deviance_at_the_estimate_is_the_criterion_of_the_clusters(name):
    fit, y = FITS[name]()
    Xs, Vs = _assemble(fit)
    n = sum(len(X) for X in Xs)
    p = len(fit.beta)
    logdet = sum(np.linalg.slogdet(V)[1] for V in Vs)
    info = sum(X.T @ np.linalg.solve(V, X) for X, V in zip(Xs, Vs))
    quad = _quadratic_form(fit, y, Xs, Vs)
    crit = logdet + quad + (np.linalg.slogdet(info)[1] + (n - p) * np.log(2 * np.pi) if fit.reml
                            else n * np.log(2 * np.pi))
    assert fit.deviance_at(fit.varpar) == pytest.approx(crit, rel=1e-8)


def _quadratic_form(fit, y, Xs, Vs):
    """r' V^-1 r with r = y - X beta, the clusters' rows found by matching X rows to the data's."""
    X_all = np.asarray(fit.X, float)
    r_all = y - X_all @ fit.beta
    used = np.zeros(len(y), bool)
    total = 0.0
    for X, V in zip(Xs, Vs):
        rows = []
        for x in X:
            cand = np.flatnonzero(~used & np.all(np.isclose(X_all, x, rtol=0, atol=0), axis=1))
            rows.append(cand[0])
            used[cand[0]] = True
        r = r_all[rows]
        total += r @ np.linalg.solve(V, r)
    assert used.all()
    return total


def test_random_block_shape():
    b = RandomBlock("Subject", np.array([0, 0, 1, 2]), ["a", "b", "c"], np.ones((4, 2)), ["(Intercept)", "x"])
    assert (b.n_levels, b.q) == (3, 2)
    assert ClusterPieces(X=np.ones((2, 1)), V=np.eye(2), dV=[np.eye(2)]).d2V == {}
