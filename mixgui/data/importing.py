"""Import options for messy files: title rows, missing-value codes, dates, CSV dialects.

Clinical spreadsheets rarely start with a clean header: title rows above the names, a units row below, and
999 or -99 for "not measured". :class:`ImportOptions` says how to read such a file; :func:`read_with_options`
reads it into a :class:`Dataset`, :func:`preview` gives the first rows for a live preview. Qt-free.

Options are plain data (``to_dict``/``from_dict``), kept in projects so the table can be rebuilt.
"""
from __future__ import annotations

import difflib
import io
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import pandas as pd

from mixgui.data import excel
from mixgui.data.dataset import Dataset, missing_column_message
from mixgui.data.layout import blank_missing_tokens, missing_note
from mixgui.data.readers import _read_sav, csv_header_row, decode_bytes, excel_sheets, read_table, sniff_csv, tidy_frame
from mixgui.errors import DataError

#: Excel counts days from 1899-12-30 (its 1900 leap-year bug folded in), as pandas' "origin" wants it.
EXCEL_EPOCH = "1899-12-30"
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
EXCEL_SUFFIXES = excel.SUFFIXES


@dataclass(frozen=True)
class ImportOptions:
    """How to read one data file.

    Attributes
    ----------
    sheet : str or None
        Excel sheet name; None for the first sheet.
    skip_rows : int
        Title rows above the column names, ignored. The names are in row ``skip_rows + 1``.
    header : bool
        Whether that row holds the column names; without it columns are named V1, V2, ... (as R does).
    skip_after_header : int
        Rows between the names and the data (a units or description row).
    missing : tuple
        Codes that mean "missing" in every column, e.g. ``(999, -99)`` or ``("n/a",)``.
    column_missing : dict
        Column name -> codes that mean "missing" in that column only.
    date_columns : tuple
        Columns to read as dates: Excel day numbers (45000 = 2023-03-15) or text such as 2024-03-01.
    dayfirst : bool
        Read text dates as day/month/year (European) rather than month/day/year.
    delimiter, decimal, encoding : str or None
        CSV only: override the detected field separator, decimal mark and text encoding.
    """

    sheet: str | None = None
    skip_rows: int = 0
    header: bool = True
    skip_after_header: int = 0
    missing: tuple = ()
    column_missing: dict = field(default_factory=dict)
    date_columns: tuple = ()
    dayfirst: bool = False
    delimiter: str | None = None
    decimal: str | None = None
    encoding: str | None = None

    @property
    def header_row(self) -> int | None:
        """1-based row number of the column names (None without a header row)."""
        return self.skip_rows + 1 if self.header else None

    def with_(self, **changes) -> ImportOptions:
        """A copy with some options changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """JSON-ready dict (tuples as lists)."""
        d = asdict(self)
        d["missing"] = list(self.missing)
        d["column_missing"] = {k: list(v) for k, v in self.column_missing.items()}
        d["date_columns"] = list(self.date_columns)
        return d

    @classmethod
    def from_dict(cls, d: dict | None, newer: bool = False, skipped: list | None = None) -> ImportOptions:
        """Rebuild options from :meth:`to_dict` output.

        Parameters
        ----------
        d : dict or None
        newer : bool
            The file that holds ``d`` says it was written by a newer MixGUI: keys this version does
            not know are skipped (and appended to ``skipped``, for a warning) instead of refused.
        skipped : list, optional
            Receives the skipped keys.

        Raises
        ------
        DataError
            ``d`` is not an object, has an unknown key (the message names the nearest known one;
            a misspelt option must never be dropped silently, the table would differ), or a value
            of the wrong kind.
        """
        if d is not None and not isinstance(d, dict):
            raise DataError(f"the import options must be an object like {{\"skip_rows\": 1}} (got {str(d)[:40]})")
        d = dict(d or {})
        known = list(cls.__dataclass_fields__)
        unknown = [k for k in d if k not in known]
        if unknown and not newer:
            close = difflib.get_close_matches(str(unknown[0]), known, n=1, cutoff=0.6)
            hint = f'; did you mean "{close[0]}"?' if close else f"; known options are {', '.join(known)}"
            raise DataError(f'the import options have an unknown option "{unknown[0]}"{hint}')
        if skipped is not None:
            skipped.extend(unknown)
        d = {k: v for k, v in d.items() if k in known}
        try:
            d["missing"] = tuple(_as_list(d.get("missing"), "missing"))
            d["column_missing"] = {str(k): tuple(v if isinstance(v, (list, tuple)) else [v])
                                   for k, v in _as_dict(d.get("column_missing"), "column_missing").items()}
            d["date_columns"] = tuple(str(c) for c in _as_list(d.get("date_columns"), "date_columns"))
            for k in ("skip_rows", "skip_after_header"):
                v = d.get(k) or 0
                if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v) or v < 0:
                    raise DataError(f'the import option "{k}" must be a whole number of rows, 0 or more (got {v!r})')
                d[k] = int(v)
            for k in ("header", "dayfirst"):
                if k in d and not isinstance(d[k], bool):
                    raise DataError(f'the import option "{k}" must be true or false (got {d[k]!r})')
            if isinstance(d.get("sheet"), int) and not isinstance(d["sheet"], bool):
                d["sheet"] = str(d["sheet"])  # a sheet called "2019" written as a number
            for k in ("sheet", "delimiter", "decimal", "encoding"):
                if d.get(k) is not None and not isinstance(d[k], str):
                    raise DataError(f'the import option "{k}" must be text (got {d[k]!r})')
        except (TypeError, ValueError, OverflowError) as e:
            raise DataError(f"the import options cannot be read ({e}); fix them in the analysis file") from None
        return cls(**d)

    def is_plain(self) -> bool:
        """True when these options read the file exactly as :func:`read_table` does."""
        return self.with_(sheet=None) == ImportOptions()


def _as_list(v, key: str) -> list:
    if v is None:
        return []
    if isinstance(v, (list, tuple)):
        return list(v)
    if isinstance(v, (str, int, float)) and not isinstance(v, bool):
        return [v]  # one code written without the list around it
    raise DataError(f'the import option "{key}" must be a list (got {v!r})')


def _as_dict(v, key: str) -> dict:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise DataError(f'the import option "{key}" must map a column to its codes, like {{"age": [999]}}')
    return v


def parse_codes(text: str) -> tuple:
    """Missing-value codes typed by a user: ``"999, -99; n/a"`` -> ``(999, -99, "n/a")``."""
    out = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        num = _as_number(part)
        out.append(part if num is None else (int(num) if num.is_integer() else num))
    return tuple(out)


def _as_number(v) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v).strip().replace(",", ".")) if str(v).strip() else None
    except ValueError:
        return None


# -- reading ---------------------------------------------------------------------------------

def read_with_options(path, options: ImportOptions | None = None) -> Dataset:
    """Read a data file the way ``options`` says.

    Parameters
    ----------
    path : str or Path
        ``.csv``/``.txt``/``.tsv``, ``.xlsx``/``.xlsm`` or ``.sav``.
    options : ImportOptions, optional
        None (or plain options) reads exactly as :func:`mixgui.data.readers.read_table`.

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        Unreadable files, a header row past the end, unknown columns in the options, dates that
        do not parse; each message says what to change.
    """
    options = options or ImportOptions()
    path = Path(path)
    if options.is_plain():
        return read_table(path, options.sheet)
    frame, name, meta = _read_frame(path, options, nrows=None)
    frame = _postprocess(frame, options, path.name, meta)
    return Dataset(frame, name=name, levels=meta.get("levels", {}), labels=meta.get("labels", {}),
                   source=str(path), notes=meta.get("notes", []))


def suggest_options(path, sheet: str | None = None) -> ImportOptions:
    """Import options for a first look at a file: the title rows above the header already skipped.

    The import dialog starts from these, so a sheet with a title row shows its real column names
    (not "Unnamed: 1") before the user changes anything.
    """
    path = Path(path)
    _check_file(path)
    suffix = path.suffix.lower()
    skip = 0
    if suffix in TEXT_SUFFIXES:
        skip = csv_header_row(decode_bytes(path.read_bytes()[:200_000], path.name))
    elif suffix in EXCEL_SUFFIXES:
        sheet = _sheet(path, sheet)
        rows, _ = excel.first_rows(path, sheet)
        from mixgui.data.layout import find_header
        skip = find_header(rows) if rows else 0
    return ImportOptions(sheet=sheet, skip_rows=skip)


def preview(path, options: ImportOptions | None = None, nrows: int = 50) -> pd.DataFrame:
    """The first ``nrows`` rows as :func:`read_with_options` would read them (fast, for a live preview)."""
    options = options or ImportOptions()
    path = Path(path)
    frame, _, meta = _read_frame(path, options, nrows=nrows)
    return _postprocess(frame, options, path.name, meta).head(nrows)


def raw_rows(path, options: ImportOptions | None = None, nrows: int = 12) -> list:
    """The first rows of the file as text cells, before any header is chosen.

    Shown above the preview so the user can see which row holds the column names.
    """
    options = options or ImportOptions()
    path = Path(path)
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        text = decode_bytes(path.read_bytes()[:200_000], path.name, options.encoding)
        delim, _ = _dialect(text, options)
        import csv
        reader = csv.reader(io.StringIO(text), delimiter=delim)
        rows = []
        for row in reader:
            rows.append([c.strip() for c in row])
            if len(rows) >= nrows:
                break
        return rows
    if suffix in EXCEL_SUFFIXES:
        rows, _ = excel.first_rows(path, _sheet(path, options.sheet), nrows=nrows)
        return [["" if v is None else str(v) for v in row] for row in rows]
    frame = read_table(path).frame.head(nrows)
    return [list(map(str, frame.columns))] + [["" if pd.isna(v) else str(v) for v in r]
                                              for r in frame.itertuples(index=False)]


def _check_file(path: Path) -> None:
    if not path.exists():
        raise DataError(f"data file {path} does not exist; check the path")
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a data file")


def _sheet(path: Path, sheet):
    sheets = excel_sheets(path)
    if sheet is None:
        return sheets[0]
    if sheet not in sheets:
        raise DataError(f'{path.name} has no sheet "{sheet}"; its sheets are {", ".join(sheets)}')
    return sheet


def _dialect(text: str, options: ImportOptions) -> tuple:
    # Sniff below the title rows: a title line has no separators and confuses the sniffer.
    lines = text.splitlines()[options.skip_rows: options.skip_rows + 200]
    delim, decimal = sniff_csv("\n".join(lines))
    delim = {"\\t": "\t", "tab": "\t"}.get(options.delimiter or "", options.delimiter) or delim
    decimal = options.decimal or ("," if delim != "," and decimal == "," else ".")
    if decimal == delim:
        raise DataError(f'the decimal mark and the field separator are both "{delim}"; choose different ones')
    return delim, decimal


def _skiprows(options: ImportOptions) -> list:
    s, a = max(0, options.skip_rows), max(0, options.skip_after_header)
    if options.header:
        return list(range(s)) + list(range(s + 1, s + 1 + a))
    return list(range(s + a))


def _read_frame(path: Path, options: ImportOptions, nrows):
    _check_file(path)
    suffix = path.suffix.lower()
    header = 0 if options.header else None
    meta: dict = {}
    if suffix in TEXT_SUFFIXES:
        raw = path.read_bytes()
        if not raw.strip():
            raise DataError(f"{path.name} is empty")
        text = decode_bytes(raw, path.name, options.encoding)
        delim, decimal = _dialect(text, options)
        try:
            frame = pd.read_csv(io.StringIO(text), sep=delim, decimal=decimal, skiprows=_skiprows(options),
                                header=header, skipinitialspace=True, na_values=[""],
                                keep_default_na=False, low_memory=False, nrows=nrows)
        except pd.errors.EmptyDataError:
            raise DataError(f"{path.name} has no rows below row {options.skip_rows}; "
                            "lower the number of rows to skip") from None
        except (pd.errors.ParserError, ValueError) as e:
            raise DataError(f"cannot read {path.name} as CSV: {str(e).splitlines()[0]}; "
                            "check the separator and the rows to skip") from None
        meta["decimal"] = decimal
        name = path.stem
    elif suffix in EXCEL_SUFFIXES:
        sheet = _sheet(path, options.sheet)
        if options.header:
            frame, sheet, _ = excel.read_sheet(path, sheet, header=options.skip_rows,
                                               nrows=None if nrows is None else nrows + options.skip_after_header)
            frame = frame.iloc[options.skip_after_header:].reset_index(drop=True)
        else:
            try:
                frame = pd.read_excel(path, sheet_name=sheet, engine="calamine", header=None,
                                      skiprows=_skiprows(options), nrows=nrows, na_values=[""],
                                      keep_default_na=False)
            except (KeyError, OSError, ValueError) as e:
                raise DataError(f'cannot read sheet "{sheet}" of {path.name}: {e}') from None
        name = f"{path.stem}: {sheet}"
    elif suffix == ".sav":
        if options.skip_rows or options.skip_after_header or not options.header:
            raise DataError("SPSS files have no title rows or header row to choose; leave those options at 0")
        ds = _read_sav(path)
        frame = ds.frame if nrows is None else ds.frame.head(nrows)
        meta.update(levels=dict(ds.levels), labels=dict(ds.labels))
        name = ds.name
    else:
        read_table(path)  # raises the message that fits this kind of file
        raise DataError(f"cannot read {path.name}: MixGUI reads .csv, .xlsx and .sav files")
    if frame.shape[1] == 0:
        raise DataError(f"{path.name} has no columns below row {options.skip_rows}; "
                        "check the rows to skip and the header row")
    if not options.header:
        frame.columns = [f"V{i + 1}" for i in range(frame.shape[1])]  # R's names for header-less files
    return frame, name, meta


def _postprocess(frame: pd.DataFrame, options: ImportOptions, where: str, meta: dict) -> pd.DataFrame:
    frame = tidy_frame(frame, where)
    frame, counts = blank_missing_tokens(frame)
    note = missing_note(counts)
    meta["notes"] = [note] if note else []
    columns = [str(c) for c in frame.columns]
    for col in list(options.column_missing) + list(options.date_columns):
        if col not in frame.columns:
            raise DataError(missing_column_message(col, columns, where, "import option for column"))
    decimal = meta.get("decimal", ".")
    for col in frame.columns:
        codes = tuple(options.missing) + tuple(options.column_missing.get(col, ()))
        if codes:
            frame[col] = _blank_codes(frame[col], codes, decimal)
    for col in options.date_columns:
        frame[col] = to_dates(frame[col], col, options.dayfirst)
    return frame


def _blank_codes(s: pd.Series, codes: tuple, decimal: str) -> pd.Series:
    """Replace missing-value codes by NaN; a text column left with only numbers becomes numeric."""
    nums = {n for n in (_as_number(c) for c in codes) if n is not None}
    texts = {str(c).strip().casefold() for c in codes}
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        mask = s.isin(list(nums)) if nums else pd.Series(False, index=s.index)
    else:
        def is_code(v):
            if v is None or (isinstance(v, float) and math.isnan(v)):
                return False
            if isinstance(v, str):
                if v.strip().casefold() in texts:
                    return True
                n = _as_number(v) if decimal == "," else _plain_number(v)
                return n is not None and n in nums
            n = _as_number(v)
            return n is not None and n in nums
        mask = s.map(is_code).astype(bool)
    if not mask.any():
        return s
    out = s.mask(mask)
    if not pd.api.types.is_numeric_dtype(out):
        # "999" made a number column text when it was written as "missing" or "n/a": undo that.
        rest = out.dropna()
        conv = rest.map(lambda v: _as_number(v) if decimal == "," else _plain_number(v))
        if len(rest) and conv.notna().all():
            out = pd.to_numeric(out.map(lambda v: v if pd.isna(v) else
                                        (_as_number(v) if decimal == "," else _plain_number(v))))
    return out


def _plain_number(v) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v).strip())
    except ValueError:
        return None


def to_dates(s: pd.Series, name: str = "", dayfirst: bool = False) -> pd.Series:
    """A column as dates: datetimes kept, Excel day numbers converted, text parsed.

    Raises
    ------
    DataError
        A value that is not a date, naming the first one.
    """
    if pd.api.types.is_datetime64_any_dtype(s):
        return s
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        bad = s[(s < 1) | (s > 2_958_465)].dropna()  # 2958465 = 9999-12-31, Excel's last day
        if len(bad):
            raise DataError(f'column "{name}" has {bad.iloc[0]:g}, which is not an Excel date number; '
                            "untick it as a date column or fix the value")
        return pd.to_datetime(s, unit="D", origin=EXCEL_EPOCH)

    def one(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return pd.NaT
        if isinstance(v, pd.Timestamp) or hasattr(v, "year"):
            return pd.Timestamp(v)
        n = _plain_number(v)
        if n is not None:
            return pd.Timestamp(EXCEL_EPOCH) + pd.to_timedelta(n, unit="D")
        try:
            return pd.to_datetime(str(v).strip(), dayfirst=dayfirst)
        except (ValueError, TypeError, OverflowError):
            raise DataError(f'column "{name}" has "{v}", which is not a date; write dates like 2024-03-01, '
                            "or untick the column as a date column") from None
    return pd.to_datetime(s.map(one))


def load_analysis_data(path, analysis: dict | None = None, newer: bool = False) -> tuple:
    """Read an analysis file's data and redo what the file records about how the table was made.

    Parameters
    ----------
    path : str or Path
        The data file (already resolved against the analysis file's folder).
    analysis : dict, optional
        The analysis file as parsed JSON. Optional keys honoured: ``data.sheet``, ``data.import``
        (:class:`ImportOptions`), ``data.reshape`` (reshape steps) and ``computed`` (recipes);
        without them this is :func:`read_table`.
    newer : bool
        The analysis file comes from a newer MixGUI: unknown import options are skipped (listed
        as ``skipped_keys``) rather than refused.

    Returns
    -------
    (Dataset, dict)
        The table, and ``{"import_options", "steps", "recipes", "skipped_keys"}``; the first three
        go to the report writer, the skipped keys (``data.import.<key>``) into a warning.
    """
    from mixgui.data.computed import apply_recipes, recipe_from_dict
    from mixgui.data.reshape import step_from_dict

    analysis = analysis or {}
    data = analysis.get("data") if isinstance(analysis.get("data"), dict) else {}
    skipped: list = []
    imp = data.get("import")
    if imp is not None and not isinstance(imp, dict):
        raise DataError(f'"import" must be an object of import options, like {{"skip_rows": 1}} (got {str(imp)[:40]})')
    options = ImportOptions.from_dict({**(imp or {}), "sheet": data.get("sheet")}, newer, skipped)
    steps = [step_from_dict(s) for s in data.get("reshape") or []]
    recipes = [recipe_from_dict(r) for r in analysis.get("computed") or []]
    ds = read_with_options(path, options)
    if steps or recipes:
        frame = ds.frame
        for s in steps:
            frame = s.apply(frame)
        frame = apply_recipes(frame, recipes)
        ds = Dataset(frame, name=ds.name, labels=ds.labels, source=ds.source,
                     levels={k: v for k, v in ds.levels.items() if k in frame.columns})
    return ds, {"import_options": None if options.is_plain() else options, "steps": steps, "recipes": recipes,
                "skipped_keys": [f"data.import.{k}" for k in skipped]}
