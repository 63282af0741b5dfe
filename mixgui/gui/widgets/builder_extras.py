"""The builder's "Further analyses" box: effect sizes, bootstrap tests, structure comparison, pooling.

Each option is one field of the analysis file (``effect_sizes``, ``bootstrap``,
``compare_structures``, ``pooling``); an option the model cannot use is shown disabled with the
reason as its tooltip, so nobody wonders why it does nothing.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from mixgui.analysis.builder import HELP, ModelDraft

BOOTSTRAP_DEFAULT = 1000  # replicates when the box is first ticked: Monte Carlo SE of p ~ 0.007 at p = 0.05
BOOTSTRAP_MAX = 100_000
NO_POOLING = "(none)"


class ExtrasBox(QWidget):
    """Optional analyses of a mixed model.

    Signals
    -------
    changeRequested(changes)
        A dict of ModelDraft fields: ``effect_sizes``, ``bootstrap``, ``compare_structures``, ``pooling``.
    """

    changeRequested = Signal(dict)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._syncing = False
        self.effect_check = QCheckBox("Effect sizes (f², variance explained)")
        self.effect_check.setToolTip(HELP["effect_sizes"])
        self.effect_check.toggled.connect(lambda on: self._emit(effect_sizes=on))
        self.bootstrap_check = QCheckBox("Bootstrap the random-effect tests")
        self.bootstrap_check.setToolTip(HELP["bootstrap"])
        self.bootstrap_check.toggled.connect(self._bootstrap_toggled)
        self.bootstrap_spin = QSpinBox()
        self.bootstrap_spin.setRange(10, BOOTSTRAP_MAX)
        self.bootstrap_spin.setSingleStep(100)
        self.bootstrap_spin.setValue(BOOTSTRAP_DEFAULT)
        self.bootstrap_spin.setSuffix(" replicates")
        self.bootstrap_spin.setToolTip(HELP["bootstrap"])
        # editingFinished, not valueChanged: typing 2000 must not start fits for 2, 20 and 200
        self.bootstrap_spin.editingFinished.connect(self._bootstrap_count)
        self.structures_check = QCheckBox("Compare residual covariance structures")
        self.structures_check.setToolTip(HELP["compare_structures"])
        self.structures_check.toggled.connect(lambda on: self._emit(compare_structures=on))
        self.pooling_combo = QComboBox()
        self.pooling_combo.setToolTip(HELP["pooling"])
        self.pooling_combo.activated.connect(self._pooling_chosen)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.effect_check)
        form.addRow(self.bootstrap_check, self.bootstrap_spin)
        form.addRow(self.structures_check)
        form.addRow("Fixed vs random groups", self.pooling_combo)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        title = QLabel("Further analyses")
        title.setObjectName("sectionLabel")
        layout.addWidget(title)
        layout.addLayout(form)

    # -- view -> draft ---------------------------------------------------------------------
    def _emit(self, **changes) -> None:
        if not self._syncing:
            self.changeRequested.emit(changes)

    def _bootstrap_toggled(self, on: bool) -> None:
        self.bootstrap_spin.setEnabled(on and self.bootstrap_check.isEnabled())
        self._emit(bootstrap=self.bootstrap_spin.value() if on else 0)

    def _bootstrap_count(self) -> None:
        if self.bootstrap_check.isChecked():
            self._emit(bootstrap=self.bootstrap_spin.value())

    def _pooling_chosen(self, index: int) -> None:
        self._emit(pooling=self.pooling_combo.itemData(index))

    # -- draft -> view ---------------------------------------------------------------------
    def set_draft(self, d: ModelDraft, poolable: list) -> None:
        """Show the draft's options; ``poolable`` are the groupings with a random intercept."""
        has_random = bool(d.groupings)
        self._syncing = True
        try:
            self.effect_check.setChecked(d.effect_sizes)
            _enable(self.effect_check, has_random and d.repeated is None,
                    "Effect sizes need random effects and no repeated-measures structure.")
            self.bootstrap_check.setChecked(d.bootstrap > 0)
            if d.bootstrap:
                self.bootstrap_spin.setValue(d.bootstrap)
            _enable(self.bootstrap_check, d.random_effect_tests,
                    "Tick “Test the random effects” above first: the bootstrap gives those tests exact p-values.")
            self.bootstrap_spin.setEnabled(self.bootstrap_check.isEnabled() and d.bootstrap > 0)
            self.structures_check.setChecked(d.compare_structures)
            _enable(self.structures_check, d.repeated is not None and bool(d.repeated.subject and d.repeated.index),
                    "Choose a repeated-measures subject and index first.")
            self.pooling_combo.clear()
            self.pooling_combo.addItem(NO_POOLING, None)
            for col in poolable:
                self.pooling_combo.addItem(col, col)
            self.pooling_combo.setCurrentIndex(max(self.pooling_combo.findData(d.pooling), 0)
                                               if d.pooling in poolable else 0)
            _enable(self.pooling_combo, bool(poolable), "Needs a random intercept for a grouping.")
        finally:
            self._syncing = False


def _enable(widget, on: bool, why: str) -> None:
    widget.setEnabled(on)
    base = widget.property("baseToolTip") or widget.toolTip()
    widget.setProperty("baseToolTip", base)
    widget.setToolTip(base if on else f"{why}\n\n{base}")
