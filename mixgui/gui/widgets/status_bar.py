"""The status bar: what happened last, and a progress bar with Cancel while a fit runs."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar


class FitStatusBar(QStatusBar):
    """Status line of the main window.

    Signals
    -------
    cancelRequested()
        The Cancel button was pressed.
    """

    cancelRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self.label = QLabel("Ready")
        self.progress_bar = QProgressBar()
        self.progress_bar.setFixedWidth(160)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setRange(0, 1000)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running fit (Esc)")
        self.cancel_button.setShortcut("Esc")
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.addWidget(self.label, 1)
        self.addPermanentWidget(self.progress_bar)
        self.addPermanentWidget(self.cancel_button)
        self._set_running(False)

    def text(self) -> str:
        """The status text shown."""
        return self.label.text()

    def _set_running(self, running: bool) -> None:
        self.progress_bar.setVisible(running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)

    def fit_started(self) -> None:
        self.label.setText("Fitting…")
        self.progress_bar.setRange(0, 0)  # busy until the first progress step
        self._set_running(True)

    def fit_progress(self, fraction: float, message: str) -> None:
        if fraction >= 0:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(round(1000 * min(max(fraction, 0.0), 1.0))))
        if message:
            self.label.setText(f"Fitting… {message}")

    def fit_finished(self, seconds: float) -> None:
        self._set_running(False)
        self.label.setText(f"Ready · fitted in {_seconds(seconds)} · results belong to the model shown")

    def fit_failed(self) -> None:
        self._set_running(False)
        self.label.setText("Ready · the fit did not succeed; see the message in the results pane")

    def fit_cancelled(self) -> None:
        self._set_running(False)
        self.label.setText("Ready · fit cancelled")

    def show_text(self, text: str) -> None:
        self.label.setText(text)


def _seconds(s: float) -> str:
    if s < 10:
        return f"{s:.2f} s"
    if s < 120:
        return f"{s:.1f} s"
    return f"{s / 60:.1f} min"
