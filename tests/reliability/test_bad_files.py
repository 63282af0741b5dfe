"""Data files "not seen in development": every one is read correctly or refused with a clear message.

Each bad file is tried twice: in-process through :func:`mixgui.data.readers.read_table` (the
reader the window and the CLI share), where the message's words are checked, and through a real
``python -m mixgui fit`` process, which must exit 2 with one line on standard error and never a
traceback. Files that are awkward but valid (other encodings, a UTF-16 file without its byte-order
mark, 10,000 columns, a million rows) must read with the right values.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from mixgui.data.readers import read_table
from mixgui.errors import DataError


def _xlsx(path: Path, rows, merge=None, title="Data") -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(list(r))
    if merge:
        ws.merge_cells(merge)
    wb.save(path)


def _good_xlsx_bytes(tmp: Path) -> bytes:
    p = tmp / "_good.xlsx"
    _xlsx(p, [("y", "x", "g")] + [(float(i), i % 3, f"g{i % 4}") for i in range(40)])
    return p.read_bytes()


#: file name -> (how to make its bytes or None for a special maker, words the refusal must contain)
REFUSED = {
    "truncated.xlsx": ("not a readable Excel file", "save it again"),
    "truncated_tiny.xlsx": ("not a readable Excel file",),
    "random_bytes.xlsx": ("not a readable Excel file",),
    "zip_not_workbook.xlsx": ("not a readable Excel file",),
    "binary.csv": ("not a text file", "binary"),
    "png_named.csv": ("not a text file",),
    "empty.csv": ("is empty",),
    "blank_lines.csv": ("is empty",),
    "header_only.csv": ("header but no data rows",),
    "header_only.xlsx": ("header but no data rows",),
    "empty_sheet.xlsx": ("no columns",),
    "duplicate_names.csv": ('two columns called "a"', "its own name"),
    "duplicate_names.xlsx": ('two columns called "a"', "its own name"),
    "duplicate_after_strip.csv": ('two columns called "a"',),
    "ragged.csv": ("line 4 has 5 values", "header has 3 columns"),
    "old_excel.xls": ("not a readable Excel file", "save it again as .xlsx"),
    "corrupt.sav": ("cannot read", "SPSS"),
    "data.json": ("MixGUI reads .csv, .txt, .xlsx, .xls, .xlsb, .ods and .sav",),
    "folder.csv": ("is a folder",),
}


def make_bad_files(folder: Path) -> None:
    good = _good_xlsx_bytes(folder)
    rng = np.random.default_rng(7)
    raw = {
        "truncated.xlsx": good[: len(good) // 2],
        "truncated_tiny.xlsx": good[:30],
        "random_bytes.xlsx": rng.integers(0, 256, 5000, dtype=np.uint8).tobytes(),
        "binary.csv": bytes(range(256)) * 20,
        "png_named.csv": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.integers(0, 256, 2000, dtype=np.uint8).tobytes(),
        "empty.csv": b"",
        "blank_lines.csv": b"  \n\n \r\n",
        "header_only.csv": b"y,x,g\n",
        "duplicate_names.csv": b"a,b,a\n1,2,3\n4,5,6\n",
        "duplicate_after_strip.csv": b"a, a ,b\n1,2,3\n",
        "ragged.csv": b"a,b,c\n1,2,3\n4,5,6\n7,8,9,10,11\n",
        "old_excel.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500),
        "corrupt.sav": b"$FL2" + rng.integers(0, 256, 400, dtype=np.uint8).tobytes(),
        "data.json": b'{"y": [1, 2]}',
    }
    for name, b in raw.items():
        (folder / name).write_bytes(b)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "a zip file, but no workbook in it")
    (folder / "zip_not_workbook.xlsx").write_bytes(buf.getvalue())
    _xlsx(folder / "header_only.xlsx", [("y", "x")])
    _xlsx(folder / "empty_sheet.xlsx", [], title="Empty")
    _xlsx(folder / "duplicate_names.xlsx", [("a", "b", "a"), (1, 2, 3)])
    _xlsx(folder / "merged_header.xlsx", [("Group", None, "Score"), ("g1", "x", 1), ("g2", "y", 2)], merge="A1:B1")
    _xlsx(folder / "merged_title.xlsx", [("Study 1: visits", None, None), ("y", "x", "g"), (1, 2, "a"), (2, 3, "b")],
          merge="A1:C1")
    (folder / "folder.csv").mkdir()


@pytest.fixture(scope="module")
def bad_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bad_files")
    make_bad_files(folder)
    return folder


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_bad_file_is_refused_with_a_clear_message(bad_dir, name):
    with pytest.raises(DataError) as info:
        read_table(bad_dir / name)
    msg = str(info.value)
    assert "\n" not in msg and "Traceback" not in msg
    for word in REFUSED[name]:
        assert word in msg, (word, msg)


# -- awkward but valid: read, with the right values ----------------------------------------------
@pytest.mark.parametrize("encoding,text", [
    ("cp1252", "name;score;grp\nJosé;1,5;a\nFrançois;2,5;b\nœuvre €;3,5;a\n"),
    ("latin-1", "name,score,grp\nJosé,1.5,a\nMüller,2.5,b\nÅsa,3.5,a\n"),
    ("utf-16", "name,score,grp\nJosé,1.5,a\n中文,2.5,b\nÅsa,3.5,a\n"),  # with its byte-order mark
    ("utf-16-le", "name,score,grp\nJosé,1.5,a\nMüller,2.5,b\nÅsa,3.5,a\n"),  # no byte-order mark
    ("utf-16-be", "name,score,grp\nJosé,1.5,a\nMüller,2.5,b\nÅsa,3.5,a\n"),
    ("utf-8-sig", "name,score,grp\nJosé,1.5,a\nMüller,2.5,b\nÅsa,3.5,a\n"),
])
def test_other_encodings_read_with_the_right_text(tmp_path, encoding, text):
    path = tmp_path / f"enc_{encoding}.csv"
    path.write_bytes(text.encode(encoding))
    frame = read_table(path).frame
    assert list(frame.columns) == ["name", "score", "grp"]
    want = [line.split(";" if ";" in line else ",") for line in text.strip().splitlines()[1:]]
    assert frame["name"].tolist() == [w[0] for w in want]
    assert frame["score"].tolist() == [1.5, 2.5, 3.5]  # decimal comma read as a number too


def test_a_ragged_csv_with_short_rows_fills_missing_values(tmp_path):
    path = tmp_path / "short_rows.csv"
    path.write_text("a,b,c\n1,2,3\n4\n5,6\n")
    frame = read_table(path).frame
    assert frame.shape == (3, 3) and frame["c"].isna().sum() == 2


def test_ten_thousand_columns_read_quickly_and_fit(tmp_path):
    k, n = 10_000, 30
    rng = np.random.default_rng(1)
    values = rng.normal(size=(n, k)).round(3)
    frame = pd.DataFrame(values, columns=[f"c{i}" for i in range(k)])
    frame["g"] = [f"G{i % 6}" for i in range(n)]
    path = tmp_path / "wide.csv"
    frame.to_csv(path, index=False)
    t0 = time.perf_counter()
    ds = read_table(path)
    seconds = time.perf_counter() - t0
    assert ds.frame.shape == (n, k + 1)
    assert seconds < 20, f"10,000 columns took {seconds:.1f} s to read"  # was 33 s (quadratic name check)
    # and an analysis on two of its columns runs headless
    analysis = tmp_path / "wide.json"
    analysis.write_text(json.dumps({"data": {"path": "wide.csv"}, "formula": "c0 ~ c1 + (1 | g)"}))
    p = subprocess.run([sys.executable, "-m", "mixgui", "fit", str(analysis), "--json", str(tmp_path / "o.json")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert json.loads((tmp_path / "o.json").read_text())["nobs"] == n


def test_a_million_row_csv_reads_in_a_few_seconds(tmp_path):
    n = 1_000_000
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"y": rng.normal(size=n).round(3), "x": rng.integers(0, 100, n),
                          "g": rng.integers(0, 500, n), "sex": np.where(rng.random(n) < 0.5, "F", "M")})
    path = tmp_path / "million.csv"
    frame.to_csv(path, index=False)
    assert path.stat().st_size < 50e6
    t0 = time.perf_counter()
    ds = read_table(path)
    seconds = time.perf_counter() - t0
    assert ds.frame.shape == (n, 4)
    assert ds.frame["sex"].iloc[-1] == frame["sex"].iloc[-1]
    assert seconds < 15, f"a million rows took {seconds:.1f} s to read"  # about 1.5 s on a quiet machine


def test_excel_sheet_that_does_not_exist_lists_the_sheets(bad_dir):
    path = bad_dir / "two_sheets.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Visits"
    wb.active.append(["y", "x"])
    wb.active.append([1, 2])
    wb.create_sheet("Patients")
    wb.save(path)
    with pytest.raises(DataError, match='no sheet "Nope"; its sheets are Visits, Patients'):
        read_table(path, "Nope")


# -- the same files through a real `mixgui fit` process -----------------------------------------
#: one file of each kind through a real process (the reader's messages are checked above for all)
CLI_FILES = ["truncated.xlsx", "zip_not_workbook.xlsx", "binary.csv", "empty.csv", "header_only.xlsx",
             "duplicate_names.csv", "ragged.csv", "old_excel.xls", "corrupt.sav", "folder.csv"]


@pytest.fixture(scope="module")
def cli_outcomes(bad_dir):
    """Run ``python -m mixgui fit`` on an analysis of every bad file (four processes at a time)."""

    def one(name):
        analysis = bad_dir / f"analysis_{name}.json"
        analysis.write_text(json.dumps({"data": {"path": name}, "formula": "y ~ x"}))
        return name, subprocess.run([sys.executable, "-m", "mixgui", "fit", str(analysis)], capture_output=True,
                                    text=True, timeout=300, env={**os.environ, "HOME": str(bad_dir)})

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(one, CLI_FILES))


@pytest.mark.parametrize("name", CLI_FILES)
def test_mixgui_fit_on_a_bad_file_exits_2_with_one_line(cli_outcomes, name):
    p = cli_outcomes[name]
    assert p.returncode == 2, (p.returncode, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert lines[0].startswith("mixgui: ")
    assert REFUSED[name][0] in lines[0], lines[0]
    assert p.stdout == ""  # no half results file


def test_merged_cells_are_read_not_refused(bad_dir):
    """A merged header cell names each column it spans; a merged title row above the header is skipped."""
    header = read_table(bad_dir / "merged_header.xlsx")
    assert header.columns == ["Group 1", "Group 2", "Score"] and len(header) == 2
    title = read_table(bad_dir / "merged_title.xlsx")
    assert title.columns == ["y", "x", "g"]
    assert title.frame["y"].tolist() == [1, 2]
