"""Effect sizes (mixgui.engine.effects.sizes) against performance / insight (R), with both fitters."""
from __future__ import annotations

import pytest

from mixgui.engine import effects

from ..inference.cases import (
    ENGINES,
    FITTERS,
    R2_REL,
    R_REFS,
    _design,
    close,
)


@pytest.mark.parametrize("engine", ENGINES)
def test_f2(engine):
    fit_fn = FITTERS[engine]
    for name, csv, formula, factors, ref in [
            ("sleepstudy_rs", "sleepstudy.csv", "Reaction ~ Days + (Days | Subject)", ["Subject"], None),
            ("orthodont_cat", "orthodont.csv", "distance ~ age * Sex + (1 | Subject)", ["age", "Subject"],
             {"Sex": "Male"})]:
        design = _design(csv, formula, factors, ref)
        rows = effects.f2_table(design, fit_fn(design, True), fit_fn)
        want = R_REFS["f2"][name]
        assert [r["term"] for r in rows] == [w["term"] for w in want]
        for r, w in zip(rows, want):
            assert close(r["r2_full"], w["r2_full"], R2_REL), r["term"]
            assert close(r["r2_reduced"], w["r2_reduced"], R2_REL, 1e-8), r["term"]
            # f2 of a reparametrised model (age removed under age:Sex) is 0 up to optimiser noise
            assert close(r["f2"], w["f2"], R2_REL, 1e-6), r["term"]


@pytest.mark.parametrize("engine", ENGINES)
def test_variance_parts_and_proportions(engine):
    fit_fn = FITTERS[engine]
    cases = {"sleepstudy_rs": ("sleepstudy.csv", "Reaction ~ Days + (Days | Subject)", ["Subject"], None),
             "sleepstudy_rs_uncorr": ("sleepstudy.csv", "Reaction ~ Days + (Days || Subject)", ["Subject"], None),
             "sleepstudy_ri": ("sleepstudy.csv", "Reaction ~ Days + (1 | Subject)", ["Subject"], None),
             "orthodont_cat": ("orthodont.csv", "distance ~ age * Sex + (1 | Subject)", ["age", "Subject"],
                               {"Sex": "Male"}),
             "pastes_nested": ("pastes.csv", "strength ~ 1 + (1 | batch/cask)", [], None),
             "penicillin_crossed": ("penicillin.csv", "diameter ~ 1 + (1 | plate) + (1 | sample)", [], None)}
    for name, (csv, formula, factors, ref) in cases.items():
        design = _design(csv, formula, factors, ref)
        fit = fit_fn(design, True)
        c = effects.variance_components(design.X, fit.beta, design.blocks, fit.varcorr, fit.sigma,
                                        design.column_names)
        want = R_REFS["variances"][name]
        for k in ("var_fixed", "var_random", "var_residual"):
            assert close(c[k], want[k], R2_REL, 1e-8), (name, k)
        assert c["intercepts"] == pytest.approx(want["var_intercept"], rel=R2_REL)
        props = effects.variance_proportions(c)
        assert sum(p["proportion"] for p in props) == pytest.approx(1)
        total = want["var_fixed"] + want["var_random"] + want["var_residual"]
        assert props[-1]["proportion"] == pytest.approx(want["var_residual"] / total, rel=R2_REL)
        if "by_group" in want:
            got = effects.variance_explained(design, fit, fit_fn)
            assert [g["level"] for g in got] == [w["level"] for w in want["by_group"]]
            for g, w in zip(got, want["by_group"]):
                assert close(g["proportion_explained"], w["r2"], 1e-2, 1e-4), (name, g["level"])
