"""A Dataset: a pandas DataFrame plus what the user said about each column.

Measurement levels follow SPSS's words: ``continuous``, ``nominal``, ``ordinal``, ``identifier``.
The statistical rules (what is categorical, level order, reference levels) live in
:mod:`mixgui.data.levels` so the engine and the window use the same ones.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import pandas as pd

from mixgui.errors import DataError

LEVELS = ("continuous", "nominal", "ordinal", "identifier")


def guess_level(series: pd.Series) -> str:
    """The measurement level a column most likely has, from its values alone."""
    if pd.api.types.is_bool_dtype(series) or isinstance(series.dtype, pd.CategoricalDtype):
        return "nominal"
    if pd.api.types.is_numeric_dtype(series):
        return "continuous"
    return "nominal"


@dataclass
class Dataset:
    """A table and its per-column metadata.

    Attributes
    ----------
    frame : pandas.DataFrame
        The data, one row per observation.
    name : str
        A short name for titles (file stem, sheet).
    levels : dict
        Column -> measurement level (see ``LEVELS``).
    labels : dict
        Column -> {code: label} value labels (from SPSS files), optional.
    source : str
        Where it was read from (path), for the analysis file.
    notes : list of str
        What reading the file changed that the user should know (missing-value codes read as missing).
    """

    frame: pd.DataFrame
    name: str = "data"
    levels: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    source: str = ""
    notes: list = field(default_factory=list)

    def __post_init__(self):
        for col in self.frame.columns:
            self.levels.setdefault(col, guess_level(self.frame[col]))

    @property
    def columns(self) -> list:
        return [str(c) for c in self.frame.columns]

    def __len__(self) -> int:
        return len(self.frame)

    def categorical_columns(self) -> list:
        return [c for c in self.columns if self.levels.get(c) in ("nominal", "ordinal", "identifier")]

    def require(self, column: str, role: str = "column") -> None:
        """Raise a DataError that suggests the closest name when ``column`` is not in the data."""
        if column in self.frame.columns:
            return
        raise DataError(missing_column_message(column, self.columns, self.name, role))


def missing_column_message(column: str, columns: list, where: str, role: str = "column") -> str:
    close = difflib.get_close_matches(column, columns, n=1, cutoff=0.5)
    if not close:
        low = {c.lower(): c for c in columns}
        if column.lower() in low:
            close = [low[column.lower()]]
    hint = f'; did you mean "{close[0]}"?' if close else f"; the columns are {', '.join(columns[:12])}"
    return f'{role} "{column}" not in {where}{hint}'
