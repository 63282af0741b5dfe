"""Help that teaches: a guided tour of the demo study and a page per concept, in plain words.

The pages are HTML files with small SVG pictures in ``resources/help`` (``index.json`` gives their
order and titles), shown in a browser with a topic list beside it.
"""
from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QHBoxLayout, QListWidget, QListWidgetItem, QTextBrowser


def help_folder() -> Path:
    """The folder of the help pages (inside the installed package, or the source tree)."""
    return Path(str(importlib.resources.files("mixgui.resources") / "help"))


def topics() -> list:
    """(key, title) of every help page, in reading order."""
    return [tuple(t) for t in json.loads((help_folder() / "index.json").read_text(encoding="utf-8"))]


class HelpWindow(QDialog):
    """A topic list and the page of the chosen topic; non-modal, so the user can follow along."""

    def __init__(self, topic: str = "tour", parent=None):
        super().__init__(parent)
        self.setWindowTitle("MixGUI help")
        self.resize(900, 640)
        self.list = QListWidget()
        self.list.setMaximumWidth(340)
        self.list.setWordWrap(True)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setSearchPaths([str(help_folder())])
        for key, title in topics():
            item = QListWidgetItem(title)
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.list.addItem(item)
        self.list.currentItemChanged.connect(self._show)
        layout = QHBoxLayout(self)
        layout.addWidget(self.list)
        layout.addWidget(self.browser, 1)
        self.show_topic(topic)

    def show_topic(self, key: str) -> None:
        """Select and show the page ``key`` (the tour when unknown)."""
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == key:
                self.list.setCurrentRow(i)
                return
        self.list.setCurrentRow(0)

    def _show(self, item, _previous=None) -> None:
        if item is not None:
            self.browser.setSource(f"{item.data(Qt.ItemDataRole.UserRole)}.html")

    def current_topic(self) -> str:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else ""
