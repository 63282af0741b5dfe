"""The Help window teaches; the mouse wheel never changes a setting the user did not click."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QComboBox, QScrollArea, QVBoxLayout, QWidget

from mixgui.gui.help_window import HelpWindow, help_folder, topics


def test_every_concept_has_a_page_with_a_picture(qtbot):
    keys = [k for k, _ in topics()]
    assert keys[0] == "tour"
    assert {"random_intercept", "random_slope", "reml_ml", "df_methods", "covariance", "emmeans", "icc", "glmm",
            "planning"} <= set(keys)
    for key in keys[1:]:
        page = (help_folder() / f"{key}.html").read_text(encoding="utf-8")
        assert "<img src=" in page and len(page) > 600, key
    win = HelpWindow("icc")
    qtbot.addWidget(win)
    assert win.current_topic() == "icc"
    assert "design effect" in win.browser.toPlainText()
    win.show_topic("glmm")
    assert "odds ratio" in win.browser.toPlainText()
    win.show_topic("random_slope")
    assert "random slope" in win.browser.toPlainText().lower()


def _wheel(widget, delta=-120):
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    ev = QWheelEvent(pos, widget.mapToGlobal(pos), QPoint(0, 0), QPoint(0, delta), Qt.MouseButton.NoButton,
                     Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, ev)


def test_scrolling_over_a_drop_down_scrolls_the_pane_not_the_setting(qtbot):
    area = QScrollArea()
    inner = QWidget()
    lay = QVBoxLayout(inner)
    combo = QComboBox()
    combo.addItems(["Kenward-Roger", "Satterthwaite", "Residual"])
    lay.addWidget(combo)
    for _ in range(40):
        lay.addWidget(QComboBox())
    area.setWidget(inner)
    area.resize(300, 200)
    qtbot.addWidget(area)
    area.show()
    qtbot.waitExposed(area)
    area.setFocus()
    before = area.verticalScrollBar().value()
    _wheel(combo)
    assert combo.currentIndex() == 0  # unchanged: the user only scrolled
    assert area.verticalScrollBar().value() > before  # the pane scrolled instead
    combo.setFocus()  # a click on it first: now the wheel is a deliberate act
    qtbot.waitUntil(combo.hasFocus)
    _wheel(combo)
    assert combo.currentIndex() == 1
