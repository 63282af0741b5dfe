"""Factor coding done once per column (factor_codes) agrees with the row-by-row definition.

The definition: each value is written by ``level_label`` (R's way: 8 not 8.0, TRUE/FALSE) and the
levels sorted by ``sorted_levels``. ``factor_codes`` hashes each row once, labels only the distinct
values, and may hash a long column in chunks; it must give the very same labels, levels and order.
"""
import numpy as np
import pandas as pd
import pytest

import mixgui.data.levels as levels_mod
from mixgui.data.levels import as_labels, coded_labels, factor_codes, label_values, level_label, sorted_levels
from mixgui.errors import Cancelled, Progress

RNG = np.random.default_rng(7)
FLOATS = np.concatenate([RNG.normal(0, 1, 300), RNG.normal(0, 1e-8, 20), np.round(RNG.normal(0, 1e6, 20)),
                         [0.0, -0.0, 1e16, 2.0 ** 53, 2.0 ** 53 + 2, -2.0 ** 60, np.inf, -np.inf, 0.1, 1e-5, 1.5e-7]])
COLUMNS = {
    "floats": pd.Series(RNG.choice(FLOATS, 2000)),
    "floats with gaps": pd.Series(np.where(RNG.random(900) < 0.1, np.nan, RNG.choice(FLOATS[:40], 900))),
    "integers": pd.Series(RNG.integers(-50, 300, 2000)),
    "text": pd.Series(RNG.choice(["b", "A", "a", "B", "c10", "c9", "Zeta", "ß"], 1500)),
    "numbers as text": pd.Series(RNG.choice(["1", "01", "2", "10", "1.0", "-3", "1e2"], 1500)),
    "text with gaps": pd.Series(RNG.choice(["x", "y", None], 900)),
    "mixed kinds": pd.Series(np.array([True, 1, "a", 1.0, 2.5, None] * 10, dtype=object)),
    "booleans": pd.Series(RNG.random(100) < 0.5),
    "nullable integers": pd.Series([3, 1, None, 2] * 5, dtype="Int64"),
    "ordered categorical": pd.Series(pd.Categorical(["z", "a", "m"] * 5, categories=["z", "m", "a"], ordered=True)),
    "dates": pd.Series(pd.to_datetime(["2020-01-02", "2020-01-01"] * 3)),
}


def _row_by_row_labels(series):
    labels = [np.nan if pd.isna(v) else level_label(v) for v in series.astype(object)]
    return pd.Series(np.array(labels, dtype=object), index=series.index, name=series.name)


@pytest.mark.parametrize("name", list(COLUMNS))
@pytest.mark.parametrize("chunk", [7, 1_000_000])
def test_factor_codes_give_the_labels_and_levels_of_the_definition(name, chunk, monkeypatch):
    series = COLUMNS[name]
    monkeypatch.setattr(levels_mod, "CHUNK_ROWS", chunk)
    expected = _row_by_row_labels(series)
    pd.testing.assert_series_equal(as_labels(series), expected)
    codes, levels = factor_codes(series, Progress())
    assert levels == sorted_levels(expected)
    assert len(set(levels)) == len(levels)
    shown = np.array(levels + [np.nan], dtype=object)[codes]
    pd.testing.assert_series_equal(pd.Series(shown, name=series.name), expected, check_names=False)
    pd.testing.assert_series_equal(coded_labels(series, codes, levels), expected)


def test_label_values_write_numbers_as_r_prints_them():
    assert list(label_values(np.array([8.0, -0.0, 2.5, 1e-5, np.inf, 2.0 ** 60]))) == [
        "8", "0", "2.5", "1e-05", "inf", str(2 ** 60)]
    assert list(label_values(np.array([3, -12]))) == ["3", "-12"]
    assert list(label_values(np.array([True, False]))) == ["TRUE", "FALSE"]
    assert list(label_values(pd.Index(FLOATS))) == [level_label(v) for v in FLOATS.tolist()]


def test_numeric_levels_sort_as_numbers_with_first_appearance_on_ties():
    codes, levels = factor_codes(pd.Series(["10", "9", "01", "1", "9"]))
    assert levels == ["01", "1", "9", "10"]  # "01" and "1" tie as numbers: first seen first, as R's order()
    assert list(codes) == [3, 2, 0, 1, 2]


def test_a_long_column_reports_progress_between_chunks_and_stops_on_cancel(monkeypatch):
    monkeypatch.setattr(levels_mod, "CHUNK_ROWS", 100)
    series = pd.Series([f"S{k % 37}" for k in range(1000)])
    seen = []
    factor_codes(series, Progress(lambda f, m: seen.append(m)), 0.02, "coding subject")
    assert seen.count("coding subject") >= 10  # one report per chunk of 100 rows
    progress = Progress()
    progress.cancel()
    with pytest.raises(Cancelled):
        factor_codes(series, progress)
