"""References, tolerances and helpers shared by the emmeans tests (tolerances explained in test_means.py)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.formula import parse_formula
from mixgui.analysis.spec import Contrast, EmmeansRequest
from mixgui.engine.design import build_design

HERE = Path(__file__).resolve().parents[2] / "reference" / "emmeans"


REF = json.loads((HERE / "emmeans_refs.json").read_text())


CASES = {k: v for k, v in REF.items() if k != "poly"}


PUBLIC = Path(__file__).resolve().parents[2] / "reference" / "inference" / "public"


REL, DF_REL, P_REL, P_ABS = 1e-6, 1e-9, 2e-2, 1e-8


P_REL_EXACT = 1e-6  # p-values without numerical integration


def _list(x):
    return [] if x is None else [x] if isinstance(x, str) else list(x)


def _design(case):
    data = pd.read_csv(HERE / case["data"])
    return build_design(parse_formula(case["formula"]), data, factors=_list(case["factors"]),
                        reference_levels=case["reference_levels"])


def _contrast(c):
    w = c.get("weights")
    return Contrast(c["method"], c["adjust"], c.get("name"), tuple(_list(w)) if w is not None else None, c.get("ref"))


def _request(req):
    return EmmeansRequest(tuple(_list(req["specs"])), tuple(_list(req["by"])),
                          tuple(_contrast(c) for c in _list(req["contrasts"])))


def _kept_index(case):
    return [case["names"].index(n) for n in case["kept"]]


class DfLookup:
    """df_fn that answers with R's df for an L that R also computed (and fails otherwise)."""

    def __init__(self, case, *results):
        idx = _kept_index(case)
        self.table = []
        for result in results:
            for r in result["emmeans"] + [row for c in result["contrasts"] for row in c["rows"]]:
                if r.get("df") is not None and r["L"] is not None and None not in r["L"]:
                    self.table.append((np.asarray(r["L"], float)[idx], r["df"]))
        self.calls = 0

    def __call__(self, L):
        self.calls += 1
        L = np.asarray(L, float)
        for Lr, df in self.table:
            if np.max(np.abs(L - Lr)) <= 1e-9 * (1 + np.max(np.abs(Lr))):
                return df
        raise AssertionError(f"R computed no df for L = {L}")


def _close(got, want, rel, abs_=0.0, what=""):
    if want is None:
        assert got is None, f"{what}: got {got}, want None (not estimable)"
        return
    assert got is not None, f"{what}: got None, want {want}"
    assert abs(got - want) <= max(abs_, rel * abs(want)), f"{what}: got {got!r}, want {want!r}"


def _close_p(got, want, what, tukey=True):
    if not tukey:
        # absolute 1e-15: R's Sidak 1 - (1 - p)^m loses the digits of p below ~1e-13 to cancellation
        _close(got, want, P_REL_EXACT, 1e-15, what)
        return
    if want is not None and want < 1e-10:  # R's ptukey underflows to 0 far in the tail
        assert got is not None and got < 1e-8, f"{what}: got {got}, want {want}"
        return
    _close(got, want, P_REL, P_ABS, what)


def _runs():
    for name, case in CASES.items():
        for i, req in enumerate(case["requests"]):
            for dfm in req["results"]:
                yield pytest.param(name, i, dfm, id=f"{name}-{i}-{'+'.join(_list(req['specs']))}"
                                   f"{'|' + '+'.join(_list(req['by'])) if _list(req['by']) else ''}-{dfm}")


def _inputs(case, dfm, result):
    beta = np.asarray(case["beta"], float)
    vcov = np.asarray(case["vcov_kr"] if dfm == "kenward-roger" else case["vcov"], float)
    return beta, vcov, DfLookup(case, result)


def _cat():
    case = CASES["orthodont_cat"]
    beta, vcov, _ = _inputs(case, "kenward-roger", case["requests"][0]["results"]["kenward-roger"])
    df_fn = DfLookup(case, *(req["results"]["kenward-roger"] for req in case["requests"]))
    return _design(case), beta, vcov, df_fn
