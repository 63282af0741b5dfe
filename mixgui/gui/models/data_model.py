"""A lazy table model over a pandas DataFrame, for the data grid and the dialogs' previews.

A million-row table must open at once and scroll smoothly, so the model

* reports rows in batches (``canFetchMore``/``fetchMore``): the view asks for more as it scrolls;
* reads cells from one numpy array per column, made the first time the column is shown (no
  per-cell ``DataFrame`` lookups, no conversion of the whole frame to Python objects);
* formats only the cells being painted.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

MISSING_BRUSH = QBrush(QColor("#eef0f3"))
MISSING_TEXT = QBrush(QColor("#9aa1ab"))


def _column_array(series: pd.Series) -> np.ndarray:
    """One column as a numpy array: floats with NaN for numbers, objects otherwise."""
    if pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=object, na_value=None)
    if pd.api.types.is_numeric_dtype(series):
        if series.dtype.kind in "iuf" and not isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
            return series.to_numpy(copy=False)  # zero-copy for plain numpy columns
        return series.to_numpy(dtype=float, na_value=np.nan)  # nullable Int64/Float64
    return series.to_numpy(dtype=object, na_value=None)


def format_cell(value) -> str:
    """How a data value is written in the grid ('' for missing)."""
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        if float(value).is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.6g}"
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return str(int(value))
    if value is pd.NaT or value is pd.NA:
        return ""
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ").removesuffix(" 00:00:00")
    return str(value)


def _is_missing(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


class DataFrameModel(QAbstractTableModel):
    """Read-only, lazily fetched table model over a DataFrame.

    Parameters
    ----------
    frame : pandas.DataFrame
    batch_size : int
        Rows made visible at first and added by each :meth:`fetchMore`.
    parent : QObject, optional

    Notes
    -----
    ``Qt.UserRole`` returns the raw value (``None``/NaN for missing). Vertical headers are
    1-based row numbers, as in spreadsheets.
    """

    def __init__(self, frame: pd.DataFrame | None = None, batch_size: int = 1000, parent=None):
        super().__init__(parent)
        self._batch = int(batch_size)
        self._load(frame if frame is not None else pd.DataFrame())

    def _load(self, frame: pd.DataFrame) -> None:
        self._frame = frame
        self._total = len(frame)
        self._loaded = min(self._batch, self._total)
        self._arrays: list = [None] * frame.shape[1]
        dtypes = list(frame.dtypes)
        self._numeric = [pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in dtypes]
        self._names = [str(c) for c in frame.columns]

    # -- content ----------------------------------------------------------------------
    def set_frame(self, frame: pd.DataFrame) -> None:
        """Show another frame (resets the view)."""
        self.beginResetModel()
        self._load(frame)
        self.endResetModel()

    def frame(self) -> pd.DataFrame:
        """The frame shown."""
        return self._frame

    @property
    def total_rows(self) -> int:
        """Rows in the frame (``rowCount`` is how many are fetched so far)."""
        return self._total

    def column_array(self, col: int) -> np.ndarray:
        """The numpy array behind column ``col`` (made on first use, then cached)."""
        arr = self._arrays[col]
        if arr is None:
            arr = _column_array(self._frame.iloc[:, col])
            self._arrays[col] = arr
        return arr

    def raw_value(self, row: int, col: int):
        return self.column_array(col)[row]

    # -- Qt model interface -----------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else self._loaded

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._names)

    def canFetchMore(self, parent=QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._loaded < self._total

    def fetchMore(self, parent=QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._loaded >= self._total:
            return
        new = min(self._loaded + self._batch, self._total)
        self.beginInsertRows(QModelIndex(), self._loaded, new - 1)
        self._loaded = new
        self.endInsertRows()

    def fetch_to(self, row: int) -> None:
        """Fetch whole batches until ``row`` is available (e.g. to jump to a clicked plot point).

        One insertion for all the batches needed: the view relays out once, not once per batch.
        """
        if row < self._loaded or self._loaded >= self._total:
            return
        batches = (row - self._loaded) // self._batch + 1
        new = min(self._loaded + batches * self._batch, self._total)
        self.beginInsertRows(QModelIndex(), self._loaded, new - 1)
        self._loaded = new
        self.endInsertRows()

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return format_cell(self.raw_value(r, c))
        if role == Qt.ItemDataRole.UserRole:
            v = self.raw_value(r, c)
            return v.item() if isinstance(v, np.generic) else v
        if role == Qt.ItemDataRole.TextAlignmentRole:
            h = Qt.AlignmentFlag.AlignRight if self._numeric[c] else Qt.AlignmentFlag.AlignLeft
            return int(h | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole:
            return MISSING_BRUSH if _is_missing(self.raw_value(r, c)) else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return "missing" if _is_missing(self.raw_value(r, c)) else None
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole:
            if orientation == Qt.Orientation.Horizontal:
                return self._names[section] if 0 <= section < len(self._names) else None
            return str(section + 1)
        if role == Qt.ItemDataRole.TextAlignmentRole and orientation == Qt.Orientation.Vertical:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
