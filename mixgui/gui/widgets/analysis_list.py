"""The session's analyses as a short list above the model builder, like jamovi's results stream.

One row per analysis; the selected row is the analysis the builder edits and the results pane
shows. Adding, duplicating, renaming and removing are commands on the session's undo stack (the
session does the work); the list only redraws itself from the session's events.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from mixgui.session.document import ANALYSES, CURRENT, LOADED, Session

VISIBLE_ROWS = 2  # enough to see a neighbour; more scroll, so the builder keeps its height
HELP = {
    "list": "The analyses of this session. Click one to edit it in the builder below and see its results; "
            "double-click (or F2) to rename it.",
    "new": "Start a new, empty analysis of the same data",
    "duplicate": "Copy the analysis shown, to try a variant without losing the original",
    "rename": "Rename the analysis shown (F2)",
    "remove": "Remove the analysis shown (Edit ▸ Undo brings it back)",
}


class AnalysisList(QWidget):
    """Lists the analyses of ``session``; switching, adding, duplicating, renaming and removing.

    Parameters
    ----------
    session : Session
        The window's session (shared with the model builder).
    """

    def __init__(self, session: Session, parent=None):
        super().__init__(parent)
        self.session = session
        self._syncing = False
        self.list = QListWidget()
        self.list.setObjectName("analysisList")
        self.list.setToolTip(HELP["list"])
        self.list.setAccessibleName("Analyses")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.list.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        row_height = self.list.fontMetrics().height() + 6  # the style sheet pads items by 3 px
        self.list.setFixedHeight(VISIBLE_ROWS * row_height + 2 * self.list.frameWidth() + 4)
        self.list.currentRowChanged.connect(self._row_chosen)
        self.list.itemChanged.connect(self._item_edited)

        self.new_button = _button("+ New", HELP["new"], self.add)
        self.duplicate_button = _button("Duplicate", HELP["duplicate"], self.duplicate)
        self.rename_button = _button("Rename", HELP["rename"], self.rename)
        self.remove_button = _button("Remove", HELP["remove"], self.remove)
        buttons = QGridLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.setSpacing(4)
        for i, b in enumerate((self.new_button, self.duplicate_button, self.rename_button, self.remove_button)):
            buttons.addWidget(b, i // 2, i % 2)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)

        unsubscribe = session.subscribe(self._session_changed)
        # the session belongs to the window and may outlive this widget
        self.destroyed.connect(lambda *_: unsubscribe())
        self._refresh()

    # -- reading ------------------------------------------------------------------------
    def names(self) -> list:
        """The names shown, in order."""
        return [self.list.item(i).text() for i in range(self.list.count())]

    # -- commands -----------------------------------------------------------------------
    def add(self) -> int:
        """Add an empty analysis and show it; returns its index."""
        return self.session.add_analysis()

    def duplicate(self) -> int:
        """Copy the current analysis and show the copy; returns its index."""
        return self.session.duplicate_analysis(self.session.current)

    def rename(self) -> None:
        """Start editing the current analysis's name in place."""
        item = self.list.item(self.session.current)
        if item is not None:
            self.list.setFocus()
            self.list.editItem(item)

    def remove(self) -> None:
        """Remove the current analysis (undoable)."""
        self.session.remove_analysis(self.session.current)

    # -- session -> view ----------------------------------------------------------------
    def _session_changed(self, event: str, index) -> None:
        if event in (ANALYSES, CURRENT, LOADED):
            self._refresh()

    def _refresh(self) -> None:
        self._syncing = True
        try:
            names = [a.name for a in self.session.analyses]
            if names != self.names():
                self.list.clear()
                for name in names:
                    item = QListWidgetItem(name)
                    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
                    item.setToolTip(HELP["list"])
                    self.list.addItem(item)
            self.list.setCurrentRow(self.session.current)
            item = self.list.currentItem()
            if item is not None:
                self.list.scrollToItem(item)
        finally:
            self._syncing = False

    # -- view -> session ----------------------------------------------------------------
    def _row_chosen(self, row: int) -> None:
        if not self._syncing and 0 <= row < len(self.session.analyses):
            self.session.set_current(row)

    def _item_edited(self, item: QListWidgetItem) -> None:
        if self._syncing:
            return
        row = self.list.row(item)
        if not 0 <= row < len(self.session.analyses):
            return
        name = " ".join(item.text().split())  # one line, no stray spaces
        old = self.session.analyses[row].name
        if name and name != old:
            self.session.rename_analysis(row, name)
            self.session.undo_stack.close_merge()  # each finished rename is its own undo step
        else:  # emptied or unchanged: show the name again
            self._syncing = True
            try:
                item.setText(old)
            finally:
                self._syncing = False


def _button(text: str, tip: str, slot) -> QPushButton:
    b = QPushButton(text)
    b.setToolTip(tip)
    b.setObjectName("small")
    b.clicked.connect(lambda _=False: slot())
    return b
