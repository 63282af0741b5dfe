"""Wide <-> long tables for repeated measures.

A mixed model wants one row per measurement (long); spreadsheets usually hold one row per
patient with a column per visit (wide). :func:`wide_to_long` turns ``bp_T0, bp_T1, bp_T3`` into
rows with ``time`` = 0, 1, 3 taken from the column names, so a skipped visit stays a gap;
:func:`long_to_wide` goes back. Steps are plain data (:class:`WideToLong`, :class:`LongToWide`)
so a project can store and replay them.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import pandas as pd

from mixgui.data.dataset import missing_column_message
from mixgui.data.levels import level_label
from mixgui.errors import DataError

_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")
_SEPARATORS = "_.- :/"


def parse_index(names) -> list:
    """Index values from repeated columns' names.

    The last number in each name is the index (``T0`` -> 0, ``visit_3`` -> 3, ``week1.5`` -> 1.5) when
    every name has one and they differ. Otherwise the names' text is used, with the part all of them
    share at the start or end removed at a separator (``score_pre``, ``score_post`` -> ``pre``, ``post``).

    Returns
    -------
    list
        ints or floats when parsed as numbers, else strings, in the order of ``names``.
    """
    names = [str(n) for n in names]
    found = [_NUMBER.findall(n) for n in names]
    if names and all(found):
        values = [float(f[-1].replace(",", ".")) for f in found]
        if len(set(values)) == len(values):
            return [int(v) if v.is_integer() else v for v in values]
    return _strip_common(names)


def _strip_common(names: list) -> list:
    if len(names) < 2:
        return list(names)
    prefix = _common_prefix(names)
    cut = max((prefix.rfind(c) for c in _SEPARATORS), default=-1) + 1
    suffix = _common_prefix([n[::-1] for n in names])[::-1]
    cut_end = min((suffix.find(c) for c in _SEPARATORS if c in suffix), default=len(suffix))
    tail = len(suffix) - cut_end
    out = [n[cut: len(n) - tail if tail else None] for n in names]
    if all(out) and len(set(out)) == len(out):
        return out
    return list(names)


def _common_prefix(names: list) -> str:
    first, last = min(names), max(names)
    i = 0
    while i < min(len(first), len(last)) and first[i] == last[i]:
        i += 1
    return first[:i]


def _require(frame: pd.DataFrame, columns, role: str) -> None:
    cols = [str(c) for c in frame.columns]
    for c in columns:
        if c not in frame.columns:
            raise DataError(missing_column_message(c, cols, "the data", role))


@dataclass(frozen=True)
class WideToLong:
    """One column per occasion -> one row per occasion.

    Attributes
    ----------
    columns : tuple
        The repeated columns, one per occasion, in occasion order.
    index_name : str
        Name of the new column that says which occasion a row is (e.g. ``time``).
    value_name : str
        Name of the new column holding the measurement (e.g. ``bp``).
    index_values : tuple or None
        The occasion of each column; None parses them from the names (:func:`parse_index`).
    id_name : str or None
        When given and not already a column, a subject column numbered 1..n is added, so the
        rows of one patient stay together in a mixed model even without an ID column.
    drop_missing : bool
        Drop rows whose value is missing (mixed models drop them anyway; keeping them shows them).
    """

    columns: tuple
    index_name: str = "time"
    value_name: str = "value"
    index_values: tuple | None = None
    id_name: str | None = None
    drop_missing: bool = False

    kind = "wide_to_long"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["kind"] = self.kind
        d["columns"] = list(self.columns)
        d["index_values"] = None if self.index_values is None else list(self.index_values)
        return d

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        return wide_to_long(frame, self.columns, self.index_name, self.value_name, self.index_values,
                            self.id_name, self.drop_missing)


@dataclass(frozen=True)
class LongToWide:
    """One row per occasion -> one column per occasion (``value_index``)."""

    subject: str
    index: str
    values: tuple
    sep: str = "_"

    kind = "long_to_wide"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["kind"] = self.kind
        d["values"] = list(self.values)
        return d

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        return long_to_wide(frame, self.subject, self.index, self.values, self.sep)


def step_from_dict(d: dict):
    """Rebuild a reshape step stored with ``to_dict``."""
    d = dict(d)
    kind = d.pop("kind", None)
    if kind == "wide_to_long":
        d["columns"] = tuple(d["columns"])
        if d.get("index_values") is not None:
            d["index_values"] = tuple(d["index_values"])
        return WideToLong(**d)
    if kind == "long_to_wide":
        d["values"] = tuple(d["values"])
        return LongToWide(**d)
    raise DataError(f'unknown reshape step "{kind}" in the project file; update MixGUI to open it')


def wide_to_long(frame: pd.DataFrame, columns, index_name: str = "time", value_name: str = "value",
                 index_values=None, id_name: str | None = None, drop_missing: bool = False) -> pd.DataFrame:
    """Stack repeated columns into rows.

    Parameters
    ----------
    frame : DataFrame
        One row per subject.
    columns : sequence of str
        Repeated columns, one per occasion (at least two).
    index_name, value_name : str
        Names of the new occasion and measurement columns.
    index_values : sequence, optional
        Occasion of each column; default parsed from the names (:func:`parse_index`).
    id_name : str, optional
        Add a subject number 1..n under this name (unless the column exists).
    drop_missing : bool
        Drop rows whose measurement is missing.

    Returns
    -------
    DataFrame
        Subjects in their original order, each subject's occasions in column order; the other
        columns are repeated on every row of their subject.
    """
    columns = [str(c) for c in columns]
    _require(frame, columns, "repeated column")
    if len(columns) < 2:
        raise DataError("choose at least two repeated columns (one per occasion) to make a long table")
    if len(set(columns)) != len(columns):
        raise DataError("a repeated column is chosen twice; choose each occasion once")
    index = list(parse_index(columns) if index_values is None else index_values)
    if len(index) != len(columns):
        raise DataError(f"{len(columns)} repeated columns but {len(index)} occasion values; give one per column")
    if len({level_label(v) for v in index}) != len(index):
        raise DataError("two repeated columns have the same occasion value; each column must be its own occasion")
    keep = [c for c in frame.columns if c not in columns]
    for new, what in ((index_name, "occasion"), (value_name, "measurement")):
        if not new or not str(new).strip():
            raise DataError(f"give the new {what} column a name")
        if new in keep:
            raise DataError(f'the data already have a column "{new}"; choose another name for the {what} column')
    if index_name == value_name:
        raise DataError("the occasion column and the measurement column need different names")
    base = frame[keep].reset_index(drop=True)
    if id_name and id_name not in base.columns:
        base.insert(0, id_name, range(1, len(base) + 1))
    n, t = len(base), len(columns)
    out = base.loc[base.index.repeat(t)].reset_index(drop=True)
    out[index_name] = pd.Series(index * n, dtype=_index_dtype(index))
    values = frame[columns].reset_index(drop=True)
    stacked = pd.concat([values[c] for c in columns], axis=1, ignore_index=True)
    # row-major flattening keeps each subject's occasions together, in column order
    flat = stacked.to_numpy(dtype=object).reshape(-1)
    out[value_name] = _same_kind(pd.Series(flat), [values[c] for c in columns])
    if drop_missing:
        out = out[out[value_name].notna()].reset_index(drop=True)
    return out


def _index_dtype(index: list):
    if all(isinstance(v, int) and not isinstance(v, bool) for v in index):
        return "int64"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in index):
        return "float64"
    return object


def _same_kind(s: pd.Series, parts: list) -> pd.Series:
    if all(pd.api.types.is_numeric_dtype(p) and not pd.api.types.is_bool_dtype(p) for p in parts):
        out = pd.to_numeric(s)
        return out.astype("float64") if any(pd.api.types.is_float_dtype(p) for p in parts) else out
    if all(pd.api.types.is_datetime64_any_dtype(p) for p in parts):
        return pd.to_datetime(s)
    return s.infer_objects()


def long_to_wide(frame: pd.DataFrame, subject: str, index: str, values, sep: str = "_") -> pd.DataFrame:
    """Spread one row per occasion into one column per occasion.

    Parameters
    ----------
    frame : DataFrame
        One row per subject and occasion.
    subject, index : str
        The subject column and the occasion column.
    values : str or sequence of str
        Measurement columns to spread; each becomes ``value{sep}occasion`` columns.

    Returns
    -------
    DataFrame
        One row per subject (first-appearance order); columns that are constant within every
        subject are kept once, other non-spread columns are dropped.

    Raises
    ------
    DataError
        Missing subject or occasion values, or a subject with the same occasion twice.
    """
    values = [values] if isinstance(values, str) else [str(v) for v in values]
    _require(frame, [subject, index] + values, "column")
    if not values:
        raise DataError("choose at least one measurement column to spread into columns")
    if subject == index or subject in values or index in values:
        raise DataError("the subject, occasion and measurement columns must all be different")
    for col, what in ((subject, "subject"), (index, "occasion")):
        if frame[col].isna().any():
            row = int(frame[col].isna().to_numpy().argmax()) + 1
            raise DataError(f'the {what} column "{col}" is empty in row {row}; fill it in or delete the row')
    dup = frame.duplicated([subject, index], keep=False)
    if dup.any():
        r = frame[dup].iloc[0]
        raise DataError(f'subject {level_label(r[subject])} has occasion {level_label(r[index])} more than once; '
                        "a wide table needs one row per subject and occasion")
    occasions = list(pd.unique(frame[index]))
    try:
        occasions = sorted(occasions)
    except TypeError:
        occasions = sorted(occasions, key=str)
    subjects = list(pd.unique(frame[subject]))
    groups = frame.groupby(subject, sort=False, dropna=False)
    rest = [c for c in frame.columns if c not in (subject, index, *values)]
    constant = [c for c in rest if (groups[c].nunique(dropna=False) <= 1).all()]
    out = groups[constant].first().reindex(subjects) if constant else pd.DataFrame(index=subjects)
    out.index.name = subject
    wide = frame.pivot(index=subject, columns=index, values=values).reindex(subjects)
    for v in values:
        for occ in occasions:
            name = f"{v}{sep}{level_label(occ)}"
            if name in out.columns or name in (subject,):
                raise DataError(f'the new column "{name}" clashes with an existing one; rename that column first')
            out[name] = wide[(v, occ)].to_numpy()
    return out.reset_index()


def suggest_groups(columns) -> dict:
    """Columns that look like one measurement repeated: same name apart from a number.

    ``["id", "bp_T0", "bp_T1", "hr1", "hr2"]`` -> ``{"bp": ["bp_T0", "bp_T1"], "hr": ["hr1", "hr2"]}``.
    The key (name without the number and trailing separators) is a good measurement-column name.
    """
    groups: dict = {}
    for c in map(str, columns):
        m = list(_NUMBER.finditer(c))
        if not m:
            continue
        last = m[-1]
        stem = (c[: last.start()] + "#" + c[last.end():]).strip()
        groups.setdefault(stem, []).append(c)
    out = {}
    for stem, cols in groups.items():
        if len(cols) >= 2:
            name = stem.replace("#", "").strip(_SEPARATORS)
            # "bp_T#": the T (time, visit, week) marks the occasion and is not part of the measurement's name
            name = re.sub(r"[_.\- ][TtVvWw]$", "", name)
            out[name or cols[0]] = cols
    return out
