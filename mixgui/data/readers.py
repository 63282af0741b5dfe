"""Read data files (CSV, Excel, SPSS) into a :class:`Dataset`, with plain-language errors."""
from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

import pandas as pd

from mixgui.data import excel
from mixgui.data.dataset import Dataset
from mixgui.data.excel import SUFFIXES as EXCEL_SUFFIXES
from mixgui.data.layout import blank_missing_tokens, find_header, missing_note
from mixgui.errors import DataError

SUFFIXES = (".csv", ".txt", ".tsv", ".sav") + EXCEL_SUFFIXES


def read_table(path, sheet: str | None = None) -> Dataset:
    """Read a data file by its suffix.

    Parameters
    ----------
    path : str or Path
        ``.csv``/``.txt``/``.tsv`` (delimiter and decimal comma detected), ``.xlsx`` (``sheet``: a name or
        None for the first), ``.sav`` (SPSS; needs pyreadstat).

    Raises
    ------
    DataError
        Missing, unreadable, empty or unsupported files, with what to do.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"data file {path} does not exist; check the path (relative paths start at the analysis file's folder)")
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a data file")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        frame = _read_csv(path)
        name = path.stem
    elif suffix in EXCEL_SUFFIXES:
        frame, sheet = _read_excel(path, sheet)
        name = f"{path.stem}: {sheet}"
    elif suffix == ".sav":
        return _read_sav(path)
    else:
        raise DataError(f"cannot read {path.name}: MixGUI reads .csv, .txt, .xlsx, .xls, .xlsb, .ods and .sav files")
    frame = _tidy(frame, path.name)
    frame, counts = blank_missing_tokens(frame)
    note = missing_note(counts)
    return Dataset(frame, name=name, source=str(path), notes=[note] if note else [])


def _tidy(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    frame = frame.dropna(axis=0, how="all")
    if frame.shape[1] == 0:
        raise DataError(f"{where} has no columns")
    if len(frame) == 0:
        raise DataError(f"{where} has a header but no data rows")
    frame.columns = [str(c).strip() for c in frame.columns]
    dups = _duplicates(frame.columns)
    if dups:
        raise DataError(f'{where} has two columns called "{dups[0]}"; give every column its own name')
    unnamed = [c for c in frame.columns if c.startswith("Unnamed:")]
    if unnamed and frame[unnamed].isna().all().all():
        frame = frame.drop(columns=unnamed)
    return frame.reset_index(drop=True)


def _duplicates(names) -> list:
    """Names that occur more than once (linear time: a file may have 10,000 columns)."""
    return sorted(n for n, k in Counter(names).items() if k > 1 and n)


def sniff_csv(sample: str) -> tuple:
    """Guess (delimiter, decimal) of a CSV text sample."""
    try:
        delim = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: sample.count(d) for d in ",;\t|"}
        delim = max(counts, key=counts.get) if any(counts.values()) else ","
    decimal = "."
    if delim != ",":
        import re
        if re.search(r"(^|[" + re.escape(delim) + r"])-?\d+,\d+([" + re.escape(delim) + r"]|$)", sample, re.M):
            decimal = ","
    return delim, decimal


#: Cell texts read as missing in CSV files (besides pandas' defaults).
NA_VALUES = ("", "NA", "N/A", "NaN", "nan", ".")

#: Encodings tried in order when none is given (UTF-16 only with its byte-order mark).
ENCODINGS = ("utf-8-sig", "utf-16", "cp1252", "latin-1")


def decode_bytes(raw: bytes, where: str, encoding: str | None = None) -> str:
    """Decode a text file's bytes, guessing the encoding unless one is given.

    Parameters
    ----------
    raw : bytes
        The file's contents.
    where : str
        The file name, for messages.
    encoding : str, optional
        Force this encoding (e.g. ``"cp1252"``); None tries UTF-8, UTF-16 (with a byte-order mark),
        Windows-1252 and Latin-1 in turn.

    Raises
    ------
    DataError
        Binary content, or bytes the forced encoding cannot decode.
    """
    if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        bom_less = _utf16_without_bom(raw)
        if bom_less is not None:
            return bom_less
        raise DataError(f"{where} is not a text file (it looks binary); export your data as CSV or .xlsx")
    if encoding:
        try:
            return raw.decode("utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding)
        except LookupError:
            raise DataError(f'"{encoding}" is not an encoding Python knows; try utf-8 or cp1252') from None
        except UnicodeDecodeError as e:
            raise DataError(f"{where} is not valid {encoding} text (byte {e.start}); choose another encoding, "
                            "e.g. utf-8 or cp1252 (Windows)") from None
    for enc in ENCODINGS:
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        if enc == "utf-16" and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        return text
    return raw.decode("latin-1", errors="replace")  # unreachable: latin-1 decodes any bytes


def _utf16_without_bom(raw: bytes) -> str | None:
    """Text saved as UTF-16 without a byte-order mark (every other byte 0 in ASCII-heavy text), or None."""
    head = raw[:4096]
    if len(head) < 4 or len(raw) % 2:
        return None
    even, odd = head[0::2], head[1::2]
    for zeros, enc in ((odd, "utf-16-le"), (even, "utf-16-be")):
        if zeros.count(0) >= 0.9 * len(zeros) and (odd if zeros is even else even).count(0) == 0:
            try:
                return raw.decode(enc)
            except UnicodeDecodeError:
                return None
    return None


def tidy_frame(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """Drop empty rows and unnamed empty columns, strip names, refuse duplicate names (public alias)."""
    return _tidy(frame, where)


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{path.name} is empty")
    text = decode_bytes(raw, path.name)
    skip = csv_header_row(text)
    delim, decimal = sniff_csv("\n".join(text[:200_000].splitlines()[skip:skip + 200]))
    try:
        # only empty cells are missing here: the codes (".", "NA", ...) are blanked and counted by the caller
        frame = pd.read_csv(io.StringIO(text), sep=delim, decimal=decimal, skipinitialspace=True,
                            skiprows=skip, na_values=[""], keep_default_na=False, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
        raise DataError(f"cannot read {path.name} as CSV: {_csv_problem(str(e), delim)}") from None
    _refuse_prose(frame, path.name)
    # pandas renames duplicate headers to "x.1"; report them instead of guessing.
    header = next(csv.reader(io.StringIO(text.splitlines()[skip] if skip else text.split("\n", 1)[0]),
                             delimiter=delim), [])
    dups = _duplicates(h.strip() for h in header)
    if dups:
        raise DataError(f'{path.name} has two columns called "{dups[0]}"; give every column its own name')
    return frame


def _refuse_prose(frame: pd.DataFrame, where: str) -> None:
    """Refuse running text (a letter, notes) that the CSV reader would cut into a table at its commas."""
    cells = [str(c) for c in frame.columns] + [str(v) for v in frame.head(50).to_numpy().ravel()
                                               if isinstance(v, str) and v.strip()]
    numeric = any(pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns)
    # a table has numbers, or short labels; a letter has neither (two or more words per cell on average)
    if len(cells) >= 3 and not numeric and sum(len(c.split()) for c in cells) >= 2 * len(cells):
        raise DataError(f"{where} looks like running text, not a table (its cells are sentences); open a file "
                        "with one row per observation and one column per variable, e.g. a CSV or Excel export")


def _csv_problem(message: str, delim: str) -> str:
    """pandas' parser message in the user's words (ragged rows are the usual case)."""
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if m:
        want, line, got = m.groups()
        sep = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "bar"}.get(delim, delim)
        return (f"line {line} has {got} values but the header has {want} columns; remove the extra values "
                f"(or quote text that contains a {sep}) so every row has as many values as the header")
    return message.splitlines()[0] if message else "the file is not in a form MixGUI understands"


def csv_header_row(text: str) -> int:
    """0-based line of the column names of a CSV text, below any title lines."""
    lines = text[:200_000].splitlines()[:40]
    if len(lines) < 2:
        return 0
    delim, _ = sniff_csv("\n".join(lines))
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delim))
    return find_header(rows)


def excel_sheets(path) -> list:
    """Sheet names of a workbook (.xlsx, .xlsm, .xls, .xlsb, .ods)."""
    return excel.sheet_names(path)


def _read_excel(path: Path, sheet):
    frame, sheet, _ = excel.read_sheet(path, sheet)
    dups = _duplicates(str(c).strip() for c in frame.columns)
    if dups:
        raise DataError(f'sheet "{sheet}" of {path.name} has two columns called "{dups[0]}"; '
                        "give every column its own name")
    return frame, sheet


def _read_sav(path: Path) -> Dataset:
    try:
        import pyreadstat
    except ImportError:
        raise DataError("reading SPSS .sav files needs the pyreadstat package; install it with pip install pyreadstat") from None
    try:
        frame, meta = pyreadstat.read_sav(str(path), apply_value_formats=False, user_missing=False)
    except Exception as e:  # pyreadstat raises its own exception types
        raise DataError(f"cannot read {path.name} as an SPSS file: {e}") from None
    labels = {}
    for col, lab in (meta.variable_value_labels or {}).items():
        labels[col] = lab
        # value labels become factor levels, as SPSS users expect
        frame[col] = frame[col].map(lambda v, lab=lab: lab.get(v, v) if pd.notna(v) else v)
    frame = _tidy(frame, path.name)
    levels = {}
    for col, m in (meta.variable_measure or {}).items():
        if m in ("nominal", "ordinal"):
            levels[col] = m
        elif m == "scale":
            levels[col] = "continuous"
    return Dataset(frame, name=path.stem, levels=levels, labels=labels, source=str(path))
