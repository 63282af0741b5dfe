"""Spreadsheets (.xlsx, .xlsm, .xls, .xlsb, .ods) read through python-calamine.

calamine reads a 60,000 x 13 sheet about six times faster than openpyxl and also reads the older
and other formats hospital systems still export; openpyxl stays for writing reports. The header
row is found below any title rows (:func:`mixgui.data.layout.find_header`); merged header cells
give each column they span a name of its own.
"""
from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from mixgui.data.layout import find_header
from mixgui.errors import DataError

SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")


def _workbook(path: Path):
    import python_calamine

    try:
        return python_calamine.CalamineWorkbook.from_path(str(path))
    except (python_calamine.CalamineError, OSError, ValueError) as e:
        raise DataError(f"{path.name} is not a readable Excel file ({type(e).__name__}); open it in Excel "
                        "(or LibreOffice) and save it again as .xlsx") from None
    except Exception as e:  # calamine raises its own (Zip, Xml, Password) error types
        kind = "password-protected" if "Password" in type(e).__name__ else "not a readable Excel file"
        raise DataError(f"{path.name} is {kind} ({type(e).__name__}); open it in Excel and save it again as "
                        ".xlsx without a password") from None


def sheet_names(path) -> list:
    """The sheet names of a workbook, in the workbook's order.

    Raises
    ------
    DataError
        A file that is not a readable spreadsheet.
    """
    path = Path(path)
    wb = _workbook(path)
    try:
        return list(wb.sheet_names)
    finally:
        wb.close()


#: the last sheet parsed, as (key, rows, merged): the import dialog reads the same sheet three or four
#: times (title rows, raw rows, preview, the final read) and calamine parses a whole sheet each time
_LAST: list = []
CACHE_CELLS = 2_000_000  # sheets up to this many cells are kept (~100-200 MB of Python objects at most)


def _sheet_cells(path: Path, sheet: str | None) -> tuple:
    """``(rows, merged, sheet name)`` of a sheet (None: the first), parsed once per file version."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, sheet)
    if _LAST and _LAST[0][0] == key:
        return _LAST[0][1:]
    wb = _workbook(path)
    try:
        names = list(wb.sheet_names)
        if not names:
            raise DataError(f"{path.name} has no sheets")
        if sheet is None:
            sheet = names[0]
        elif sheet not in names:
            raise DataError(f'{path.name} has no sheet "{sheet}"; its sheets are {", ".join(names)}')
        ws = wb.get_sheet_by_name(sheet)
        rows = ws.to_python()
        merged = list(ws.merged_cell_ranges or [])
    except DataError:
        raise
    except Exception as e:  # calamine's own error types for a damaged sheet
        raise DataError(f'cannot read sheet "{sheet}" of {path.name} ({type(e).__name__}); open it in Excel '
                        "and save it again as .xlsx") from None
    finally:
        wb.close()
    _LAST.clear()
    if sum(len(r) for r in rows[:1]) * len(rows) <= CACHE_CELLS:
        _LAST.append((key, rows, merged, sheet))
    return rows, merged, sheet


def first_rows(path, sheet: str, nrows: int = 30) -> tuple:
    """The first ``nrows`` rows of ``sheet`` as cells, and its merged ranges.

    Returns
    -------
    (list of list, list of tuple)
        Rows of cells (empty cells as ""), merged ranges as ((row0, col0), (row1, col1)).
    """
    rows, merged, _ = _sheet_cells(Path(path), sheet)
    return rows[:nrows], merged


def header_names(rows: list, header: int, merged: list) -> list:
    """Column names from the header row; a merged header cell names every column it spans.

    A merged cell "Blood pressure" over two columns gives "Blood pressure 1" and "Blood pressure 2"
    unless the row below names them (a two-row header: "Blood pressure systolic").
    """
    names = [("" if c is None else str(c).strip()) for c in rows[header]]
    for (r0, c0), (r1, c1) in merged:
        if r0 <= header <= r1 and c1 > c0 and c1 < len(names) + 1:
            base = names[c0]
            for k, c in enumerate(range(c0, min(c1, len(names) - 1) + 1), start=1):
                names[c] = f"{base} {k}"
    return names


def _column(values: list) -> pd.Series:
    """One column of cells as pandas would type it: numbers (whole numbers as integers), dates, or text.

    One pass in plain Python finds the kinds of the cells (a pandas ``map`` per column took 80% of
    the time of reading a 200-column sheet); numbers go to NumPy directly.
    """
    cells = [None if v is None or (type(v) is str and v == "") else v for v in values]
    kinds = {type(v) for v in cells if v is not None}
    if kinds and kinds <= {int, float}:
        if kinds == {int} and None not in cells:
            return pd.Series(np.array(cells, dtype=np.int64))
        num = np.fromiter((np.nan if v is None else v for v in cells), dtype=float, count=len(cells))
        if not np.isnan(num).any() and np.all(num % 1 == 0):
            return pd.Series(num.astype(np.int64))
        return pd.Series(num)
    s = pd.Series([np.nan if v is None else v for v in cells], dtype=object)
    if kinds and kinds <= {datetime.datetime, datetime.date}:
        return pd.to_datetime(s)
    if kinds == {bool}:
        return s.astype("boolean") if s.isna().any() else s.astype(bool)
    if kinds <= {str}:
        return pd.Series(s.tolist())  # pandas' own text dtype, as its CSV and Excel readers give
    return s


def read_sheet(path, sheet: str | None = None, header: int | None = None, nrows: int | None = None) -> tuple:
    """Read one sheet into a DataFrame, finding the header below any title rows.

    The workbook is parsed once (calamine loads a whole sheet at a time): the header is found in its
    first rows and the table built from the rest.

    Parameters
    ----------
    path : str or Path
    sheet : str, optional
        None for the first sheet.
    header : int, optional
        0-based row of the column names; None finds it.
    nrows : int, optional
        Keep at most this many data rows (for a preview).

    Returns
    -------
    (DataFrame, str, int)
        The table (only empty cells are missing; codes such as "." are left for the caller to count),
        the sheet's name and the header row used (0-based).
    """
    rows, merged, sheet = _sheet_cells(Path(path), sheet)
    path = Path(path)
    if not rows or not any(c not in ("", None) for r in rows[:30] for c in r):
        raise DataError(f'sheet "{sheet}" of {path.name} is empty: it has no columns or rows')
    if header is None:
        header = find_header(rows)
    if header >= len(rows):
        raise DataError(f'sheet "{sheet}" of {path.name} has {len(rows)} rows, so row {header + 1} cannot hold '
                        "the column names; choose a row nearer the top")
    columns = header_names(rows, header, merged)
    body = rows[header + 1:] if nrows is None else rows[header + 1: header + 1 + nrows]
    columns = [c or f"Unnamed: {i}" for i, c in enumerate(columns)]
    data = {i: _column([r[i] if i < len(r) else "" for r in body]) for i in range(len(columns))}
    frame = pd.DataFrame(data)
    frame.columns = columns
    return frame, sheet, header
