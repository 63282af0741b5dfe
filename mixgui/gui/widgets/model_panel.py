"""The model panel: the lme4 formula, estimation method, df method, factors and the Fit button.

The panel edits an :class:`~mixgui.analysis.spec.AnalysisSpec`; options it does not show (data
reference, reference levels, marginal means, ...) are carried over unchanged from the spec it
was given, so opening and saving an analysis never loses them.
"""
from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from mixgui.analysis.formula import parse_formula
from mixgui.analysis.spec import DF_METHODS, AnalysisSpec
from mixgui.errors import SpecError

DF_LABELS = {"satterthwaite": "Satterthwaite", "kenward-roger": "Kenward-Roger", "residual": "Residual",
             "none": "None (z tests)"}
DF_HELP = ("How the degrees of freedom of the t and F tests are found. Satterthwaite (lmerTest's default) "
           "suits most models; Kenward-Roger is more accurate with few groups; residual uses n − p; "
           "none gives z tests (large samples only).")
REML_HELP = ("REML (restricted maximum likelihood) gives unbiased variance estimates; use it to report "
             "a model. ML is needed to compare models that differ in their fixed effects.")
SYNTAX_HELP = [("a + b", "effects of a and b"), ("a * b", "a, b and their interaction"),
               ("(1 | g)", "random intercept per g"), ("(t | g)", "… and random slope of t"),
               ("(1 | g1/g2)", "g2 nested in g1")]
FACTOR_HELP = ("Checked columns are categorical: each level gets its own coefficient. Text columns are "
               "always categorical; check a numeric column (e.g. a patient number) to treat it so.")


