"""Variables list (drag source) and role boxes (drop targets with arrow buttons) of the model builder.

Drops never change a box directly: a model's :meth:`ColumnModel.dropMimeData` only emits
``columnsDropped``; the builder turns it into a command on the undo stack and redraws every box
from the new draft. So a drop, an arrow click and a typed formula all take the same road.
"""
from __future__ import annotations

import json

from PySide6.QtCore import QMimeData, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mixgui.analysis.builder import HELP
from mixgui.analysis.formula import term_label
from mixgui.gui.widgets.variable_list import level_icon

MIME = "application/x-mixgui-columns"
COLUMN_ROLE = Qt.ItemDataRole.UserRole


def columns_mime(columns, source: str = "variables") -> QMimeData:
    """Mime data carrying column names and where they were dragged from."""
    mime = QMimeData()
    mime.setData(MIME, json.dumps({"columns": list(columns), "source": source}).encode("utf-8"))
    mime.setText(", ".join(columns))  # dropping on a text field writes the names
    return mime


def columns_from_mime(mime: QMimeData):
    """``(columns, source)`` from mime data made by :func:`columns_mime`, or None."""
    if mime is None or not mime.hasFormat(MIME):
        return None
    try:
        d = json.loads(bytes(mime.data(MIME)).decode("utf-8"))
        return [str(c) for c in d["columns"]], str(d.get("source", ""))
    except (ValueError, KeyError, TypeError):
        return None


def term_text(term: tuple) -> str:
    """A term as users read it: ``time × treatment``."""
    return " × ".join(term)


class ColumnModel(QStandardItemModel):
    """Column names with level icons; a drag source and (unless ``accept_drops`` is False) a drop target.

    Signals
    -------
    columnsDropped(columns, source)
        Columns were dropped here; ``source`` names the box they came from.
    """

    columnsDropped = Signal(list, str)

    def __init__(self, name: str, accept_drops: bool = True, parent=None):
        super().__init__(parent)
        self.name = name
        self.accept_drops = accept_drops
        self._shown = None

    def set_columns(self, columns, levels: dict | None = None, texts: dict | None = None) -> None:
        """Show ``columns`` (icons from ``levels``; ``texts`` overrides what a row says)."""
        shown = (list(columns), {c: (levels or {}).get(c) for c in columns}, dict(texts or {}))
        if shown == self._shown:
            return  # unchanged: keep selection and scroll position
        self._shown = shown
        self.clear()
        for col in columns:
            level = (levels or {}).get(col)
            item = QStandardItem(level_icon(level) if level else level_icon("continuous"), (texts or {}).get(col, col))
            item.setData(col, COLUMN_ROLE)
            item.setToolTip(f"{col}: {level}" if level else col)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
            self.appendRow(item)

    def columns(self) -> list:
        return [self.item(i).data(COLUMN_ROLE) for i in range(self.rowCount())]

    # -- drag and drop -----------------------------------------------------------------
    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled if self.accept_drops else Qt.ItemFlag.NoItemFlags
        return super().flags(index)

    def mimeTypes(self):
        return [MIME]

    def mimeData(self, indexes):
        cols = list(dict.fromkeys(i.data(COLUMN_ROLE) for i in indexes if i.isValid()))
        return columns_mime(cols, self.name)

    def supportedDragActions(self):
        return Qt.DropAction.CopyAction  # never Move: the source box must not delete its rows itself

    def supportedDropActions(self):
        return Qt.DropAction.CopyAction | Qt.DropAction.MoveAction

    def canDropMimeData(self, data, action, row, column, parent) -> bool:
        got = columns_from_mime(data)
        return self.accept_drops and got is not None and got[1] != self.name

    def dropMimeData(self, data, action, row=-1, column=-1, parent=None) -> bool:
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        cols, source = columns_from_mime(data)
        self.columnsDropped.emit(cols, source)
        return True


