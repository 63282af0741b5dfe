"""GLMM fits against lme4's glmer (binomial, Poisson; Laplace and adaptive quadrature) and glmmTMB (NB2).

References: tests/reference/glmm/*.json, made by make_glmm_refs.R (R and package versions inside).

Tolerances:
- loglik at or above R's minus 1e-4: the same approximation of the same likelihood, so ours may only
  be higher (a better optimum), never lower.
- estimates 1e-3 relative, with the coefficient's standard error as the scale for coefficients near
  zero (a relative error of a number near 0 measures nothing).
- standard errors 5e-3 relative against glmmTMB for Laplace fits with canonical links (it
  differentiates the same Laplace deviance exactly; glmer's finite-difference Hessian is ~1 % off,
  shown in the script's comment), against glmer for probit / cloglog (glmmTMB's Laplace differs there)
  and quadrature fits (nAGQ > 1), and glmmTMB's own negative binomial fit.
- variance components 5e-3 relative (they are flat directions of the likelihood).
"""
from __future__ import annotations

import numpy as np
import pytest
from glmm_refs import design_for, fit_case
from scipy.special import gammaln

CASES = ["cbpp", "cbpp_agq7", "cbpp_agq25", "cbpp_probit", "cbpp_cloglog", "bacteria", "bacteria_probit",
         "bacteria_agq9", "epil", "epil_offset", "epil_slope", "epil_nb", "grouseticks", "verbagg"]


@pytest.fixture(scope="module")
def fits():
    return {}


def _fit(fits, name):
    if name not in fits:
        fits[name] = fit_case(name)
    return fits[name]


def _agq_constant(ref) -> float:
    """What lme4's nAGQ > 1 log-likelihood leaves out: it is built from deviance residuals, so it is the
    log-likelihood minus that of the saturated binomial model, sum log dbinom(k, n, k / n) (0 for 0/1
    data); this returns that saturated log-likelihood, to be subtracted from ours."""
    if ref["nagq"] == 1 or ref["family"] != "binomial":
        return 0.0
    design, y, n = design_for(ref)
    k = np.round(y * n)
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1) + np.where(k > 0, k * np.log(y), 0.0) \
            + np.where(n - k > 0, (n - k) * np.log1p(-y), 0.0)
    return float(np.sum(ll))


@pytest.mark.parametrize("name", CASES)
def test_loglik_at_or_above_r(fits, name):
    ref, design, fit = _fit(fits, name)
    r_loglik = ref["loglik"] + _agq_constant(ref)
    assert fit.loglik >= r_loglik - 1e-4
    assert fit.loglik - r_loglik < 0.01  # the same optimum, not another model  # the same optimum, not another model
    assert fit.converged


@pytest.mark.parametrize("name", CASES)
def test_estimates_and_standard_errors(fits, name):
    ref, design, fit = _fit(fits, name)
    names = [r["term"] for r in ref["fixed"]]
    assert design.column_names == names
    b_r = np.array([r["estimate"] for r in ref["fixed"]])
    se_r = np.array([r["std_error"] for r in ref["fixed"]])
    np.testing.assert_array_less(np.abs(fit.beta - b_r), 1e-3 * np.maximum(np.abs(b_r), se_r))
    # glmmTMB's Laplace uses the observed Hessian in u, glmer's the Fisher weights: the same
    # approximation for canonical links only, so probit / cloglog are checked against glmer
    canonical = ref["link"] in ("logit", "log")
    se_ref = np.array(ref["tmb"]["std_error"]) if ref.get("tmb") and canonical else se_r
    np.testing.assert_allclose(fit.std_errors, se_ref, rtol=5e-3)


@pytest.mark.parametrize("name", CASES)
def test_variance_components(fits, name):
    ref, design, fit = _fit(fits, name)
    rows = [r for r in ref["varcorr"] if r["var2"] is None]
    ours = np.concatenate([np.diag(np.atleast_2d(G)) for G in fit.varcorr])
    np.testing.assert_allclose(ours, [r["vcov"] for r in rows], rtol=5e-3, atol=1e-6)
    if ref.get("dispersion") is not None:
        assert fit.nb_theta == pytest.approx(ref["dispersion"], rel=5e-3)


def test_glmer_laplace_standard_errors_within_its_hessian_error(fits):
    """glmer's own Laplace SEs: within 2 % (its finite-difference Hessian's error, see the module doc)."""
    ref, design, fit = _fit(fits, "cbpp")
    se_r = np.array([r["std_error"] for r in ref["fixed"]])
    np.testing.assert_allclose(fit.std_errors, se_r, rtol=2e-2)


def test_conditional_modes_match_ranef(fits):
    ref, design, fit = _fit(fits, "cbpp")
    r = ref["blups"]["herd"]
    order = [design.blocks[0].levels.index(lv) for lv in r["levels"]]
    np.testing.assert_allclose(fit.blups[0][order, 0], r["values"], atol=5e-3)
