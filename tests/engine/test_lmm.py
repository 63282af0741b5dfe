"""Tests of the mixed-model engine (mixgui.engine.lmm) against lme4, statsmodels and invariances.

Reference numbers: tests/reference/lmm/*.json, made by tests/reference/lmm/make_lmm_refs.R
(lme4 1.1-31, default lmer settings except where the script says). Designs are built by hand
here (treatment coding, reference = first sorted level) so these tests do not depend on the
formula layer.

Tolerances, and why:
- loglik / deviance / AIC / BIC 1e-3 absolute: the deviance is flat at the optimum, so two
  optimisers that stop at slightly different points agree to second order; 1e-3 is what the
  results file promises.
- fixed effects 1e-4 relative: beta moves only to first order with theta, and both optimisers
  get theta to ~1e-5.
- standard errors 2e-3, variances 5e-3, BLUPs 5e-3 (relative; BLUPs relative to the largest
  BLUP of that term, because single BLUPs near zero have no meaningful relative error): these
  move to first order with theta along flat directions of the deviance, where lme4's default
  stopping rule (bobyqa, xtol_rel 1e-7 / ftol_abs 1e-6) leaves ~1e-4 of slack.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.engine.covmodel import RandomBlock
from mixgui.engine import lmm as lmm_mod
from mixgui.engine.lmm import fit_lmm, lme4_order
from mixgui.errors import Cancelled, FitWarning, ModelError, Progress

REF = Path(__file__).resolve().parents[1] / "reference" / "lmm"


# -- building designs by hand ----------------------------------------------------------------
def factor(values):
    """Codes and levels with R's default order (numbers numerically, text alphabetically)."""
    values = pd.Series(values)
    levels = sorted(values.unique())
    codes = np.searchsorted(np.array(levels, dtype=object), values.to_numpy(dtype=object))
    return codes.astype(np.intp), [str(v) for v in levels]


def block(group, values, cols=None, names=("(Intercept)",)):
    codes, levels = factor(values)
    n = len(codes)
    Z = np.ones((n, 1)) if cols is None else np.column_stack([np.ones(n)] + list(cols)) \
        if names[0] == "(Intercept)" else np.column_stack(list(cols))
    return RandomBlock(group, codes, levels, np.asarray(Z, float), list(names))


def dummies(values, prefix):
    codes, levels = factor(values)
    return np.stack([(codes == k).astype(float) for k in range(1, len(levels))], axis=1), \
        [f"{prefix}{lv}" for lv in levels[1:]]


def read(name):
    return pd.read_csv(REF / name)


def case_design(name):
    """(y, X, column names, blocks, reml) for each reference case."""
    if name.startswith("sleepstudy"):
        d = read("sleepstudy.csv")
        X = np.column_stack([np.ones(len(d)), d.Days])
        if name.startswith("sleepstudy_ri"):
            blocks = [block("Subject", d.Subject)]
        elif name.startswith("sleepstudy_rs"):
            blocks = [block("Subject", d.Subject, [d.Days], ["(Intercept)", "Days"])]
        else:  # (Days || Subject)
            blocks = [block("Subject", d.Subject), block("Subject", d.Subject, [d.Days], ["Days"])]
        return d.Reaction.to_numpy(), X, ["(Intercept)", "Days"], blocks
    if name == "pastes_nested":
        d = read("pastes.csv")
        inner = d.cask + ":" + d.batch
        return d.strength.to_numpy(), np.ones((len(d), 1)), ["(Intercept)"], \
            [block("batch", d.batch), block("cask:batch", inner)]
    if name.startswith("penicillin"):
        d = read("penicillin.csv")
        return d.diameter.to_numpy(), np.ones((len(d), 1)), ["(Intercept)"], \
            [block("plate", d.plate), block("sample", d["sample"])]
    if name == "orthodont_cat":
        d = read("orthodont.csv")
        A, an = dummies(d.age, "factor(age)")
        S, sn = dummies(d.Sex, "Sex")
        inter = np.column_stack([A[:, j] * S[:, 0] for j in range(A.shape[1])])
        X = np.column_stack([np.ones(len(d)), A, S, inter])
        names = ["(Intercept)"] + an + sn + [f"{a}:{sn[0]}" for a in an]
        return d.distance.to_numpy(), X, names, [block("Subject", d.Subject)]
    if name.startswith("crossed_slope"):
        d = read("crossed_sim.csv")
        X = np.column_stack([np.ones(len(d)), d.x])
        if name == "crossed_slope_subj":
            blocks = [block("subj", d.subj, [d.x], ["(Intercept)", "x"]), block("item", d["item"])]
        else:
            blocks = [block("subj", d.subj), block("item", d["item"], [d.x], ["(Intercept)", "x"])]
        return d.y.to_numpy(), X, ["(Intercept)", "x"], blocks
    if name == "q3_slopes":
        d = read("q3_sim.csv")
        X = np.column_stack([np.ones(len(d)), d.x1, d.x2])
        return d.y.to_numpy(), X, ["(Intercept)", "x1", "x2"], \
            [block("g", d.g, [d.x1, d.x2], ["(Intercept)", "x1", "x2"])]
    if name == "singular_sim":
        d = read("singular_sim.csv")
        return d.y.to_numpy(), np.column_stack([np.ones(len(d)), d.x]), ["(Intercept)", "x"], [block("grp", d.grp)]
    raise KeyError(name)


