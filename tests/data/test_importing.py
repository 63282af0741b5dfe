"""Import options (title rows, missing codes, dates, CSV overrides) and the same results from
every file format."""
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.importing import ImportOptions, parse_codes, preview, raw_rows, read_with_options, to_dates
from mixgui.data.readers import read_table
from mixgui.data.reshape import wide_to_long
from mixgui.errors import DataError

HERE = Path(__file__).parent
DATA = HERE.parent / "reference" / "data"
ORTHODONT = HERE.parent / "reference" / "cli" / "orthodont_long.csv"
FILES = HERE / "files"  # formats.* and orthodont.xlsb: how each was made is in FILES / "README.md"
NAN = float("nan")


def _cells(frame: pd.DataFrame) -> list:
    return [[None if (not isinstance(v, str) and pd.isna(v)) else v for v in row]
            for row in frame.itertuples(index=False)]


# -- acceptance 2: a wide workbook with a title row and 999 codes becomes the right long table ----------

EXPECTED_WIDE = [
    ["P01", "F", 54.0, 140.0, 135.5, None],
    ["P02", "M", None, 150.0, None, 138.0],
    ["P03", "F", 61.0, 132.0, 130.0, 128.0],
    ["P04", "M", 47.0, None, 141.0, 137.25],
]
EXPECTED_LONG = [
    ["P01", "F", 54.0, 0, 140.0], ["P01", "F", 54.0, 1, 135.5], ["P01", "F", 54.0, 3, None],
    ["P02", "M", None, 0, 150.0], ["P02", "M", None, 1, None], ["P02", "M", None, 3, 138.0],
    ["P03", "F", 61.0, 0, 132.0], ["P03", "F", 61.0, 1, 130.0], ["P03", "F", 61.0, 3, 128.0],
    ["P04", "M", 47.0, 0, None], ["P04", "M", 47.0, 1, 141.0], ["P04", "M", 47.0, 3, 137.25],
]


@pytest.mark.parametrize("name, options", [
    ("wide_titled.xlsx", ImportOptions(sheet="Visits", skip_rows=2, missing=(999,))),
    ("wide_titled.csv", ImportOptions(skip_rows=1, missing=parse_codes("999, n/a"))),
])
def test_titled_wide_file_with_999_codes_becomes_the_right_long_table(name, options):
    ds = read_with_options(DATA / name, options)
    assert ds.columns == ["patient id", "Sex", "age", "bp_T0", "bp_T1", "bp_T3"]
    assert _cells(ds.frame) == EXPECTED_WIDE
    assert all(pd.api.types.is_float_dtype(ds.frame[c]) for c in ["age", "bp_T0", "bp_T1", "bp_T3"])
    long = wide_to_long(ds.frame, ["bp_T0", "bp_T1", "bp_T3"], index_name="visit", value_name="sbp")
    assert list(long.columns) == ["patient id", "Sex", "age", "visit", "sbp"]
    assert _cells(long) == EXPECTED_LONG
    assert long["visit"].dtype == np.int64  # parsed from T0, T1, T3: visit 2 is a gap, not a shift


def test_without_options_the_title_row_is_taken_as_the_header():
    # what happens when the user does not say where the header is: visible in the preview
    frame = preview(DATA / "wide_titled.xlsx", ImportOptions(sheet="Visits"), nrows=3)
    assert frame.columns[0].startswith("Blood pressure study")


def test_raw_rows_show_the_file_before_any_header_is_chosen():
    rows = raw_rows(DATA / "wide_titled.csv", nrows=3)
    assert rows[0] == ["Blodtryk – studie"]  # cp1252 decoded
    assert rows[1][:3] == ["patient id", "Sex", "age"]
    xl = raw_rows(DATA / "wide_titled.xlsx", ImportOptions(sheet="Visits"), nrows=3)
    assert xl[2][0] == "patient id"


def test_plain_options_read_exactly_as_read_table():
    a = read_with_options(ORTHODONT).frame
    b = read_with_options(ORTHODONT, ImportOptions()).frame
    pd.testing.assert_frame_equal(a, read_table(ORTHODONT).frame)
    pd.testing.assert_frame_equal(b, read_table(ORTHODONT).frame)


def test_missing_codes_per_column_leave_other_columns_alone():
    o = ImportOptions(sheet="Visits", skip_rows=2, column_missing={"age": (999,)})
    f = read_with_options(DATA / "wide_titled.xlsx", o).frame
    assert math.isnan(f.loc[1, "age"])
    assert f.loc[1, "bp_T1"] == 999 and f.loc[0, "bp_T3"] == 999


