"""SAS PROC MIXED extras: EMPIRICAL sandwich, null-model LRT, AICc, COVTEST table, predictions.

References: tests/reference/repeated/structures2/make_sas_extras.R (R 4.2.2, nlme 3.1-162: an
independent CR0 sandwich from getVarCov, and the null model as gls without correlation).
Tolerances: nlme's optimum is good to ~1e-5 in the parameters, so sandwich standard errors to 2e-3
relative, the LRT statistic to 2e-3 absolute (a difference of two -2 log-likelihoods).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mixgui.engine.repeated import extras
from mixgui.engine.repeated.fit import fit_repeated

HERE = Path(__file__).resolve().parents[2] / "reference" / "repeated" / "structures2"


def fit_of(ref):
    d = pd.read_csv(HERE / ref["data"])
    X = np.column_stack([np.ones(len(d)), d.agef == 10, d.agef == 12, d.agef == 14,
                         d.Sex == "Male"]).astype(float)
    levels = sorted(d.Subject.unique())
    return fit_repeated(d.distance.to_numpy(), X, np.searchsorted(levels, d.Subject.to_numpy()),
                        np.searchsorted([8, 10, 12, 14], d.age.to_numpy()), 4, ref["structure"],
                        position_labels=["8", "10", "12", "14"])


@pytest.mark.parametrize("name", ["un_missing", "ar1_full"])
def test_empirical_and_null_model_match_r(name):
    ref = json.loads((HERE / f"extras_{name}.json").read_text())
    fit = fit_of(ref)
    assert fit.loglik == pytest.approx(ref["loglik"], abs=1e-3)
    se = np.sqrt(np.diag(extras.empirical_vcov(fit)))
    assert se == pytest.approx(ref["empirical_se"], rel=2e-3)
    st = extras.fit_statistics(fit)
    assert st["null_model_lrt"]["chi_square"] == pytest.approx(ref["null_chi_square"], abs=2e-3)
    assert st["null_model_lrt"]["df"] == ref["null_df"]
    k, n_star = fit.n_parameters, fit.nobs - 5
    assert st["aicc"] == pytest.approx(fit.deviance + 2 * k * n_star / (n_star - k - 1), rel=1e-12)


def test_covtest_table_uses_the_observed_information():
    from mixgui.engine.inference.kenward_roger import KenwardRoger
    fit = fit_of({"data": "orthodont_missing_t.csv", "structure": "AR1"})
    H = KenwardRoger(fit, information="observed").hessian
    rows = extras.covariance_parameters(fit, H)
    assert [r["parameter"] for r in rows] == ["sigma2", "rho"]
    se = np.sqrt(np.diag(2 * np.linalg.inv(H)))
    s2, rho = rows
    assert s2["std_error"] == pytest.approx(se[0]) and rho["std_error"] == pytest.approx(se[1])
    # a variance: one-sided p and Satterthwaite limits (SAS CL); rho: two-sided p and Wald limits
    z = s2["estimate"] / se[0]
    assert s2["p_value"] == pytest.approx(stats.norm.sf(z))
    nu = 2 * z * z
    assert s2["lower"] == pytest.approx(nu * s2["estimate"] / stats.chi2.ppf(0.975, nu))
    assert rho["lower"] == pytest.approx(rho["estimate"] - stats.norm.ppf(0.975) * se[1])
    assert rho["p_value"] == pytest.approx(2 * stats.norm.sf(abs(rho["estimate"] / se[1])))


def test_predictions_limits_and_residuals():
    fit = fit_of({"data": "orthodont_missing_t.csv", "structure": "UN"})
    p = extras.predictions(fit, fit.vcov, lambda x: 20.0)
    se = np.sqrt(np.einsum("np,pq,nq->n", fit.X, fit.vcov, fit.X))
    assert p["std_error_marginal"] == pytest.approx(se)
    assert p["upper"] - p["fitted"] == pytest.approx(stats.t.ppf(0.975, 20) * se)
    y = pd.read_csv(HERE / "orthodont_missing_t.csv").distance.to_numpy()
    assert p["residual"] == pytest.approx(y - p["fitted"])
    assert p["fitted"] == pytest.approx(fit.X @ fit.beta)  # no random effects: conditional = marginal
    assert np.all(np.isfinite(p["pearson_residual"]))
