"""The main window's model pane: the session's analyses, the model builder and the Fit button.

The pane holds no model state of its own: the analyses list and the builder both show the
window's :class:`~mixgui.session.document.Session`, so the list, the boxes, the formula and what
is fitted and saved never disagree. Under the builder one line says whether the results follow
the model (and why not, e.g. an unreadable formula), next to the Fit button.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from mixgui.analysis.spec import AnalysisSpec
from mixgui.gui.widgets.analysis_list import AnalysisList
from mixgui.gui.widgets.builder import ModelBuilder
from mixgui.session.document import Session

FIT_HELP = "Fit the model now, in the background (Ctrl+R). Results also update by themselves after each change."


class ModelPane(QWidget):
    """Analyses list + :class:`~mixgui.gui.widgets.builder.ModelBuilder` + Fit button.

    Parameters
    ----------
    session : Session
        The window's session, shared by the list and the builder.

    Attributes
    ----------
    analyses : AnalysisList
    builder : ModelBuilder
    fit_button : QPushButton
    fit_note : QLabel
        Whether the results follow the model, or why they cannot (:meth:`set_note`).

    Signals
    -------
    fitRequested()
        The Fit button was pressed.
    """

    fitRequested = Signal()

    def __init__(self, session: Session, parent=None):
        super().__init__(parent)
        self.session = session
        self.analyses = AnalysisList(session)
        self.builder = ModelBuilder(session=session)
        # named for the style sheet: the builder's scrolling body takes the pane's white, not the window's grey
        scroll = self.builder.scroll
        scroll.setObjectName("builderScroll")
        scroll.widget().setObjectName("builderBody")
        # the builder scrolls up and down, never sideways: a narrow window squeezes the other panes,
        # not the boxes (whose buttons would be cut off)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(scroll.widget().minimumSizeHint().width()
                               + scroll.verticalScrollBar().sizeHint().width() + 2 * scroll.frameWidth())
        self.fit_note = QLabel()
        self.fit_note.setObjectName("muted")
        self.fit_note.setWordWrap(True)
        self.fit_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fit_button = QPushButton("Fit ▸")
        self.fit_button.setObjectName("primary")
        self.fit_button.setToolTip(FIT_HELP)
        self.fit_button.setShortcut("Ctrl+R")
        self.fit_button.clicked.connect(self.fitRequested)

        rule = QFrame()
        rule.setFrameShape(QFrame.Shape.HLine)
        rule.setObjectName("rule")
        fit_row = QHBoxLayout()
        fit_row.setSpacing(10)
        fit_row.addWidget(self.fit_note, 1)
        fit_row.addWidget(self.fit_button, 0, Qt.AlignmentFlag.AlignBottom)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.analyses)
        layout.addWidget(rule)
        layout.addWidget(self.builder, 1)
        layout.addLayout(fit_row)

    # -- what the window and the tests use (the builder's, under the old panel's names) --
    @property
    def formula_edit(self):
        """The builder's lme4 formula line."""
        return self.builder.formula_edit

    @property
    def formula_error_label(self):
        return self.builder.formula_error_label

    def formula_error(self) -> str | None:
        """Why the formula shown cannot be read, or None."""
        return self.builder.formula_error()

    def spec(self) -> AnalysisSpec:
        """The current analysis's spec (what Fit fits and Save saves)."""
        return self.builder.spec()

    def set_spec(self, spec: AnalysisSpec) -> None:
        """Load ``spec`` into the current analysis (not an edit: the undo history starts afresh)."""
        self.builder.set_spec(spec)

    def set_note(self, text: str, warning: bool = False) -> None:
        """Say under the builder whether the results follow the model, or why not."""
        self.fit_note.setText(text)
        self.fit_note.setObjectName("formulaError" if warning else "muted")
        self.fit_note.style().unpolish(self.fit_note)  # re-read the colour of the new object name
        self.fit_note.style().polish(self.fit_note)

    def note(self) -> str:
        """The text under the builder."""
        return self.fit_note.text()
