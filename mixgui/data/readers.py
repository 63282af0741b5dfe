"""Read data files (CSV, Excel, SPSS) into a :class:`Dataset`, with plain-language errors."""
from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pandas as pd

from mixgui.data.dataset import Dataset
from mixgui.errors import DataError

SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".sav")


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
    elif suffix in (".xlsx", ".xlsm"):
        frame, sheet = _read_xlsx(path, sheet)
        name = f"{path.stem}: {sheet}"
    elif suffix == ".sav":
        return _read_sav(path)
    elif suffix == ".xls":
        raise DataError(f"{path.name} is an old Excel 97 file; open it in Excel and save it as .xlsx")
    else:
        raise DataError(f"cannot read {path.name}: MixGUI reads .csv, .xlsx and .sav files")
    frame = _tidy(frame, path.name)
    return Dataset(frame, name=name, source=str(path))


def _tidy(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    frame = frame.dropna(axis=0, how="all")
    if frame.shape[1] == 0:
        raise DataError(f"{where} has no columns")
    if len(frame) == 0:
        raise DataError(f"{where} has a header but no data rows")
    frame.columns = [str(c).strip() for c in frame.columns]
    dups = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if dups:
        raise DataError(f'{where} has two columns called "{dups[0]}"; give every column its own name')
    unnamed = [c for c in frame.columns if c.startswith("Unnamed:")]
    if unnamed and frame[unnamed].isna().all().all():
        frame = frame.drop(columns=unnamed)
    return frame.reset_index(drop=True)


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


def tidy_frame(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """Drop empty rows and unnamed empty columns, strip names, refuse duplicate names (public alias)."""
    return _tidy(frame, where)


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{path.name} is empty")
    text = decode_bytes(raw, path.name)
    delim, decimal = sniff_csv(text[:20000])
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delim, decimal=decimal, skipinitialspace=True,
                            na_values=list(NA_VALUES), keep_default_na=True, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
        raise DataError(f"cannot read {path.name} as CSV: {str(e).splitlines()[0]}") from None
    # pandas renames duplicate headers to "x.1"; report them instead of guessing.
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0]), delimiter=delim), [])
    header = [h.strip() for h in header]
    dups = sorted({h for h in header if h and header.count(h) > 1})
    if dups:
        raise DataError(f'{path.name} has two columns called "{dups[0]}"; give every column its own name')
    return frame


def excel_sheets(path) -> list:
    """Sheet names of an xlsx workbook."""
    from openpyxl import load_workbook
    try:
        wb = load_workbook(path, read_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise DataError(f"{Path(path).name} is not a readable Excel file ({type(e).__name__}); "
                        "open it in Excel and save it again as .xlsx") from None
    names = list(wb.sheetnames)
    wb.close()
    return names


def _read_xlsx(path: Path, sheet):
    sheets = excel_sheets(path)
    if sheet is None:
        sheet = sheets[0]
    elif sheet not in sheets:
        raise DataError(f'{path.name} has no sheet "{sheet}"; its sheets are {", ".join(sheets)}')
    try:
        frame = pd.read_excel(path, sheet_name=sheet, engine="openpyxl")
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise DataError(f'cannot read sheet "{sheet}" of {path.name}: {e}') from None
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
