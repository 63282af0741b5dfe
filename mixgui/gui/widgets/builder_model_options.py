"""Two panels of the builder: the outcome's family (with a suggestion) and SAS-style test options.

Both only ask: the builder turns what they emit into an undoable edit and redraws them with
``set_state``. Nothing changes on its own: when the outcome looks binary or like a count, the family
panel says so and offers a button; the user decides.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
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

from mixgui.analysis import options as O
from mixgui.analysis.outcome import OutcomeKind

FAMILY_HELP = ("The kind of outcome: a continuous measurement (linear mixed model), a yes/no outcome "
               "(logistic), or a count (Poisson, or negative binomial when counts vary more than Poisson allows).")
TRIALS_HELP = ("For successes out of n: the column holding n (the outcome is then the number of successes). "
               "Leave at 0/1 for a yes/no outcome.")
NAGQ_HELP = ("Points of adaptive Gauss-Hermite quadrature (as glmer's nAGQ). 1 = Laplace; more points are "
             "more accurate, for a model with one random intercept only.")
KR_HELP = ("Kenward-Roger weights: the observed information (SAS PROC MIXED) or the expected one (R's pbkrtest). "
           "Automatic: observed with a repeated-measures structure, expected otherwise.")
ANOVA_HELP = ("Tests of each term: Type I adds terms in order (sequential), Type II tests each term after the "
              "others that do not contain it, Type III after all others (SAS's default).")


def _section(text: str, help_text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("sectionLabel")
    label.setToolTip(help_text)
    return label


class FamilyBox(QWidget):
    """The outcome's family, its link, the trials column and quadrature points, and the suggestion.

    Signals
    -------
    changeRequested(changes)
        Spec fields to change: ``family``, ``link``, ``trials``, ``nagq``.
    """

    changeRequested = Signal(dict)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.family_combo = QComboBox()
        for c in O.FAMILIES:
            self.family_combo.addItem(c.label, c.value)
            self.family_combo.setItemData(self.family_combo.count() - 1, c.help, 3)  # 3 = ToolTipRole
        self.family_combo.setToolTip(FAMILY_HELP)
        self.family_combo.activated.connect(lambda i: self._family_chosen(self.family_combo.itemData(i)))
        self.link_combo = QComboBox()
        self.link_combo.setToolTip("The link between the mean and the predictors.")
        self.link_combo.activated.connect(lambda i: self.changeRequested.emit({"link": self.link_combo.itemData(i)}))
        self.trials_combo = QComboBox()
        self.trials_combo.setToolTip(TRIALS_HELP)
        self.trials_combo.activated.connect(
            lambda i: self.changeRequested.emit({"trials": self.trials_combo.itemData(i)}))
        self.nagq_spin = QSpinBox()
        self.nagq_spin.setRange(1, 25)
        self.nagq_spin.setSpecialValueText("1 (Laplace)")
        self.nagq_spin.setToolTip(NAGQ_HELP)
        self.nagq_spin.editingFinished.connect(lambda: self.changeRequested.emit({"nagq": self.nagq_spin.value()}))
        self.suggestion = QLabel()
        self.suggestion.setObjectName("muted")
        self.suggestion.setWordWrap(True)
        self.use_button = QPushButton()
        self.use_button.setObjectName("copy")
        self.use_button.clicked.connect(lambda: self._family_chosen(self._offered))
        self._offered = None
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Outcome type", self.family_combo)
        form.addRow("Link", self.link_combo)
        form.addRow("Trials (n)", self.trials_combo)
        form.addRow("Quadrature", self.nagq_spin)
        self.form = form
        hint = QHBoxLayout()
        hint.addWidget(self.suggestion, 1)
        hint.addWidget(self.use_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(_section("Outcome type", FAMILY_HELP))
        layout.addLayout(form)
        layout.addLayout(hint)

    def _family_chosen(self, family: str | None) -> None:
        if family:
            # a link or trials column of the old family would be refused by the new one
            self.changeRequested.emit({"family": family, "link": None,
                                       **({"trials": None} if family != "binomial" else {})})

    def set_state(self, family: str, link: str | None, trials: str | None, nagq: int, numeric_columns: list,
                  offer: OutcomeKind | None = None) -> None:
        """Show the spec's settings; ``offer`` is the outcome's kind (a suggestion when it differs)."""
        self.family_combo.setCurrentIndex(max(self.family_combo.findData(family), 0))
        links = O.LINKS.get(family, ("identity",))
        self.link_combo.clear()
        for name in links:
            self.link_combo.addItem(name, name)
        self.link_combo.setCurrentIndex(max(self.link_combo.findData(link or links[0]), 0))
        self.trials_combo.clear()
        self.trials_combo.addItem("— outcome is 0/1 —", None)
        for c in numeric_columns:
            self.trials_combo.addItem(c, c)
        if trials and self.trials_combo.findData(trials) < 0:
            self.trials_combo.addItem(trials, trials)  # a saved column not in these data: keep showing it
        self.trials_combo.setCurrentIndex(max(self.trials_combo.findData(trials), 0))
        self.nagq_spin.setValue(nagq)
        generalized = family != "gaussian"
        self.form.setRowVisible(self.link_combo, len(links) > 1)
        self.form.setRowVisible(self.trials_combo, family == "binomial")
        self.form.setRowVisible(self.nagq_spin, generalized)
        self._offered = offer.family if offer is not None and offer.family != family and offer.message else None
        label = dict((c.value, c.label) for c in O.FAMILIES).get(self._offered, "")
        self.suggestion.setText(offer.message if self._offered else "")
        self.use_button.setText(f"Use {label.lower()}" if self._offered else "")
        self.suggestion.setVisible(bool(self._offered))
        self.use_button.setVisible(bool(self._offered))


class TestOptionsBox(QWidget):
    """Kenward-Roger information, empirical standard errors, weights, ANOVA types and predictions.

    Signals
    -------
    changeRequested(changes)
        Spec fields to change: ``kr_information``, ``kr_variant``, ``vcov``, ``weights``, ``anova_types``,
        ``predictions``.
    """

    changeRequested = Signal(dict)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.kr_combo = QComboBox()
        self.kr_combo.addItem("Automatic", None)
        for c in O.KR_INFORMATION:
            self.kr_combo.addItem(c.label, c.value)
        self.kr_combo.setToolTip(KR_HELP)
        self.kr_combo.activated.connect(
            lambda i: self.changeRequested.emit({"kr_information": self.kr_combo.itemData(i)}))
        self.kr_linear = QCheckBox("KR(LINEAR), as SAS")
        self.kr_linear.setToolTip("SAS's DDFM=KR(LINEAR): the covariance's second derivatives are left out.")
        self.kr_linear.clicked.connect(lambda on: self.changeRequested.emit({"kr_variant": "linear" if on else None}))
        self.vcov_combo = QComboBox()
        for c in O.VCOV_TYPES:
            self.vcov_combo.addItem(c.label, c.value)
            self.vcov_combo.setItemData(self.vcov_combo.count() - 1, c.help, 3)
        self.vcov_combo.activated.connect(lambda i: self.changeRequested.emit({"vcov": self.vcov_combo.itemData(i)}))
        self.weights_combo = QComboBox()
        self.weights_combo.setToolTip("A column of weights: each row's residual variance is divided by its weight "
                                      "(SAS WEIGHT).")
        self.weights_combo.activated.connect(
            lambda i: self.changeRequested.emit({"weights": self.weights_combo.itemData(i)}))
        self.anova_checks = {}
        types = QHBoxLayout()
        for t, label in ((1, "Type I"), (2, "Type II"), (3, "Type III")):
            box = QCheckBox(label)
            box.setToolTip(ANOVA_HELP)
            box.clicked.connect(self._anova_changed)
            self.anova_checks[t] = box
            types.addWidget(box)
        types.addStretch(1)
        self.predictions = QCheckBox("Predicted values with limits, and residuals")
        self.predictions.setToolTip("A table of each row's predicted value (with and without the random effects), "
                                    "its 95% limits and residuals (SAS OUTP= and OUTPM=).")
        self.predictions.clicked.connect(lambda on: self.changeRequested.emit({"predictions": bool(on)}))
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("KR information", self.kr_combo)
        form.addRow("", self.kr_linear)
        form.addRow("Standard errors", self.vcov_combo)
        form.addRow("Weights", self.weights_combo)
        form.addRow("ANOVA tables", types)
        self.form = form
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(_section("Tests and estimates", ANOVA_HELP))
        layout.addLayout(form)
        layout.addWidget(self.predictions)

    def _anova_changed(self) -> None:
        self.changeRequested.emit({"anova_types": tuple(t for t, b in self.anova_checks.items() if b.isChecked())})

    def set_state(self, spec, numeric_columns: list) -> None:
        """Show ``spec``'s settings (an :class:`~mixgui.analysis.spec.AnalysisSpec` or the draft's options)."""
        self.kr_combo.setCurrentIndex(max(self.kr_combo.findData(spec.kr_information), 0))
        self.kr_linear.setChecked(spec.kr_variant == "linear")
        kr = spec.df_method == "kenward-roger"
        self.form.setRowVisible(self.kr_combo, kr)
        self.form.setRowVisible(self.kr_linear, kr)
        self.vcov_combo.setCurrentIndex(max(self.vcov_combo.findData(spec.vcov), 0))
        self.weights_combo.clear()
        self.weights_combo.addItem("— none —", None)
        for c in numeric_columns:
            self.weights_combo.addItem(c, c)
        if spec.weights and self.weights_combo.findData(spec.weights) < 0:
            self.weights_combo.addItem(spec.weights, spec.weights)
        self.weights_combo.setCurrentIndex(max(self.weights_combo.findData(spec.weights), 0))
        for t, box in self.anova_checks.items():
            box.setChecked(t in spec.anova_types)
        self.predictions.setChecked(bool(spec.predictions))
