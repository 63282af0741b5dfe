"""Which model the builder offers for an outcome column."""
import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.outcome import outcome_kind

rng = np.random.default_rng(3)


@pytest.mark.parametrize("values, kind, family", [
    ([0, 1, 1, 0, None], "binary", "binomial"),
    (["yes", "no", "no"], "binary", "binomial"),
    (rng.poisson(2.0, 200), "count", "poisson"),
    (rng.negative_binomial(1, 0.1, 400), "count", "negative_binomial"),   # mean 9, variance ~90
    (rng.normal(50, 10, 200), "continuous", "gaussian"),
    (rng.integers(40, 60, 300), "continuous", "gaussian"),               # a whole-number score, not a count
    (["a", "b", "c"], "unusable", "gaussian"),
    ([None, None], "unusable", "gaussian"),
])
def test_outcome_kind(values, kind, family):
    got = outcome_kind("y", pd.Series(values))
    assert (got.kind, got.family) == (kind, family)
    assert (got.message == "") == (kind == "continuous")


def test_binary_message_names_the_two_values():
    assert "0 and 1" in outcome_kind("responder", pd.Series([1, 0, 1])).message
