"""The model builder: variables, role boxes, random effects, options and the always-visible lme4 formula.

One road for every change: a widget asks (drop, arrow, check box, typed formula) -> a pure edit of
the :class:`~mixgui.analysis.builder.ModelDraft` -> a command on the session's undo stack -> the
session tells the builder -> every box is redrawn from the draft and ``specChanged`` is emitted.
Undo and redo take the second half of the same road, so boxes, formula and spec never disagree.
"""
from __future__ import annotations

import html
import re

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QLineEdit, QScrollArea, QVBoxLayout, QWidget

from mixgui.analysis import builder as B
from mixgui.analysis import builder_options as BO
from mixgui.analysis.formula import parse_formula
from mixgui.analysis.spec import AnalysisSpec, pooling_columns
from mixgui.errors import SpecError
from mixgui.gui.widgets.builder_extras import ExtrasBox
from mixgui.gui.widgets.builder_model_options import FamilyBox, TestOptionsBox
from mixgui.gui.widgets.builder_options import EmmeansBox, EstimationBox, ReferenceBox
from mixgui.gui.widgets.builder_random import RandomEffectsBox
from mixgui.gui.widgets.builder_repeated import RepeatedBox
from mixgui.gui.widgets.builder_roles import RoleBox, TermsBox, VariableSource
from mixgui.session import column_facts
from mixgui.session.document import ANALYSIS, DATASET, LOADED, Session

ROLE_TITLES = {"outcome": "Outcome", "factors": "Factors", "covariates": "Covariates"}
INVALID_STYLE = 'QLineEdit[invalid="true"] { border: 1px solid #b3261e; border-bottom: 2px solid #b3261e; }'