class ColumnView(QListView):
    """A list of columns that drags and accepts drops; Delete removes the selected ones.

    Signals
    -------
    deleteRequested(columns)
    """

    deleteRequested = Signal(list)

    def __init__(self, model: ColumnModel, rows: int | None = None, parent=None):
        super().__init__(parent)
        self.setModel(model)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setDragEnabled(True)
        self.setAcceptDrops(model.accept_drops)
        self.setDropIndicatorShown(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        if rows is not None:  # role boxes are short: a few rows, not a whole pane
            self.setFixedHeight(rows * (self.fontMetrics().height() + 8) + 6)
            # right-click "Remove": a way out of a box for those who do not drag
            self.remove_action = QAction("Remove", self)
            self.remove_action.triggered.connect(
                lambda: self.selected_columns() and self.deleteRequested.emit(self.selected_columns()))
            self.addAction(self.remove_action)
            self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    def column_model(self) -> ColumnModel:
        model = self.model()
        return model.sourceModel() if isinstance(model, QSortFilterProxyModel) else model

    def selected_columns(self) -> list:
        return [i.data(COLUMN_ROLE) for i in sorted(self.selectionModel().selectedRows(), key=lambda i: i.row())]

    def select_columns(self, columns) -> None:
        """Select the rows of ``columns`` (tests and keyboard helpers)."""
        sel = self.selectionModel()
        sel.clearSelection()
        model = self.model()
        for r in range(model.rowCount()):
            idx = model.index(r, 0)
            if idx.data(COLUMN_ROLE) in columns:
                sel.select(idx, sel.SelectionFlag.Select)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.matches(QKeySequence.StandardKey.Delete) or event.key() == Qt.Key.Key_Backspace:
            cols = self.selected_columns()
            if cols:
                self.deleteRequested.emit(cols)
                return
        super().keyPressEvent(event)


class VariableSource(QWidget):
    """Every column of the data with its measurement-level icon, a search field, dragged into the boxes.

    Dropping a box's columns back here takes them out of the model: ``removeRequested(columns, source)``.
    """

    removeRequested = Signal(list, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = ColumnModel("variables")
        self.model.columnsDropped.connect(self.removeRequested)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search variables")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Show only the variables whose name contains this text.")
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.view = ColumnView(self.model)
        self.view.setModel(self.proxy)
        self.view.setToolTip("Drag variables into the boxes, or select them and press an arrow button. "
                             "Drag a variable back here to take it out of the model.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.view, 1)

    def set_variables(self, columns, levels: dict) -> None:
        self.model.set_columns(list(columns), levels)

    def selected_columns(self) -> list:
        return self.view.selected_columns()


class RoleBox(QWidget):
    """A titled box that receives columns by drop or by its arrow button.

    Signals
    -------
    addRequested(columns, source)
        Columns dropped here or sent with the arrow (source "variables").
    removeRequested(columns)
        Delete pressed on selected columns.
    """

    addRequested = Signal(list, str)
    removeRequested = Signal(list)

    def __init__(self, name: str, title: str, source: VariableSource, help_text: str, rows: int = 3,
                 parent=None):
        super().__init__(parent)
        self.name = name
        self._source = source
        self.model = ColumnModel(name)
        self.model.columnsDropped.connect(self.addRequested)
        self.view = ColumnView(self.model, rows)
        self.view.deleteRequested.connect(self.removeRequested)
        self.view.setToolTip(help_text)
        self.arrow_button = QToolButton()
        self.arrow_button.setText("▸")
        self.arrow_button.setAccessibleName(f"Move to {title}")
        self.arrow_button.setToolTip(f"Move the selected variables to {title} (with nothing selected in the "
                                     f"variables list: take the selected ones out of {title}).")
        self.arrow_button.clicked.connect(self._arrow)
        self.title = QLabel(title)
        self.title.setObjectName("sectionLabel")
        self.title.setToolTip(help_text)
        self.title.setBuddy(self.view)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.arrow_button, 0, Qt.AlignmentFlag.AlignTop)
        box = QVBoxLayout()
        box.setSpacing(2)
        box.addWidget(self.title)
        box.addWidget(self.view)
        layout.addLayout(box, 1)

    def _arrow(self) -> None:
        # SPSS's arrow: moves the variables selected in the list here; with none selected there, it
        # sends this box's selected variables back
        cols = self._source.selected_columns()
        if cols:
            self.addRequested.emit(cols, "variables")
        elif self.view.selected_columns():
            self.removeRequested.emit(self.view.selected_columns())

    def set_columns(self, columns, levels: dict, texts: dict | None = None) -> None:
        self.model.set_columns(list(columns), levels, texts)

    def columns(self) -> list:
        return self.model.columns()


class TermsBox(QWidget):
    """The fixed terms: main effects and interactions, with Interaction / Full factorial / Remove.

    Signals
    -------
    interactionRequested(terms), fullFactorialRequested(), removeRequested(terms), interceptToggled(bool)
    """

    interactionRequested = Signal(list)
    fullFactorialRequested = Signal()
    removeRequested = Signal(list)
    interceptToggled = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setToolTip(HELP["terms"])
        self.list.setMaximumHeight(90)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.interaction_button = QPushButton("Interaction")
        self.interaction_button.setToolTip(HELP["interaction"])
        self.interaction_button.clicked.connect(lambda: self.interactionRequested.emit(self.selected_terms()))
        self.factorial_button = QPushButton("Full factorial")
        self.factorial_button.setToolTip(HELP["full_factorial"])
        self.factorial_button.clicked.connect(self.fullFactorialRequested)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the selected terms from the model (Delete).")
        self.remove_button.clicked.connect(lambda: self.removeRequested.emit(self.selected_terms()))
        self.intercept_check = QCheckBox("Intercept")
        self.intercept_check.setToolTip(HELP["intercept"])
        self.intercept_check.toggled.connect(self._intercept)
        self._syncing = False
        title = QLabel("Model terms")
        title.setObjectName("sectionLabel")
        title.setToolTip(HELP["terms"])
        buttons = QHBoxLayout()
        for w in (self.interaction_button, self.factorial_button, self.remove_button):
            buttons.addWidget(w)
        buttons.addStretch(1)
        buttons.addWidget(self.intercept_check)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(title)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        self._update_buttons()

    def set_terms(self, terms, intercept: bool, n_factors: int) -> None:
        self._syncing = True
        try:
            if [self.list.item(i).data(COLUMN_ROLE) for i in range(self.list.count())] != list(terms):
                self.list.clear()
                for t in terms:
                    item = QListWidgetItem(term_text(t))
                    item.setData(COLUMN_ROLE, t)
                    item.setToolTip(f"In the formula: {term_label(t)}")
                    self.list.addItem(item)
            self.intercept_check.setChecked(intercept)
            self.factorial_button.setEnabled(n_factors >= 2)
        finally:
            self._syncing = False
        self._update_buttons()

    def select_terms(self, terms) -> None:
        want = {tuple(t) for t in terms}
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setSelected(tuple(item.data(COLUMN_ROLE)) in want)

    def selected_terms(self) -> list:
        return [tuple(self.list.item(i).data(COLUMN_ROLE)) for i in range(self.list.count())
                if self.list.item(i).isSelected()]

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if (event.matches(QKeySequence.StandardKey.Delete) or event.key() == Qt.Key.Key_Backspace) \
                and self.selected_terms():
            self.removeRequested.emit(self.selected_terms())
            return
        super().keyPressEvent(event)

    def _intercept(self, checked: bool) -> None:
        if not self._syncing:
            self.interceptToggled.emit(checked)

    def _update_buttons(self) -> None:
        sel = self.selected_terms()
        self.interaction_button.setEnabled(len({v for t in sel for v in t}) >= 2)
        self.remove_button.setEnabled(bool(sel))
