"""Reshape dialog: wide -> long (one row per visit) or long -> wide, with a live preview.

A thin view over :mod:`mixgui.data.reshape`; the chosen step (:meth:`ReshapeDialog.step`) is
plain data the session stores and replays.
"""
from __future__ import annotations

import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mixgui.data.reshape import LongToWide, WideToLong, parse_index, suggest_groups
from mixgui.errors import MixGUIError
from mixgui.gui.models.data_model import DataFrameModel
from mixgui.gui.widgets.preview_dialog import PreviewDialog

PREVIEW_ROWS = 200


def _checkable_list(items, checked=()) -> QListWidget:
    w = QListWidget()
    for c in items:
        it = QListWidgetItem(str(c))
        it.setFlags(it.flags() | Qt.ItemIsUserCheckable)
        it.setCheckState(Qt.Checked if c in checked else Qt.Unchecked)
        w.addItem(it)
    return w


def _checked(w: QListWidget) -> list:
    return [w.item(i).text() for i in range(w.count()) if w.item(i).checkState() == Qt.Checked]


class ReshapeDialog(PreviewDialog):
    """Turn ``frame`` wide -> long or long -> wide.

    Signals
    -------
    previewUpdated : emitted after each refresh of the preview (also after an error).
    """

    def __init__(self, frame: pd.DataFrame, parent: QWidget | None = None):
        super().__init__(frame, "Restructure the data", (900, 620), parent)
        columns = [str(c) for c in frame.columns]
        groups = suggest_groups(columns)
        first_stem, first_cols = next(iter(groups.items()), ("value", []))

        self.tabs = QTabWidget()
        wide = QWidget()
        wf = QFormLayout(wide)
        self.repeated = _checkable_list(columns, first_cols)
        self.repeated.setToolTip("Tick one column per occasion (visit, time point), in time order.")
        wf.addRow("Repeated columns", self.repeated)
        self.index_name = QLineEdit("time")
        self.index_name.setToolTip("The new column that says which occasion a row is.")
        wf.addRow("Occasion column name", self.index_name)
        self.value_name = QLineEdit(first_stem)
        wf.addRow("Measurement column name", self.value_name)
        self.occasions = QLabel()
        self.occasions.setWordWrap(True)
        wf.addRow("Occasions", self.occasions)
        self.add_id = QCheckBox("Add a subject number column named")
        self.id_name = QLineEdit("subject")
        wf.addRow(self.add_id, self.id_name)
        self.drop_missing = QCheckBox("Leave out rows whose measurement is missing")
        wf.addRow("", self.drop_missing)
        self.tabs.addTab(wide, "Wide → long (one row per occasion)")

        long_ = QWidget()
        lf = QFormLayout(long_)
        self.subject, self.index = QComboBox(), QComboBox()
        self.subject.addItems(columns)
        self.index.addItems(columns)
        if len(columns) > 1:
            self.index.setCurrentIndex(1)
        lf.addRow("Subject column", self.subject)
        lf.addRow("Occasion column", self.index)
        self.values = _checkable_list(columns)
        lf.addRow("Measurements to spread", self.values)
        self.tabs.addTab(long_, "Long → wide (one row per subject)")

        self.model = DataFrameModel(parent=self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText("Restructure")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.tabs)
        lay.addWidget(QLabel("Preview"))
        lay.addWidget(self.table, 1)
        lay.addWidget(self.status)
        lay.addWidget(self.buttons)

        self.tabs.currentChanged.connect(self._changed)
        for w in (self.repeated, self.values):
            w.itemChanged.connect(self._changed)
        for w in (self.index_name, self.value_name, self.id_name):
            w.textChanged.connect(self._changed)
        for w in (self.add_id, self.drop_missing):
            w.toggled.connect(self._changed)
        for w in (self.subject, self.index):
            w.currentIndexChanged.connect(self._changed)
        self.refresh()

    def _changed(self, *args) -> None:
        self.schedule()

    def step(self):
        """The reshape the widgets describe (:class:`WideToLong` or :class:`LongToWide`)."""
        if self.tabs.currentIndex() == 0:
            return WideToLong(tuple(_checked(self.repeated)), self.index_name.text().strip(),
                              self.value_name.text().strip(), None,
                              self.id_name.text().strip() if self.add_id.isChecked() else None,
                              self.drop_missing.isChecked())
        return LongToWide(self.subject.currentText(), self.index.currentText(), tuple(_checked(self.values)))

    def refresh(self) -> None:
        """Recompute the preview from the first rows of the data."""
        step = self.step()
        if isinstance(step, WideToLong):
            cols = list(step.columns)
            if cols:
                idx = parse_index(cols)
                self.occasions.setText(", ".join(f"{c} → {v}" for c, v in zip(cols, idx)))
            else:
                self.occasions.setText("tick the repeated columns")
            head = self.frame.head(max(1, PREVIEW_ROWS // max(1, len(cols))))
        else:
            head = self.frame  # long -> wide needs every row of the shown subjects
        try:
            out = step.apply(head).head(PREVIEW_ROWS)
        except MixGUIError as e:
            self.error = str(e)
            self.model.set_frame(pd.DataFrame())
            self.status.setStyleSheet("color: #9c2a00;")
            self.status.setText(self.error)
            self.buttons.button(QDialogButtonBox.Ok).setEnabled(False)
            self.previewUpdated.emit()
            return
        self.error = ""
        self.model.set_frame(out)
        self.status.setStyleSheet("")
        self.status.setText(f"{out.shape[1]} columns; first {len(out)} rows shown.")
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(True)
        self.previewUpdated.emit()

    def result_frame(self) -> pd.DataFrame:
        """The whole table restructured (raises MixGUIError with what to fix)."""
        return self.step().apply(self.frame)
