"""How a sheet a person made is laid out: where the header is, and which cells mean "missing".

Hospital spreadsheets put a title (and a blank line) above the column names, and SAS or SPSS
exports write "." or "-" where a value is missing. Both are found here, from the cells alone,
for CSV and Excel alike.
"""
from __future__ import annotations

import math

import pandas as pd

#: Cell texts that mean "missing" in any column (SAS ".", dashes, R's NA, Excel's #N/A, ...).
MISSING_TOKENS = ("", ".", "-", "--", "NA", "N/A", "n/a", "na", "#N/A", "NaN", "nan", "NULL", "null", "None")

HEADER_SEARCH_ROWS = 30  # a title block is never longer than this


def _filled(cell) -> bool:
    if cell is None:
        return False
    if isinstance(cell, float) and math.isnan(cell):
        return False
    return str(cell).strip() != ""


def _is_number(cell) -> bool:
    if isinstance(cell, bool):
        return False
    if isinstance(cell, (int, float)):
        return True
    text = str(cell).strip().replace(",", ".")
    try:
        float(text)
    except ValueError:
        return False
    return True


def find_header(rows: list) -> int:
    """The index of the row holding the column names, below any title rows.

    A title row has few filled cells (a title, a date, a note); the header is the first row that
    is about as wide as the table below it and holds only text. When the first wide row holds
    numbers the file has no title block and row 0 is taken, as before.

    Parameters
    ----------
    rows : list of list
        The first rows of the sheet or file, as cells (text, numbers or None).

    Returns
    -------
    int
        0-based row index.
    """
    rows = [list(r) for r in rows[:HEADER_SEARCH_ROWS]]
    widths = [sum(_filled(c) for c in r) for r in rows]
    if not widths or max(widths) == 0:
        return 0
    wide = max(2, math.ceil(0.6 * max(widths)))
    for i, (row, w) in enumerate(zip(rows, widths)):
        if w == 0:
            continue
        if w < wide:
            continue  # a title, a date or a note above the table
        texts = [c for c in row if _filled(c)]
        if all(not _is_number(c) for c in texts) and any(
                any(_is_number(c) for c in r) or sum(_filled(c) for c in r) >= wide for r in rows[i + 1:]):
            return i
        return 0
    return 0


def blank_missing_tokens(frame: pd.DataFrame, tokens=MISSING_TOKENS) -> tuple:
    """Set text cells that mean "missing" to NaN; a column left with only numbers becomes numeric.

    Returns
    -------
    (DataFrame, dict)
        The table, and column -> {token: count} of the cells read as missing (for a note).
    """
    counts: dict = {}
    token_set = set(tokens)
    for col in frame.columns:
        s = frame[col]
        if not (s.dtype == object or pd.api.types.is_string_dtype(s)):
            continue
        stripped = s.map(lambda v: v.strip() if isinstance(v, str) else v)
        mask = stripped.isin(token_set) & s.notna()
        if not mask.any():
            continue
        found = stripped[mask].value_counts()
        counts[str(col)] = {str(k) if k != "" else "empty text": int(v) for k, v in found.items()}
        out = s.mask(mask)
        numbers = pd.to_numeric(stripped.mask(mask), errors="coerce")
        if numbers.notna().sum() == out.notna().sum():
            out = numbers  # "12", "." and "14" were a numeric column with a missing code
        frame[col] = out
    return frame, counts


def missing_note(counts: dict) -> str | None:
    """A sentence that says which codes were read as missing, and how often."""
    if not counts:
        return None
    parts = []
    for col, found in list(counts.items())[:6]:
        what = ", ".join(f'"{k}" ×{n}' for k, n in found.items())
        parts.append(f'"{col}" ({what})')
    more = f" and {len(counts) - 6} more columns" if len(counts) > 6 else ""
    total = sum(sum(f.values()) for f in counts.values())
    return (f"{total} cells holding a missing-value code were read as missing: {', '.join(parts)}{more}. "
            "Rows with a missing value in a model variable are left out of that model.")
