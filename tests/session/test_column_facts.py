"""Column facts are computed once per frame (in the reading thread) and equal the plain answers."""
import gc

import numpy as np
import pandas as pd

from mixgui.analysis.builder_notes import distinct_groups
from mixgui.analysis.outcome import outcome_kind
from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.data.levels import sorted_levels
from mixgui.session import column_facts


def _frame(n=2000, seed=3):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"patient": rng.integers(0, 300, n), "site": rng.choice(["b", "A", "c", None], n),
                         "y": rng.normal(size=n), "event": rng.integers(0, 2, n)})


def test_answers_equal_the_plain_functions():
    f = _frame()
    assert column_facts.levels(f, "site") == sorted_levels(f["site"])
    assert column_facts.levels(f, "patient") == sorted_levels(f["patient"])
    assert column_facts.distinct_groups(f, ("patient",)) == len(f[["patient"]].dropna().drop_duplicates())
    assert column_facts.distinct_groups(f, ("patient", "site")) == len(f[["patient", "site"]].dropna().drop_duplicates())
    assert column_facts.outcome_kind(f, "event") == outcome_kind("event", f["event"])
    assert column_facts.outcome_kind(f, "event").kind == "binary"
    # the single-column shortcut counts like the general one, missing values left out
    assert distinct_groups(f, ["site"]) == 3


def test_computed_once_per_frame_and_forgotten_with_it(monkeypatch):
    calls = []
    real = column_facts._sorted_levels
    monkeypatch.setattr(column_facts, "_sorted_levels", lambda s: calls.append(1) or real(s))
    f = _frame()
    first = column_facts.levels(f, "site")
    assert column_facts.levels(f, "site") is first and len(calls) == 1
    other = _frame(seed=4).iloc[:10]  # another frame: its own answer
    column_facts.levels(other, "site")
    assert len(calls) == 2
    key = id(f)
    del f
    gc.collect()
    assert key not in column_facts._facts


def test_warm_read_fills_what_the_builder_asks(monkeypatch):
    f = _frame()
    spec = AnalysisSpec.from_dict({"data": {"path": "x.csv"}, "formula": "event ~ site + (1 | patient)",
                                   "factors": ["patient"]})
    column_facts.warm_read((spec, Dataset(f), None))
    monkeypatch.setattr(column_facts, "_sorted_levels", lambda s: (_ for _ in ()).throw(AssertionError("again")))
    monkeypatch.setattr(column_facts, "_outcome_kind", lambda c, s: (_ for _ in ()).throw(AssertionError("again")))
    monkeypatch.setattr(column_facts, "_distinct_groups", lambda fr, c: (_ for _ in ()).throw(AssertionError("again")))
    assert column_facts.levels(f, "patient") == sorted_levels(f["patient"])
    assert column_facts.levels(f, "site") == ["A", "b", "c"]
    assert column_facts.distinct_groups(f, ("patient",)) == f["patient"].nunique()
    assert column_facts.outcome_kind(f, "event").kind == "binary"


def test_warm_read_of_a_bad_formula_leaves_the_question_to_the_window():
    f = _frame()
    spec = AnalysisSpec.from_dict({"data": {"path": "x.csv"}, "formula": "y ~ site"})
    object.__setattr__(spec, "formula", "y ~ (")  # a formula the parser refuses
    column_facts.warm_read((spec, Dataset(f), None))  # no exception: the window reports it itself
    column_facts.warm_read("not a read result")
