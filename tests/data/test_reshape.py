"""Wide <-> long reshaping, occasion parsing and suggested repeated columns."""
import numpy as np
import pandas as pd
import pytest

from mixgui.data.reshape import (
    LongToWide,
    WideToLong,
    long_to_wide,
    parse_index,
    step_from_dict,
    suggest_groups,
    wide_to_long,
)
from mixgui.errors import DataError


@pytest.mark.parametrize("names, expected", [
    (["T0", "T1", "T3"], [0, 1, 3]),
    (["visit_3", "visit_5", "visit_10"], [3, 5, 10]),
    (["bp2_w1", "bp2_w2"], [1, 2]),  # the last number is the occasion
    (["week0.5", "week1"], [0.5, 1]),
    (["score_pre", "score_post"], ["pre", "post"]),  # no numbers: text, shared prefix removed
    (["pre", "post"], ["pre", "post"]),  # no separator in the shared "p": names kept whole
    (["x1", "y1"], ["x1", "y1"]),  # numbers repeat: fall back to the names
])
def test_parse_index(names, expected):
    assert parse_index(names) == expected


@pytest.fixture
def wide():
    return pd.DataFrame({"dep var": ["a", "b", "c"], "age": [30, 40, 50],
                         "y_T0": [1.0, 2.0, np.nan], "y_T1": [1.5, np.nan, 3.5], "y_T2": [2.0, 2.5, 4.0]})


def test_wide_to_long_every_cell(wide):
    long = wide_to_long(wide, ["y_T0", "y_T1", "y_T2"], "time", "y")
    assert list(long.columns) == ["dep var", "age", "time", "y"]
    assert long["dep var"].tolist() == ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    assert long["age"].tolist() == [30] * 3 + [40] * 3 + [50] * 3 and long["age"].dtype == np.int64
    assert long["time"].tolist() == [0, 1, 2] * 3 and long["time"].dtype == np.int64
    np.testing.assert_array_equal(long["y"].to_numpy(), [1.0, 1.5, 2.0, 2.0, np.nan, 2.5, np.nan, 3.5, 4.0])


def test_wide_to_long_options(wide):
    long = wide_to_long(wide, ["y_T2", "y_T0"], "when", "y", index_values=["late", "early"], id_name="subject",
                        drop_missing=True)
    assert list(long.columns) == ["subject", "dep var", "age", "y_T1", "when", "y"]  # unchosen columns stay
    assert long["subject"].tolist() == [1, 1, 2, 2, 3]
    assert long["when"].tolist() == ["late", "early", "late", "early", "late"]
    assert long["y"].tolist() == [2.0, 1.0, 2.5, 2.0, 4.0]


def test_integer_values_stay_integers():
    f = pd.DataFrame({"id": [1, 2], "v1": [3, 4], "v2": [5, 6]})
    long = wide_to_long(f, ["v1", "v2"], "visit", "count")
    assert long["count"].dtype == np.int64 and long["count"].tolist() == [3, 5, 4, 6]


@pytest.mark.parametrize("kwargs, words", [
    (dict(columns=["y_T0"]), "at least two"),
    (dict(columns=["y_T0", "y_T0"]), "chosen twice"),
    (dict(columns=["y_T0", "y_t1"]), 'did you mean "y_T1"'),
    (dict(columns=["y_T0", "y_T1"], index_name="age"), 'already have a column "age"'),
    (dict(columns=["y_T0", "y_T1"], index_name="y", value_name="y"), "different names"),
    (dict(columns=["y_T0", "y_T1"], index_values=[1, 1]), "same occasion"),
    (dict(columns=["y_T0", "y_T1"], index_values=[1]), "one per column"),
])
def test_wide_to_long_errors(wide, kwargs, words):
    with pytest.raises(DataError, match=words):
        wide_to_long(wide, **kwargs)


def test_long_to_wide_round_trip(wide):
    long = wide_to_long(wide, ["y_T0", "y_T1", "y_T2"], "time", "y")
    back = long_to_wide(long, "dep var", "time", "y")
    assert list(back.columns) == ["dep var", "age", "y_0", "y_1", "y_2"]
    pd.testing.assert_frame_equal(back[["y_0", "y_1", "y_2"]], wide[["y_T0", "y_T1", "y_T2"]]
                                  .set_axis(["y_0", "y_1", "y_2"], axis=1), check_dtype=False)
    assert back["age"].tolist() == [30, 40, 50]


def test_long_to_wide_drops_varying_columns_and_refuses_duplicates():
    long = pd.DataFrame({"id": [1, 1, 2, 2], "t": [1, 2, 1, 2], "y": [1.0, 2.0, 3.0, 4.0], "noise": [1, 2, 3, 4]})
    assert list(long_to_wide(long, "id", "t", ["y"]).columns) == ["id", "y_1", "y_2"]
    dup = pd.concat([long, long.iloc[[0]]])
    with pytest.raises(DataError, match="subject 1 has occasion 1 more than once"):
        long_to_wide(dup, "id", "t", "y")
    gap = long.copy()
    gap.loc[2, "t"] = np.nan
    with pytest.raises(DataError, match='occasion column "t" is empty in row 3'):
        long_to_wide(gap, "id", "t", "y")


def test_steps_round_trip_as_dicts(wide):
    for step in (WideToLong(("y_T0", "y_T1"), "time", "y", None, "sid", True),
                 WideToLong(("y_T0", "y_T1"), index_values=("a", "b")), LongToWide("id", "t", ("y",))):
        assert step_from_dict(step.to_dict()) == step
    assert WideToLong(("y_T0", "y_T1")).apply(wide).shape == (6, 5)
    with pytest.raises(DataError, match="unknown reshape step"):
        step_from_dict({"kind": "melt"})


def test_suggest_groups():
    assert suggest_groups(["id", "bp_T0", "bp_T1", "bp_T3", "hr1", "hr2", "age", "x1"]) == {
        "bp": ["bp_T0", "bp_T1", "bp_T3"], "hr": ["hr1", "hr2"]}
