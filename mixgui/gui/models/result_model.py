"""A table model over one results :class:`~mixgui.results.tables.Table`.

Roles: ``DisplayRole`` is the text as in a paper (the table's own formatting), ``ToolTipRole``
the full precision, ``UserRole`` the raw value; numbers are right-aligned.
"""
from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QMimeData, QModelIndex, Qt

from mixgui.results.tables import Table, full_value

_NUMERIC_KINDS = ("num", "int", "df", "p", "ci")


class ResultTableModel(QAbstractTableModel):
    """Read-only model of a results table.

    Parameters
    ----------
    table : Table
    parent : QObject, optional
    """

    def __init__(self, table: Table, parent=None):
        super().__init__(parent)
        self._table = table

    @property
    def table(self) -> Table:
        return self._table

    @property
    def key(self) -> str:
        return self._table.key

    def column_index(self, key: str) -> int:
        """Position of the column whose ``key`` is ``key`` (ValueError when absent)."""
        for i, c in enumerate(self._table.columns):
            if c.key == key:
                return i
        raise ValueError(f"table {self._table.key} has no column {key!r}")

    def row_index(self, column_key: str, value) -> int:
        """First row whose ``column_key`` equals ``value`` (ValueError when absent)."""
        for i, r in enumerate(self._table.rows):
            if r.get(column_key) == value:
                return i
        raise ValueError(f"table {self._table.key} has no row with {column_key} = {value!r}")

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._table.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._table.columns)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self._table.rows[index.row()]
        col = self._table.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._table.cell(row, col)
        if role == Qt.ItemDataRole.UserRole:
            return row.get(col.key)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col.kind == "text":
                text = self._table.cell(row, col)
                return text if len(text) > 30 else None  # long labels may be elided
            return full_value(row.get(col.key)) or None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            h = Qt.AlignmentFlag.AlignRight if col.kind in _NUMERIC_KINDS else Qt.AlignmentFlag.AlignLeft
            return int(h | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self._table.columns):
            return None
        col = self._table.columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.label
        if role == Qt.ItemDataRole.TextAlignmentRole:
            h = Qt.AlignmentFlag.AlignRight if col.kind in _NUMERIC_KINDS else Qt.AlignmentFlag.AlignLeft
            return int(h | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def mime_data(self) -> QMimeData:
        """The whole table for the clipboard: HTML (Word/Excel paste a real table) and TSV text."""
        return table_mime_data(self._table)


MINUS = "\u2212"


def table_mime_data(table: Table) -> QMimeData:
    """A :class:`QMimeData` holding ``table`` as ``text/html`` and as tab-separated ``text/plain``."""
    mime = QMimeData()
    # Word and Excel read a complete HTML document more reliably than a bare fragment.
    html = ('<html><head><meta charset="utf-8"></head><body>'
            + table.to_html(full_precision_titles=False) + "</body></html>")
    # the window's minus sign (U+2212) reads well but Excel pastes "−0.048" as text: copies get "-"
    mime.setHtml(html.replace(MINUS, "-"))
    mime.setText(table.to_tsv().replace(MINUS, "-"))
    return mime
