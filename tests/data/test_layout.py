"""Title rows above the header, merged cells and missing-value codes, in CSV and Excel files."""
from __future__ import annotations

import json
import subprocess
import sys

import openpyxl
import pandas as pd
import pytest

from mixgui.data.importing import ImportOptions, read_with_options, suggest_options
from mixgui.data.layout import blank_missing_tokens, find_header
from mixgui.data.readers import read_table

TABLE = [("Patient ID", "Arm", "Week", "Score (0-100)"),
         (1, "Active", 0, 12.5), (1, "Active", 4, "."), (2, "Placebo", 0, "-"), (2, "Placebo", 4, 14.0),
         (3, "Active", 0, "NA"), (3, "Active", 4, 11.0), (4, "Placebo", 0, 15.5), (4, "Placebo", 4, "N/A")]


def _xlsx(path, rows, merge=None):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    for r in rows:
        ws.append(list(r))
    if merge:
        ws.merge_cells(merge)
    wb.save(path)
    return path


def _csv(path, rows, sep=","):
    path.write_text("\n".join(sep.join("" if c is None else str(c) for c in r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_find_header_skips_a_title_block():
    rows = [["Trial ABC-123: week 4 data"], [], ["exported 2026-11-30", ""], ["id", "arm", "y"], [1, "A", 2.5],
            [2, "B", 3.5]]
    assert find_header(rows) == 3
    # a file without a title keeps its first row, and a headerless numeric file is not second-guessed
    assert find_header([["id", "y"], [1, 2]]) == 0
    assert find_header([[1, 2], [3, 4]]) == 0


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_title_row_above_the_header_is_found(tmp_path, kind):
    rows = [("Trial ABC-123 — visit scores", None, None, None), (None, None, None, None)] + TABLE
    path = _csv(tmp_path / "t.csv", rows) if kind == "csv" else _xlsx(tmp_path / "t.xlsx", rows, merge="A1:D1")
    ds = read_table(path)
    assert ds.columns == ["Patient ID", "Arm", "Week", "Score (0-100)"]
    assert len(ds) == 8
    score = ds.frame["Score (0-100)"]
    assert pd.api.types.is_numeric_dtype(score)  # ".", "-", "NA", "N/A" are missing, not text
    assert score.isna().sum() == 4 and score.sum() == pytest.approx(12.5 + 14 + 11 + 15.5)
    assert suggest_options(path).skip_rows == 2


def test_missing_codes_are_counted_in_a_note(tmp_path):
    ds = read_table(_csv(tmp_path / "m.csv", TABLE))
    assert len(ds.notes) == 1
    note = ds.notes[0]
    assert "4 cells" in note and '"Score (0-100)"' in note and '"." ×1' in note and '"N/A" ×1' in note


def test_text_columns_keep_their_text_when_one_cell_is_a_code():
    frame = pd.DataFrame({"name": ["Ann", ".", "Bo"], "y": ["1", "2", "x"]})
    frame, counts = blank_missing_tokens(frame)
    assert frame["name"].tolist()[0] == "Ann" and pd.isna(frame["name"][1])
    assert frame["y"].tolist() == ["1", "2", "x"] and counts == {"name": {".": 1}}


def test_user_codes_from_the_import_options(tmp_path):
    path = _csv(tmp_path / "u.csv", [("id", "y"), (1, 5), (2, 999), (3, 7)])
    ds = read_with_options(path, ImportOptions(missing=(999,)))
    assert ds.frame["y"].isna().tolist() == [False, True, False]


def test_mixgui_fit_rebuilds_the_table_the_window_made(tmp_path):
    """data.import (title rows, codes) in the analysis file is honoured by mixgui fit, not ignored."""
    rows = [("Study X", None, None), ("id", "x", "y")] + [(i // 3, i % 3, (i * 7) % 11 if i % 5 else 999)
                                                        for i in range(60)]
    _csv(tmp_path / "d.csv", rows)
    base = {"data": {"path": "d.csv"}, "formula": "y ~ x + (1 | id)"}
    with_codes = {**base, "data": {"path": "d.csv", "import": {"skip_rows": 1, "missing": [999]}}}
    out = {}
    for name, analysis in (("plain", base), ("codes", with_codes)):
        (tmp_path / f"{name}.json").write_text(json.dumps(analysis))
        p = subprocess.run([sys.executable, "-m", "mixgui", "fit", str(tmp_path / f"{name}.json")],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        out[name] = json.loads(p.stdout)
    assert out["plain"]["nobs"] == 60  # the title row was found; 999 is a value here
    assert out["codes"]["nobs"] == 60 - 12  # the 12 cells coded 999 are missing



@pytest.mark.parametrize("suffix", ["xlsx", "xls", "ods", "xlsb"])
def test_every_spreadsheet_format_reads_alike(suffix):
    """.xls, .ods and .xlsb (hospital exports) read like .xlsx: same columns, values, title skipped, "." missing."""
    from pathlib import Path

    ds = read_table(Path(__file__).parent / "files" / f"formats.{suffix}", "Visits")
    assert ds.columns == ["patient", "week", "score"]
    assert len(ds) == 12
    assert ds.frame["week"].tolist()[:3] == [0, 4, 8]
    score = ds.frame["score"]
    assert score.isna().tolist() == [i == 5 for i in range(12)]
    assert score.dropna().sum() == pytest.approx(sum(10 + i * 0.5 for i in range(12) if i != 5))


def test_prose_is_not_read_as_a_table(tmp_path):
    from mixgui.errors import DataError

    p = tmp_path / "notes.txt"
    p.write_text("Dear colleague, here are the results of the trial.\nWe measured 64 patients, in 9 clinics, at four "
                 "visits.\nThe scores improved, as expected, over time.\nBest wishes, Anna\n")
    with pytest.raises(DataError, match="looks like running text"):
        read_table(p)
    # a table with a long free-text column still reads
    q = _csv(tmp_path / "t.csv", [("id", "comment", "y"), (1, "patient felt much better today", 3),
                                  (2, "no change", 4), (3, "missed the visit", 5)])
    assert len(read_table(q)) == 3
