"""Import dialog: choose the sheet, the header row, missing-value codes and CSV settings while a
live preview shows the table as it will be read.

A thin view over :mod:`mixgui.data.importing` (all reading and checking happens there); edits
restart a short timer so typing "999, -99" does not re-read the file on every key.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QSpinBox,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mixgui.data.importing import (
    EXCEL_SUFFIXES,
    TEXT_SUFFIXES,
    ImportOptions,
    parse_codes,
    preview,
    raw_rows,
    suggest_options,
)
from mixgui.data.readers import excel_sheets
from mixgui.errors import MixGUIError
from mixgui.gui.models.data_model import DataFrameModel

DELIMITERS = [("Detect", None), ("Comma ,", ","), ("Semicolon ;", ";"), ("Tab", "\t"), ("Bar |", "|")]
DECIMALS = [("Detect", None), ("Point .", "."), ("Comma ,", ",")]
ENCODINGS = [("Detect", None), ("UTF-8", "utf-8"), ("Windows (cp1252)", "cp1252"), ("Latin-1", "latin-1"),
             ("UTF-16", "utf-16")]
DEBOUNCE_MS = 200


class ImportDialog(QDialog):
    """Choose how to read ``path``; :meth:`options` gives the choice, :meth:`dataset` reads it.

    Signals
    -------
    previewUpdated : emitted after each refresh of the preview (also after an error).
    """

    previewUpdated = Signal()

    def __init__(self, path, options: ImportOptions | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.path = Path(path)
        self.setWindowTitle(f"Import {self.path.name}")
        self.resize(980, 680)
        self._columns: list = []
        self.error = ""
        suffix = self.path.suffix.lower()
        self._is_text = suffix in TEXT_SUFFIXES
        self._is_excel = suffix in EXCEL_SUFFIXES
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(self.refresh)
        self._build()
        self.set_options(options or self._suggested())
        self.refresh()

    def _suggested(self) -> ImportOptions:
        """The first look: title rows above the header already skipped (the user can change it)."""
        try:
            return suggest_options(self.path)
        except MixGUIError:
            return ImportOptions()  # the preview then shows what is wrong with the file

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        form = QFormLayout()
        self.sheet = QComboBox()
        if self._is_excel:
            try:
                self.sheet.addItems(excel_sheets(self.path))
            except MixGUIError as e:
                self.error = str(e)
            form.addRow("Sheet", self.sheet)
        self.header_row = QSpinBox(minimum=1, maximum=1000)
        self.header_row.setToolTip("The row that holds the column names; rows above it (titles) are skipped.")
        self.has_header = QCheckBox("This row has the column names", checked=True)
        self.has_header.setToolTip("Untick when the file has no names; columns are then called V1, V2, ...")
        row = QHBoxLayout()
        row.addWidget(self.header_row)
        row.addWidget(self.has_header)
        row.addStretch(1)
        form.addRow("Column names in row", row)
        self.skip_after = QSpinBox(minimum=0, maximum=100)
        self.skip_after.setToolTip("Rows between the names and the data, e.g. a row of units.")
        form.addRow("Rows to skip below the names", self.skip_after)
        self.missing = QLineEdit(placeholderText="e.g. 999, -99, n/a")
        self.missing.setToolTip("Values that mean 'not measured' in every column; they become empty cells.")
        form.addRow("Missing-value codes", self.missing)
        self.dayfirst = QCheckBox("Dates are day/month/year")
        form.addRow("", self.dayfirst)
        self.csv_box = QGroupBox("Text file settings")
        csv_form = QFormLayout(self.csv_box)
        self.delimiter, self.decimal, self.encoding = QComboBox(), QComboBox(), QComboBox()
        for combo, items in ((self.delimiter, DELIMITERS), (self.decimal, DECIMALS), (self.encoding, ENCODINGS)):
            for label, value in items:
                combo.addItem(label, value)
        csv_form.addRow("Separator", self.delimiter)
        csv_form.addRow("Decimal mark", self.decimal)
        csv_form.addRow("Encoding", self.encoding)
        self.csv_box.setVisible(self._is_text)
        if not (self._is_text or self._is_excel):  # SPSS files have names and types of their own
            for w in (self.header_row, self.has_header, self.skip_after):
                w.setEnabled(False)

        self.column_codes = QTableWidget(0, 2)
        self.column_codes.setHorizontalHeaderLabels(["Column", "Its own missing codes"])
        self.column_codes.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
        self.column_codes.verticalHeader().setVisible(False)
        self.dates = QListWidget()
        self.dates.setToolTip("Tick the columns that hold dates (Excel day numbers or text dates).")
        side = QVBoxLayout()
        side.addLayout(form)
        side.addWidget(self.csv_box)
        side.addWidget(QLabel("Missing codes for single columns"))
        side.addWidget(self.column_codes, 2)
        side.addWidget(QLabel("Date columns"))
        side.addWidget(self.dates, 1)
        left = QWidget()
        left.setLayout(side)

        self.raw = QPlainTextEdit(readOnly=True)
        self.raw.setFont(QFontDatabase.systemFont(QFontDatabase.FixedFont))
        self.raw.setLineWrapMode(QPlainTextEdit.NoWrap)
        self.raw.setMaximumHeight(160)
        self.model = DataFrameModel(parent=self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.status = QLabel()
        self.status.setWordWrap(True)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.addWidget(QLabel("The file as it is (row numbers on the left)"))
        rl.addWidget(self.raw)
        rl.addWidget(QLabel("Preview of the table"))
        rl.addWidget(self.table, 1)
        rl.addWidget(self.status)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText("Import")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(split, 1)
        lay.addWidget(self.buttons)

        for w in (self.sheet, self.delimiter, self.decimal, self.encoding):
            w.currentIndexChanged.connect(self._changed)
        for w in (self.header_row, self.skip_after):
            w.valueChanged.connect(self._changed)
        for w in (self.has_header, self.dayfirst):
            w.toggled.connect(self._changed)
        self.missing.textChanged.connect(self._changed)
        self.column_codes.itemChanged.connect(self._changed)
        self.dates.itemChanged.connect(self._changed)

    def _changed(self, *args) -> None:
        self._timer.start()

    # -- options <-> widgets --------------------------------------------------------------
    def set_options(self, o: ImportOptions) -> None:
        """Show ``o`` in the widgets (columns-dependent parts apply at the next refresh)."""
        if o.sheet and self._is_excel:
            self.sheet.setCurrentText(o.sheet)
        self.header_row.setValue(o.skip_rows + 1)
        self.has_header.setChecked(o.header)
        self.skip_after.setValue(o.skip_after_header)
        self.missing.setText(", ".join(str(c) for c in o.missing))
        self.dayfirst.setChecked(o.dayfirst)
        for combo, value in ((self.delimiter, o.delimiter), (self.decimal, o.decimal), (self.encoding, o.encoding)):
            i = combo.findData(value)
            combo.setCurrentIndex(max(i, 0))
        self._pending = (dict(o.column_missing), set(o.date_columns))

    def options(self) -> ImportOptions:
        """The options the widgets show."""
        col_codes, dates = {}, []
        for r in range(self.column_codes.rowCount()):
            name_item, codes_item = self.column_codes.item(r, 0), self.column_codes.item(r, 1)
            codes = parse_codes(codes_item.text()) if codes_item else ()
            if name_item and codes:
                col_codes[name_item.text()] = codes
        for i in range(self.dates.count()):
            it = self.dates.item(i)
            if it.checkState() == Qt.Checked:
                dates.append(it.text())
        pending_codes, pending_dates = getattr(self, "_pending", ({}, set()))
        col_codes = {**{k: v for k, v in pending_codes.items() if k not in col_codes}, **col_codes}
        dates += [d for d in pending_dates if d not in dates and d not in self._columns]
        return ImportOptions(
            sheet=self.sheet.currentText() or None if self._is_excel else None,
            skip_rows=self.header_row.value() - 1, header=self.has_header.isChecked(),
            skip_after_header=self.skip_after.value(), missing=parse_codes(self.missing.text()),
            column_missing=col_codes, date_columns=tuple(dates), dayfirst=self.dayfirst.isChecked(),
            delimiter=self.delimiter.currentData(), decimal=self.decimal.currentData(),
            encoding=self.encoding.currentData())

    def _sync_columns(self, columns: list, options: ImportOptions) -> None:
        if columns == self._columns:
            return
        self._columns = columns
        for w in (self.column_codes, self.dates):
            w.blockSignals(True)
        self.column_codes.setRowCount(len(columns))
        self.dates.clear()
        for r, c in enumerate(columns):
            name = QTableWidgetItem(c)
            name.setFlags(name.flags() & ~Qt.ItemIsEditable)
            self.column_codes.setItem(r, 0, name)
            codes = options.column_missing.get(c, ())
            self.column_codes.setItem(r, 1, QTableWidgetItem(", ".join(str(x) for x in codes)))
            it = QListWidgetItem(c)
            it.setFlags(it.flags() | Qt.ItemIsUserCheckable)
            it.setCheckState(Qt.Checked if c in options.date_columns else Qt.Unchecked)
            self.dates.addItem(it)
        for w in (self.column_codes, self.dates):
            w.blockSignals(False)
        self._pending = ({}, set())

    # -- preview --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the top of the file with the current options."""
        o = self.options()
        try:
            rows = raw_rows(self.path, o.with_(skip_rows=0), nrows=12)
            def trimmed(r):  # Excel rows carry empty cells up to the widest row
                while r and r[-1] == "":
                    r = r[:-1]
                return r
            self.raw.setPlainText("\n".join(f"{i + 1:>3} | " + " | ".join(trimmed(r)) for i, r in enumerate(rows)))
        except MixGUIError as e:
            self.raw.setPlainText(str(e))
        try:
            frame = preview(self.path, o, nrows=50)
        except MixGUIError as e:
            # the columns list depends on the header row: drop unknown-column options and try once more
            try:
                frame = preview(self.path, o.with_(column_missing={}, date_columns=()), nrows=50)
                self._sync_columns([str(c) for c in frame.columns], o)
                frame = preview(self.path, self.options(), nrows=50)
            except MixGUIError:
                self._show_error(str(e))
                return
        self._sync_columns([str(c) for c in frame.columns], o)
        self.error = ""
        self.model.set_frame(frame)
        self.status.setStyleSheet("")
        self.status.setText(f"{frame.shape[1]} columns; the first {len(frame)} rows are shown.")
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(True)
        self.previewUpdated.emit()

    def _show_error(self, message: str) -> None:
        self.error = message
        self.model.set_frame(pd.DataFrame())
        self.status.setStyleSheet("color: #9c2a00;")
        self.status.setText(message)
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(False)
        self.previewUpdated.emit()

    def preview_frame(self) -> pd.DataFrame:
        """The table the preview shows."""
        return self.model.frame()

    def dataset(self):
        """Read the whole file with the chosen options (raises MixGUIError with what to fix)."""
        from mixgui.data.importing import read_with_options
        return read_with_options(self.path, self.options())
