"""The model's equations in the results pane: rendered, and copyable as LaTeX or as plain text."""
from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, QTimer
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from mixgui.results.equations import PARTS, latex_block, to_html


def flash(button: QPushButton, text: str = "Copied ✓", ms: int = 1500) -> None:
    """Say on the button that the copy happened, then restore its label."""
    old = button.property("idleText") or button.text()
    button.setProperty("idleText", old)
    button.setText(text)
    # the button as the timer's context: a card closed before the timer fires takes the timer with it
    QTimer.singleShot(ms, button, lambda: button.setText(old))


class EquationsCard(QFrame):
    """The equations of ``equations`` (the results file's dict): level 1, level 2, combined, distributions."""

    def __init__(self, equations: dict, parent=None):
        super().__init__(parent)
        self.equations = equations
        title = QLabel("Model equations")
        title.setObjectName("tableTitle")
        self.latex_button = QPushButton("Copy LaTeX")
        self.latex_button.setToolTip("Copy the equations as LaTeX, for a manuscript")
        self.latex_button.clicked.connect(self.copy_latex)
        self.text_button = QPushButton("Copy text")
        self.text_button.setToolTip("Copy the equations as plain text, for an e-mail or a note")
        self.text_button.clicked.connect(self.copy_text)
        head = QHBoxLayout()
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(self.latex_button)
        head.addWidget(self.text_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 10)
        layout.addLayout(head)
        html = []
        for key, label in PARTS:
            if equations.get(key):
                html.append(f"<p style='margin:2px 0'><i>{label}</i><br>{to_html(equations[key])}</p>")
        self.body = QLabel("".join(html))
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.body)

    def latex(self) -> str:
        """All parts as one LaTeX block (an aligned environment a manuscript can paste)."""
        return latex_block(self.equations)

    def copy_latex(self) -> None:
        mime = QMimeData()
        mime.setText(self.latex())
        QApplication.clipboard().setMimeData(mime)
        flash(self.latex_button)

    def copy_text(self) -> None:
        QApplication.clipboard().setText(self.equations.get("plain", ""))
        flash(self.text_button)
