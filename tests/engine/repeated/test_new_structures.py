"""The second round's structures against nlme::gls (references made by
tests/reference/repeated/structures2/make_refs.R, R 4.2.2, nlme 3.1-162), and their own checks.

SP(POW) = corCAR1, SP(EXP) = corExp, SP(GAU) = corGaus over an unequally spaced time; TOEPH =
corARMA(p = T - 1) + varIdent; TOEP(2) = corARMA(q = 1).  Tolerances as test_repeated.py (nlme's
stopping rule): loglik 1e-3 absolute, estimates 1e-4 relative, standard errors 2e-3, covariances 5e-3.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.engine.repeated.fit import fit_repeated
from mixgui.engine.repeated.structures import make_structure
from mixgui.errors import ModelError

HERE = Path(__file__).resolve().parents[2] / "reference" / "repeated" / "structures2"
CASES = sorted(p.stem for p in HERE.glob("*.json") if not p.stem.startswith("extras_"))


def fit_ref(ref, structure=None):
    d = pd.read_csv(HERE / ref["data"])
    X = np.column_stack([np.ones(len(d)), d.agef == 10, d.agef == 12, d.agef == 14,
                         d.Sex == "Male"]).astype(float)
    levels = sorted(d.Subject.unique())
    times = np.sort(d.t.unique())
    return fit_repeated(d.distance.to_numpy(), X, np.searchsorted(levels, d.Subject.to_numpy()),
                        np.searchsorted(times, d.t.to_numpy()), len(times), structure or ref["structure"],
                        position_labels=[f"{v:g}" for v in times], coordinates=times)


@pytest.mark.parametrize("case", CASES)
def test_structures_match_nlme(case):
    ref = json.loads((HERE / f"{case}.json").read_text())
    fit = fit_ref(ref)
    assert fit.converged
    assert fit.loglik == pytest.approx(ref["loglik"], abs=1e-3)
    assert fit.aic == pytest.approx(ref["aic"], abs=1e-3)
    assert fit.beta == pytest.approx(ref["estimate"], rel=1e-4)
    assert fit.std_errors == pytest.approx(ref["std_error"], rel=2e-3)
    assert fit.marginal_covariance == pytest.approx(np.array(ref["marginal_covariance"]), rel=5e-3, abs=1e-4)
    cp = ref["cor_parameters"]
    if "range" in cp:
        assert fit.parameters["range"] == pytest.approx(cp["range"], rel=5e-3)
    if ref["structure"] == "SP(POW)":  # corCAR1's phi is the correlation at distance 1
        assert fit.parameters["rho"] == pytest.approx(cp["Phi"], rel=5e-3)


def test_spatial_power_on_equal_spacing_is_ar1():
    ref = json.loads((HERE / "full_sppow.json").read_text())
    d = pd.read_csv(HERE / ref["data"])
    X = np.column_stack([np.ones(len(d)), d.Sex == "Male"]).astype(float)
    subj = np.searchsorted(sorted(d.Subject.unique()), d.Subject.to_numpy())
    pos = np.searchsorted([8, 10, 12, 14], d.age.to_numpy())
    sp = fit_repeated(d.distance.to_numpy(), X, subj, pos, 4, "SP(POW)", coordinates=[8, 10, 12, 14])
    ar = fit_repeated(d.distance.to_numpy(), X, subj, pos, 4, "AR1")
    assert sp.loglik == pytest.approx(ar.loglik, abs=1e-6)
    assert sp.parameters["rho"] ** 2 == pytest.approx(ar.parameters["rho"], rel=1e-5)


@pytest.mark.parametrize("name", ["TOEPH", "ANTE1", "TOEP(2)", "TOEP(3)", "SP(POW)", "SP(EXP)", "SP(GAU)"])
def test_natural_parameters_round_trip(name):
    s = make_structure(name, 4, coordinates=[0, 1, 3, 7])
    th = np.random.default_rng(3).normal(scale=0.3, size=s.n_theta)
    W = s.matrix(th)
    assert W[0, 0] == pytest.approx(1.0)
    if not name.startswith("TOEP("):  # banded TOEP(k): not every theta is positive definite (documented)
        assert np.linalg.eigvalsh(W).min() > 0
    C = 3.7 * W
    assert s.cov_from_natural(s.natural_from_cov(C)) == pytest.approx(C, rel=1e-10, abs=1e-12)
    assert len(s.natural_names()) == s.n_natural == s.n_theta + 1


def test_ante1_pattern_multiplies_adjacent_correlations():
    s = make_structure("ANTE(1)", 4)
    C = s.cov_from_natural(np.array([1.0, 4.0, 9.0, 16.0, 0.5, -0.4, 0.8]))
    assert C[0, 2] == pytest.approx(1 * 3 * 0.5 * -0.4)
    assert C[1, 3] == pytest.approx(2 * 4 * -0.4 * 0.8)
    assert C[0, 3] == pytest.approx(1 * 4 * 0.5 * -0.4 * 0.8)


def test_banded_toeplitz_is_zero_beyond_the_band():
    s = make_structure("TOEP(2)", 5)
    C = s.cov_from_natural(np.array([2.0, 0.6]))
    assert C[0, 1] == 0.6 and C[0, 2] == 0.0 and C[1, 4] == 0.0 and s.name == "TOEP(2)"


def test_ante1_with_a_pair_never_observed_together_is_refused():
    # subjects see visits (0, 1) or (2, 3) only: no subject links visit 1 with visit 2
    rng = np.random.default_rng(0)
    subj = np.repeat(np.arange(20), 2)
    pos = np.where(np.arange(40) % 4 < 2, np.arange(40) % 2, 2 + np.arange(40) % 2)
    y = rng.normal(size=40)
    with pytest.raises(ModelError, match="ANTE\\(1\\).*no subject has both"):
        fit_repeated(y, np.ones((40, 1)), subj, pos, 4, "ANTE1")
