"""Analysis ▸ Compare analyses: R's ``anova(m0, m1, ...)`` over the fitted analyses of the session.

The comparison itself is Qt-free (:func:`mixgui.pipeline.compare.compare_analyses`); this module
collects the analyses that have results for their current model, lets the user pick which to
compare, and shows the table with a Copy button that pastes into Word and Excel.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
)

from mixgui.errors import MixGUIError
from mixgui.gui.models.result_model import table_mime_data
from mixgui.pipeline.compare import compare_analyses

#: why the dialog cannot open, for the caller to show
NOTHING_TO_COMPARE = ("A comparison needs two or more fitted analyses of the same data. Add one with "
                      "Analysis ▸ New analysis (or Duplicate), change its model and let it fit, then compare.")


def fitted_analyses(session) -> list:
    """(name, FitResult) of every analysis of ``session`` whose kept result belongs to its current model."""
    out = []
    for a in session.analyses:
        kept = session.kept_result(a)
        if kept is not None and kept.result is not None:
            out.append((a.name, kept.result))
    return out


class CompareDialog(QDialog):
    """Pick two or more fitted analyses and compare them by likelihood ratio.

    Parameters
    ----------
    candidates : list of (name, FitResult)
    """

    def __init__(self, candidates: list, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Compare analyses")
        self.resize(980, 480)
        self.candidates = list(candidates)
        self.table = None
        intro = QLabel("Tick the analyses to compare. They must use the same rows of the same data; models "
                       "that differ in their fixed effects are refitted by maximum likelihood first, as R's "
                       "anova() does.")
        intro.setWordWrap(True)
        self.picker = QListWidget()
        self.picker.setMaximumHeight(120)
        for name, _ in self.candidates:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.picker.addItem(item)
        self.picker.itemChanged.connect(lambda *_: self.compare())
        self.view = QTextBrowser()
        self.view.setObjectName("comparisonView")
        # QTextBrowser draws tables without cell padding: give the numbers room, as in the results pane
        self.view.document().setDefaultStyleSheet(
            "table { border-collapse: collapse; } th { padding: 3px 10px; border-bottom: 1px solid #888; } "
            "td { padding: 3px 10px; } caption, .title { font-weight: 600; }")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b3261e;")
        self.copy_button = QPushButton("Copy table")
        self.copy_button.setToolTip("Copy as a table that pastes into Word and Excel")
        self.copy_button.clicked.connect(self.copy)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for w in (intro, self.picker, self.message, self.view):
            layout.addWidget(w)
        layout.addWidget(buttons)
        self.compare()

    def chosen(self) -> list:
        return [c for i, c in enumerate(self.candidates)
                if self.picker.item(i).checkState() == Qt.CheckState.Checked]

    def compare(self) -> None:
        """Recompute the table for the ticked analyses (refits by ML can take a moment)."""
        chosen = self.chosen()
        self.table = None
        self.copy_button.setEnabled(False)
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            table, _ = compare_analyses([r for _, r in chosen], [n for n, _ in chosen])
        except MixGUIError as e:
            text = str(e)
            self.message.setText(text[0].upper() + text[1:] + ("" if text.endswith(".") else "."))
            self.message.show()
            self.view.clear()
            return
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.message.hide()
        self.table = table
        self.view.setHtml(table.to_html())
        self.copy_button.setEnabled(True)

    def copy(self) -> None:
        if self.table is not None:
            QApplication.clipboard().setMimeData(table_mime_data(self.table))


def open_compare_dialog(session, parent=None) -> CompareDialog | None:
    """Show the dialog; None when fewer than two analyses are fitted (see :data:`NOTHING_TO_COMPARE`)."""
    candidates = fitted_analyses(session)
    if len(candidates) < 2:
        return None
    dialog = CompareDialog(candidates, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
