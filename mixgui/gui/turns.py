"""GUI work in pieces, one piece per turn of the event loop, so the window keeps answering.

Showing a result on a 200,000-row study is several pieces of 30-100 ms each: the tables, the plot
of the visible tab, the random effects per group, deleting the old tabs and cards. A zero or 1 ms
timer per piece does not keep them apart: every piece whose timer is due runs in the same pass of
the event loop, so a click waited for all of them together (about half a second). Here the pieces
wait in a queue and a single timer runs one of them per pass, with input, paint and the other
timers handled in between.

Three queues, in this order: :func:`soon` for what the user waits to see, :func:`when_idle` for
preparing what may be asked for next (a spare plot), and :func:`dispose` for deleting widgets that
are already hidden.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QWidget
from shiboken6 import isValid

#: ms between two pieces. Not 0: a zero timer is a posted event, run before input is looked at
GAP_MS = 1


class _Turns(QObject):
    """The two queues and the timer that runs one piece per turn."""

    def __init__(self):
        super().__init__()
        self.work: deque = deque()     # (owner, function)
        self.idle: deque = deque()     # (owner, function), run when no work waits
        self.trash: deque = deque()    # hidden widgets waiting to be deleted
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(GAP_MS)
        self.timer.timeout.connect(self._next)

    def wake(self) -> None:
        if not self.timer.isActive():
            self.timer.start()

    def _next(self) -> None:
        try:
            for queue in (self.work, self.idle):
                while queue:
                    owner, function = queue.popleft()
                    if owner is None or isValid(owner):  # its widget may have been deleted meanwhile
                        function()
                        return
            while self.trash:
                widget = self.trash.popleft()
                if isValid(widget):
                    widget.deleteLater()  # deleted in this pass's deferred deletes, alone
                    return
        finally:
            if self.work or self.idle or self.trash:
                self.timer.start()


_turns: _Turns | None = None


def _queue() -> _Turns:
    global _turns
    if _turns is None or not isValid(_turns):
        _turns = _Turns()
    return _turns


def soon(owner: QObject | None, function: Callable[[], None]) -> None:
    """Run ``function`` in a later turn of the event loop, after the pieces queued before it.

    Parameters
    ----------
    owner : QObject or None
        The object the work is for; when it is deleted before its turn, the work is dropped.
    function : callable
        Called without arguments; one such call per turn of the event loop.
    """
    q = _queue()
    q.work.append((owner, function))
    q.wake()


def when_idle(owner: QObject | None, function: Callable[[], None]) -> None:
    """Like :func:`soon`, but run only once no piece queued with :func:`soon` waits."""
    q = _queue()
    q.idle.append((owner, function))
    q.wake()


def dispose(widget: QWidget) -> None:
    """Hide ``widget`` now and delete it later, one widget per turn, once no other piece waits.

    Parameters
    ----------
    widget : QWidget
        Already taken out of its layout or tab widget. It keeps its parent until deleted, so
        closing the window still frees it.
    """
    widget.hide()
    q = _queue()
    q.trash.append(widget)
    q.wake()


def pending() -> int:
    """How many pieces (work and deletions) are waiting."""
    if _turns is None or not isValid(_turns):
        return 0
    return len(_turns.work) + len(_turns.idle) + len(_turns.trash)
