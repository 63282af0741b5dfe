"""A Qt-free undo stack: every user edit is a :class:`Command` with ``do``/``undo`` and a text.

Like Qt's QUndoStack (and glue's command stack) without Qt, so the session and its tests run
without a display. Consecutive commands with the same ``merge_key`` merge into one (typing in a
text field is one undo step, not one per key), until :meth:`UndoStack.close_merge`, an undo or a
redo ends the run. A merged command that ends where it started is dropped.
"""
from __future__ import annotations

from contextlib import contextmanager


class Command:
    """One undoable edit.

    Parameters
    ----------
    text : str
        What the edit did, in the user's words ("Add Days to Covariates"); shown as "Undo …".
    merge_key : hashable, optional
        Commands with equal, non-None keys pushed one after the other merge.
    """

    def __init__(self, text: str, merge_key=None):
        self.text = text
        self.merge_key = merge_key

    def do(self) -> None:
        """Apply the edit (also called to redo it)."""
        raise NotImplementedError

    def undo(self) -> None:
        """Revert the edit."""
        raise NotImplementedError

    def merge(self, other: Command) -> bool:
        """Absorb ``other`` (already done) into this command; False when they cannot merge."""
        return False

    def is_obsolete(self) -> bool:
        """True when the command (after merging) changes nothing and can be dropped."""
        return False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.text!r}>"


class MacroCommand(Command):
    """Several commands done and undone as one step (see :meth:`UndoStack.macro`)."""

    def __init__(self, text: str, children=()):
        super().__init__(text)
        self.children = list(children)

    def do(self) -> None:
        for c in self.children:
            c.do()

    def undo(self) -> None:
        for c in reversed(self.children):
            c.undo()

    def is_obsolete(self) -> bool:
        return not self.children


class UndoStack:
    """Commands done so far (below ``index``) and undone ones that can be redone (from ``index``).

    Parameters
    ----------
    on_change : callable, optional
        Called with no argument after every push, undo, redo or clear (e.g. to update the
        Undo/Redo actions). More listeners with :meth:`subscribe`.
    limit : int
        Keep at most this many commands (0: no limit).
    """

    def __init__(self, on_change=None, limit: int = 0):
        self._commands: list = []
        self._index = 0
        self._clean = 0
        self._merge_open = False
        self._busy = False
        self._macro: MacroCommand | None = None
        self.limit = limit
        self._listeners: list = [on_change] if on_change is not None else []

    # -- listening ------------------------------------------------------------------------
    def subscribe(self, callback):
        """Call ``callback()`` after every change; returns a function that unsubscribes."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _changed(self) -> None:
        for cb in list(self._listeners):
            cb()

    # -- state ----------------------------------------------------------------------------
    @property
    def index(self) -> int:
        """How many commands are done."""
        return self._index

    def __len__(self) -> int:
        return len(self._commands)

    def command(self, i: int) -> Command:
        return self._commands[i]

    def can_undo(self) -> bool:
        return self._index > 0 and self._macro is None

    def can_redo(self) -> bool:
        return self._index < len(self._commands) and self._macro is None

    def undo_text(self) -> str:
        return self._commands[self._index - 1].text if self.can_undo() else ""

    def redo_text(self) -> str:
        return self._commands[self._index].text if self.can_redo() else ""

    def is_clean(self) -> bool:
        """True when the state is the one marked by :meth:`set_clean` (e.g. last saved)."""
        return self._index == self._clean

    def set_clean(self) -> None:
        """The state now is the saved one."""
        self._clean = self._index
        self._merge_open = False  # a later keystroke must not merge into the saved state
        self._changed()

    def set_unclean(self) -> None:
        """No state on the stack is saved anywhere (e.g. work restored from a recovery copy)."""
        self._clean = -1
        self._changed()

    # -- editing --------------------------------------------------------------------------
    def push(self, command: Command) -> Command:
        """Do ``command`` and put it on the stack (dropping what could be redone).

        Returns the command that holds the edit: ``command`` itself, or the earlier command it
        merged into. Raises RuntimeError when called while a command is being done or undone
        (a listener that pushes in reaction to a change would corrupt the history).
        """
        if self._busy:
            raise RuntimeError(f"cannot push {command.text!r} while another command runs")
        self._run(command.do)
        if self._macro is not None:
            self._macro.children.append(command)
            return command
        top = self._commands[self._index - 1] if self._index and self._merge_open else None
        if top is not None and command.merge_key is not None and top.merge_key == command.merge_key \
                and top.merge(command):
            del self._commands[self._index:]
            if top.is_obsolete():
                # back where the run started by value: put the very objects of then back, so no
                # identity (an analysis's uid, with its kept fits) changes without an undo step
                self._run(top.undo)
                self._commands.pop()
                self._index -= 1
                self._merge_open = False
            self._changed()
            return top
        if command.is_obsolete():
            self._run(command.undo)  # it changed nothing by value: the old objects go back (see above)
            self._changed()
            return command
        self._record(command)
        self._merge_open = True  # set after _record, which closes it
        return command

    def _record(self, command: Command) -> None:
        """Append an already done command, dropping the redo tail."""
        del self._commands[self._index:]
        if self._clean > self._index:
            self._clean = -1  # the saved state can no longer be reached
        self._commands.append(command)
        self._index += 1
        if self.limit and len(self._commands) > self.limit:
            drop = len(self._commands) - self.limit
            del self._commands[:drop]
            self._index -= drop
            self._clean -= drop
        self._merge_open = False
        self._changed()

    def undo(self) -> bool:
        """Undo the last done command; False when there is none."""
        if not self.can_undo():
            return False
        self._index -= 1
        self._merge_open = False
        self._run(self._commands[self._index].undo)
        self._changed()
        return True

    def redo(self) -> bool:
        """Redo the next undone command; False when there is none."""
        if not self.can_redo():
            return False
        self._run(self._commands[self._index].do)
        self._index += 1
        self._merge_open = False
        self._changed()
        return True

    def close_merge(self) -> None:
        """End the current run of merging edits (the next edit is a new undo step)."""
        self._merge_open = False

    def clear(self) -> None:
        """Forget every command (e.g. after opening another document)."""
        self._commands.clear()
        self._index = self._clean = 0
        self._merge_open = False
        self._changed()

    @contextmanager
    def macro(self, text: str):
        """Group the commands pushed inside the ``with`` block into one undo step."""
        if self._macro is not None:  # nested: the outer macro collects everything
            yield self._macro
            return
        self._macro = MacroCommand(text)
        macro = self._macro
        try:
            yield macro
        except BaseException:
            self._macro = None
            self._run(macro.undo)  # leave no half-done group behind
            raise
        self._macro = None
        if macro.children:
            self._record(macro)

    def _run(self, fn) -> None:
        self._busy = True
        try:
            fn()
        finally:
            self._busy = False
