"""The builder's repeated-measures panel: subject, index (or time), group, and the structure with its pattern.

A spatial structure measures the distance between two measurements' times, so its index slot is
labelled "Time" and a non-numeric column there is pointed out at once; a banded Toeplitz asks for
its number of bands; the group slot gives each level of a factor its own covariance (SAS GROUP=).
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QSpinBox, QToolButton, QVBoxLayout, QWidget

from mixgui.analysis.builder import HELP, LABELS, STRUCTURE_HELP, ModelDraft
from mixgui.analysis.options import SPATIAL, toep_lags
from mixgui.analysis.spec import STRUCTURES, Repeated
from mixgui.gui.widgets.builder_roles import ColumnModel, ColumnView, VariableSource
from mixgui.gui.widgets.pattern_icons import pattern_icon, pattern_pixmap

SLOTS = (("subject", "Subject", "subject"), ("index", "Index", "index"), ("group", "Group", "repeated_group"))
NUMERIC = ("continuous",)


def _section(text: str, help_text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("sectionLabel")
    label.setToolTip(help_text)
    return label


class RepeatedBox(QWidget):
    """Subject, index and group slots (drop targets with arrows) and the structure with its pattern picture.

    Signals
    -------
    changeRequested(changes)
        For :func:`mixgui.analysis.builder.set_repeated`: subject / index / group / structure.
    """

    changeRequested = Signal(dict)

    def __init__(self, source: VariableSource, parent=None):
        super().__init__(parent)
        self._source = source
        self.slots, self.labels = {}, {}
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        for row, (key, title, help_key) in enumerate(SLOTS):
            model = ColumnModel(f"repeated:{key}")
            model.columnsDropped.connect(lambda cols, src, k=key: self.changeRequested.emit({k: cols[0]}))
            view = ColumnView(model, rows=1)
            view.setToolTip(HELP[help_key])
            view.deleteRequested.connect(lambda cols, k=key: self.changeRequested.emit({k: None}))
            arrow = QToolButton()
            arrow.setText("▸")
            arrow.setAccessibleName(f"Set repeated-measures {key}")
            arrow.setToolTip(f"Use the selected variable as the {key}. {HELP[help_key]}")
            arrow.clicked.connect(lambda _=False, k=key: self._arrow(k))
            label = QLabel(title)
            label.setToolTip(HELP[help_key])
            grid.addWidget(arrow, row, 0)
            grid.addWidget(label, row, 1)
            grid.addWidget(view, row, 2)
            self.slots[key] = (model, view, arrow)
            self.labels[key] = label
        self.structure_combo = QComboBox()
        self.structure_combo.setIconSize(QSize(22, 22))
        for s in STRUCTURES:
            self.structure_combo.addItem(pattern_icon(s, 22), LABELS["structure"][s], s)
            self.structure_combo.setItemData(self.structure_combo.count() - 1, STRUCTURE_HELP[s],
                                             Qt.ItemDataRole.ToolTipRole)
        self.structure_combo.setToolTip(HELP["structure"])
        self.structure_combo.activated.connect(self._structure_chosen)
        self.bands = QSpinBox()
        self.bands.setRange(1, 50)
        self.bands.setSpecialValueText("All")  # 1 = no banding: the full Toeplitz
        self.bands.setPrefix("bands: ")
        self.bands.setToolTip(HELP["bands"])
        self.bands.editingFinished.connect(self._bands_changed)
        self.pattern_label = QLabel()
        self.pattern_help = QLabel()
        self.pattern_help.setObjectName("muted")
        self.pattern_help.setWordWrap(True)
        self.index_problem = QLabel()
        self.index_problem.setObjectName("formulaError")
        self.index_problem.setWordWrap(True)
        self.index_problem.hide()
        srow = QHBoxLayout()
        srow.addWidget(self.structure_combo, 1)
        srow.addWidget(self.bands)
        srow.addWidget(self.pattern_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(_section("Repeated measures", HELP["structure"]))
        layout.addLayout(grid)
        layout.addWidget(self.index_problem)
        layout.addLayout(srow)
        layout.addWidget(self.pattern_help)

    def _arrow(self, key: str) -> None:
        cols = self._source.selected_columns()
        if cols:
            self.changeRequested.emit({key: cols[0]})

    def _structure_chosen(self, i: int) -> None:
        s = self.structure_combo.itemData(i)
        if s == "TOEP" and self.bands.value() > 1:
            s = f"TOEP({self.bands.value()})"
        self.changeRequested.emit({"structure": s})

    def _bands_changed(self) -> None:
        if self.structure_combo.currentData() == "TOEP":
            k = self.bands.value()
            self.changeRequested.emit({"structure": "TOEP" if k <= 1 else f"TOEP({k})"})

    def set_draft(self, d: ModelDraft, levels: dict) -> None:
        """Show the draft's repeated part; ``levels`` maps each column to its measurement level."""
        rep = d.repeated or Repeated()
        for key, _, _ in SLOTS:
            value = getattr(rep, key)
            value = value[0] if isinstance(value, tuple) and value else value
            self.slots[key][0].set_columns([value] if value else [], levels)
        k = toep_lags(rep.structure)
        shown = "TOEP" if k is not None else rep.structure
        self.structure_combo.setCurrentIndex(max(self.structure_combo.findData(shown), 0))
        self.bands.setVisible(shown == "TOEP")
        self.bands.blockSignals(True)
        self.bands.setValue(k or 1)
        self.bands.blockSignals(False)
        spatial = rep.structure in SPATIAL
        self.labels["index"].setText("Time" if spatial else "Index")
        self.slots["index"][1].setToolTip(HELP["time" if spatial else "index"])
        index = rep.index[0] if isinstance(rep.index, tuple) and rep.index else rep.index
        bad = spatial and index and levels.get(index) not in NUMERIC
        self.index_problem.setText(f"{rep.structure} measures distances in time, so {index} must be a continuous "
                                   "time (days, hours): set its measurement level to continuous, or drop a "
                                   "numeric time column on Time."
                                   if bad else "")
        self.index_problem.setVisible(bool(bad))
        self.pattern_label.setPixmap(pattern_pixmap(rep.structure, 40))
        self.pattern_label.setToolTip(STRUCTURE_HELP.get(shown, ""))
        self.pattern_help.setText(STRUCTURE_HELP.get(shown, ""))
