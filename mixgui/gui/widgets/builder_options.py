"""Option panels of the model builder: repeated measures, estimation, reference levels, marginal means.

Labels, defaults and help come from :mod:`mixgui.analysis.builder` and :mod:`mixgui.analysis.spec`
(each option is written down once). Panels only emit what the user asked for; the builder makes
it an undoable command and redraws them with ``set_draft``.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from mixgui.analysis.builder import CONTRAST_HELP, HELP, LABELS, ModelDraft
from mixgui.analysis.options import OPTION_HELP
from mixgui.analysis.spec import ADJUSTMENTS, CONTRAST_METHODS, DF_METHODS, Contrast


def _section(text: str, help_text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("sectionLabel")
    label.setToolTip(help_text)
    return label


def default_adjust(method: str) -> str:
    """The adjustment the analysis file assumes when none is given (Tukey for pairwise, else none)."""
    return "tukey" if method == "pairwise" else "none"


class EstimationBox(QWidget):
    """REML / ML with the one-line advice, the df method and the random-effect tests.

    Signals
    -------
    changeRequested(changes)
        ``method``, ``df_method`` or ``random_effect_tests``.
    """

    changeRequested = Signal(dict)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._syncing = False
        self.method_buttons = {}
        group = QButtonGroup(self)
        row = QHBoxLayout()
        for m, text in LABELS["method"].items():
            b = QRadioButton(text)
            b.setToolTip(HELP["method"])
            b.toggled.connect(lambda on, m=m: on and self._emit(method=m))
            group.addButton(b)
            row.addWidget(b)
            self.method_buttons[m] = b
        row.addStretch(1)
        self.method_help = QLabel(HELP["method"])
        self.method_help.setObjectName("muted")
        self.method_help.setWordWrap(True)
        self.df_combo = QComboBox()
        for m in DF_METHODS:
            self.df_combo.addItem(LABELS["df_method"][m], m)
        self.df_combo.setToolTip(HELP["df_method"])
        self.df_combo.activated.connect(lambda i: self._emit(df_method=self.df_combo.itemData(i)))
        self.tests_check = QCheckBox("Test the random effects (likelihood ratio)")
        self.tests_check.setToolTip(HELP["random_effect_tests"])
        self.tests_check.toggled.connect(lambda on: self._emit(random_effect_tests=on))
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Method", row)
        form.addRow("", self.method_help)
        form.addRow("df", self.df_combo)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(_section("Estimation", HELP["method"]))
        layout.addLayout(form)
        layout.addWidget(self.tests_check)

    def _emit(self, **changes) -> None:
        if not self._syncing:
            self.changeRequested.emit(changes)

    def set_draft(self, d: ModelDraft) -> None:
        self._syncing = True
        try:
            self.method_buttons.get(d.method, self.method_buttons["REML"]).setChecked(True)
            self.df_combo.setCurrentIndex(max(self.df_combo.findData(d.df_method), 0))
            self.tests_check.setChecked(d.random_effect_tests)
        finally:
            self._syncing = False


class ReferenceBox(QWidget):
    """One combo per factor: which level the others are compared with.

    Signals
    -------
    referenceRequested(column, level)
        ``level`` is None for the default (first level in sorted order).
    """

    referenceRequested = Signal(str, object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.combos: dict = {}
        self._shown = None
        self.form = QFormLayout()
        self.form.setContentsMargins(0, 0, 0, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(_section("Reference levels", HELP["reference"]))
        layout.addLayout(self.form)

    def set_draft(self, d: ModelDraft, factor_levels: dict) -> None:
        """``factor_levels``: factor -> its levels in R's order (empty list when unknown)."""
        shown = [(f, tuple(factor_levels.get(f, ()))) for f in d.factors]
        # combos report only the user's choices (activated), so redrawing them needs no guard
        if shown != self._shown:
            self._shown = shown
            while self.form.rowCount():
                self.form.removeRow(0)
            self.combos = {}
            for f, levels in shown:
                combo = QComboBox()
                combo.addItem(f"first ({levels[0]})" if levels else "first level", None)
                for lv in levels:
                    combo.addItem(lv, lv)
                combo.setToolTip(f"{f}: {HELP['reference']}")
                combo.activated.connect(lambda i, f=f, c=combo: self.referenceRequested.emit(f, c.itemData(i)))
                self.form.addRow(f, combo)
                self.combos[f] = combo
        for f, combo in self.combos.items():
            ref = d.reference_levels.get(f)
            if ref is not None and combo.findData(ref) < 0:
                combo.addItem(ref, ref)  # a saved level not (yet) in the data: keep showing it
            combo.setCurrentIndex(max(combo.findData(ref), 0) if ref is not None else 0)
        self.setVisible(bool(self.combos))


