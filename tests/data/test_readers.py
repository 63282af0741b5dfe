"""Reading data files: CSV dialects, Excel sheets, and clear errors for bad files."""
import numpy as np
import pandas as pd
import pytest

from mixgui.data.levels import sorted_levels
from mixgui.data.readers import read_table
from mixgui.errors import DataError


def test_comma_and_semicolon_decimal_comma_give_the_same_table(tmp_path):
    df = pd.DataFrame({"y": [1.5, 2.25, 3.0], "group": ["a", "b", "a"]})
    (tmp_path / "a.csv").write_text("y,group\n1.5,a\n2.25,b\n3.0,a\n")
    (tmp_path / "b.csv").write_text("y;group\n1,5;a\n2,25;b\n3,0;a\n", encoding="cp1252")
    for name in ("a.csv", "b.csv"):
        got = read_table(tmp_path / name).frame
        np.testing.assert_allclose(got["y"], df["y"])
        assert list(got["group"]) == ["a", "b", "a"]


def test_xlsx_named_sheet_and_unknown_sheet(tmp_path):
    p = tmp_path / "w.xlsx"
    with pd.ExcelWriter(p) as xw:
        pd.DataFrame({"a": [1, 2]}).to_excel(xw, sheet_name="first", index=False)
        pd.DataFrame({"b": [3, 4]}).to_excel(xw, sheet_name="second", index=False)
    assert list(read_table(p, "second").frame.columns) == ["b"]
    with pytest.raises(DataError, match='no sheet "third"; its sheets are first, second'):
        read_table(p, "third")


@pytest.mark.parametrize("content, words", [
    (b"", "empty"),
    (b"a,b\n", "no data rows"),
    (b"\x00\x01\x02PK\x03\x04binary", "not a text file"),
    (b"a,a\n1,2\n", 'two columns called "a"'),
])
def test_bad_csv_files(tmp_path, content, words):
    p = tmp_path / "bad.csv"
    p.write_bytes(content)
    with pytest.raises(DataError, match=words):
        read_table(p)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DataError, match="not a readable Excel file"):
        read_table(tmp_path / "broken.xlsx")
    (tmp_path / "x.parquet").write_bytes(b"x")
    with pytest.raises(DataError, match="reads .csv, .txt, .xlsx, .xls, .xlsb, .ods and .sav"):
        read_table(tmp_path / "x.parquet")


def test_r_level_order():
    assert sorted_levels(pd.Series([10, 8, 12, 8])) == ["8", "10", "12"]
    assert sorted_levels(pd.Series(["10", "8", "12"])) == ["8", "10", "12"]
    assert sorted_levels(pd.Series(["b", "B", "a", "A"])) == ["a", "A", "b", "B"]
