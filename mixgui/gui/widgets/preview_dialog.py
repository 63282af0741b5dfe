"""The base of the dialogs that preview what they will do to a table (reshape, compute)."""
from __future__ import annotations

import pandas as pd
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QDialog, QWidget

DEBOUNCE_MS = 150  # typing a name or ticking several columns refreshes the preview once


class PreviewDialog(QDialog):
    """A dialog over ``frame`` whose preview refreshes a moment after each change.

    Subclasses implement ``refresh()`` and call :meth:`schedule` after each edit; :attr:`error`
    holds why the choice cannot be applied ("" when it can).

    Signals
    -------
    previewUpdated : emitted after each refresh of the preview (also after an error).
    """

    previewUpdated = Signal()

    def __init__(self, frame: pd.DataFrame, title: str, size: tuple, parent: QWidget | None = None):
        super().__init__(parent)
        self.frame = frame
        self.error = ""
        self.setWindowTitle(title)
        self.resize(*size)
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(self.refresh)

    def schedule(self) -> None:
        """Refresh the preview after the quiet time."""
        self._timer.start()

    def refresh(self) -> None:  # pragma: no cover - every subclass has its own
        raise NotImplementedError
