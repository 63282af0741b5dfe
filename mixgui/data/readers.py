"""Read data files (CSV, Excel, SPSS) into a :class:`Dataset`, with plain-language errors."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import Counter
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
    delim, decimal = sniff_csv(text[:20000])
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delim, decimal=decimal, skipinitialspace=True,
                            na_values=list(NA_VALUES), keep_default_na=True, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
        raise DataError(f"cannot read {path.name} as CSV: {_csv_problem(str(e), delim)}") from None
    # pandas renames duplicate headers to "x.1"; report them instead of guessing.
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0]), delimiter=delim), [])
    dups = _duplicates(h.strip() for h in header)
    if dups:
        raise DataError(f'{path.name} has two columns called "{dups[0]}"; give every column its own name')
    return frame


def _csv_problem(message: str, delim: str) -> str:
    """pandas' parser message in the user's words (ragged rows are the usual case)."""
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if m:
        want, line, got = m.groups()
        sep = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "bar"}.get(delim, delim)
        return (f"line {line} has {got} values but the header has {want} columns; remove the extra values "
                f"(or quote text that contains a {sep}) so every row has as many values as the header")
    return message.splitlines()[0] if message else "the file is not in a form MixGUI understands"


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
    header, merged = _excel_header(path, sheet)
    dups = _duplicates(str(h).strip() for h in header if h is not None)
    if dups:
        raise DataError(f'sheet "{sheet}" of {path.name} has two columns called "{dups[0]}"; '
                        "give every column its own name")
    try:
        frame = pd.read_excel(path, sheet_name=sheet, engine="openpyxl")
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise DataError(f'cannot read sheet "{sheet}" of {path.name}: {e}') from None
    if merged is not None and any(str(c).startswith("Unnamed:") and frame[c].notna().any() for c in frame.columns):
        ranges = merged()
        if ranges:
            raise DataError(f'the first row of sheet "{sheet}" in {path.name} has merged cells ({", ".join(ranges[:3])}), '
                            "so some columns have no name; unmerge them and give every column its own name in the "
                            "first row (if the first row is a title, delete it or skip it with the import options)")
    return frame, sheet


def _excel_header(path: Path, sheet: str) -> tuple:
    """The first row of ``sheet`` and a function listing the merged ranges that touch it."""
    from openpyxl import load_workbook
    try:
        wb = load_workbook(path, read_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise DataError(f"{path.name} is not a readable Excel file ({type(e).__name__}); "
                        "open it in Excel and save it again as .xlsx") from None
    try:
        ws = wb[sheet]
        header = next(ws.iter_rows(max_row=1, values_only=True), ())
        member = getattr(ws, "_worksheet_path", None)
    finally:
        wb.close()

    def merged() -> list:
        if not member:
            return []
        try:
            with zipfile.ZipFile(path) as z:
                xml = z.read(member).decode("utf-8", errors="replace")
        except (zipfile.BadZipFile, KeyError, OSError):
            return []
        refs = re.findall(r'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"', xml)
        return [f"{a}{r1}:{b}{r2}" for a, r1, b, r2 in refs if int(r1) == 1]

    return list(header or ()), merged


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
