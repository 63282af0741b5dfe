"""Compute variable: a new column made from another (centred, standardised, cluster mean, ...).

A thin view over :mod:`mixgui.data.computed`: the dialog builds one recipe
(:meth:`ComputeDialog.recipe`) and previews it on the whole table (means need every row), so
what the preview shows is what the window will add. The window keeps the recipe, so the column
is recomputed whenever the data change and is written into saved analyses and R scripts.
"""
from __future__ import annotations

import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mixgui.data.computed import (
    Center,
    ClusterCenter,
    ClusterMean,
    Dichotomize,
    Log,
    Recode,
    Standardize,
    apply_recipes,
)
from mixgui.data.levels import sorted_levels
from mixgui.errors import MixGUIError
from mixgui.gui.models.data_model import format_cell
from mixgui.gui.widgets.preview_dialog import PreviewDialog

#: (kind, label, name suffix, one-sentence help)
KINDS = [
    ("center", "Centre at the mean", "_c",
     "Value minus the column's mean: 0 means 'average', so the intercept is the outcome at the average."),
    ("standardize", "Standardise (z-score)", "_z",
     "(value − mean) / SD: a coefficient becomes the change per standard deviation."),
    ("cluster_mean", "Cluster mean", "_mean",
     "The mean within each cluster (e.g. each clinic's mean age): the between-cluster part of a predictor."),
    ("cluster_center", "Centre within cluster", "_cwc",
     "Value minus its cluster's mean: the within-cluster part. Together with the cluster mean it "
     "separates within- from between-cluster effects."),
    ("log", "Logarithm", "_log",
     "For right-skewed positive values (e.g. lab values); add a constant when there are zeros."),
    ("recode", "Recode levels", "_r",
     "New labels for levels; give two levels the same label to merge them, leave it empty to make it missing."),
    ("dichotomize", "Dichotomise (split in two)", "_hi",
     "1 at or above the cut-off, 0 below it."),
]
CLUSTER_KINDS = ("cluster_mean", "cluster_center")
PREVIEW_ROWS = 8
MAX_RECODE_LEVELS = 200


