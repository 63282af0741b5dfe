"""No setting changes by a scroll: the mouse wheel over a drop-down or spin box scrolls the pane.

Qt lets the wheel change a combo box or spin box under the pointer even when the user was only
scrolling the model pane; a df method switched from Kenward-Roger to residual that way, and the
model refitted without a word. The guard passes wheel events of such widgets to their scroll area
unless the widget has keyboard focus (the user clicked it first: a deliberate act).
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSpinBox, QApplication, QComboBox, QSlider

GUARDED = (QComboBox, QAbstractSpinBox, QSlider)


class WheelGuard(QObject):
    """An application-wide event filter; install once with :func:`install`."""

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt's name)
        # the class test first: every event of the application passes here (20,000 while a result is
        # shown), and asking each for its type made a Python enum each time, a tenth of a second in all
        if isinstance(obj, GUARDED) and event.type() == QEvent.Type.Wheel:
            if not obj.hasFocus():
                area = obj.parent()
                while area is not None and not isinstance(area, QAbstractScrollArea):
                    area = area.parent()
                if area is not None:
                    QApplication.sendEvent(area.verticalScrollBar(), event)
                return True
        return False


def install(app: QApplication) -> WheelGuard:
    """Install the guard on ``app`` (kept alive as the app's child)."""
    guard = WheelGuard(app)
    app.installEventFilter(guard)
    return guard
