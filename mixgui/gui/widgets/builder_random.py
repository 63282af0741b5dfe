"""Random-effects boxes: one card per grouping, an "+ add grouping" drop zone, and the notes.

A card shows the nesting chain (``clinic / patient``; drop a column or another card's chain on it
to nest), a random-intercept check box, the random slopes as a checkable list of the fixed terms,
and the correlated / uncorrelated toggle. Cards are reused between redraws so keyboard focus stays
where the user left it.
"""
from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mixgui.analysis.builder import HELP, Grouping
from mixgui.analysis.formula import term_label
from mixgui.gui.widgets.builder_roles import COLUMN_ROLE, ColumnModel, ColumnView, VariableSource, term_text

NOTE_STYLE = "background: #fff4d6; border: 1px solid #e8b73a; border-radius: 4px; color: #5c4300; padding: 6px 8px;"


class GroupingCard(QFrame):
    """One grouping (one ``( … | g)`` term of the formula).

    Signals
    -------
    nestRequested(index, columns, source)
        Columns (or another card's chain) were dropped on this card's chain.
    levelRemoveRequested(index, column)
        Delete pressed on a level of the chain.
    changeRequested(index, changes)
        ``changes`` for :func:`mixgui.analysis.builder.set_grouping` (intercept, slopes, correlated).
    removeRequested(index)
    """

    nestRequested = Signal(int, list, str)
    levelRemoveRequested = Signal(int, str)
    changeRequested = Signal(int, dict)
    removeRequested = Signal(int)

    def __init__(self, index: int, parent=None):
        super().__init__(parent)
        self.index = index
        self.setObjectName("groupingCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._grouping: Grouping | None = None
        self._syncing = False
        self.chain_model = ColumnModel(f"grouping:{index}")
        self.chain_model.columnsDropped.connect(lambda cols, src: self.nestRequested.emit(self.index, cols, src))
        self.chain_view = ColumnView(self.chain_model, rows=1)
        self.chain_view.setFlow(QListView.Flow.LeftToRight)
        self.chain_view.setToolTip(HELP["nesting"])
        self.chain_view.deleteRequested.connect(
            lambda cols: [self.levelRemoveRequested.emit(self.index, c) for c in cols[:1]])
        self.remove_button = QToolButton()
        self.remove_button.setText("×")
        self.remove_button.setAccessibleName("Remove grouping")
        self.remove_button.setToolTip("Remove this grouping and its random effects.")
        self.remove_button.clicked.connect(lambda: self.removeRequested.emit(self.index))
        self.intercept_check = QCheckBox("Intercept")
        self.intercept_check.setToolTip(HELP["group_intercept"])
        self.intercept_check.toggled.connect(lambda on: self._emit(intercept=on))
        self.correlated_check = QCheckBox("Correlated")
        self.correlated_check.setToolTip(HELP["correlated"])
        self.correlated_check.toggled.connect(lambda on: self._emit(correlated=on))
        self.slopes_list = QListWidget()
        self.slopes_list.setToolTip(HELP["slopes"])
        self.slopes_list.setMaximumHeight(70)
        self.slopes_list.itemChanged.connect(self._slope_changed)
        head = QHBoxLayout()
        head.addWidget(self.chain_view, 1)
        head.addWidget(self.remove_button)
        row = QHBoxLayout()
        row.addWidget(self.intercept_check)
        row.addWidget(self.correlated_check)
        row.addStretch(1)
        self.slopes_label = slopes_label = QLabel("Random slopes")
        slopes_label.setToolTip(HELP["slopes"])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(3)
        layout.addLayout(head)
        layout.addLayout(row)
        layout.addWidget(slopes_label)
        layout.addWidget(self.slopes_list)

    def set_grouping(self, g: Grouping, terms, levels: dict) -> None:
        """Show grouping ``g``; the slope list offers the fixed ``terms`` and any slope already chosen."""
        self._grouping = g
        self._syncing = True
        try:
            sep = ":" if g.combined else " / "
            texts = {c: (sep if i else "") + c for i, c in enumerate(g.factors)}
            # a grouping column is categorical whatever its storage: show it so
            icons = {c: "identifier" if levels.get(c, "continuous") == "continuous" else levels[c] for c in g.factors}
            self.chain_model.set_columns(list(g.factors), icons, texts)
            self.chain_view.setToolTip(f"{g.label}: {HELP['nesting']}")
            self.intercept_check.setChecked(g.intercept)
            self.correlated_check.setChecked(g.correlated)
            # correlation needs two random effects in the term
            self.correlated_check.setEnabled(int(g.intercept) + len(g.slopes) >= 2 or not g.correlated)
            offered = list(dict.fromkeys(tuple(terms) + tuple(g.slopes)))
            shown = [tuple(self.slopes_list.item(i).data(COLUMN_ROLE)) for i in range(self.slopes_list.count())]
            if shown != offered:
                self.slopes_list.clear()
                for t in offered:
                    item = QListWidgetItem(term_text(t))
                    item.setData(COLUMN_ROLE, t)
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
                    item.setToolTip(f"A random slope for {term_label(t)} per {g.label}")
                    self.slopes_list.addItem(item)
            for i, t in enumerate(offered):
                self.slopes_list.item(i).setCheckState(Qt.CheckState.Checked if t in g.slopes
                                                       else Qt.CheckState.Unchecked)
            self.slopes_list.setVisible(bool(offered))
            self.slopes_label.setVisible(bool(offered))
        finally:
            self._syncing = False

    def slope_item(self, term) -> QListWidgetItem | None:
        for i in range(self.slopes_list.count()):
            if tuple(self.slopes_list.item(i).data(COLUMN_ROLE)) == tuple(term):
                return self.slopes_list.item(i)
        return None

    def _emit(self, **changes) -> None:
        if not self._syncing:
            self.changeRequested.emit(self.index, changes)

    def _slope_changed(self, _item) -> None:
        if self._syncing:
            return
        slopes = [tuple(self.slopes_list.item(i).data(COLUMN_ROLE)) for i in range(self.slopes_list.count())
                  if self.slopes_list.item(i).checkState() == Qt.CheckState.Checked]
        self._emit(slopes=tuple(slopes))


class RandomEffectsBox(QWidget):
    """The grouping cards, the "+ add grouping" drop zone with its arrow, and the notes below.

    Signals
    -------
    addRequested(columns, source)
        New groupings (each column crossed with the others: separate cards); ``source`` is where
        the columns were dragged from ("variables" for the arrow).
    nestRequested, levelRemoveRequested, changeRequested, removeRequested
        Forwarded from the cards.
    """

    addRequested = Signal(list, str)
    nestRequested = Signal(int, list, str)
    levelRemoveRequested = Signal(int, str)
    changeRequested = Signal(int, dict)
    removeRequested = Signal(int)

    def __init__(self, source: VariableSource, parent=None):
        super().__init__(parent)
        self._source = source
        self.cards: list = []
        self.cards_layout = QVBoxLayout()
        self.cards_layout.setSpacing(6)
        self.add_model = ColumnModel("add-grouping")
        self.add_model.columnsDropped.connect(self.addRequested)
        self.add_model.set_columns([], {})
        self.add_view = ColumnView(self.add_model, rows=1)
        self.add_view.setToolTip(HELP["random"])
        self.add_hint = QLabel("+ add grouping (drop here)")
        self.add_hint.setObjectName("muted")
        self.add_hint.setToolTip(HELP["random"])
        self.add_hint.setBuddy(self.add_view)
        self.arrow_button = QToolButton()
        self.arrow_button.setText("▸")
        self.arrow_button.setAccessibleName("Add grouping")
        self.arrow_button.setToolTip("Add each selected variable as a grouping (a random intercept per group).")
        self.arrow_button.clicked.connect(self._arrow)
        self.notes_label = QLabel()
        self.notes_label.setObjectName("builderNotes")
        self.notes_label.setWordWrap(True)
        self.notes_label.setTextFormat(Qt.TextFormat.RichText)
        self.notes_label.setStyleSheet(NOTE_STYLE)
        self.notes_label.hide()
        title = QLabel("Random effects")
        title.setObjectName("sectionLabel")
        title.setToolTip(HELP["random"])
        add_row = QHBoxLayout()
        add_row.addWidget(self.arrow_button, 0, Qt.AlignmentFlag.AlignTop)
        add_col = QVBoxLayout()
        add_col.setSpacing(2)
        add_col.addWidget(self.add_hint)
        add_col.addWidget(self.add_view)
        add_row.addLayout(add_col, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(title)
        layout.addLayout(self.cards_layout)
        layout.addLayout(add_row)
        layout.addWidget(self.notes_label)

    def _arrow(self) -> None:
        cols = self._source.selected_columns()
        if cols:
            self.addRequested.emit(cols, "variables")

    def set_groupings(self, groupings, terms, levels: dict) -> None:
        """Show one card per grouping (cards are reused, so focus and scroll stay put)."""
        while len(self.cards) > len(groupings):
            card = self.cards.pop()
            card.hide()
            card.setParent(None)
            card.deleteLater()
        while len(self.cards) < len(groupings):
            card = GroupingCard(len(self.cards))
            card.nestRequested.connect(self.nestRequested)
            card.levelRemoveRequested.connect(self.levelRemoveRequested)
            card.changeRequested.connect(self.changeRequested)
            card.removeRequested.connect(self.removeRequested)
            self.cards_layout.addWidget(card)
            self.cards.append(card)
        for card, g in zip(self.cards, groupings):
            card.set_grouping(g, terms, levels)

    def set_notes(self, notes) -> None:
        """Show the builder's notes (plain sentences) under the boxes."""
        self.notes_label.setText("<br>".join("⚠ " + html.escape(n.message) for n in notes))
        self.notes_label.setVisible(bool(notes))
