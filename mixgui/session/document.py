"""The open document: a dataset, how it was made, its analyses, their kept fits, one undo stack.

Several analyses live side by side (like jamovi's results stream); one is current. Every user
action on the document is a command on :attr:`Session.undo_stack`: edits of an analysis, adding,
renaming and removing analyses, measurement-level changes, reshapes and computed variables. A
command stores the parts of the document it changes as whole snapshots (an :class:`Analysis`, a
:class:`~mixgui.data.dataset.Dataset` and a :class:`~mixgui.data.provenance.Provenance` are
never changed in place), so undo never has to reverse-engineer an edit and returns exactly the
state before. "Unsaved" is the stack not being at its clean index. Views subscribe with
:meth:`Session.subscribe` and redraw from the session; they change it only through its methods.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

from mixgui.analysis.builder import ModelDraft, add_to_role, draft_to_spec
from mixgui.analysis.options import CATEGORICAL_LEVELS
from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.data.provenance import Provenance, reshaped, with_level, with_recipe
from mixgui.session.commands import Command, UndoStack

# Events passed to subscribers: (event, index)
DATASET = "dataset"     # the data were replaced: rows may differ, earlier fits do not apply (index None)
VARIABLES = "variables"  # the same rows with other columns or measurement levels (index None)
ANALYSES = "analyses"   # analyses were added, removed or renamed (index: the one concerned)
ANALYSIS = "analysis"   # the content of analysis ``index`` changed by an edit, undo or redo
LOADED = "loaded"       # analysis ``index`` was replaced by a load (not an edit: nothing to undo);
                        # after :meth:`Session.load_analyses` the whole list is new (index: the current one)
CURRENT = "current"     # another analysis became current


_UIDS = itertools.count(1)  # identities of analyses, unique in the process
_GENERATIONS = itertools.count(1)  # identities of data versions (a reshape or an open makes a new one)
KEEP_PER_ANALYSIS = 4  # fits kept per analysis: enough to undo a few edits without refitting


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


@dataclass(frozen=True)
class KeptResult:
    """The last fit of one analysis: valid while ``spec`` is the analysis's and the data generation the same."""

    spec: AnalysisSpec
    generation: int
    revision: int
    result: object


class _Swap(Command):
    """Put some parts of the document (a dict: attribute -> value) in place; the inverse puts the old ones back."""

    def __init__(self, session: Session, text: str, new: dict, merge_key=None):
        super().__init__(text, merge_key)
        self.session = session
        self.old = session._parts(new)
        self.new = dict(new)

    def do(self) -> None:
        self.session._apply(self.new, self.old)

    def undo(self) -> None:
        self.session._apply(self.old, self.new)

    def merge(self, other: Command) -> bool:
        if not isinstance(other, _Swap) or other.session is not self.session or set(other.new) != set(self.new):
            return False
        self.new, self.text = other.new, other.text
        return True

    def is_obsolete(self) -> bool:
        return all(_same(self.old[k], self.new[k]) for k in self.new)


def _same(a, b) -> bool:
    # datasets compare by identity (two tables are never compared cell by cell); the rest by value
    if isinstance(a, Dataset) or isinstance(b, Dataset):
        return a is b
    return a == b


