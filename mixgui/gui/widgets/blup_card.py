"""The random effects per group in the results pane: one card per grouping, over a lazy model.

The other results tables are as tall as their rows; this one can have 50,000 rows, so it is a
scrolling view of fixed height whose column widths come from the header and the first rows.
"""
from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
)

from mixgui.gui.models.blup_model import BlupTableModel
from mixgui.gui.widgets.equations_card import flash

#: rows visible at once; the rest scroll inside the table
VISIBLE_ROWS = 10
#: rows measured for the column widths (measuring every row of a long table would take seconds)
MEASURED_ROWS = 100


def fixed_height_view(model, visible_rows: int = VISIBLE_ROWS) -> QTableView:
    """A read-only table view over ``model`` that shows at most ``visible_rows`` rows and scrolls the rest.

    Row heights are fixed and column widths measured on the header and the first
    :data:`MEASURED_ROWS` rows, so the cost does not grow with the number of rows.
    """
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
    view.setWordWrap(False)
    view.setShowGrid(False)
    view.setAlternatingRowColors(True)
    view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    vh = view.verticalHeader()
    vh.hide()
    vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    row_h = view.fontMetrics().height() + 10
    vh.setDefaultSectionSize(row_h)
    hh = view.horizontalHeader()
    hh.setHighlightSections(False)
    hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    fm, hfm = view.fontMetrics(), hh.fontMetrics()  # the header's font is bolder than the cells'
    rows = min(model.rowCount(), MEASURED_ROWS)
    for c in range(model.columnCount()):
        head = hfm.horizontalAdvance(str(model.headerData(c, Qt.Orientation.Horizontal))) + 36
        cells = [fm.horizontalAdvance(str(model.data(model.index(r, c)) or "")) + 28 for r in range(rows)]
        view.setColumnWidth(c, min(max(90, head, *cells), 320))
    shown = max(1, min(model.rowCount(), visible_rows))
    view.setFixedHeight(shown * row_h + hh.sizeHint().height() + 2 * view.frameWidth() + 2)
    view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return view


def card_layout(card: QFrame, title: str, copy_tip: str) -> tuple:
    """A results card's layout with its header row (title left, Copy right, wired to ``card.copy``).

    Returns
    -------
    (QVBoxLayout, QPushButton)
        The card's layout, to which the caller adds its content, and the Copy button.
    """
    label = QLabel(title)
    label.setObjectName("tableTitle")
    button = QPushButton("Copy")
    button.setObjectName("copy")
    button.setToolTip(copy_tip)
    button.clicked.connect(card.copy)
    head = QHBoxLayout()
    head.addWidget(label)
    head.addStretch(1)
    head.addWidget(button)
    layout = QVBoxLayout(card)
    layout.setContentsMargins(0, 4, 0, 10)
    layout.setSpacing(6)
    layout.addLayout(head)
    return layout, button


class BlupCard(QFrame):
    """The random effects of one grouping: title, a scrolling table of every level, a note, Copy."""

    def __init__(self, group: str, block: dict, parent=None):
        super().__init__(parent)
        self.model = BlupTableModel(group, block, self)
        n = self.model.rowCount()
        layout, self.copy_button = card_layout(self, f"Random effects by {group}",
                                               "Copy every row of this table; it pastes into Excel as a table")
        self.view = fixed_height_view(self.model)
        layout.addWidget(self.view)
        more = f" All {n:,} levels are listed: scroll the table, or Copy it." if n > VISIBLE_ROWS else ""
        self.note = QLabel("<i>Note.</i> Conditional modes (BLUPs) of each level's deviation from the fixed "
                           "effects, with their conditional standard deviations, as lme4's "
                           f"ranef(condVar = TRUE).{more}")
        self.note.setObjectName("footnote")
        self.note.setWordWrap(True)
        layout.addWidget(self.note)

    def copy(self) -> None:
        """Put every row on the clipboard as tab-separated text (full precision)."""
        mime = QMimeData()
        mime.setText(self.model.to_tsv())
        QApplication.clipboard().setMimeData(mime)
        flash(self.copy_button)
