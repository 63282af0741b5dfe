"""Kenward-Roger with the observed information (SAS PROC MIXED DDFM=KR) and the expected one (pbkrtest).

The observed information is the Hessian of the REML criterion in the natural (SAS) covariance
parameters; here it is checked against a finite-difference Hessian of our own REML criterion
(central differences of the exact criterion, step 3e-4 relative: truncation error ~1e-7 relative
of the entries, rounding ~1e-8, so 2e-5 agreement in correlation units is demanded), on linear (UN, TOEP, CS) and nonlinear
(AR1, ARH1, CSH) structures, with and without missing visits, and with a random intercept.
"""
from __future__ import annotations

import numpy as np
import pytest

from mixgui.engine.inference.kenward_roger import KenwardRoger  # noqa: E402

from .cases import fit_case  # noqa: E402


def fd_hessian(fit, h_rel=3e-4):
    """Central-difference Hessian of -2 l_REML over the natural parameters ``kr_par``."""
    m, x0 = fit._model, np.asarray(fit.kr_par, float)
    k = len(x0)
    h = h_rel * np.maximum(np.abs(x0), 1e-2)

    def f(x):
        return m.evaluate_natural(x).f

    H = np.zeros((k, k))
    f0 = f(x0)
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            if i == j:
                H[i, i] = (f(x0 + ei) - 2 * f0 + f(x0 - ei)) / h[i] ** 2
            else:
                H[i, j] = H[j, i] = (f(x0 + ei + ej) - f(x0 + ei - ej) - f(x0 - ei + ej)
                                     + f(x0 - ei - ej)) / (4 * h[i] * h[j])
    return H


@pytest.mark.parametrize("structure,missing,re", [("UN", False, None), ("UN", True, None), ("TOEP", True, None),
                                                  ("CS", False, None), ("AR1", True, None), ("ARH1", False, None),
                                                  ("CSH", True, None), ("AR1", True, "ri")])
def test_observed_information_is_the_hessian_of_the_reml_criterion(structure, missing, re):
    fit = fit_case(structure, missing=missing, re=re)
    kr = KenwardRoger(fit, information="observed")
    H = fd_hessian(fit)
    scale = np.sqrt(np.outer(np.abs(np.diag(H)), np.abs(np.diag(H))))
    assert kr.hessian / scale == pytest.approx(H / scale, abs=2e-5)
    assert kr.W == pytest.approx(2 * np.linalg.inv(kr.hessian), rel=1e-8)


def test_expected_is_unchanged_and_differs_from_observed():
    fit = fit_case("AR1", missing=True)
    exp, obs = KenwardRoger(fit), KenwardRoger(fit, information="observed")
    assert exp.W == pytest.approx(2 * np.linalg.inv(exp.ie2), rel=1e-8)
    L = np.eye(len(fit.beta))[4]
    # the information enters the df: they must differ on a nonlinear structure with missing visits
    assert abs(exp.df(L) - obs.df(L)) > 1e-3 * exp.df(L)


def test_linear_variant_drops_only_the_second_derivative_term():
    fit = fit_case("AR1", missing=True)
    full, lin = KenwardRoger(fit, information="observed"), KenwardRoger(fit, information="observed", linear=True)
    L = np.eye(len(fit.beta))[4]
    assert lin.df(L) == pytest.approx(full.df(L), rel=1e-12)   # the df do not involve R_kl
    assert not np.allclose(lin.vcov, full.vcov, rtol=1e-8)
    # on UN the natural parametrisation is linear: KR and KR(LINEAR) coincide, as in SAS
    un = fit_case("UN", missing=True)
    a, b = KenwardRoger(un, information="observed"), KenwardRoger(un, information="observed", linear=True)
    assert a.vcov == pytest.approx(b.vcov, rel=1e-12)


def test_shared_pattern_pieces_equal_per_subject_pieces():
    """The pattern-batched sums equal the per-subject ones (both informations)."""
    from mixgui.engine.covmodel import ClusterPieces
    fit = fit_case("ARH1", missing=True)
    per = []
    for c in fit.kr_clusters():
        per += [ClusterPieces(X=x, V=c.V, dV=list(c.dV), d2V=c.d2V, y=yy) for x, yy in zip(c.X, c.y)]
    one = type("M", (), {"beta": fit.beta, "kr_clusters": lambda self: per})()
    for info in ("expected", "observed"):
        a, b = KenwardRoger(fit, information=info), KenwardRoger(one, information=info)
        assert a.vcov == pytest.approx(b.vcov, rel=1e-9)
        assert a.W == pytest.approx(b.W, rel=1e-9)