class Session:
    """The open document: dataset, provenance, analyses, the current one, kept fits and the undo stack.

    Parameters
    ----------
    dataset : mixgui.data.dataset.Dataset, optional
    analyses : iterable of Analysis, optional
        The analyses to start with; without any, one empty "Analysis 1".
    provenance : Provenance, optional
        How ``dataset`` was made from its file.

    Attributes
    ----------
    undo_stack : UndoStack
    generation : int
        Identifies the version of the rows: a reshape or newly opened data make a new one (undo
        brings the old one back); computed variables and level changes keep it.
    project_path, analysis_path : Path or None
        The project or analysis file the document was opened from or last saved to.
    source_stamp : tuple or None
        Size and modification time of the data file when it was read (None: the data came from a
        project, or none were read); :func:`mixgui.session.files.data_file_note` compares it.
    """

    def __init__(self, dataset=None, analyses=None, provenance: Provenance | None = None):
        self.dataset = dataset
        self.provenance = provenance or Provenance()
        self.generation = next(_GENERATIONS)
        self._analyses: list = list(analyses or [Analysis("Analysis 1", AnalysisSpec())])
        self._current = 0 if self._analyses else -1
        self.undo_stack = UndoStack()
        self.project_path = None
        self.analysis_path = None
        self.source_stamp = None  # (size, mtime) of the data file when read (see files.data_file_note)
        self._kept: dict = {}  # Analysis.uid -> list of KeptResult, newest last
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

    def is_unsaved(self) -> bool:
        """True when there are data and the undo stack is not where the document was opened or saved."""
        return self.dataset is not None and not self.undo_stack.is_clean()

    def mark_saved(self) -> None:
        """What is shown now is what was opened or saved."""
        self.undo_stack.set_clean()

    def mark_unsaved(self) -> None:
        """What is shown is saved nowhere (e.g. restored from a recovery copy)."""
        self.undo_stack.set_unclean()

    def subscribe(self, callback):
        """Call ``callback(event, index)`` after every change; returns a function that unsubscribes."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _emit(self, event: str, index) -> None:
        for cb in list(self._listeners):
            cb(event, index)

    # -- snapshots (what commands store) ------------------------------------------------------
    def _parts(self, keys) -> dict:
        names = {"analyses": "_analyses", "current": "_current"}
        return {k: (list(getattr(self, names[k])) if k == "analyses" else getattr(self, names.get(k, k)))
                for k in keys}

    def _apply(self, parts: dict, before: dict) -> None:
        """Put ``parts`` in place (``before`` is what they replace) and tell the subscribers what changed."""
        moved = "current" in parts and parts["current"] != self._current
        for k, v in parts.items():
            setattr(self, {"analyses": "_analyses", "current": "_current"}.get(k, k), list(v) if k == "analyses" else v)
        if "generation" in parts and parts["generation"] != before.get("generation"):
            self._emit(DATASET, None)
        elif "dataset" in parts or "provenance" in parts:
            self._emit(VARIABLES, None)
        if "analyses" in parts:
            old, new = before["analyses"], parts["analyses"]
            names_changed = [a.name for a in old] != [a.name for a in new]
            self._emit(ANALYSES if names_changed else ANALYSIS, self._current)
        if moved:
            self._emit(CURRENT, self._current)

    def _push(self, text: str, parts: dict, merge_key=None):
        return self.undo_stack.push(_Swap(self, text, parts, merge_key))

    def _push_analyses(self, text: str, analyses: list, current: int, merge_key=None):
        return self._push(text, {"analyses": list(analyses), "current": current}, merge_key)

    # -- analysis edits (each one undoable) --------------------------------------------------
    def add_analysis(self, spec: AnalysisSpec | None = None, name: str | None = None,
                     draft: ModelDraft | None = None) -> int:
        """Append an analysis and make it current; returns its index."""
        name = name or self._free_name()
        new = self._analyses + [Analysis(name, spec or self._empty_spec(), draft)]
        self._push_analyses(f"Add {name}", new, len(new) - 1)
        return len(new) - 1

    def duplicate_analysis(self, index: int) -> int:
        """Copy analysis ``index`` (as "… copy") and make the copy current."""
        a = self._analyses[index]
        return self.add_analysis(a.spec, f"{a.name} copy", a.draft)

    def remove_analysis(self, index: int) -> None:
        """Remove analysis ``index`` (undo brings it back); the last one is replaced by an empty one."""
        a = self._analyses[index]
        new = self._analyses[:index] + self._analyses[index + 1:] or [Analysis("Analysis 1", self._empty_spec())]
        current = min(self._current if self._current < index else max(self._current - 1, 0), len(new) - 1)
        self._push_analyses(f"Remove {a.name}", new, current)

    def rename_analysis(self, index: int, name: str) -> None:
        """Rename analysis ``index``; consecutive renames (typing) are one undo step."""
        new = list(self._analyses)
        new[index] = replace(new[index], name=name)
        self._push_analyses("Rename analysis", new, index, merge_key=("rename", index))

    def edit_analysis(self, index: int | None = None, spec: AnalysisSpec | None = None,
                      draft: ModelDraft | None = None, text: str = "Edit analysis", merge_key=None):
        """Replace the spec and/or draft of analysis ``index`` (default: the current one).

        Returns the command pushed (or merged into), None when nothing changed. ``merge_key``
        merges consecutive edits of one text field, e.g. ``"formula"``.
        """
        index = self._current if index is None else index
        new = self._edited(index, spec, draft)
        if new is None:
            return None
        return self._push_analyses(text, new, index, None if merge_key is None else (merge_key, index))

    def _edited(self, index: int, spec, draft) -> list | None:
        old = self._analyses[index]
        a = replace(old, spec=old.spec if spec is None else spec, draft=old.draft if draft is None else draft)
        if a == old:
            return None
        new = list(self._analyses)
        new[index] = a
        return new

    def edit_draft(self, draft: ModelDraft, text: str, merge_key=None, index: int | None = None):
        """Replace the draft of an analysis and its spec (made from the draft, keeping data and title)."""
        index = self._current if index is None else index
        draft, dataset = self._covariates_agree(draft)
        spec = draft_to_spec(draft, base=self._analyses[index].spec)
        if dataset is self.dataset:
            return self.edit_analysis(index, spec, draft, text, merge_key)
        # a categorical number column dropped in Covariates becomes continuous in the same undo step,
        # so the formula reopened (read with the columns' levels) puts it where the builder showed it
        new = self._edited(index, spec, draft) or list(self._analyses)
        return self._push(text, {"dataset": dataset, "analyses": new, "current": index})

    def _covariates_agree(self, draft: ModelDraft) -> tuple:
        """``(draft, dataset)`` with Covariates that the fit and a reload read as covariates too.

        A text column cannot be a covariate (the fit would treat it as categories while the builder
        shows a slope): it moves to Factors. A number column marked categorical is made continuous.
        """
        ds = self.dataset
        if ds is None:
            return draft, ds
        import pandas as pd

        frame = ds.frame
        present = [c for c in draft.covariates if c in frame.columns]
        text = [c for c in present if not pd.api.types.is_numeric_dtype(frame[c])
                or pd.api.types.is_bool_dtype(frame[c])]
        if text:
            draft = add_to_role(draft, "factors", text)
        for c in present:
            if c not in text and ds.levels.get(c) in CATEGORICAL_LEVELS:
                ds = with_level(ds, c, "continuous")
        return draft, ds

    # -- data edits (each one undoable) --------------------------------------------------------
    def set_level(self, column: str, level: str, draft: ModelDraft | None = None):
        """Change ``column``'s measurement level, as one undoable step.

        When the current analysis (its ``draft``, default the stored one) has ``column`` in the
        other predictor box (a covariate made nominal, a factor made continuous), it moves
        there in the same step. Returns the command, None when nothing changed.

        Raises
        ------
        DataError
            No data, no such column, or text made continuous.
        """
        from mixgui.errors import DataError

        if self.dataset is None:
            raise DataError("open a data file first")
        if self.dataset.levels.get(column) == level:
            return None
        parts = {"dataset": with_level(self.dataset, column, level)}
        a = self.current_analysis
        draft = draft if draft is not None else (a.draft if a is not None else None)
        categorical = level in CATEGORICAL_LEVELS
        if draft is not None and (column in (draft.covariates if categorical else draft.factors)):
            moved = add_to_role(draft, "factors" if categorical else "covariates", [column])
            parts["analyses"] = self._edited(self._current, draft_to_spec(moved, base=a.spec), moved) \
                or list(self._analyses)
            parts["current"] = self._current
        kind = "categorical" if categorical else "continuous"
        return self._push(f"Make {column} {level}" if "analyses" not in parts else f"Treat {column} as {kind}",
                          parts)

    def reshape(self, step):
        """Restructure the data (wide <-> long); computed variables are recomputed. Undoable.

        Raises
        ------
        DataError
            The step does not fit the table, or a computed variable uses a column it removes.
        """
        dataset, provenance = reshaped(self.dataset, self.provenance, step)
        kind = "long" if type(step).__name__ == "WideToLong" else "wide"
        return self._push(f"Reshape to {kind}", {"dataset": dataset, "provenance": provenance,
                                                "generation": next(_GENERATIONS)})

    def add_recipe(self, recipe):
        """Add a computed variable (the rows stay: fits kept so far stay valid). Undoable.

        Raises
        ------
        DataError
            The name is empty or taken, or the variable cannot be computed.
        """
        dataset, provenance = with_recipe(self.dataset, self.provenance, recipe)
        return self._push(f"Compute {recipe.name}", {"dataset": dataset, "provenance": provenance})

    # -- kept fits ---------------------------------------------------------------------------
    def keep_result(self, uid: int, spec: AnalysisSpec, generation: int, revision: int, result) -> None:
        """Keep ``result`` as a fit of analysis ``uid`` (fitted for ``spec`` on data ``generation``).

        The last :data:`KEEP_PER_ANALYSIS` fits of each analysis are kept, so undoing an edit (or a
        reshape) shows the fit of the model it returns to at once.
        """
        kept = [k for k in self._kept.get(uid, []) if not (k.spec == spec and k.generation == generation)]
        kept.append(KeptResult(spec, generation, revision, result))
        self._kept[uid] = kept[-KEEP_PER_ANALYSIS:]

    def kept_result(self, analysis: Analysis | None = None) -> KeptResult | None:
        """The kept fit of ``analysis`` (default: the current one) that belongs to its spec and the data."""
        a = analysis if analysis is not None else self.current_analysis
        if a is None:
            return None
        # its own fits first (newest first); then a duplicate's, or those of an analysis brought back
        # by undo: a fit of the very same spec on the same rows is its fit too
        candidates = list(reversed(self._kept.get(a.uid, [])))
        candidates += [k for uid, ks in self._kept.items() if uid != a.uid for k in reversed(ks)]
        return next((k for k in candidates if k.generation == self.generation and k.spec == a.spec), None)

    def forget_results(self) -> None:
        """Forget every kept fit (e.g. other data were opened)."""
        self._kept.clear()

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

    def set_dataset(self, dataset, provenance: Provenance | None = None) -> None:
        """Replace the data by newly read ones (not an edit: not undoable, fits kept so far forgotten).

        The edits on the stack are about other data, so the history is cleared; the new data
        are saved nowhere yet (see :meth:`mark_saved` after opening a file).
        """
        self.dataset = dataset
        self.provenance = provenance or Provenance()
        self.generation = next(_GENERATIONS)
        self.source_stamp = None
        self._kept.clear()
        self.undo_stack.clear()
        self.undo_stack.set_unclean()
        self._emit(DATASET, None)

    def _empty_spec(self) -> AnalysisSpec:
        """A new analysis: no model yet, about the data the others use (so its file names them)."""
        a = self.current_analysis
        return AnalysisSpec(data=a.spec.data) if a is not None else AnalysisSpec()

    def _free_name(self) -> str:
        names = {a.name for a in self._analyses}
        n = len(self._analyses) + 1
        while f"Analysis {n}" in names:
            n += 1
        return f"Analysis {n}"