CASES = ["sleepstudy_ri", "sleepstudy_ri_ml", "sleepstudy_rs", "sleepstudy_rs_ml", "sleepstudy_uncorr",
         "pastes_nested", "penicillin_crossed", "penicillin_ml", "orthodont_cat", "crossed_slope_subj",
         "crossed_slope_item", "q3_slopes", "singular_sim"]

_fits = {}


def fit_case(name):
    if name not in _fits:
        ref = json.loads((REF / f"{name}.json").read_text())
        y, X, names, blocks = case_design(name)
        _fits[name] = (fit_lmm(y, X, blocks, reml=ref["reml"], column_names=names), ref)
    return _fits[name]


def rel_close(got, want, rtol, scale=None):
    got, want = np.asarray(got, float), np.asarray(want, float)
    scale = np.abs(want) if scale is None else scale
    assert np.all(np.abs(got - want) <= rtol * np.maximum(scale, 1e-12)), (got, want)


# -- against lme4 ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CASES)
def test_fit_statistics_match_lme4(name):
    fit, ref = fit_case(name)
    for key in ("loglik", "deviance", "aic", "bic"):
        assert abs(getattr(fit, key) - ref[key]) < 1e-3, key
    assert fit.nobs == ref["nobs"]
    assert fit.n_groups == ref["ngrps"]
    assert list(fit.n_groups) == list(ref["ngrps"])  # lme4's order
    assert fit.singular == ref["singular"]
    assert fit.converged


@pytest.mark.parametrize("name", CASES)
def test_fixed_effects_match_lme4(name):
    fit, ref = fit_case(name)
    assert fit.column_names == list(ref["beta"])
    rel_close(fit.beta, list(ref["beta"].values()), 1e-4, scale=np.maximum(np.abs(list(ref["beta"].values())),
                                                                           1e-2 * np.array(ref["se"])))
    rel_close(np.sqrt(np.diag(fit.vcov)), ref["se"], 2e-3)
    rel_close(fit.vcov, ref["vcov"], 5e-3, scale=np.outer(ref["se"], ref["se"]))


@pytest.mark.parametrize("name", CASES)
def test_variance_components_match_lme4(name):
    fit, ref = fit_case(name)
    assert [b.group for b in fit.blocks] == [v["group"].split(".")[0] for v in ref["varcorr"]]
    for got, want, blk in zip(fit.varcorr, ref["varcorr"], fit.blocks):
        want_cov = np.atleast_2d(np.asarray(want["cov"], float))
        assert blk.names == list(np.atleast_1d(want["names"]))
        sd = np.sqrt(np.diag(want_cov))
        # variances relative; covariances relative to the product of SDs (they may be near 0)
        rel_close(got, want_cov, 5e-3, scale=np.maximum(np.outer(sd, sd), 1e-8 * ref["sigma"] ** 2))
    rel_close(fit.sigma ** 2, ref["sigma"] ** 2, 5e-3)


@pytest.mark.parametrize("name", CASES)
def test_blups_match_lme4(name):
    fit, ref = fit_case(name)
    for blk, b, sd in zip(fit.blocks, fit.blups, fit.blup_sd):
        want = ref["ranef"][blk.group]
        assert want["levels"] == blk.levels
        for j, term in enumerate(blk.names):
            k = want["terms"].index(term)
            val, csd = np.asarray(want["condval"][k]), np.asarray(want["condsd"][k])
            scale = max(np.max(np.abs(val)), 1e-6 * ref["sigma"])
            rel_close(b[:, j], val, 5e-3, scale=scale)
            rel_close(sd[:, j], csd, 5e-3, scale=max(np.max(csd), 1e-6 * ref["sigma"]))
