"""The open document: a dataset, its analyses and one undo stack.

Several analyses live side by side (like jamovi's results stream); one is current. Every edit of
an analysis is a command on :attr:`Session.undo_stack`, which stores whole snapshots (an
:class:`Analysis` is immutable), so undo never has to reverse-engineer an edit. Views subscribe
with :meth:`Session.subscribe` and redraw from the session; they never change it directly.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

from mixgui.analysis.builder import ModelDraft, draft_to_spec
from mixgui.analysis.spec import AnalysisSpec
from mixgui.session.commands import Command, UndoStack

# Events passed to subscribers: (event, index)
DATASET = "dataset"     # the dataset was replaced (index None)
ANALYSES = "analyses"   # analyses were added, removed or renamed (index: the one concerned)
ANALYSIS = "analysis"   # the content of analysis ``index`` changed by an edit, undo or redo
LOADED = "loaded"       # analysis ``index`` was replaced by a load (not an edit: nothing to undo);
                        # after :meth:`Session.load_analyses` the whole list is new (index: the current one)
CURRENT = "current"     # another analysis became current


_UIDS = itertools.count(1)  # identities of analyses, unique in the process


@dataclass(frozen=True)
class Analysis:
    """One analysis of the session.

    Attributes
    ----------
    name : str
        Shown in the analysis picker ("Analysis 1").
    spec : AnalysisSpec
        What is fitted and saved.
    draft : ModelDraft or None
        The builder's fuller view of ``spec`` (which box each variable sits in); None until a
        builder has shown it.
    uid : int
        Identifies the analysis across edits, renames, undo and redo (``dataclasses.replace``
        keeps it; a new or duplicated analysis gets a new one), so a view can keep things per
        analysis, e.g. its last fit. Not part of equality.
    """

    name: str
    spec: AnalysisSpec
    draft: ModelDraft | None = None
    uid: int = field(default_factory=lambda: next(_UIDS), compare=False)


class _Replace(Command):
    """Swap the analysis list (and current index) for another snapshot; the inverse swaps back."""

    def __init__(self, session: Session, text: str, new: list, new_current: int, merge_key=None):
        super().__init__(text, merge_key)
        self.session = session
        self.old, self.old_current = list(session.analyses), session.current
        self.new, self.new_current = list(new), new_current
        self.event_index = new_current

    def do(self) -> None:
        self.session._swap(self.new, self.new_current, self.event_index, self._event())

    def undo(self) -> None:
        self.session._swap(self.old, self.old_current, self.event_index, self._event())

    def _event(self) -> str:
        return ANALYSES if len(self.old) != len(self.new) or [a.name for a in self.old] != [a.name for a in self.new] \
            else ANALYSIS

    def merge(self, other: Command) -> bool:
        if not isinstance(other, _Replace) or other.session is not self.session:
            return False
        self.new, self.new_current, self.text = other.new, other.new_current, other.text
        return True

    def is_obsolete(self) -> bool:
        return self.old == self.new


class Session:
    """A dataset, a list of analyses, the current one, and the undo stack of their edits.

    Parameters
    ----------
    dataset : mixgui.data.dataset.Dataset, optional
    analyses : iterable of Analysis, optional
        The analyses to start with; without any, one empty "Analysis 1".
    """

    def __init__(self, dataset=None, analyses=None):
        self.dataset = dataset
        self._analyses: list = list(analyses or [Analysis("Analysis 1", AnalysisSpec())])
        self._current = 0 if self._analyses else -1
        self.undo_stack = UndoStack()
        self._listeners: list = []

    # -- reading ----------------------------------------------------------------------------
    @property
    def analyses(self) -> tuple:
        return tuple(self._analyses)

    @property
    def current(self) -> int:
        """Index of the current analysis (-1 when there is none)."""
        return self._current

    @property
    def current_analysis(self) -> Analysis | None:
        return self._analyses[self._current] if 0 <= self._current < len(self._analyses) else None

    def subscribe(self, callback):
        """Call ``callback(event, index)`` after every change; returns a function that unsubscribes."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _emit(self, event: str, index) -> None:
        for cb in list(self._listeners):
            cb(event, index)

    def _swap(self, analyses: list, current: int, index: int, event: str) -> None:
        self._analyses = list(analyses)
        moved = current != self._current
        self._current = current
        self._emit(event, index)
        if moved:
            self._emit(CURRENT, current)

    def _push(self, text: str, analyses: list, current: int, merge_key=None):
        cmd = _Replace(self, text, analyses, current, merge_key)
        return self.undo_stack.push(cmd)

    # -- edits (each one undoable) ------------------------------------------------------------
    def add_analysis(self, spec: AnalysisSpec | None = None, name: str | None = None,
                     draft: ModelDraft | None = None) -> int:
        """Append an analysis and make it current; returns its index."""
        name = name or self._free_name()
        new = self._analyses + [Analysis(name, spec or AnalysisSpec(), draft)]
        self._push(f"Add {name}", new, len(new) - 1)
        return len(new) - 1

    def duplicate_analysis(self, index: int) -> int:
        """Copy analysis ``index`` (as "… copy") and make the copy current."""
        a = self._analyses[index]
        return self.add_analysis(a.spec, f"{a.name} copy", a.draft)

    def remove_analysis(self, index: int) -> None:
        """Remove analysis ``index`` (undo brings it back); the last one is replaced by an empty one."""
        a = self._analyses[index]
        new = self._analyses[:index] + self._analyses[index + 1:] or [Analysis("Analysis 1", AnalysisSpec())]
        current = min(self._current if self._current < index else max(self._current - 1, 0), len(new) - 1)
        self._push(f"Remove {a.name}", new, current)

    def rename_analysis(self, index: int, name: str) -> None:
        """Rename analysis ``index``; consecutive renames (typing) are one undo step."""
        new = list(self._analyses)
        new[index] = replace(new[index], name=name)
        self._push("Rename analysis", new, index, merge_key=("rename", index))

    def edit_analysis(self, index: int | None = None, spec: AnalysisSpec | None = None,
                      draft: ModelDraft | None = None, text: str = "Edit analysis", merge_key=None):
        """Replace the spec and/or draft of analysis ``index`` (default: the current one).

        Returns the command pushed (or merged into), None when nothing changed. ``merge_key``
        merges consecutive edits of one text field, e.g. ``"formula"``.
        """
        index = self._current if index is None else index
        old = self._analyses[index]
        a = replace(old, spec=old.spec if spec is None else spec, draft=old.draft if draft is None else draft)
        if a == old:
            return None
        new = list(self._analyses)
        new[index] = a
        return self._push(text, new, index, None if merge_key is None else (merge_key, index))

    def edit_draft(self, draft: ModelDraft, text: str, merge_key=None, index: int | None = None):
        """Replace the draft of an analysis and its spec (made from the draft, keeping data and title)."""
        index = self._current if index is None else index
        spec = draft_to_spec(draft, base=self._analyses[index].spec)
        return self.edit_analysis(index, spec, draft, text, merge_key)

    # -- changes that are not edits -----------------------------------------------------------
    def load_analysis(self, spec: AnalysisSpec, draft: ModelDraft | None = None, index: int | None = None,
                      clear_history: bool = True) -> None:
        """Put an opened analysis in place of analysis ``index`` (a new document: history cleared)."""
        index = self._current if index is None else index
        self._analyses[index] = replace(self._analyses[index], spec=spec, draft=draft)
        if clear_history:
            self.undo_stack.clear()
        self._emit(LOADED, index)

    def load_analyses(self, analyses, current: int = 0) -> None:
        """Replace every analysis by opened ones (a project, a new document: history cleared).

        Emits ``(LOADED, current)`` once; views that list the analyses redraw the whole list.
        """
        self._analyses = list(analyses) or [Analysis("Analysis 1", AnalysisSpec())]
        self._current = min(max(int(current), 0), len(self._analyses) - 1)
        self.undo_stack.clear()
        self._emit(LOADED, self._current)

    def set_current(self, index: int) -> None:
        """Show another analysis (navigation, not an edit)."""
        if index != self._current:
            if not 0 <= index < len(self._analyses):
                raise IndexError(f"no analysis {index}")
            self._current = index
            self.undo_stack.close_merge()
            self._emit(CURRENT, index)

    def set_dataset(self, dataset) -> None:
        """Replace the dataset (not undoable: the data are not part of the history)."""
        self.dataset = dataset
        self._emit(DATASET, None)

    def _free_name(self) -> str:
        names = {a.name for a in self._analyses}
        n = len(self._analyses) + 1
        while f"Analysis {n}" in names:
            n += 1
        return f"Analysis {n}"