class WeightsEditor(QWidget):
    """A custom contrast: one spin box per level, the sum, and the sum-to-zero check."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.spins: list = []
        self.levels: list = []
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("Name, e.g. T14 − (T10+T12)/2")
        self.name_edit.setToolTip("A name for the contrast, shown in the results.")
        self.grid = QGridLayout()
        self.sum_label = QLabel()
        self.setToolTip(HELP["weights"])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.grid)
        layout.addWidget(self.sum_label)
        layout.addWidget(self.name_edit)

    def set_levels(self, levels) -> None:
        if list(levels) == self.levels:
            return
        self.levels = list(levels)
        for s in self.spins:
            s.setParent(None)
        while self.grid.count():
            w = self.grid.takeAt(0).widget()
            if w is not None:
                w.setParent(None)
        self.spins = []
        for i, lv in enumerate(self.levels):
            spin = QDoubleSpinBox()
            spin.setRange(-1000, 1000)
            spin.setDecimals(3)
            spin.setSingleStep(0.5)
            spin.setToolTip(f"Weight of level {lv}. {HELP['weights']}")
            spin.valueChanged.connect(self._update)
            self.grid.addWidget(QLabel(lv), i // 4 * 2, i % 4)
            self.grid.addWidget(spin, i // 4 * 2 + 1, i % 4)
            self.spins.append(spin)
        self._update()

    def weights(self) -> tuple:
        return tuple(s.value() for s in self.spins)

    def set_weights(self, weights) -> None:
        for s, w in zip(self.spins, weights):
            s.setValue(float(w))

    def is_valid(self) -> bool:
        w = self.weights()
        return bool(w) and any(abs(x) > 1e-12 for x in w) and abs(sum(w)) < 1e-9

    def _update(self) -> None:
        total = sum(self.weights())
        ok = self.is_valid()
        self.sum_label.setText(f"Sum: {total:g} " + ("✓ sums to zero" if ok else "— the weights must sum to zero"))
        self.sum_label.setStyleSheet("" if ok else "color: #b3261e;")
        self.changed.emit()


class EmmeansBox(QWidget):
    """Marginal means of one or two factors, optionally at each level of another, and their contrasts.

    Signals
    -------
    addRequested(specs, by) with tuples of factor names, removeRequested(index),
    contrastsRequested(index, contrasts), typeRequested(index, "link" or "response")
    """

    NONE = "(none)"
    addRequested = Signal(tuple, tuple)
    removeRequested = Signal(int)
    contrastsRequested = Signal(int, tuple)
    typeRequested = Signal(int, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._draft = ModelDraft()
        self._factor_levels: dict = {}
        self.factor_combo = QComboBox()
        self.factor_combo.setToolTip(HELP["emmeans"])
        self.factor_combo.currentIndexChanged.connect(lambda _: self._update_add())
        # a second factor: means of every combination (Arm × week)
        self.and_combo = QComboBox()
        self.and_combo.setToolTip("Optional second factor: means of every combination of the two (e.g. Arm × week).")
        self.and_combo.currentIndexChanged.connect(lambda _: self._update_add())
        # "A at each level of B": means and comparisons within each level of this factor
        self.by_combo = QComboBox()
        self.by_combo.setToolTip("Optional: compare the levels of the first factor separately at each level of this "
                                 "one (e.g. Arm at each week). Use it when the two interact in the model.")
        self.by_combo.currentIndexChanged.connect(lambda _: self._update_add())
        self.add_button = QPushButton("Add means")
        self.add_button.setToolTip("Estimate the marginal means of the chosen factor(s), with pairwise comparisons.")
        self.add_button.clicked.connect(self._add_means)
        self.requests = QListWidget()
        self.requests.setMaximumHeight(60)
        self.requests.setToolTip("Marginal means asked for; select one to edit its contrasts.")
        self.requests.currentRowChanged.connect(lambda _: self._show_contrasts())
        self.remove_button = QPushButton("Remove means")
        self.remove_button.setToolTip("Remove the selected marginal means and their contrasts.")
        self.remove_button.clicked.connect(lambda: self.requests.currentRow() >= 0
                                           and self.removeRequested.emit(self.requests.currentRow()))
        self.contrasts = QListWidget()
        self.contrasts.setMaximumHeight(80)
        self.contrasts.setToolTip(HELP["contrast"])
        self.method_combo = QComboBox()
        for m in CONTRAST_METHODS:
            self.method_combo.addItem(LABELS["contrast"][m], m)
            self.method_combo.setItemData(self.method_combo.count() - 1, CONTRAST_HELP[m], Qt.ItemDataRole.ToolTipRole)
        self.method_combo.setToolTip(HELP["contrast"])
        self.method_combo.currentIndexChanged.connect(self._method_changed)
        self.adjust_combo = QComboBox()
        for a in ADJUSTMENTS:
            self.adjust_combo.addItem(LABELS["adjust"][a], a)
        self.adjust_combo.setToolTip(HELP["adjust"])
        self.add_contrast_button = QPushButton("Add contrast")
        self.add_contrast_button.setToolTip("Add these comparisons to the selected marginal means.")
        self.add_contrast_button.clicked.connect(self._add_contrast)
        self.remove_contrast_button = QPushButton("Remove contrast")
        self.remove_contrast_button.setToolTip("Remove the selected contrast.")
        self.remove_contrast_button.clicked.connect(self._remove_contrast)
        # a generalized model's means as probabilities or rates (emmeans' type = "response")
        self.response_check = QCheckBox("As probabilities or rates (response scale)")
        self.response_check.setToolTip(OPTION_HELP["emmeans_type"])
        self.response_check.clicked.connect(
            lambda on: self._request()[1] is not None
            and self.typeRequested.emit(self._request()[0], "response" if on else "link"))
        self.weights = WeightsEditor()
        self.weights.changed.connect(self._update_buttons)
        self.weights.hide()
        top = QHBoxLayout()
        top.addWidget(QLabel("Means of"))
        top.addWidget(self.factor_combo, 1)
        top.addWidget(QLabel("×"))
        top.addWidget(self.and_combo, 1)
        by_row = QHBoxLayout()
        by_row.addWidget(QLabel("at each level of"))
        by_row.addWidget(self.by_combo, 1)
        by_row.addWidget(self.add_button)
        req = QHBoxLayout()
        req.addWidget(self.requests, 1)
        req.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)
        crow = QHBoxLayout()
        crow.addWidget(self.method_combo, 1)
        crow.addWidget(self.adjust_combo)
        brow = QHBoxLayout()
        brow.addWidget(self.add_contrast_button)
        brow.addWidget(self.remove_contrast_button)
        brow.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(_section("Marginal means", HELP["emmeans"]))
        layout.addLayout(top)
        layout.addLayout(by_row)
        layout.addLayout(req)
        self.contrast_area = QWidget()
        ca = QVBoxLayout(self.contrast_area)
        ca.setContentsMargins(0, 0, 0, 0)
        ca.addWidget(self.response_check)
        ca.addWidget(QLabel("Contrasts"))
        ca.addWidget(self.contrasts)
        ca.addLayout(crow)
        ca.addWidget(self.weights)
        ca.addLayout(brow)
        layout.addWidget(self.contrast_area)

    def set_draft(self, d: ModelDraft, factor_levels: dict) -> None:
        self._draft, self._factor_levels = d, factor_levels
        current = self.factor_combo.currentText()
        self.factor_combo.clear()
        self.factor_combo.addItems(list(d.factors))
        self.factor_combo.setCurrentIndex(max(self.factor_combo.findText(current), 0))
        for combo in (self.and_combo, self.by_combo):
            kept = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([self.NONE] + list(d.factors))
            combo.setCurrentIndex(max(combo.findText(kept), 0))
            combo.blockSignals(False)
        self._update_add()
        row = self.requests.currentRow()
        self.requests.blockSignals(True)
        self.requests.clear()
        generalized = d.family != "gaussian"
        self.requests.addItems([" × ".join(e.specs) + (f" at each level of {' × '.join(e.by)}" if e.by else "")
                                + (" · response scale" if generalized and e.type == "response" else "")
                                for e in d.emmeans])
        self.requests.setCurrentRow(min(row, len(d.emmeans) - 1) if row >= 0 else len(d.emmeans) - 1)
        self.requests.blockSignals(False)
        self._show_contrasts()

    def chosen(self) -> tuple:
        """(specs, by) as chosen in the three drop-downs; a factor chosen twice counts once."""
        first = self.factor_combo.currentText()
        second = self.and_combo.currentText()
        by = self.by_combo.currentText()
        specs = tuple(v for v in dict.fromkeys((first, second)) if v and v != self.NONE)
        return specs, tuple(v for v in (by,) if v and v != self.NONE)

    def _update_add(self) -> None:
        specs, by = self.chosen()
        clash = bool(set(specs) & set(by))
        self.add_button.setEnabled(bool(specs) and not clash)
        self.add_button.setToolTip(
            f"{by[0]} cannot be both a factor of the means and the one they are compared within; choose another."
            if clash else "Estimate the marginal means of the chosen factor(s), with pairwise comparisons.")

    def _add_means(self) -> None:
        specs, by = self.chosen()
        if specs and not set(specs) & set(by):
            self.addRequested.emit(specs, by)

    def _request(self):
        r = self.requests.currentRow()
        return (r, self._draft.emmeans[r]) if 0 <= r < len(self._draft.emmeans) else (r, None)

    def _show_contrasts(self) -> None:
        r, e = self._request()
        self.contrast_area.setVisible(e is not None)
        self.remove_button.setEnabled(e is not None)
        if e is None:
            return
        self.response_check.setVisible(self._draft.family != "gaussian")
        self.response_check.setChecked(e.type == "response")
        self.contrasts.clear()
        for c in e.contrasts:
            what = c.name or LABELS["contrast"].get(c.method, c.method)
            self.contrasts.addItem(f"{what} · {LABELS['adjust'].get(c.adjust, c.adjust)}")
        levels = self._factor_levels.get(e.specs[0], []) if len(e.specs) == 1 else []
        self.weights.set_levels(levels)
        self._update_buttons()

    def _method_changed(self) -> None:
        m = self.method_combo.currentData()
        self.adjust_combo.setCurrentIndex(max(self.adjust_combo.findData(default_adjust(m)), 0))
        self.weights.setVisible(m == "custom")
        self._update_buttons()

    def _update_buttons(self) -> None:
        custom = self.method_combo.currentData() == "custom"
        self.add_contrast_button.setEnabled(not custom or self.weights.is_valid())

    def new_contrast(self) -> Contrast:
        """The contrast described by the editor row."""
        m, adj = self.method_combo.currentData(), self.adjust_combo.currentData()
        if m == "custom":
            return Contrast(m, adj, self.weights.name_edit.text().strip() or None, self.weights.weights())
        return Contrast(m, adj)

    def _add_contrast(self) -> None:
        r, e = self._request()
        if e is not None:
            self.contrastsRequested.emit(r, tuple(e.contrasts) + (self.new_contrast(),))

    def _remove_contrast(self) -> None:
        r, e = self._request()
        i = self.contrasts.currentRow()
        if e is not None and 0 <= i < len(e.contrasts):
            self.contrastsRequested.emit(r, tuple(c for k, c in enumerate(e.contrasts) if k != i))