class ModelPanel(QWidget):
    """Edits one analysis.

    Signals
    -------
    fitRequested()
        The Fit button was pressed.
    factorToggled(column, checked)
        The user (un)checked a column in the factor list; the window updates the measurement level.
    formulaChanged(text)
        The formula text changed (after validation).
    """

    fitRequested = Signal()
    factorToggled = Signal(str, bool)
    formulaChanged = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._base = AnalysisSpec()
        self._formula_error: str | None = None
        self._syncing = False

        self.formula_edit = QLineEdit()
        self.formula_edit.setPlaceholderText("outcome ~ predictors + (1 | group)")
        self.formula_edit.setToolTip("The model in lme4 syntax: score ~ time * treatment + (1 | clinic/patient).\n"
                                     "a * b = both and their interaction; (1 | g) = a random intercept per g; "
                                     "(1 | g1/g2) = g2 nested in g1.")
        self.formula_edit.textChanged.connect(self._validate)
        self.formula_error_label = QLabel()
        self.formula_error_label.setObjectName("formulaError")
        self.formula_error_label.setWordWrap(True)
        self.formula_error_label.setTextFormat(Qt.TextFormat.RichText)
        self.formula_error_label.hide()

        self.reml_radio = QRadioButton("REML")
        self.ml_radio = QRadioButton("ML")
        self.reml_radio.setChecked(True)
        for b in (self.reml_radio, self.ml_radio):
            b.setToolTip(REML_HELP)
        self._method_group = QButtonGroup(self)
        self._method_group.addButton(self.reml_radio)
        self._method_group.addButton(self.ml_radio)
        method_row = QHBoxLayout()
        method_row.setSpacing(16)
        method_row.addWidget(self.reml_radio)
        method_row.addWidget(self.ml_radio)
        method_row.addStretch(1)

        self.df_combo = QComboBox()
        for m in DF_METHODS:
            self.df_combo.addItem(DF_LABELS[m], m)
        self.df_combo.setToolTip(DF_HELP)

        self.factor_list = QListWidget()
        self.factor_list.setToolTip(FACTOR_HELP)
        self.factor_list.itemChanged.connect(self._factor_item_changed)
        self.factor_list.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

        self.fit_button = QPushButton("Fit ▸")
        self.fit_button.setObjectName("primary")
        self.fit_button.setToolTip("Fit the model in the background (Ctrl+R)")
        self.fit_button.setShortcut("Ctrl+R")
        self.fit_button.clicked.connect(self.fitRequested)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(12)
        form.addRow(_section("Estimation"), method_row)
        form.addRow(_section("df method"), self.df_combo)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(_section("Formula (lme4)"))
        layout.addWidget(self.formula_edit)
        layout.addWidget(self.formula_error_label)
        layout.addSpacing(8)
        layout.addLayout(form)
        layout.addSpacing(8)
        layout.addWidget(_section("Factors (categorical)"))
        layout.addWidget(self.factor_list, 1)
        layout.addSpacing(8)
        layout.addWidget(_section("Formula syntax"))
        self.syntax_label = QLabel(_syntax_html())
        self.syntax_label.setObjectName("muted")
        self.syntax_label.setTextFormat(Qt.TextFormat.RichText)
        self.syntax_label.setWordWrap(True)
        layout.addWidget(self.syntax_label)
        layout.addSpacing(8)
        fit_row = QHBoxLayout()
        fit_row.addStretch(1)
        fit_row.addWidget(self.fit_button)
        layout.addLayout(fit_row)

    # -- columns and spec -------------------------------------------------------------
    def set_columns(self, columns: list, categorical: set, always_categorical: set) -> None:
        """List ``columns`` in the factor list.

        Parameters
        ----------
        columns : list of str
        categorical : set of str
            Columns checked (their measurement level is nominal, ordinal or identifier).
        always_categorical : set of str
            Text columns: checked and not uncheckable.
        """
        self._syncing = True
        try:
            self.factor_list.clear()
            for col in columns:
                item = QListWidgetItem(col)
                item.setData(Qt.ItemDataRole.UserRole, col)
                flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                if col in always_categorical:
                    item.setToolTip(f"{col} holds text, so it is always categorical")
                    item.setForeground(self.palette().placeholderText())
                else:
                    flags |= Qt.ItemFlag.ItemIsUserCheckable
                item.setFlags(flags)
                item.setCheckState(Qt.CheckState.Checked if col in categorical or col in always_categorical
                                   else Qt.CheckState.Unchecked)
                self.factor_list.addItem(item)
        finally:
            self._syncing = False

    def set_factor_checked(self, column: str, checked: bool) -> None:
        """Check or uncheck ``column`` without emitting :attr:`factorToggled`."""
        self._syncing = True
        try:
            for i in range(self.factor_list.count()):
                item = self.factor_list.item(i)
                if item.data(Qt.ItemDataRole.UserRole) == column:
                    item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        finally:
            self._syncing = False

    def checked_factors(self) -> list:
        """Columns checked in the factor list, in column order."""
        out = []
        for i in range(self.factor_list.count()):
            item = self.factor_list.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(item.data(Qt.ItemDataRole.UserRole))
        return out

    def set_spec(self, spec: AnalysisSpec) -> None:
        """Show ``spec``; options the panel does not edit are kept for :meth:`spec`."""
        self._base = spec
        self.formula_edit.setText(spec.formula)
        self.formula_edit.setCursorPosition(0)  # show the outcome, not the end of a long formula
        (self.ml_radio if spec.method == "ML" else self.reml_radio).setChecked(True)
        i = self.df_combo.findData(spec.df_method)
        self.df_combo.setCurrentIndex(max(i, 0))

    def spec(self) -> AnalysisSpec:
        """The analysis as shown.

        ``factors`` lists the checked columns the formula uses (all checked ones when the formula
        does not parse), so a saved analysis stays short and readable.
        """
        checked = self.checked_factors()
        try:
            used = set(parse_formula(self.formula_edit.text()).variables())
            factors = [c for c in checked if c in used]
        except SpecError:
            factors = checked
        return self._base.with_(formula=self.formula_edit.text().strip(),
                                method="ML" if self.ml_radio.isChecked() else "REML",
                                df_method=self.df_combo.currentData(), factors=tuple(factors))

    # -- validation -------------------------------------------------------------------
    def formula_error(self) -> str | None:
        """The parser's message for the current formula, or None when it parses."""
        return self._formula_error

    def _validate(self, text: str) -> None:
        try:
            parse_formula(text)
            self._formula_error = None
        except SpecError as e:
            self._formula_error = str(e)
        invalid = self._formula_error is not None and bool(text.strip())
        if invalid:
            self.formula_error_label.setText(_error_html(text, self._formula_error))
        self.formula_error_label.setVisible(invalid)
        self.formula_edit.setProperty("invalid", invalid)
        self.formula_edit.style().unpolish(self.formula_edit)  # re-read the [invalid] style rule
        self.formula_edit.style().polish(self.formula_edit)
        self.formulaChanged.emit(text)

    def _factor_item_changed(self, item: QListWidgetItem) -> None:
        if not self._syncing:
            self.factorToggled.emit(item.data(Qt.ItemDataRole.UserRole), item.checkState() == Qt.CheckState.Checked)


def _section(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("sectionLabel")
    return label


def _syntax_html() -> str:
    rows = "".join(f'<tr><td style="padding: 1px 14px 1px 0;"><code>{html.escape(a)}</code></td>'
                   f"<td>{html.escape(b)}</td></tr>" for a, b in SYNTAX_HELP)
    return f"<table>{rows}</table>"


def _error_html(formula: str, message: str) -> str:
    """The parser's message, with the formula and a marker under the position it names."""
    import re

    m = re.match(r"formula position (\d+): (.*)", message)
    if not m:
        return html.escape(message)
    pos = int(m.group(1)) - 1
    shown = formula + " "
    marked = (html.escape(shown[:pos]) + '<span style="background:#f7d4d1; text-decoration: underline;">'
              + (html.escape(shown[pos]) if shown[pos] != " " else "&nbsp;") + "</span>"
              + html.escape(shown[pos + 1:]))
    return (f'<span style="font-family: monospace;">{marked}</span><br>'
            f"Position {pos + 1}: {html.escape(m.group(2))}")
