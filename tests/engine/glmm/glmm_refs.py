"""Load a stored glmer / glmmTMB reference case and fit it with MixGUI's engine."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from mixgui.analysis.formula import parse_formula
from mixgui.engine.design import build_design
from mixgui.engine.glmm import fit_glmm
from mixgui.engine.glmm.outcome import binary_codes, check_outcome

REF = Path(__file__).resolve().parents[2] / "reference" / "glmm"
# numeric-looking columns that R treats as factors in the reference script
FACTORS = {"cbpp.csv": ["period"], "grouseticks.csv": ["YEAR"]}
REFERENCE = {"bacteria.csv": {"trt": "placebo"}}  # R's factor order (placebo, drug, drug+)


def load(name: str) -> dict:
    return json.loads((REF / f"{name}.json").read_text())


def design_for(ref: dict):
    frame = pd.read_csv(REF / ref["data"])
    formula = parse_formula(ref["formula"])
    if ref["family"] == "binomial" and not ref.get("trials"):
        frame[formula.response] = binary_codes(frame[formula.response], formula.response)[0]
    extra = [ref["trials"]] if ref.get("trials") else []
    design = build_design(formula, frame, factors=FACTORS.get(ref["data"], []),
                          reference_levels=REFERENCE.get(ref["data"]), extra_columns=extra)
    trials = frame[ref["trials"]].to_numpy(float)[design.rows] if ref.get("trials") else None
    y, nt = check_outcome(design.y, ref["family"], formula.response, trials, ref.get("trials") or "")
    return design, y, nt


def fit_case(name: str):
    ref = load(name)
    design, y, nt = design_for(ref)
    fit = fit_glmm(y, design.X, design.blocks, ref["family"], ref["link"], nt, design.offset, ref.get("nagq", 1),
                   design.column_names)
    return ref, design, fit


_FITS: dict = {}


def fit_ref(ref: dict):
    """(design, fit) of a case given as a dict with ``data``, ``formula``, ``family`` (and ``trials``).

    Fits are kept for the session: several test modules use the same model (grouseticks' three
    random terms take a while), and a fit is never modified by the tests.
    """
    key = (ref["data"], ref["formula"], ref["family"], ref.get("link"), ref.get("trials"), ref.get("nagq", 1))
    if key not in _FITS:
        design, y, nt = design_for(ref)
        _FITS[key] = design, fit_glmm(y, design.X, design.blocks, ref["family"], ref.get("link"), nt, design.offset,
                                      ref.get("nagq", 1), design.column_names)
    return _FITS[key]
