"""The white cards the main window's three panes sit in."""
from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget


def pane_title(text: str) -> QLabel:
    """A pane's small capital title."""
    label = QLabel(text)
    label.setObjectName("paneTitle")
    return label


def pane(title: str, subtitle: QLabel | None, body: QWidget) -> QFrame:
    """A white card with a small capital title, an optional subtitle and the body."""
    card = QFrame()
    card.setObjectName("pane")
    layout = QVBoxLayout(card)
    layout.setContentsMargins(14, 12, 14, 14)
    layout.setSpacing(8)
    head = QHBoxLayout()
    head.setSpacing(10)
    head.addWidget(pane_title(title))
    if subtitle is not None:
        head.addWidget(subtitle, 1)
    else:
        head.addStretch(1)
    layout.addLayout(head)
    layout.addWidget(body, 1)
    return card
