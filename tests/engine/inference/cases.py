"""Cases, fitters and tolerances shared by the inference tests (tolerances explained in test_core.py)."""
from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from mixgui.analysis.formula import parse_formula
from mixgui.engine.design import build_design
from mixgui.engine.inference.core import Inference

from ..dense_lmm import fit_design as dense_fit

REF = Path(__file__).resolve().parents[2] / "reference" / "inference"


PUBLIC = ["sleepstudy_ri", "sleepstudy_ri_ml", "sleepstudy_rs", "sleepstudy_rs_uncorr", "orthodont_cat",
          "pastes_nested", "penicillin_crossed"]


R_REFS = json.loads((REF / "inference_refs.json").read_text())


R_CASES = {c["name"]: c for c in R_REFS["cases"]}


DF_REL, P_REL, STAT_REL, R2_REL = 1e-2, 2e-2, 2e-3, 2e-3


METHODS = [("satterthwaite", "satterthwaite"), ("kenward-roger", "kenward_roger")]


def lmm_fit(design, reml=True):
    from mixgui.engine.lmm.fit import fit_lmm

    return fit_lmm(design.y, design.X, design.blocks, reml=reml, column_names=design.column_names)


ENGINES = ["dense", "lmm"]


FITTERS = {"dense": dense_fit, "lmm": lmm_fit}


def close(a, b, rel, abs_=0.0) -> bool:
    if b is None:
        return a is None or (isinstance(a, float) and math.isnan(a))
    return a == pytest.approx(b, rel=rel, abs=abs_)


@functools.cache
def public_design(case):
    spec = json.loads((REF / "public" / f"{case}.spec.json").read_text())
    data = pd.read_csv(REF / Path(spec["data"]["path"]).name)
    design = build_design(parse_formula(spec["formula"]), data, factors=spec.get("factors", []),
                          reference_levels=spec.get("reference_levels"))
    return design, spec["method"] == "REML"


@functools.cache
def r_design(name):
    c = R_CASES[name]
    data = pd.read_csv(REF / c["data"])
    data = data.drop(index=[i - 1 for i in c["drop_rows"]]).reset_index(drop=True)
    design = build_design(parse_formula(c["formula"]), data, factors=c["factors"],
                          reference_levels=c["reference_levels"] or None)
    return design, c["method"] == "REML"


@functools.cache
def fitted(kind, case, engine):
    design, reml = public_design(case) if kind == "public" else r_design(case)
    return design, FITTERS[engine](design, reml)


@functools.cache
def inference(kind, case, engine, method):
    design, fit = fitted(kind, case, engine)
    return Inference.build(fit, method, design.nobs)


def public_ref(case):
    return json.loads((REF / "public" / f"{case}.json").read_text())


def _fixed_ok(rows, ref_rows, key):
    se_key = "std_error_kenward_roger" if key == "kenward_roger" else "std_error"
    for r, rr in zip(rows, ref_rows):
        assert r["term"] == rr["term"]
        assert close(r["std_error"], rr[se_key], STAT_REL), r["term"]
        assert close(r["df"], rr["df_" + key], DF_REL), r["term"]
        assert close(r["p_value"], rr["p_value_" + key], P_REL), r["term"]


def _design(csv, formula, factors=(), ref=None):
    return build_design(parse_formula(formula), pd.read_csv(REF / csv), factors=list(factors), reference_levels=ref)
