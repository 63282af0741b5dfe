"""The one place that decides the Kenward-Roger -> Satterthwaite fallback (engine/inference/fixed.py)."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.formula import parse_formula
from mixgui.engine.design import build_design
from mixgui.engine.inference import fixed
from mixgui.engine.inference.core import Inference
from mixgui.engine.lmm.fit import fit_lmm

SLEEP = pd.read_csv(Path(__file__).resolve().parents[1] / "reference" / "cli" / "sleepstudy.csv")


def _fit(reml=True):
    design = build_design(parse_formula("Reaction ~ Days + (Days | Subject)"), SLEEP)
    return design, fit_lmm(design.y, design.X, design.blocks, reml=reml, column_names=design.column_names)


def test_kenward_roger_as_asked_when_it_can_be_computed():
    design, fit = _fit()
    out = fixed.fixed_effect_tests(fit, design, "kenward-roger")
    assert out.inference.method == "kenward-roger" and not [w for w in out.warnings if w.kind == "df_method"]
    assert [r["term"] for r in out.fixed_effects] == ["(Intercept)", "Days"]
    assert [r["term"] for r in out.anova] == ["Days"]
    # lme4/pbkrtest: Days has 17 df in this balanced design (tests/reference/cli/sleepstudy_ri.json has the RI model)
    assert out.fixed_effects[1]["df"] == pytest.approx(17.0, rel=1e-6)


def test_an_ml_fit_gets_satterthwaite_with_a_warning():
    design, fit = _fit(reml=False)
    out = fixed.fixed_effect_tests(fit, design, "kenward-roger")
    want = Inference.build(fit, "satterthwaite")
    assert out.inference.method == "satterthwaite"
    assert out.fixed_effects[1]["df"] == pytest.approx(want.df(np.array([0.0, 1.0])), rel=1e-12)
    (w,) = [w for w in out.warnings if w.kind == "df_method"]
    assert "REML" in w.message and w.message.endswith("Satterthwaite df are shown instead.")


def test_a_broken_adjusted_covariance_falls_back_to_satterthwaite(monkeypatch):
    design, fit = _fit()
    real = Inference.build.__func__

    def broken(cls, model, df_method="satterthwaite", nobs=None, progress=None, **kw):
        inf = real(cls, model, df_method, nobs, progress, **kw)
        if inf.method == "kenward-roger":
            inf.vcov = -np.abs(inf.vcov)  # what a fit that has not converged can give
        return inf
    monkeypatch.setattr(Inference, "build", classmethod(broken))
    out = fixed.fixed_effect_tests(fit, design, "kenward-roger")
    assert out.inference.method == "satterthwaite"
    (w,) = [w for w in out.warnings if w.kind == "df_method"]
    assert w.message.startswith("The Kenward-Roger adjustment could not be computed for this fit")
    assert np.all(np.array([r["std_error"] for r in out.fixed_effects]) > 0)


def test_the_adjustment_is_applied_before_the_tests_and_the_asked_settings_are_kept():
    design, fit = _fit()
    seen = []

    def double(inference):
        seen.append(inference.method)
        inference.vcov = 4 * np.asarray(inference.vcov)
    plain = fixed.fixed_effect_tests(fit, design, "kenward-roger")
    out = fixed.fixed_effect_tests(fit, design, "kenward-roger", adjust=double)
    assert seen == ["kenward-roger"] and out.asked is out.inference
    assert out.fixed_effects[1]["std_error"] == pytest.approx(2 * plain.fixed_effects[1]["std_error"], rel=1e-12)


def test_other_methods_are_not_replaced():
    design, fit = _fit()
    for m in ("satterthwaite", "residual", "none"):
        out = fixed.fixed_effect_tests(fit, design, m)
        assert out.inference.method == m and not [w for w in out.warnings if w.kind == "df_method"]
