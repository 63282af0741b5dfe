"""Computed variables: values, plain errors, JSON round trip and recomputation when data change."""
import json

import numpy as np
import pandas as pd
import pytest

from mixgui.data.computed import (
    Center,
    ClusterCenter,
    ClusterMean,
    Dichotomize,
    Log,
    Recode,
    Standardize,
    apply_recipes,
    notes,
    recipe_from_dict,
)
from mixgui.errors import DataError


@pytest.fixture
def frame():
    return pd.DataFrame({"clinic id": ["a", "a", "b", "b", None], "x": [1.0, 3.0, 5.0, np.nan, 7.0],
                         "sex": ["M", "F", "F", "M", None], "n": [8, 10, 12, 14, 8]})


def test_centering_and_standardising(frame):
    out = apply_recipes(frame, [Center("x_c", "x"), Standardize("x_z", "x")])
    m = np.mean([1, 3, 5, 7])
    sd = np.std([1, 3, 5, 7], ddof=1)  # R's scale() and sd() use n - 1
    np.testing.assert_allclose(out["x_c"], [1 - m, 3 - m, 5 - m, np.nan, 7 - m])
    np.testing.assert_allclose(out["x_z"], (frame["x"] - m) / sd)
    assert list(frame.columns) == ["clinic id", "x", "sex", "n"]  # the input is not changed


def test_cluster_mean_and_within_cluster_centering(frame):
    out = apply_recipes(frame, [ClusterMean("x_cm", "x", "clinic id"), ClusterCenter("x_cw", "x", "clinic id")])
    np.testing.assert_allclose(out["x_cm"], [2.0, 2.0, 5.0, 5.0, np.nan])  # missing cluster: missing mean
    np.testing.assert_allclose(out["x_cw"], [-1.0, 1.0, 0.0, np.nan, np.nan])
    # between + within = the value, wherever both are defined
    np.testing.assert_allclose((out["x_cm"] + out["x_cw"])[:3], frame["x"][:3])


def test_log_bases_offset_and_the_error_for_values_at_or_below_zero(frame):
    out = apply_recipes(frame, [Log("ln_x", "x"), Log("l10", "n", "10"), Log("l2", "x", "2", offset=1)])
    np.testing.assert_allclose(out["ln_x"], np.log(frame["x"]))
    np.testing.assert_allclose(out["l10"], np.log10(frame["n"]))
    np.testing.assert_allclose(out["l2"], np.log2(frame["x"] + 1))
    bad = frame.assign(x=[1.0, 0.0, -2.0, np.nan, 3.0])
    with pytest.raises(DataError, match=r'log of "x": 2 values are zero or negative \(the first 0 in row 2\)\. '
                                        r"Add a constant"):
        apply_recipes(bad, [Log("ln_x", "x")])


def test_recode_and_dichotomise(frame):
    out = apply_recipes(frame, [Recode("sex2", "sex", {"M": "male", "F": None}), Recode("age", "n", {"8": "young"}),
                                Dichotomize("hi", "x", 4.0), Dichotomize("hi_med", "n", "median", "low", "high")])
    assert out["sex2"][0] == "male" and out["sex2"].isna().tolist() == [False, True, True, False, True]
    assert out["age"].tolist() == ["young", "10", "12", "14", "young"]
    np.testing.assert_array_equal(out["hi"], [0.0, 0.0, 1.0, np.nan, 1.0])
    assert out["hi_med"].tolist() == ["low", "high", "high", "high", "low"]  # median 10: 10 is "at or above"
    assert "a third of the observations" in notes([Dichotomize("hi", "x", 4.0)])[0]
    assert notes([Center("c", "x")]) == []


def test_recipes_round_trip_through_json():
    recipes = [Center("a", "x"), Standardize("b", "x"), ClusterMean("c", "x", "g"), ClusterCenter("d", "x", "g"),
               Log("e", "x", "10", 0.5), Recode("f", "s", {"1": "one", "2": None}), Dichotomize("h", "x", 3.5),
               Dichotomize("i", "x", "median", "lo", "hi")]
    text = json.dumps([r.to_dict() for r in recipes])
    assert [recipe_from_dict(d) for d in json.loads(text)] == recipes
    with pytest.raises(DataError, match="unknown computed variable"):
        recipe_from_dict({"kind": "spline", "name": "s", "source": "x"})


def test_recipes_follow_the_data_and_build_on_each_other(frame):
    recipes = [ClusterMean("x_cm", "x", "clinic id"), Center("x_cm_c", "x_cm")]
    first = apply_recipes(frame, recipes)
    edited = first.copy()
    edited.loc[0, "x"] = 11.0  # the user corrects a value: the computed columns must follow
    again = apply_recipes(edited, recipes)
    assert again.loc[0, "x_cm"] == 7.0 and again.loc[1, "x_cm"] == 7.0
    np.testing.assert_allclose(again["x_cm_c"], again["x_cm"] - again["x_cm"].mean())


@pytest.mark.parametrize("recipes, words", [
    ([Center("x", "x")], "overwrite the column it is made from"),
    ([Center("", "x")], "has no name"),
    ([Center("c", "X")], 'did you mean "x"'),
    ([Center("c", "sex")], r'"sex" is text \("M" in row 1\)'),
    ([Center("c", "x"), Standardize("c", "n")], 'two computed variables are called "c"'),
    ([ClusterMean("c", "x", "clinic")], 'did you mean "clinic id"'),
    ([Standardize("c", "k")], "same value in every row"),
    ([Dichotomize("c", "x", "mean")], "not a number"),
])
def test_plain_errors(frame, recipes, words):
    frame = frame.assign(k=1.0)
    with pytest.raises(DataError, match=words):
        apply_recipes(frame, recipes)