def test_unknown_column_in_options_suggests_the_name():
    o = ImportOptions(sheet="Visits", skip_rows=2, column_missing={"Age": (999,)})
    with pytest.raises(DataError, match='"Age" not in .*did you mean "age"'):
        read_with_options(DATA / "wide_titled.xlsx", o)


def test_units_row_below_the_header_and_files_without_a_header(tmp_path):
    p = tmp_path / "units.csv"
    p.write_text("Study X\nid,weight,height\n,kg,cm\n1,70.5,180\n2,82,175\n")
    f = read_with_options(p, ImportOptions(skip_rows=1, skip_after_header=1)).frame
    assert list(f.columns) == ["id", "weight", "height"]
    assert f["weight"].tolist() == [70.5, 82.0] and f["height"].dtype == np.int64
    g = read_with_options(p, ImportOptions(skip_rows=3, header=False)).frame
    assert list(g.columns) == ["V1", "V2", "V3"] and g["V2"].tolist() == [70.5, 82.0]
    xl = tmp_path / "units.xlsx"
    pd.DataFrame([["Study X", None, None], ["id", "weight", "height"], [None, "kg", "cm"], [1, 70.5, 180],
                  [2, 82, 175]]).to_excel(xl, header=False, index=False, sheet_name="S")
    h = read_with_options(xl, ImportOptions(sheet="S", skip_rows=1, skip_after_header=1)).frame
    assert list(h.columns) == ["id", "weight", "height"] and h["weight"].tolist() == [70.5, 82.0]