class ModelBuilder(QWidget):
    """Builds the model of the session's current analysis by drag and drop, arrows or the formula.

    Parameters
    ----------
    session : Session, optional
        Share the main window's session; without one the builder makes its own.

    Signals
    -------
    specChanged(AnalysisSpec)
        After every edit, undo and redo that changes the spec (not after :meth:`set_spec`).
    """

    specChanged = Signal(object)

    def __init__(self, session: Session | None = None, parent=None):
        super().__init__(parent)
        self.session = session if session is not None else Session()
        self._draft = B.ModelDraft()
        self._load_error: str | None = None
        self._formula_error: str | None = None
        self._typing = False
        self._emitted: AnalysisSpec | None = None
        self._build()
        self._build_actions()
        unsubscribe = [self.session.subscribe(self._session_changed),
                       self.session.undo_stack.subscribe(self._update_actions)]
        # the session may outlive the builder (it belongs to the window): stop listening when deleted
        self.destroyed.connect(lambda *_: [u() for u in unsubscribe])
        self._sync()
        self._emitted = self.spec()

    # -- construction -------------------------------------------------------------------
    def _build(self) -> None:
        self.variables = VariableSource()
        self.variables.removeRequested.connect(self._remove_from)
        self.roles = {}
        for role, rows in (("outcome", 1), ("factors", 3), ("covariates", 3)):
            box = RoleBox(role, ROLE_TITLES[role], self.variables, B.HELP[role], rows)
            box.addRequested.connect(lambda cols, src, r=role: self._add_to_role(r, cols))
            box.removeRequested.connect(lambda cols: self._edit(B.remove_variables(self._draft, cols),
                                                                f"Remove {', '.join(cols)}"))
            self.roles[role] = box
        self.family_box = FamilyBox()
        self.family_box.changeRequested.connect(self._change_model_options)
        self.tests_box = TestOptionsBox()
        self.tests_box.changeRequested.connect(self._change_model_options)
        self.terms_box = TermsBox()
        self.terms_box.interactionRequested.connect(self._add_interaction)
        self.terms_box.fullFactorialRequested.connect(lambda: self._edit(B.full_factorial(self._draft),
                                                                         "Full factorial"))
        self.terms_box.removeRequested.connect(lambda terms: self._edit(
            B.remove_terms(self._draft, terms), "Remove " + ", ".join(" × ".join(t) for t in terms)))
        self.terms_box.interceptToggled.connect(lambda on: self._edit(
            self._draft.with_(intercept=on), "Intercept on" if on else "Intercept off"))
        self.random_box = RandomEffectsBox(self.variables)
        self.random_box.addRequested.connect(self._add_groupings)
        self.random_box.nestRequested.connect(self._nest)
        self.random_box.levelRemoveRequested.connect(lambda i, col: self._edit(
            B.remove_grouping_level(self._draft, i, col), f"Remove grouping level {col}"))
        self.random_box.changeRequested.connect(self._change_grouping)
        self.random_box.removeRequested.connect(lambda i: self._edit(
            B.remove_grouping(self._draft, i), f"Remove grouping {self._draft.groupings[i].label}"))
        self.repeated_box = RepeatedBox(self.variables)
        self.repeated_box.changeRequested.connect(self._change_repeated)
        self.estimation_box = EstimationBox()
        self.estimation_box.changeRequested.connect(self._change_options)
        self.extras_box = ExtrasBox()
        self.extras_box.changeRequested.connect(self._change_options)
        self.reference_box = ReferenceBox()
        self.reference_box.referenceRequested.connect(lambda col, lv: self._edit(
            B.set_reference_level(self._draft, col, lv), f"Reference level of {col}"))
        self.emmeans_box = EmmeansBox()
        self.emmeans_box.addRequested.connect(lambda specs, by: self._edit(
            B.add_emmeans(self._draft, specs, by),
            f"Marginal means of {' × '.join(specs)}" + (f" at each level of {' × '.join(by)}" if by else "")))
        self.emmeans_box.removeRequested.connect(lambda i: self._edit(B.remove_emmeans(self._draft, i),
                                                                      "Remove marginal means"))
        self.emmeans_box.contrastsRequested.connect(lambda i, cs: self._edit(
            B.set_emmeans_contrasts(self._draft, i, cs), "Edit contrasts"))
        self.emmeans_box.typeRequested.connect(lambda i, kind: self._edit(
            B.set_emmeans_type(self._draft, i, kind), f"Marginal means on the {kind} scale"))

        self.formula_edit = QLineEdit()
        self.formula_edit.setObjectName("formulaEdit")
        self.formula_edit.setPlaceholderText("outcome ~ predictors + (1 | group)")
        self.formula_edit.setToolTip(B.HELP["formula"])
        self.formula_edit.setStyleSheet(INVALID_STYLE)
        self.formula_edit.textEdited.connect(self._formula_typed)
        self.formula_edit.editingFinished.connect(self._formula_finished)
        self.formula_edit.installEventFilter(self)
        self.formula_error_label = QLabel()
        self.formula_error_label.setObjectName("formulaError")
        self.formula_error_label.setWordWrap(True)
        self.formula_error_label.setTextFormat(Qt.TextFormat.RichText)
        self.formula_error_label.setStyleSheet("color: #b3261e;")
        self.formula_error_label.hide()

        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        grid.addWidget(self.variables, 0, 0, 3, 1)
        for row, role in enumerate(("outcome", "factors", "covariates")):
            grid.addWidget(self.roles[role], row, 1)
        body = QWidget()
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(0, 0, 6, 0)
        body_layout.setSpacing(12)
        body_layout.addLayout(grid)
        for w in (self.family_box, self.terms_box, self.random_box, self.repeated_box, self.estimation_box,
                  self.tests_box, self.reference_box, self.emmeans_box, self.extras_box):
            body_layout.addWidget(w)
        body_layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(body)
        formula_title = QLabel("lme4 formula")
        formula_title.setObjectName("sectionLabel")
        formula_title.setToolTip(B.HELP["formula"])
        formula_title.setBuddy(self.formula_edit)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(formula_title)
        layout.addWidget(self.formula_edit)
        layout.addWidget(self.formula_error_label)

    def _build_actions(self) -> None:
        # Scoped to the builder: Ctrl+Z here undoes model edits; the Edit menu can show the same actions.
        self.undo_action = QAction("Undo", self)
        self.undo_action.setShortcuts([QKeySequence(QKeySequence.StandardKey.Undo)])
        self.redo_action = QAction("Redo", self)
        redo_keys = [QKeySequence(QKeySequence.StandardKey.Redo), QKeySequence("Ctrl+Shift+Z")]
        self.redo_action.setShortcuts(list({k.toString(): k for k in redo_keys if not k.isEmpty()}.values()))
        for act, fn in ((self.undo_action, self.session.undo_stack.undo),
                        (self.redo_action, self.session.undo_stack.redo)):
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.triggered.connect(lambda _=False, fn=fn: fn())
            self.addAction(act)
        self._update_actions()

    @property
    def undo_stack(self):
        """The session's :class:`~mixgui.session.commands.UndoStack`."""
        return self.session.undo_stack

    # -- public API ---------------------------------------------------------------------
    def set_dataset(self, dataset) -> None:
        """Show newly read data (the session's :meth:`~mixgui.session.document.Session.set_dataset`)."""
        self.session.set_dataset(dataset)

    def dataset(self):
        return self.session.dataset

    def spec(self) -> AnalysisSpec:
        """The current analysis (the last valid model while the typed formula is invalid)."""
        a = self.session.current_analysis
        return a.spec if a is not None else AnalysisSpec()

    def set_spec(self, spec: AnalysisSpec, clear_history: bool = True) -> None:
        """Show a saved or opened analysis in the current slot.

        A load, not an edit: ``specChanged`` is not emitted and, unless ``clear_history`` is False,
        the undo history starts afresh. The boxes are made from ``spec`` with the dataset's
        measurement levels (call :meth:`set_dataset` first when both change).
        """
        self._emitted = spec
        self.session.load_analysis(spec, None, clear_history=clear_history)

    def draft(self) -> B.ModelDraft:
        return self._draft

    def formula_error(self) -> str | None:
        """Why the formula shown cannot be read, or None."""
        return self._formula_error

    def notes(self) -> list:
        """The notes shown under the random effects (:class:`~mixgui.analysis.builder.Note`)."""
        ds = self.session.dataset
        return B.model_notes(self._draft, ds.frame if ds is not None else None, column_facts.distinct_groups)

    # -- session -> view ----------------------------------------------------------------
    def _session_changed(self, event: str, index) -> None:
        if event in (ANALYSIS, LOADED) and index != self.session.current:
            return
        self._sync()
        if event not in (LOADED, DATASET) and self.spec() != self._emitted:
            self._emitted = self.spec()
            self.specChanged.emit(self._emitted)

    def _columns_and_levels(self):
        ds = self.session.dataset
        return (None, {}) if ds is None else (ds.columns, dict(ds.levels))

    def _sync(self) -> None:
        a = self.session.current_analysis
        self._load_error = None
        if a is None:
            self._draft = B.ModelDraft()
        elif a.draft is not None:
            self._draft = a.draft
        else:
            cols, levels = self._columns_and_levels()
            try:
                self._draft = B.spec_to_draft(a.spec, cols, levels)
            except SpecError as e:  # a file with a bad formula: show it with the reason, keep the options
                self._load_error = str(e)
                self._draft = B.spec_to_draft(a.spec.with_(formula=""), cols, levels)
        self._refresh()

    def _refresh(self) -> None:
        d = self._draft
        ds = self.session.dataset
        _, levels = self._columns_and_levels()
        if ds is not None:
            self.variables.set_variables(ds.columns, levels)
        shown = {c: ("nominal" if c in d.factors and levels.get(c) == "continuous" else levels.get(c, "continuous"))
                 for c in [d.outcome] + list(d.predictors())}
        self.roles["outcome"].set_columns([d.outcome] if d.outcome else [], shown)
        self.roles["factors"].set_columns(d.factors, shown)
        self.roles["covariates"].set_columns(d.covariates, shown)
        self.terms_box.set_terms(d.terms, d.intercept, len(d.factors))
        self.random_box.set_groupings(d.groupings, d.terms, levels)
        self.random_box.set_notes(self.notes())
        self.repeated_box.set_draft(d, levels)
        self.estimation_box.set_draft(d)
        numeric = self._numeric_columns()
        self.family_box.set_draft(d, numeric, self._family_offer(d))
        self.tests_box.set_draft(d, numeric)
        self.extras_box.set_draft(d, _poolable(d))
        factor_levels = self._levels_of(d.factors)
        self.reference_box.set_draft(d, factor_levels)
        self.emmeans_box.set_draft(d, factor_levels)
        if self._typing:
            return  # the user's text stays as typed (spaces, a * b) while it means this model
        if self._load_error:
            a = self.session.current_analysis
            self.formula_edit.setText(a.spec.formula)
            self._show_error(a.spec.formula, self._load_error)
        else:
            text = B.draft_to_formula(d)
            if self.formula_edit.text() != text:
                self.formula_edit.setText(text)
            self._show_error(text, None)

    def _numeric_columns(self) -> list:
        """Columns that can hold trials, exposures or weights (numbers, not yes/no)."""
        import pandas as pd

        ds = self.session.dataset
        if ds is None:
            return []
        frame = ds.frame
        return [c for c in ds.columns if c in frame.columns and pd.api.types.is_numeric_dtype(frame[c])
                and not pd.api.types.is_bool_dtype(frame[c])]

    def _family_offer(self, d: B.ModelDraft):
        """What the outcome's values suggest (their kind is read once per frame, in column_facts)."""
        ds = self.session.dataset
        if ds is None or d.outcome not in ds.frame.columns:
            return BO.family_offer(d, None)
        return BO.family_offer(d, ds.frame[d.outcome], column_facts.outcome_kind(ds.frame, d.outcome))

    def _levels_of(self, factors) -> dict:
        ds = self.session.dataset
        # remembered with the frame (column_facts): a new frame is read afresh, the same one never again
        return {f: column_facts.levels(ds.frame, f) if ds is not None and f in ds.frame.columns else []
                for f in factors}

    def _update_actions(self) -> None:
        stack = self.session.undo_stack
        self.undo_action.setEnabled(stack.can_undo())
        self.redo_action.setEnabled(stack.can_redo())
        self.undo_action.setText(f"Undo {stack.undo_text()}".strip())
        self.redo_action.setText(f"Redo {stack.redo_text()}".strip())

    # -- view -> session ----------------------------------------------------------------
    def _edit(self, draft: B.ModelDraft, text: str, merge_key=None) -> None:
        if draft == self._draft:
            self._refresh()  # a refused edit (e.g. unticking the last random effect): show the model again
            return
        self.session.edit_draft(draft, text, merge_key)

    def _add_to_role(self, role: str, cols: list) -> None:
        self._edit(B.add_to_role(self._draft, role, cols), f"Add {', '.join(cols)} to {ROLE_TITLES[role]}")

    def _add_interaction(self, terms: list) -> None:
        names = " × ".join(dict.fromkeys(v for t in terms for v in t))
        self._edit(B.add_interaction(self._draft, terms), f"Add interaction {names}")

    def _remove_from(self, cols: list, source: str) -> None:
        """Columns dragged back to the variables list leave the box they came from."""
        self._edit(self._without(self._draft, cols, source), f"Remove {', '.join(cols)}")

    @staticmethod
    def _without(d: B.ModelDraft, cols: list, source: str) -> B.ModelDraft:
        if source.startswith("grouping:"):
            index = int(source.split(":")[1])
            if index >= len(d.groupings):
                return d
            g = d.groupings[index]
            left = tuple(c for c in g.factors if c not in cols)
            return B.set_grouping(d, index, factors=left, combined=g.combined and len(left) > 1) if left \
                else B.remove_grouping(d, index)
        if source.startswith("repeated:"):
            return B.set_repeated(d, **{source.split(":")[1]: None})
        return B.remove_variables(d, cols)

    def _add_groupings(self, cols: list, source: str = "variables") -> None:
        # a level dragged out of a nesting chain moves (un-nests); from anywhere else it is copied
        d = self._without(self._draft, cols, source) if source.startswith("grouping:") else self._draft
        for c in cols:  # several columns at once: crossed groupings, one box each
            d = B.add_grouping(d, c)
        self._edit(d, f"Add grouping {', '.join(cols)}")

    def _nest(self, index: int, cols: list, source: str) -> None:
        target = self._draft.groupings[index].label
        self._edit(B.nest_in_grouping(self._draft, index, cols), f"Nest {', '.join(cols)} in {target}")

    def _change_grouping(self, index: int, changes: dict) -> None:
        label = self._draft.groupings[index].label
        what = {"intercept": "random intercept", "slopes": "random slopes", "correlated": "correlation"}
        self._edit(B.set_grouping(self._draft, index, **changes),
                   f"Change {', '.join(what.get(k, k) for k in changes)} of {label}")

    def _change_repeated(self, changes: dict) -> None:
        self._edit(B.set_repeated(self._draft, **changes), f"Repeated measures {', '.join(changes)}")

    def _change_model_options(self, changes: dict) -> None:
        changes = dict(changes)
        d = self._draft
        if "offsets" in changes:
            d = d.with_(offsets=tuple(changes.pop("offsets")))
        self._edit(B.set_options(d, **changes), option_text(changes) or "Set the exposure (offset)")

    def _change_options(self, changes: dict) -> None:
        text = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in changes.items())
        self._edit(self._draft.with_(**changes), f"Set {text}")

    # -- the formula line ---------------------------------------------------------------
    def _formula_typed(self, text: str) -> None:
        cols, levels = self._columns_and_levels()
        try:
            new = B.formula_to_draft(text, cols, levels, previous=self._draft)
        except SpecError as e:
            self._show_error(text, str(e))  # the boxes keep the last valid model
            return
        self._show_error(text, None)
        self._load_error = None
        self._typing = True
        try:
            self._edit(new, "Edit formula", merge_key="formula")
        finally:
            self._typing = False

    def _formula_finished(self) -> None:
        self.session.undo_stack.close_merge()
        if self._formula_error is None:
            text = B.draft_to_formula(self._draft)
            if self.formula_edit.text() != text:
                self.formula_edit.setText(text)  # tidy the typed text into the canonical form

    def _show_error(self, text: str, message: str | None) -> None:
        self._formula_error = message
        invalid = message is not None
        if invalid:
            self.formula_error_label.setText(error_html(text, message))
        self.formula_error_label.setVisible(invalid)
        if bool(self.formula_edit.property("invalid")) != invalid:
            self.formula_edit.setProperty("invalid", invalid)
            self.formula_edit.style().unpolish(self.formula_edit)  # re-read the [invalid] rule
            self.formula_edit.style().polish(self.formula_edit)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        # The line edit has its own undo; let Ctrl+Z reach the builder's actions instead, so one
        # history covers typed and dragged edits alike.
        if obj is self.formula_edit and event.type() == QEvent.Type.ShortcutOverride:
            if event.matches(QKeySequence.StandardKey.Undo) or event.matches(QKeySequence.StandardKey.Redo) \
                    or any(event.keyCombination().toCombined() == k[0].toCombined()
                           for k in self.redo_action.shortcuts() if k.count()):
                event.ignore()
                return True
        return super().eventFilter(obj, event)


