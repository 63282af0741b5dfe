"""The data grid: a spreadsheet-like view over the lazy :class:`DataFrameModel`."""
from __future__ import annotations

import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from mixgui.gui.models.data_model import DataFrameModel


class DataGrid(QTableView):
    """Read-only grid of the current data; rows are fetched in batches as the user scrolls.

    Parameters
    ----------
    batch_size : int
        Rows fetched per batch by the model.
    parent : QWidget, optional
    """

    def __init__(self, batch_size: int = 1000, parent=None):
        super().__init__(parent)
        self.setModel(DataFrameModel(None, batch_size, self))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vh = self.verticalHeader()
        # Fixed row heights: Qt then never measures rows, which keeps a million rows fast.
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(self.fontMetrics().height() + 8)
        hh = self.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setDefaultSectionSize(84)
        hh.setMinimumSectionSize(40)
        hh.setHighlightSections(False)

    def data_model(self) -> DataFrameModel:
        """The grid's model."""
        return self.model()

    def set_frame(self, frame: pd.DataFrame) -> None:
        """Show ``frame``; column widths fit the header and the first rows."""
        self.data_model().set_frame(frame)
        fm = self.fontMetrics()
        model = self.data_model()
        sample = min(model.rowCount(), 50)
        for c in range(model.columnCount()):
            texts = [str(model.headerData(c, Qt.Orientation.Horizontal))]
            texts += [model.data(model.index(r, c)) or "" for r in range(sample)]
            width = max(fm.horizontalAdvance(t) for t in texts) + 28
            self.setColumnWidth(c, max(48, min(width, 220)))


    def select_row(self, row: int) -> bool:
        """Select data row ``row`` (0-based) and scroll it into the middle of the view.

        The model is lazy, so batches are fetched up to ``row`` first.

        Returns
        -------
        bool
            False when the data have no such row.
        """
        model = self.data_model()
        if not 0 <= row < model.total_rows or model.columnCount() == 0:
            return False
        model.fetch_to(row)
        index = model.index(row, 0)
        self.setCurrentIndex(index)
        self.selectRow(row)
        self.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        return True

    def selected_rows(self) -> list:
        """0-based rows with a selected cell, in order."""
        return sorted({i.row() for i in self.selectionModel().selectedIndexes()})
