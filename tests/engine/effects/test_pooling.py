"""No, partial and complete pooling (mixgui.engine.effects.pooling) against lme4's BLUPs."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.formula import parse_formula
from mixgui.engine.design import build_design
from mixgui.engine.effects.pooling import pooling_comparison
from mixgui.engine.ols.fit import (
    fit_ols,
)
from mixgui.errors import ModelError

HERE = Path(__file__).resolve().parents[2] / "reference" / "ols"
REFS = json.loads((HERE / "ols_refs.json").read_text())
EST = 1e-6  # relative: the same closed-form arithmetic as R on R's own BLUPs


def data(name):
    return pd.read_csv(HERE / name)


def test_pooling_comparison_sleepstudy():
    ref = REFS["pooling_sleepstudy"]
    ss = data("sleepstudy.csv")
    d = build_design(parse_formula("Reaction ~ Days + Subject"), ss, factors=["Subject"])
    out = pooling_comparison(d, fit_ols(d), "Subject", ref["blups"], ref["levels"], ref["fixed_intercept"])
    assert [r["group"] for r in out["rows"]] == ref["levels"]
    np.testing.assert_allclose(out["arrays"]["no_pooling"], ref["no_pooling"], rtol=EST)
    np.testing.assert_allclose(out["arrays"]["raw_mean"], ref["raw_mean"], rtol=EST)
    np.testing.assert_allclose(out["arrays"]["partial_pooling"], ref["partial_pooling"], rtol=EST)
    assert out["grand_mean"] == pytest.approx(np.mean(ss["Reaction"]))
    assert all(r["n"] == 10 for r in out["rows"])
    # Balanced data: every subject is pulled the same share, sigma^2/n / (tau^2 + sigma^2/n).
    tau2, sigma2 = ref["vc"]
    np.testing.assert_allclose(out["arrays"]["pulled"], (sigma2 / 10) / (tau2 + sigma2 / 10), rtol=1e-5)
    assert "Partial pooling" in out["explanation"] and "Days" in out["explanation"]
    assert out["notes"] == []


def test_pooling_comparison_checks_inputs():
    ss = data("sleepstudy.csv")
    d = build_design(parse_formula("Reaction ~ Days + Subject"), ss, factors=["Subject"])
    fit = fit_ols(d)
    with pytest.raises(ModelError, match="not a factor"):
        pooling_comparison(d, fit, "Days", [0.0], ["308"], 250.0)
    with pytest.raises(ModelError, match="must match"):
        pooling_comparison(d, fit, "Subject", [0.0, 1.0], ["308"], 250.0)
    out = pooling_comparison(d, fit, "Subject", [1.0, 2.0], ["308", "999"], 250.0)
    assert out["rows"][0]["partial_pooling"] == 251.0 and out["rows"][1]["partial_pooling"] is None
    assert len(out["notes"]) == 2