def _poolable(d: B.ModelDraft) -> list:
    """Groupings with a random intercept (what the pooling comparison can use)."""
    try:
        return pooling_columns(parse_formula(B.draft_to_formula(d))) if d.outcome else []
    except SpecError:
        return []


def option_text(changes: dict) -> str:
    """The undo text of a change of model options, in words ("Outcome type: Binary (logistic)")."""
    names = {"family": "Outcome type", "link": "Link", "trials": "Trials", "nagq": "Quadrature points",
             "kr_information": "KR information", "kr_variant": "KR variant", "vcov": "Standard errors",
             "weights": "Weight column", "anova_types": "ANOVA tables", "predictions": "Predictions"}
    words = {**BO.FAMILY_LABELS, **BO.LINK_LABELS}
    parts = []
    for k, v in changes.items():
        if k == "anova_types":
            shown = ", ".join(f"Type {'I' * t}" for t in v) or "default"
        elif isinstance(v, bool):
            shown = "on" if v else "off"
        else:
            shown = "default" if v is None else words.get(v, str(v))
        parts.append(f"{names.get(k, k)}: {shown}")
    return "; ".join(parts)


def error_html(formula: str, message: str) -> str:
    """The parser's reason, with the formula and the position it names underlined in red."""
    m = re.match(r"formula position (\d+): (.*)", message)
    if not m:
        return html.escape(message)
    pos = min(int(m.group(1)) - 1, len(formula))
    shown = formula + " "
    mark = html.escape(shown[pos]) if shown[pos] != " " else "&nbsp;"
    marked = (html.escape(shown[:pos]) + '<span style="background:#f7d4d1; text-decoration: underline;">'
              + mark + "</span>" + html.escape(shown[pos + 1:]))
    return f'<span style="font-family: monospace;">{marked}</span><br>Position {pos + 1}: {html.escape(m.group(2))}'
