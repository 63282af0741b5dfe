"""Two panels of the builder: the outcome's type (family, link, trials, offset, quadrature, with a
suggestion from the outcome's values) and the settings of the tests (Kenward-Roger information,
empirical standard errors, weights, ANOVA types, predictions).

Both only ask: the builder turns what they emit into an undoable edit of the draft
(:func:`mixgui.analysis.builder_options.set_options`) and redraws them with ``set_draft``. Nothing
changes on its own: when the outcome looks binary or like a count, the family panel says so and
offers a button; the user decides. Labels and help come from :mod:`mixgui.analysis.options`.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mixgui.analysis import builder_options as BO
from mixgui.analysis import options as O
from mixgui.analysis.builder import ModelDraft
from mixgui.gui.style import TEXT

# an offer, not a warning: the calm blue of the window's information boxes
SUGGESTION_STYLE = (f"QLabel {{ background: #e8f0fa; border: 1px solid #b9cfea; border-radius: 4px; "
                    f"padding: 6px 8px; color: {TEXT}; }}")

HELP = O.OPTION_HELP
TIP = Qt.ItemDataRole.ToolTipRole
# the family in a sentence ("Use Poisson"), shorter than its label in the list
FAMILY_WORDS = {"gaussian": "continuous (linear)", "binomial": "binary (logistic)", "poisson": "Poisson",
                "negative_binomial": "negative binomial"}
NO_TRIALS = "None: a yes/no outcome"
NO_COLUMN = "None"


def _section(text: str, help_text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("sectionLabel")
    label.setToolTip(help_text)
    return label


def _muted(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setObjectName("muted")
    label.setWordWrap(True)
    return label


def _combo(help_text: str) -> QComboBox:
    """A combo that may be narrower than its longest item (the builder's column is narrow)."""
    combo = QComboBox()
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(14)
    combo.setToolTip(help_text)
    return combo


def _fill(combo: QComboBox, items, current) -> None:
    """Replace ``combo``'s items by ``(text, data, tooltip)`` and select ``current`` (kept when unknown)."""
    combo.clear()
    for text, data, tip in items:
        combo.addItem(text, data)
        if tip:
            combo.setItemData(combo.count() - 1, tip, TIP)
    if combo.findData(current) < 0:
        combo.addItem(str(current), current)  # a saved value these data do not offer: still shown
    combo.setCurrentIndex(combo.findData(current))


def _column_items(columns, none_text: str) -> list:
    return [(none_text, None, "")] + [(c, c, "") for c in columns]


class FamilyBox(QWidget):
    """The outcome's type, its link, the trials column, the offset, quadrature points and the suggestion.

    Signals
    -------
    changeRequested(changes)
        Draft fields to change: ``family``, ``link``, ``trials``, ``nagq`` or ``offsets``.
    """

    changeRequested = Signal(dict)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.family_combo = _combo(HELP["family"])
        for c in O.FAMILIES:
            self.family_combo.addItem(c.label, c.value)
            self.family_combo.setItemData(self.family_combo.count() - 1, c.help, TIP)
        self.family_combo.activated.connect(lambda i: self._emit(family=self.family_combo.itemData(i)))
        self.link_combo = _combo(HELP["link"])
        self.link_combo.activated.connect(lambda i: self._emit(link=self.link_combo.itemData(i)))
        self.trials_combo = _combo(HELP["trials"])
        self.trials_combo.activated.connect(lambda i: self._emit(trials=self.trials_combo.itemData(i)))
        self.offset_combo = _combo(HELP["offset"])
        # items carry their text as data (Qt would turn a tuple into a list): the offsets are looked up
        self._offsets: dict = {}
        self.offset_combo.activated.connect(
            lambda i: self._emit(offsets=self._offsets.get(self.offset_combo.itemData(i), ())))
        self._nagq = 1
        self.nagq_spin = QSpinBox()
        self.nagq_spin.setRange(1, BO.MAX_NAGQ)
        self.nagq_spin.setSpecialValueText("1 (Laplace)")
        self.nagq_spin.setToolTip(HELP["nagq"])
        # editingFinished, not valueChanged: typing 12 must not ask for 1 point and then 12
        self.nagq_spin.editingFinished.connect(self._nagq_finished)
        self.nagq_note = _muted()
        self.suggestion = _muted()
        self.suggestion.setObjectName("suggestion")
        self.suggestion.setStyleSheet(SUGGESTION_STYLE)
        self.use_buttons = []
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for _ in range(2):  # a count is offered as Poisson and as negative binomial
            b = QPushButton()
            b.clicked.connect(lambda _=False, b=b: self._emit(family=b.property("family")))
            buttons.addWidget(b)
            self.use_buttons.append(b)
        buttons.addStretch(1)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Model", self.family_combo)
        form.addRow("Link", self.link_combo)
        form.addRow("Number of trials", self.trials_combo)
        form.addRow("Exposure (offset)", self.offset_combo)
        form.addRow("Quadrature points", self.nagq_spin)
        form.addRow("", self.nagq_note)
        for w in (self.family_combo, self.link_combo, self.trials_combo, self.offset_combo):
            form.labelForField(w).setToolTip(w.toolTip())
        form.labelForField(self.nagq_spin).setToolTip(HELP["nagq"])
        self.form = form
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(_section("Outcome type", HELP["family"]))
        layout.addLayout(form)
        layout.addWidget(self.suggestion)
        layout.addLayout(buttons)

    def _emit(self, **changes) -> None:
        self.changeRequested.emit(changes)

    def _nagq_finished(self) -> None:
        if self.nagq_spin.value() != self._nagq:
            self._emit(nagq=self.nagq_spin.value())

    def set_draft(self, d: ModelDraft, numeric_columns: list, offer: BO.FamilyOffer | None = None) -> None:
        """Show the draft's outcome type; ``numeric_columns`` may hold trials, exposures; ``offer`` is
        what the outcome's values suggest (:func:`mixgui.analysis.builder_options.family_offer`)."""
        self.family_combo.setCurrentIndex(max(self.family_combo.findData(d.family), 0))
        links = O.LINKS.get(d.family, ("identity",))
        _fill(self.link_combo, [(BO.LINK_LABELS.get(x, x), x, _link_help(x)) for x in links], d.link or links[0])
        others = [c for c in numeric_columns if c != d.outcome]
        _fill(self.trials_combo, _column_items(others, NO_TRIALS), d.trials)
        self._offsets = {NO_COLUMN: ()} | {f"log({c})": (("log", c),) for c in others}
        current = " + ".join(f"{fn}({v})" if fn else v for fn, v in d.offsets) or NO_COLUMN
        self._offsets[current] = tuple(d.offsets)  # e.g. offset(days) or two offsets typed in the formula
        _fill(self.offset_combo, [(text, text, "") for text in self._offsets], current)
        self._nagq = d.nagq
        self.nagq_spin.setValue(d.nagq)
        allowed = BO.nagq_allowed(d)
        self.nagq_spin.setEnabled(allowed or d.nagq > 1)  # a value that no longer fits can be set back
        self.nagq_note.setText("" if allowed or d.nagq == 1 else
                               "More than 1 point needs one random intercept as the only random effect; "
                               "set it back to 1 (Laplace).")
        generalized = d.family != "gaussian"
        self.form.setRowVisible(self.link_combo, len(links) > 1)
        self.form.setRowVisible(self.trials_combo, d.family == "binomial")
        self.form.setRowVisible(self.offset_combo, d.family in BO.COUNT_FAMILIES or bool(d.offsets))
        self.form.setRowVisible(self.nagq_spin, generalized)
        self.form.setRowVisible(self.nagq_note, generalized and bool(self.nagq_note.text()))
        families = offer.families if offer is not None else ()
        self.suggestion.setText(offer.message if offer is not None else "")
        self.suggestion.setVisible(offer is not None)
        for i, b in enumerate(self.use_buttons):
            family = families[i] if i < len(families) else None
            b.setProperty("family", family)
            b.setText(f"Use {FAMILY_WORDS[family]}" if family else "")
            b.setToolTip(BO.FAMILY_HELP.get(family, "") if family else "")
            b.setVisible(family is not None)


def _link_help(link: str) -> str:
    return next((c.help for c in O.LINK_CHOICES if c.value == link), "")


class TestOptionsBox(QWidget):
    """Kenward-Roger information, empirical standard errors, weights, ANOVA types and predictions.

    Signals
    -------
    changeRequested(changes)
        Draft fields to change: ``kr_information``, ``kr_variant``, ``vcov``, ``weights``, ``anova_types``,
        ``predictions``.
    """

    __test__ = False  # not a pytest test class, whatever its name
    changeRequested = Signal(dict)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.kr_combo = _combo(HELP["kr_information"])
        self.kr_combo.activated.connect(lambda i: self._emit(kr_information=self.kr_combo.itemData(i)))
        self.kr_note = _muted()
        variant = O.KR_VARIANT_CHOICES[0]
        self.kr_linear = QCheckBox(variant.label)
        self.kr_linear.setToolTip(HELP["kr_variant"])
        self.kr_linear.clicked.connect(lambda on: self._emit(kr_variant=variant.value if on else None))
        self.vcov_combo = _combo(HELP["vcov"])
        for c in O.VCOV_TYPES:
            self.vcov_combo.addItem(c.label, c.value)
            self.vcov_combo.setItemData(self.vcov_combo.count() - 1, c.help, TIP)
        self.vcov_combo.activated.connect(lambda i: self._emit(vcov=self.vcov_combo.itemData(i)))
        self.weights_combo = _combo(HELP["weights"])
        self.weights_combo.activated.connect(lambda i: self._emit(weights=self.weights_combo.itemData(i)))
        self.anova_checks = {}
        types = QHBoxLayout()
        types.setContentsMargins(0, 0, 0, 0)
        types.setSpacing(16)  # each box beside its own label, not the next one
        for c in O.ANOVA_TYPES:
            box = QCheckBox(c.label)
            box.setToolTip(f"{c.help}\n\n{HELP['anova_types']}")
            box.clicked.connect(self._anova_changed)
            self.anova_checks[int(c.value)] = box
            types.addWidget(box)
        types.addStretch(1)
        self._always, self._kept = 3, False
        self.predictions = QCheckBox("Predicted values with limits, and residuals")
        self.predictions.setToolTip(HELP["predictions"])
        self.predictions.clicked.connect(lambda on: self._emit(predictions=bool(on)))
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setVerticalSpacing(6)
        form.addRow("KR information", self.kr_combo)
        form.addRow("", self.kr_note)
        form.addRow("", self.kr_linear)
        form.addRow("Standard errors", self.vcov_combo)
        form.addRow("Weight column", self.weights_combo)
        form.addRow("ANOVA tables", types)
        form.labelForField(self.kr_combo).setToolTip(HELP["kr_information"])
        form.labelForField(self.vcov_combo).setToolTip(HELP["vcov"])
        form.labelForField(self.weights_combo).setToolTip(HELP["weights"])
        form.labelForField(types).setToolTip(HELP["anova_types"])
        self.form = form
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(_section("Tests and standard errors", HELP["anova_types"]))
        form.addRow(self.predictions)
        layout.addLayout(form)

    def _emit(self, **changes) -> None:
        self.changeRequested.emit(changes)

    def _anova_changed(self) -> None:
        # the table every fit gives is not added to the file by its (disabled) box, nor taken out of it
        self._emit(anova_types=tuple(t for t, b in self.anova_checks.items()
                                     if (b.isChecked() and t != self._always) or (t == self._always and self._kept)))

    def set_draft(self, d: ModelDraft, numeric_columns: list) -> None:
        """Show the draft's test settings; ``numeric_columns`` may hold weights."""
        default = BO.kr_default(d)
        why = ("a repeated-measures structure, as SAS does" if default == "observed"
               else "no repeated-measures structure, as R's pbkrtest does")
        _fill(self.kr_combo, [(f"Automatic ({default})", None, HELP["kr_information"])]
              + [(c.label, c.value, c.help) for c in O.KR_INFORMATION], d.kr_information)
        kr = d.df_method == "kenward-roger"
        self.kr_combo.setEnabled(kr)
        self.kr_linear.setEnabled(kr)
        self.kr_linear.setChecked(d.kr_variant == "linear")
        self.kr_note.setText(f"Automatic is {default} here ({why})." if kr else
                             "Used with Kenward-Roger df (choose them under Estimation).")
        self.vcov_combo.setCurrentIndex(max(self.vcov_combo.findData(d.vcov), 0))
        _fill(self.weights_combo, _column_items([c for c in numeric_columns if c != d.outcome], NO_COLUMN),
              d.weights)
        self._always = BO.anova_always(d)
        self._kept = self._always in d.anova_types
        for t, box in self.anova_checks.items():
            always = t == self._always
            box.setEnabled(not always)
            box.setChecked(always or t in d.anova_types)
            box.setText(O.label(O.ANOVA_TYPES, str(t)) + (" (always)" if always else ""))
            help_text = next(c.help for c in O.ANOVA_TYPES if int(c.value) == t)
            box.setToolTip(("Always given for this model. " if always else "") + f"{help_text}\n\n{HELP['anova_types']}")
        self.predictions.setChecked(bool(d.predictions))
