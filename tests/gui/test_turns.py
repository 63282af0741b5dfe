"""GUI work in pieces: one piece per turn of the event loop, the window answering in between."""
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget
from shiboken6 import isValid

from mixgui.gui import turns


def test_input_and_timers_are_served_between_two_pieces(qtbot):
    order = []

    def first():
        order.append("first")
        # what a click or a due timer looks like: posted while the first piece runs
        QTimer.singleShot(0, lambda: order.append("event"))

    turns.soon(None, first)
    turns.soon(None, lambda: order.append("second"))
    qtbot.waitUntil(lambda: "second" in order and "event" in order, timeout=2000)
    # the old way (every piece on its own 1 ms timer) ran both pieces in one pass, before the event
    assert order == ["first", "event", "second"]


def test_visible_work_first_then_idle_work_then_deletions(qtbot):
    order = []
    doomed = QWidget()
    doomed.show()
    doomed.destroyed.connect(lambda *_: order.append("deleted"))
    turns.dispose(doomed)
    assert doomed.isHidden()  # gone for the user at once
    turns.when_idle(None, lambda: order.append("idle"))
    turns.soon(None, lambda: order.append("soon"))
    qtbot.waitUntil(lambda: turns.pending() == 0 and "deleted" in order, timeout=2000)
    assert order == ["soon", "idle", "deleted"]
    assert not isValid(doomed)


def test_work_for_a_deleted_owner_is_dropped(qtbot):
    ran = []
    owner = QWidget()
    turns.soon(owner, lambda: ran.append(1))
    owner.deleteLater()
    qtbot.waitUntil(lambda: not isValid(owner), timeout=2000)
    turns.soon(None, lambda: ran.append(2))
    qtbot.waitUntil(lambda: turns.pending() == 0 and 2 in ran, timeout=2000)
    assert ran == [2]
