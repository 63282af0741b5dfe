"""The results pane: a fit's tables one under another, each with its warnings, notes and Copy button,
and below them (in a splitter) the plots of the same fit in tabs.

While a new fit runs the tables and plots shown are greyed under an "updating…" banner; both are
replaced as a whole when the new result arrives, so old and new numbers are never mixed.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFrame,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mixgui.gui.models.result_model import ResultTableModel, table_mime_data
from mixgui.gui.turns import dispose, soon
from mixgui.gui.widgets.blup_card import BlupCard, card_layout, fixed_height_view
from mixgui.gui.widgets.equations_card import EquationsCard, flash
from mixgui.gui.widgets.veil import Veil
from mixgui.results.tables import Table

PLACEHOLDER = "Build a model in the middle pane; the results appear here."
#: tables with more rows scroll inside a view of fixed height instead of being as tall as their rows
BIG_TABLE_ROWS = 200


class ResultTableView(QTableView):
    """A table view as tall as its rows: the results pane scrolls, not each table."""

    def __init__(self, model: ResultTableModel, parent=None):
        super().__init__(parent)
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setWordWrap(False)
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        self.verticalHeader().hide()
        vh = self.verticalHeader()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(self.fontMetrics().height() + 10)
        hh = self.horizontalHeader()
        hh.setHighlightSections(False)
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        if not any(c.label for c in model.table.columns):
            hh.hide()  # e.g. the model summary: label / value pairs need no header
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._natural: list = []
        self._fit_columns()
        self.horizontalScrollBar().rangeChanged.connect(lambda *_: self._fit_height())
        self._fit_height()

    def _fit_columns(self) -> None:
        self.resizeColumnsToContents()
        self._natural = [self.columnWidth(c) + 18 for c in range(self.model().columnCount())]  # breathing room
        cols = self.model().table.columns
        # Spare width goes to a text column: the last one when it is text (label/value tables), else
        # the first (terms), so the numbers stay together as in a printed table.
        self._spare_to = len(cols) - 1 if cols and cols[-1].kind == "text" else 0
        self._spread()

    def _spread(self) -> None:
        if not self._natural:
            return
        spare = max(0, self.viewport().width() - sum(self._natural))
        for c, w in enumerate(self._natural):
            self.setColumnWidth(c, w + (spare if c == self._spare_to else 0))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._spread()

    def _fit_height(self) -> None:
        h = self.verticalHeader().length() + 2 * self.frameWidth() + 2
        if not self.horizontalHeader().isHidden():
            h += self.horizontalHeader().sizeHint().height()
        bar = self.horizontalScrollBar()
        if bar.maximum() > 0:
            h += bar.sizeHint().height()
        self.setFixedHeight(h)

    def sizeHint(self) -> QSize:
        return QSize(sum(self._natural) + 2 * self.frameWidth(), self.height())


class TableCard(QFrame):
    """One results table: title, warnings (amber), the table, footnotes and a Copy button."""

    def __init__(self, table: Table, parent=None):
        super().__init__(parent)
        self.table = table
        self.model = ResultTableModel(table, self)
        layout, self.copy_button = card_layout(self, table.title,
                                               "Copy this table; it pastes into Word or Excel as a table")
        self.warning_labels = []
        for w in table.warnings:
            label = QLabel(f"⚠  {w}")
            label.setObjectName("warningBox")
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.warning_labels.append(label)
            layout.addWidget(label)
        # a table of a row per group (e.g. the pooling comparison of 50,000 patients) scrolls in a
        # view of fixed height; measuring and laying out every row would freeze the window
        self.view = (ResultTableView(self.model, self) if len(table.rows) <= BIG_TABLE_ROWS
                     else fixed_height_view(self.model))
        layout.addWidget(self.view)
        for note in table.footnotes:
            label = QLabel(f"<i>Note.</i> {_escape(note)}")
            label.setObjectName("footnote")
            label.setWordWrap(True)
            layout.addWidget(label)

    def copy(self) -> None:
        """Put the table on the clipboard as HTML and as tab-separated text."""
        QApplication.clipboard().setMimeData(table_mime_data(self.table))
        flash(self.copy_button)


class ResultsPanel(QWidget):
    """Shows one fit's tables and plots, a message instead of them, or nothing.

    Attributes
    ----------
    revision : int or None
        The request revision whose outcome is shown (None when empty).
    result : FitResult or None
        The result shown (None when a message or nothing is shown).
    plots : PlotPanel
        The plot tabs under the tables.

    Signals
    -------
    shown(revision)
        New content (tables or a message) was put in place.
    cleared()
        The pane was emptied (:meth:`clear`).
    rowClicked(row)
        A point of a plot was clicked; ``row`` is its 0-based position in the dataset.
    """

    shown = Signal(int)
    cleared = Signal()
    rowClicked = Signal(int)

    def __init__(self, parent=None):
        from mixgui.gui.plots.panel import PlotPanel

        super().__init__(parent)
        self.revision: int | None = None
        self.result = None
        self._cards: dict = {}
        self._plot_share = 0.45
        self.banner = QLabel()
        self.banner.setObjectName("updating")
        self.banner.setWordWrap(True)
        self.banner.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.banner.hide()
        self.message_label = QLabel()
        self.message_label.setObjectName("message")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.message_label.hide()
        self.placeholder = QLabel(PLACEHOLDER)
        self.placeholder.setObjectName("muted")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)

        self._body = QWidget()
        self._body.setObjectName("resultsBody")
        self._body_layout = QVBoxLayout(self._body)
        self._body_layout.setContentsMargins(2, 2, 10, 2)
        self._body_layout.setSpacing(12)
        self._body_layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setObjectName("results")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(self._body)

        self.plots = PlotPanel()
        self.plots.setObjectName("plots")
        self.plots.rowClicked.connect(self._point_clicked)
        self.plots.setMinimumHeight(160)
        # pyqtgraph draws its own colours, so a disabled plot does not look grey by itself
        self.plot_veil = Veil(self.plots)  # pales the plots of the previous fit while a new one runs
        self.plots.hide()

        # Tables above, plots below: the tables are read first, the plots checked next; each
        # part keeps its own scrolling and the user can drag the split.
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("resultsSplitter")
        self.splitter.setChildrenCollapsible(True)
        self.splitter.setHandleWidth(10)
        self.splitter.addWidget(self.scroll)
        self.splitter.addWidget(self.plots)
        self.splitter.setStretchFactor(0, 5)
        self.splitter.setStretchFactor(1, 4)
        self.splitter.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.banner)
        layout.addWidget(self.message_label)
        layout.addWidget(self.placeholder, 1)
        layout.addWidget(self.splitter, 1)

    # -- queries (also used by tests) -------------------------------------------------
    def table_keys(self) -> list:
        """Keys of the tables shown, in order."""
        return [k for k, c in self._cards.items() if isinstance(c, TableCard)]

    def card(self, key: str) -> TableCard | None:
        return self._cards.get(key)

    def blup_card(self, group: str) -> BlupCard | None:
        """The card of the random effects per level of ``group``, or None."""
        return self._cards.get(f"blups_{group}")

    def model(self, key: str) -> ResultTableModel | None:
        card = self._cards.get(key)
        return card.model if card else None

    def message(self) -> str | None:
        """The message shown instead of tables, if any."""
        return self.message_label.text() if not self.message_label.isHidden() else None

    def is_updating(self) -> bool:
        return not self.banner.isHidden()

    def plot_tab(self, key: str):
        """The plot tab of figure ``key`` (e.g. ``"residuals"``), or None."""
        return next((t for t in self.plots.tabs if t.figure.key == key), None)

    def is_current(self) -> bool:
        """True when a result is shown and not greyed (it belongs to the options shown)."""
        return self.result is not None and not self.is_updating()

    # -- content ----------------------------------------------------------------------
    def clear(self, text: str | None = None) -> None:
        """Empty the pane (e.g. after opening other data); ``text`` replaces the usual placeholder."""
        self.placeholder.setText(text or PLACEHOLDER)
        self._clear_cards()
        self.plots.clear_plots()
        self.revision = None
        self.result = None
        self.message_label.hide()
        self.banner.hide()
        self.splitter.hide()
        self.placeholder.show()
        self._grey_plots(False)
        self.cleared.emit()

    def show_result(self, revision: int, result) -> None:
        """Replace whatever is shown by the tables and plots of ``result``."""
        self._clear_cards()
        for table in result.tables:
            self._add_card(table.key, TableCard(table, self._body))
        equations = result.section("equations") if hasattr(result, "section") else None
        if equations:
            self._add_card("equations", EquationsCard(equations, self._body))
        self._show_plots(result)
        self.revision = revision
        self.result = result
        self.message_label.hide()
        self.banner.hide()
        self.placeholder.hide()
        self.splitter.show()
        self.scroll.verticalScrollBar().setValue(0)
        if getattr(result, "blups", None):
            # in the next turn of the event loop: the tables above are shown (and painted) first
            soon(self, lambda: self._show_blups(result))
        self.shown.emit(revision)

    def _show_blups(self, result) -> None:
        """The random effects per level of each grouping, under the variances (one card per grouping)."""
        if result is not self.result:
            return  # another result (or a message) came in the meantime
        keys = list(self._cards)
        at = keys.index("variance_components") + 1 if "variance_components" in keys else len(keys)
        for group, block in result.blups.items():
            card = BlupCard(group, block, self._body)
            card.setEnabled(not self.is_updating())
            self._cards[f"blups_{group}"] = card
            self._body_layout.insertWidget(at, card)
            at += 1

    def show_message(self, revision: int | None, text: str) -> None:
        """Show one plain message (a fit that failed) instead of tables and plots."""
        self._clear_cards()
        self.plots.clear_plots()
        self.revision = revision
        self.result = None
        self.message_label.setText(text)
        self.message_label.show()
        self.banner.hide()
        self.splitter.hide()
        self.placeholder.hide()
        self._grey_plots(False)
        self.shown.emit(-1 if revision is None else revision)

    def set_updating(self, updating: bool, text: str = "Updating… the results below are from the previous fit.") -> None:
        """Grey the tables and plots shown while a new fit runs (or stop doing so)."""
        has_content = bool(self._cards) or self.message() is not None
        self.banner.setText(text)
        self.banner.setVisible(updating and has_content)
        for card in self._cards.values():
            card.setEnabled(not updating)
        self.message_label.setEnabled(not updating)
        self._grey_plots(updating)

    def set_stale(self, text: str) -> None:
        """Keep the old tables greyed with an explanation (e.g. after a cancelled fit)."""
        if self._cards or self.message() is not None:
            self.set_updating(True, text)

    def _show_plots(self, result) -> None:
        self._grey_plots(False)
        self.plots.show_result(result)  # a figure that cannot be drawn shows a sentence in its tab
        was_hidden = self.plots.isHidden()
        self.plots.setVisible(bool(self.plots.tabs))
        if self.plots.tabs and was_hidden:
            self.set_plot_share(self._plot_share)

    def plot_share(self) -> float:
        """The fraction of the pane's height the plots take (remembered with the layout)."""
        sizes = self.splitter.sizes()
        if self.plots.isHidden() or sum(sizes) <= 0:
            return self._plot_share
        return sizes[1] / sum(sizes)

    def set_plot_share(self, share: float) -> None:
        """Give the plots ``share`` of the height (0 collapses them; the tables keep at least 25 %)."""
        self._plot_share = min(max(float(share), 0.0), 0.75)
        total = sum(self.splitter.sizes()) or max(self.splitter.height(), 400)
        plots = int(round(total * self._plot_share))
        self.splitter.setSizes([total - plots, plots])

    def _point_clicked(self, value: int) -> None:
        if not self.plots.isEnabled():
            return  # a greyed plot belongs to the previous fit
        # every plot point carries its dataset row (see mixgui.gui.plots.panel.make_view)
        self.rowClicked.emit(int(value))

    def _grey_plots(self, grey: bool) -> None:
        self.plots.setEnabled(not grey)
        self.plot_veil.cover(grey)

    def _add_card(self, key: str, card) -> None:
        self._cards[key] = card
        self._body_layout.insertWidget(self._body_layout.count() - 1, card)

    def _clear_cards(self) -> None:
        for card in self._cards.values():
            self._body_layout.removeWidget(card)
            # not setParent(None): making each card a window of its own took ~10 ms a card; and one
            # card per turn of the event loop (dispose), not all in one pass
            dispose(card)
        self._cards = {}


def _escape(text: str) -> str:
    import html

    return html.escape(str(text))
