"""A pale veil over a widget whose content is out of date (the plots while a new fit runs).

It replaces an opacity effect on the plot tabs: an effect renders the plot off screen at every
repaint (30-40 ms on a 10,000-point plot) and, when the pane moved under it, left a second copy of
the old plot beside the new one. A translucent widget laid on top costs one fill.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QWidget

#: how much of the content shows through (the old opacity effect used 0.35)
SHOW_THROUGH = 0.35


class Veil(QWidget):
    """A translucent white layer covering ``target`` whenever shown; follows its size."""

    def __init__(self, target: QWidget):
        super().__init__(target)
        self.setObjectName("veil")
        self._colour = QColor(255, 255, 255, round(255 * (1 - SHOW_THROUGH)))
        target.installEventFilter(self)
        self.hide()

    def cover(self, on: bool) -> None:
        """Show the veil over the whole target (``on``) or take it away."""
        if on:
            self.setGeometry(self.parentWidget().rect())
            self.raise_()
        self.setVisible(on)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if obj is self.parentWidget() and event.type() == QEvent.Type.Resize and self.isVisible():
            self.setGeometry(obj.rect())
        return False

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        QPainter(self).fillRect(self.rect(), self._colour)
