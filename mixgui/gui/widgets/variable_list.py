"""The variable list: every column with its measurement level; right-click to change the level."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QMenu

from mixgui.data.dataset import LEVELS

GLYPHS = {"continuous": "◔", "nominal": "◧", "ordinal": "◨", "identifier": "⚿"}
LEVEL_HELP = {
    "continuous": "a number whose size matters (age, score, time); enters the model as a slope",
    "nominal": "categories without order (treatment, clinic); enters the model as a factor",
    "ordinal": "ordered categories (mild < moderate < severe); enters the model as a factor",
    "identifier": "labels a unit (patient ID); used for grouping, treated as categorical",
}
_COLOURS = {"continuous": "#2f6db5", "nominal": "#c26a1b", "ordinal": "#8a4fb0", "identifier": "#5f6b78"}


def level_icon(level: str, size: int = 16) -> QIcon:
    """A small drawn icon for a measurement level (drawn, so it never depends on a font's glyphs)."""
    pix = QPixmap(size * 2, size * 2)  # drawn at 2x so it stays crisp on high-dpi screens
    pix.setDevicePixelRatio(2.0)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    colour = QColor(_COLOURS.get(level, "#5f6b78"))
    p.setPen(QPen(colour, 1.4))
    r = QRectF(2.5, 2.5, size - 5, size - 5)
    if level == "continuous":  # ◔ a circle with a quarter filled
        p.drawEllipse(r)
        path = QPainterPath(r.center())
        path.arcTo(r, 90, -90)
        path.closeSubpath()
        p.fillPath(path, colour)
    elif level in ("nominal", "ordinal"):  # ◧ / ◨ a square with the left / right half filled
        p.drawRect(r)
        half = QRectF(r.left(), r.top(), r.width() / 2, r.height())
        if level == "ordinal":
            half.moveLeft(r.center().x())
        p.fillRect(half, colour)
    else:  # ⚿ a key: ring, shaft and two teeth
        mid = size / 2
        p.drawEllipse(QRectF(1.5, mid - 3.5, 7, 7))
        p.drawLine(QPointF(8.5, mid), QPointF(size - 1.5, mid))
        p.drawLine(QPointF(size - 1.5, mid), QPointF(size - 1.5, mid + 3.5))
        p.drawLine(QPointF(size - 4.5, mid), QPointF(size - 4.5, mid + 2.5))
    p.end()
    return QIcon(pix)


class VariableList(QListWidget):
    """Columns of the dataset with their measurement levels.

    Signals
    -------
    levelChangeRequested(column, level)
        The user chose another level from the context menu; the window updates the dataset.
    """

    levelChangeRequested = Signal(str, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setIconSize(QSize(16, 16))
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)
        self.setToolTip("Right-click a variable to change its measurement level.")
        self._icons = {lv: level_icon(lv) for lv in LEVELS}
        self._levels: dict = {}
        self._text_columns: set = set()

    def set_variables(self, columns: list, levels: dict, text_columns=()) -> None:
        """Show ``columns`` with their levels (``levels``: column -> level).

        ``text_columns`` hold text, so the menu does not offer "continuous" for them.
        """
        self.clear()
        self._levels = dict(levels)
        self._text_columns = set(text_columns)
        for col in columns:
            level = levels.get(col, "continuous")
            item = QListWidgetItem(self._icons.get(level, QIcon()), col)
            item.setData(Qt.ItemDataRole.UserRole, col)
            item.setToolTip(f"{col}: {level} {GLYPHS.get(level, '')}, {LEVEL_HELP.get(level, '')}.\n"
                            "Right-click to change.")
            self.addItem(item)

    def level_of(self, column: str) -> str | None:
        return self._levels.get(column)

    def menu_for(self, column: str) -> QMenu:
        """The context menu offering the four levels for ``column`` (the current one checked)."""
        menu = QMenu(self)
        group = QActionGroup(menu)
        current = self._levels.get(column)
        for level in LEVELS:
            act = QAction(self._icons[level], f"{level.capitalize()}  {GLYPHS[level]}", menu)
            act.setCheckable(True)
            act.setChecked(level == current)
            act.setToolTip(LEVEL_HELP[level])
            if level == "continuous" and column in self._text_columns:
                act.setEnabled(False)
                act.setToolTip(f"{column} holds text, so it cannot be continuous")
            act.triggered.connect(lambda _=False, c=column, lv=level: self._choose(c, lv))
            group.addAction(act)
            menu.addAction(act)
        return menu

    def _choose(self, column: str, level: str) -> None:
        if self._levels.get(column) != level:
            self.levelChangeRequested.emit(column, level)

    def _context_menu(self, pos) -> None:
        item = self.itemAt(pos)
        if item is None:
            return
        self.menu_for(item.data(Qt.ItemDataRole.UserRole)).exec(self.viewport().mapToGlobal(pos))