def test_text_missing_code_turns_a_text_column_back_into_numbers(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("y,x\n1.5,missing\n2.5,3\n3.5,-99\n")
    f = read_with_options(p, ImportOptions(missing=("missing", -99))).frame
    assert pd.api.types.is_float_dtype(f["x"]) and f["x"].tolist()[1] == 3.0
    assert f["x"].isna().tolist() == [True, False, True]


def test_csv_overrides_delimiter_decimal_encoding(tmp_path):
    p = tmp_path / "eu.txt"
    p.write_bytes("naam;gewicht\nJosé;70,5\nRenée;82,25\n".encode("cp1252"))
    f = read_with_options(p, ImportOptions(delimiter=";", decimal=",", encoding="cp1252")).frame
    assert f["naam"].tolist() == ["José", "Renée"] and f["gewicht"].tolist() == [70.5, 82.25]
    with pytest.raises(DataError, match="not valid utf-8 text.*choose another encoding"):
        read_with_options(p, ImportOptions(encoding="utf-8"))
    q = tmp_path / "tab.csv"
    q.write_text("a\tb\n1\t2\n")
    assert list(read_with_options(q, ImportOptions(delimiter="\t", decimal=".")).frame.columns) == ["a", "b"]
    with pytest.raises(DataError, match="decimal mark and the field separator"):
        read_with_options(q, ImportOptions(delimiter=",", decimal=","))


def test_excel_dates_and_text_dates(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("id,visit,born\n1,45366,03/01/1960\n2,45000,25/12/1971\n")
    f = read_with_options(p, ImportOptions(date_columns=("visit", "born"), dayfirst=True)).frame
    assert f["visit"].tolist() == [pd.Timestamp("2024-03-15"), pd.Timestamp("2023-03-15")]
    assert f["born"].tolist() == [pd.Timestamp("1960-01-03"), pd.Timestamp("1971-12-25")]
    xl = tmp_path / "d.xlsx"
    pd.DataFrame({"when": pd.to_datetime(["2024-01-02", "2024-02-03"]), "y": [1, 2]}).to_excel(xl, index=False)
    g = read_with_options(xl, ImportOptions(date_columns=("when",))).frame
    assert g["when"].tolist() == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-02-03")]
    with pytest.raises(DataError, match='"soon", which is not a date'):
        to_dates(pd.Series(["2024-01-01", "soon"], dtype=object), "when")


def test_preview_reads_only_the_first_rows(tmp_path):
    p = tmp_path / "big.csv"
    p.write_text("i,y\n" + "".join(f"{i},{i * 0.5}\n" for i in range(5000)))
    assert len(preview(p, ImportOptions(), nrows=20)) == 20


def test_header_row_past_the_end_is_a_plain_error(tmp_path):
    p = tmp_path / "short.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="lower the number of rows to skip|no data|no columns"):
        read_with_options(p, ImportOptions(skip_rows=5))


def test_options_round_trip_through_json():
    o = ImportOptions(sheet="Visits", skip_rows=2, missing=(999, "n/a"), column_missing={"age": (-1,)},
                      date_columns=("visit",), dayfirst=True, delimiter=";", decimal=",", encoding="cp1252")
    back = ImportOptions.from_dict(json.loads(json.dumps(o.to_dict())))
    assert back == o and o.header_row == 3 and not o.is_plain() and ImportOptions(sheet="x").is_plain()
    assert parse_codes("999; -99 , n/a, 1,5") == (999, -99, "n/a", 1, 5)


def test_sav_with_missing_codes(tmp_path):
    import pyreadstat
    p = tmp_path / "s.sav"
    pyreadstat.write_sav(pd.DataFrame({"y": [1.0, 999.0, 3.0], "g": [1.0, 2.0, 1.0]}), str(p),
                         variable_value_labels={"g": {1.0: "low", 2.0: "high"}})
    ds = read_with_options(p, ImportOptions(missing=(999,)))
    assert ds.frame["y"].isna().tolist() == [False, True, False]
    assert ds.frame["g"].tolist() == ["low", "high", "low"] and ds.labels["g"] == {1.0: "low", 2.0: "high"}
    with pytest.raises(DataError, match="SPSS files have no title rows"):
        read_with_options(p, ImportOptions(skip_rows=1))


# -- acceptance 1: the same data as CSV, European CSV, xlsx, xlsb (named sheet) and .sav give the same fit --

def _five_forms(folder: Path) -> dict:
    df = pd.read_csv(ORTHODONT)
    paths = {"csv": (folder / "o.csv", None), "csv_eu": (folder / "o_eu.csv", None),
             "xlsx": (folder / "o.xlsx", "Orthodont"), "xlsb": (folder / "o.xlsb", "Orthodont"),
             "sav": (folder / "o.sav", None)}
    # pandas cannot write .xlsb: the committed copy (same data, same two sheets) was made by make_xlsb.py
    paths["xlsb"][0].write_bytes((FILES / "orthodont.xlsb").read_bytes())
    df.to_csv(paths["csv"][0], index=False)
    df.to_csv(paths["csv_eu"][0], index=False, sep=";", decimal=",")
    with pd.ExcelWriter(paths["xlsx"][0]) as xw:
        pd.DataFrame({"note": ["the data are on the next sheet"]}).to_excel(xw, sheet_name="Read me", index=False)
        df.to_excel(xw, sheet_name="Orthodont", index=False)
    import pyreadstat
    sav = df.copy()
    sav["Sex"] = sav["Sex"].map({"Male": 1.0, "Female": 2.0})  # coded, with value labels, as SPSS users store it
    pyreadstat.write_sav(sav, str(paths["sav"][0]), variable_value_labels={"Sex": {1.0: "Male", 2.0: "Female"}},
                         variable_measure={"Sex": "nominal", "Subject": "nominal"})
    return paths


def _comparable(d: dict) -> dict:
    return {k: v for k, v in d.items() if k not in ("fit_seconds", "data_name")}


def _assert_same(a, b, path="result"):
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            _assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-14, nan_ok=True), path
    else:
        assert a == b, path


def _fit_all(tmp_path, spec_dict):
    from mixgui.pipeline.run import run
    paths = _five_forms(tmp_path)
    results = {}
    for kind, (p, sheet) in paths.items():
        spec = AnalysisSpec.from_dict({**spec_dict, "data": {"path": p.name, "sheet": sheet}})
        results[kind] = json.loads(run(spec, read_table(p, sheet)).to_json())
    return results


def test_regression_gives_identical_results_from_the_five_formats(tmp_path):
    results = _fit_all(tmp_path, {"formula": "distance ~ agen * Sex", "reference_levels": {"Sex": "Male"},
                                  "emmeans": [{"specs": "Sex", "contrasts": [{"method": "pairwise"}]}]})
    ref = _comparable(results["csv"])
    assert ref["fixed_effects"][2]["term"] == "SexFemale"
    assert ref["fixed_effects"][2]["estimate"] == pytest.approx(1.0321022727, rel=1e-9)  # R: lm()
    for kind in ("csv_eu", "xlsx", "xlsb", "sav"):
        _assert_same(ref, _comparable(results[kind]), kind)


def test_mixgui_fit_command_reads_the_five_formats_alike(tmp_path):
    from mixgui.cli import main
    paths = _five_forms(tmp_path)
    outs = {}
    for kind, (p, sheet) in paths.items():
        spec = tmp_path / f"{kind}.json"
        spec.write_text(json.dumps({"data": {"path": p.name, "sheet": sheet}, "formula": "distance ~ agen * Sex",
                                    "reference_levels": {"Sex": "Male"}}))
        assert main(["fit", str(spec), "--json", str(tmp_path / f"{kind}_out.json")]) == 0
        outs[kind] = _comparable(json.loads((tmp_path / f"{kind}_out.json").read_text()))
    for kind in ("csv_eu", "xlsx", "xlsb", "sav"):
        _assert_same(outs["csv"], outs[kind], kind)


def test_mixed_model_gives_identical_results_from_the_five_formats(tmp_path):
    results = _fit_all(tmp_path, {"formula": "distance ~ agen * Sex + (1 | Subject)",
                                  "reference_levels": {"Sex": "Male"}})
    ref = _comparable(results["csv"])
    for kind in ("csv_eu", "xlsx", "xlsb", "sav"):
        _assert_same(ref, _comparable(results[kind]), kind)


@pytest.mark.parametrize("suffix", ["xls", "ods", "xlsb"])
def test_other_spreadsheet_formats_read_to_the_same_table_as_xlsx(suffix):
    """calamine reads .xls, .ods and .xlsb (title row, blank row, "." for missing) into the .xlsx's table."""
    want = read_table(FILES / "formats.xlsx", "Visits")
    got = read_table(FILES / f"formats.{suffix}", "Visits")
    pd.testing.assert_frame_equal(got.frame, want.frame)
    assert got.frame["score"].isna().sum() == 1 and got.frame["week"].dtype == np.int64


def test_xlsb_with_two_sheets_reads_the_named_sheet_as_the_csv():
    got = read_table(FILES / "orthodont.xlsb", "Orthodont").frame
    pd.testing.assert_frame_equal(got, read_table(ORTHODONT).frame)
    assert read_table(FILES / "orthodont.xlsb").frame.columns.tolist() == ["note"]  # the first sheet by default


@pytest.mark.parametrize("suffix", ["xlsx", "xls", "ods", "xlsb"])
def test_import_dialog_helpers_find_the_header_in_every_spreadsheet_format(suffix):
    """What the import dialog shows (its first options, the raw rows, the preview) is the same for each format."""
    from mixgui.data.importing import suggest_options
    path = FILES / f"formats.{suffix}"
    options = suggest_options(path)
    assert options.sheet == "Visits" and options.skip_rows == 2  # title row and blank row skipped
    rows = raw_rows(path, options, nrows=4)
    assert rows[0][0] == "Hospital export 2026" and rows[2] == ["patient", "week", "score"]
    frame = preview(path, options, nrows=6)
    assert list(frame.columns) == ["patient", "week", "score"]
    assert frame["week"].tolist() == [0, 4, 8, 0, 4, 8]
    assert frame["score"].tolist()[:5] == [10.0, 10.5, 11.0, 11.5, 12.0] and math.isnan(frame["score"][5])


def test_load_analysis_data_redoes_import_reshape_and_computed_variables():
    from mixgui.data.importing import load_analysis_data
    analysis = {"data": {"path": "wide_titled.csv", "import": {"skip_rows": 1, "missing": [999, "n/a"]},
                         "reshape": [{"kind": "wide_to_long", "columns": ["bp_T0", "bp_T1", "bp_T3"],
                                      "index_name": "visit", "value_name": "sbp"}]},
                "computed": [{"kind": "center", "name": "age_c", "source": "age"}]}
    ds, how = load_analysis_data(DATA / "wide_titled.csv", analysis)
    assert _cells(ds.frame.drop(columns="age_c")) == EXPECTED_LONG
    np.testing.assert_allclose(ds.frame["age_c"].dropna().unique(), [54 - 54, 61 - 54, 47 - 54])
    assert how["import_options"].skip_rows == 1 and len(how["steps"]) == 1 and how["recipes"][0].name == "age_c"
    plain, how = load_analysis_data(ORTHODONT, {"data": {"path": "x.csv"}})
    pd.testing.assert_frame_equal(plain.frame, read_table(ORTHODONT).frame)
    assert how == {"import_options": None, "steps": [], "recipes": [], "skipped_keys": []}