class ComputeDialog(PreviewDialog):
    """Choose a computed variable for ``frame``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table as shown (computed columns included: a recipe may use an earlier one).
    parent : QWidget, optional

    Signals
    -------
    previewUpdated : emitted after each refresh of the preview (also after an error).
    """

    def __init__(self, frame: pd.DataFrame, parent: QWidget | None = None):
        super().__init__(frame, "Compute a variable", (620, 640), parent)
        self._auto_name = True
        columns = [str(c) for c in frame.columns]

        self.kind = QComboBox()
        for kind, label, _suffix, help_ in KINDS:
            self.kind.addItem(label, kind)
            self.kind.setItemData(self.kind.count() - 1, help_, Qt.ItemDataRole.ToolTipRole)
        self.source = QComboBox()
        self.source.addItems(columns)
        self.source.setToolTip("The column the new variable is computed from.")
        self.cluster = QComboBox()
        self.cluster.addItems(columns)
        self.cluster.setToolTip("The grouping column (e.g. clinic or patient) whose means are used.")
        self.base = QComboBox()
        for label, value in (("natural (e)", "e"), ("10", "10"), ("2", "2")):
            self.base.addItem(label, value)
        self.offset = QDoubleSpinBox(minimum=0.0, maximum=1e9, decimals=4)
        self.offset.setToolTip("Added before taking the log, so zeros can be kept (e.g. 1).")
        self.cutoff = QLineEdit("median")
        self.cutoff.setToolTip('A number, or "median" to split at the median.')
        self.mapping = QTableWidget(0, 2)
        self.mapping.setHorizontalHeaderLabels(["Level", "New label"])
        self.mapping.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.mapping.verticalHeader().setVisible(False)
        self.mapping.setMinimumHeight(120)
        self.name = QLineEdit()
        self.name.setToolTip("The new column's name; the column it is made from is never overwritten.")
        self.name.textEdited.connect(self._name_edited)

        self.help = QLabel()
        self.help.setObjectName("muted")
        self.help.setWordWrap(True)
        self.note = QLabel()
        self.note.setObjectName("warningBox")
        self.note.setWordWrap(True)
        self.preview = QTableWidget(0, 0)
        self.preview.verticalHeader().setVisible(False)
        self.preview.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.preview.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.status = QLabel()
        self.status.setWordWrap(True)

        self.form = QFormLayout()
        self.form.addRow("&Kind", self.kind)
        self.form.addRow("&From column", self.source)
        self.form.addRow("&Cluster column", self.cluster)
        self.form.addRow("Log &base", self.base)
        self.form.addRow("&Add before the log", self.offset)
        self.form.addRow("Cut-&off", self.cutoff)
        self.form.addRow("&Levels", self.mapping)
        self.form.addRow("&New name", self.name)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add variable")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(self.form)
        lay.addWidget(self.help)
        lay.addWidget(self.note)
        lay.addWidget(QLabel("Preview (first rows)"))
        lay.addWidget(self.preview, 1)
        lay.addWidget(self.status)
        lay.addWidget(self.buttons)

        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.source.currentIndexChanged.connect(self._source_changed)
        for w in (self.cluster, self.base):
            w.currentIndexChanged.connect(self._changed)
        self.offset.valueChanged.connect(self._changed)
        for w in (self.cutoff, self.name):
            w.textChanged.connect(self._changed)
        self.mapping.itemChanged.connect(self._changed)
        self._kind_changed()
        self.refresh()

    # -- the recipe -------------------------------------------------------------------
    def current_kind(self) -> str:
        return self.kind.currentData()

    def set_kind(self, kind: str) -> None:
        """Choose the kind by its key (``"center"``, ``"cluster_center"``, ...)."""
        self.kind.setCurrentIndex(max(0, self.kind.findData(kind)))

    def recipe(self):
        """The recipe the widgets describe."""
        kind, name, source = self.current_kind(), self.name.text().strip(), self.source.currentText()
        if kind == "center":
            return Center(name, source)
        if kind == "standardize":
            return Standardize(name, source)
        if kind == "cluster_mean":
            return ClusterMean(name, source, self.cluster.currentText())
        if kind == "cluster_center":
            return ClusterCenter(name, source, self.cluster.currentText())
        if kind == "log":
            return Log(name, source, self.base.currentData(), float(self.offset.value()))
        if kind == "recode":
            return Recode(name, source, self._mapping())
        return Dichotomize(name, source, self._cutoff())

    def _cutoff(self):
        text = self.cutoff.text().strip()
        try:
            return float(text.replace(",", "."))
        except ValueError:
            return text or "median"

    def _mapping(self) -> dict:
        out = {}
        for r in range(self.mapping.rowCount()):
            old, new = self.mapping.item(r, 0), self.mapping.item(r, 1)
            if old is None or new is None:
                continue
            if new.text() != old.text():
                out[old.text()] = new.text().strip() or None
        return out

    # -- reacting to edits ------------------------------------------------------------
    def _changed(self, *args) -> None:
        self.schedule()

    def _name_edited(self, text: str) -> None:
        self._auto_name = not text.strip()  # typed by the user: stop suggesting names

    def _kind_changed(self, *args) -> None:
        kind = self.current_kind()
        for widget, shown in ((self.cluster, kind in CLUSTER_KINDS), (self.base, kind == "log"),
                              (self.offset, kind == "log"), (self.cutoff, kind == "dichotomize"),
                              (self.mapping, kind == "recode")):
            self.form.setRowVisible(widget, shown)
        self.help.setText(next(h for k, _l, _s, h in KINDS if k == kind))
        if kind == "recode":
            self._fill_mapping()
        self._suggest_name()
        self._changed()

    def _source_changed(self, *args) -> None:
        if self.current_kind() == "recode":
            self._fill_mapping()
        self._suggest_name()
        self._changed()

    def _suggest_name(self) -> None:
        if not self._auto_name:
            return
        suffix = next(s for k, _l, s, _h in KINDS if k == self.current_kind())
        base = f"{self.source.currentText()}{suffix}"
        name, n = base, 2
        while name in self.frame.columns:
            name, n = f"{base}{n}", n + 1
        self.name.blockSignals(True)  # a suggestion is not the user's edit
        self.name.setText(name)
        self.name.blockSignals(False)

    def _fill_mapping(self) -> None:
        source = self.source.currentText()
        levels = sorted_levels(self.frame[source]) if source in self.frame.columns else []
        self.mapping.blockSignals(True)
        self.mapping.setRowCount(min(len(levels), MAX_RECODE_LEVELS))
        for r, level in enumerate(levels[:MAX_RECODE_LEVELS]):
            old = QTableWidgetItem(level)
            old.setFlags(old.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.mapping.setItem(r, 0, old)
            self.mapping.setItem(r, 1, QTableWidgetItem(level))
        self.mapping.blockSignals(False)

    # -- preview ----------------------------------------------------------------------
    def refresh(self) -> None:
        """Compute the new column on the whole table and show its first values."""
        recipe = self.recipe()
        note = recipe.note()
        self.note.setText(f"⚠  {note}" if note else "")
        self.note.setVisible(bool(note))
        try:
            if recipe.name in self.frame.columns:
                raise MixGUIError(f'a column called "{recipe.name}" exists already; choose another name')
            values = apply_recipes(self.frame, [recipe])[recipe.name]
        except MixGUIError as e:
            self._show_error(str(e))
            return
        self.error = ""
        used = list(dict.fromkeys(recipe.columns_used()))
        self._fill_preview(used + [recipe.name], [self.frame[c] for c in used] + [values])
        missing = int(values.isna().sum())
        self.status.setStyleSheet("")
        described = recipe.describe()
        self.status.setText(described[:1].upper() + described[1:] + (f"; {missing} missing" if missing else "") + ".")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
        self.previewUpdated.emit()

    def _fill_preview(self, names: list, columns: list) -> None:
        n = min(PREVIEW_ROWS, len(self.frame))
        self.preview.clear()
        self.preview.setColumnCount(len(names))
        self.preview.setRowCount(n)
        self.preview.setHorizontalHeaderLabels(names)
        for c, col in enumerate(columns):
            for r in range(n):
                v = col.iloc[r]
                text = format_cell(v.item() if hasattr(v, "item") else v)
                if isinstance(v, float) and text and not float(v).is_integer():
                    text = f"{v:.4g}"
                item = QTableWidgetItem(text)
                if pd.api.types.is_numeric_dtype(col.dtype):  # numbers right-aligned, as in the grid
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.preview.setItem(r, c, item)

    def _show_error(self, message: str) -> None:
        self.error = message
        self.preview.setRowCount(0)
        self.status.setStyleSheet("color: #9c2a00;")
        self.status.setText(message)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        self.previewUpdated.emit()

    def preview_values(self) -> list:
        """The new column's texts in the preview (for tests)."""
        c = self.preview.columnCount() - 1
        return [self.preview.item(r, c).text() for r in range(self.preview.rowCount())] if c >= 0 else []
