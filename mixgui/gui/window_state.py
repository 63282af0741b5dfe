"""The window's session: opening and saving data, analyses and projects, and the data's making.

The window shows a table made from a file in three recorded stages: read with import options,
restructured by reshape steps, extended by computed-variable recipes. Whatever the window
saves (analysis file, project, recovery copy) records the stages, and whatever it shows is what
replaying them gives, so a saved analysis reopens to the same table and the report's R script
rebuilds it.

The analyses come from the window's :class:`~mixgui.session.document.Session`, which the model
builder edits: an analysis file holds the current analysis, a project (and a recovery copy) all
of them with their names. Opening either loads the specs into the session, so the builder shows
them.

:class:`SessionMixin` gives :class:`~mixgui.gui.main_window.MainWindow` its file and data
commands (given a path or a choice; the dialogs that ask for them are in :mod:`mixgui.gui.menus`).
The module-level functions take the window, read its state and never show anything.
"""
from __future__ import annotations

import importlib.resources
import json
import logging
import os
from dataclasses import replace
from pathlib import Path

from mixgui.analysis.options import CATEGORICAL_LEVELS as CATEGORICAL
from mixgui.analysis.spec import AnalysisSpec, DataRef, load_spec
from mixgui.data.computed import apply_recipes
from mixgui.data.dataset import Dataset
from mixgui.data.importing import ImportOptions, load_analysis_data, read_with_options
from mixgui.errors import DataError, MixGUIError
from mixgui.fileio import atomic_write_text
from mixgui.session.document import Analysis

log = logging.getLogger(__name__)


#: the imported file is kept inside a project up to this size, so the project is complete elsewhere
MAX_ORIGINAL_BYTES = 50 * 1024 * 1024


def example_path(name: str = "square_study.analysis.json") -> Path:
    """Path of a file shipped in ``mixgui.resources/examples``."""
    return Path(str(importlib.resources.files("mixgui.resources") / "examples" / name))


# -- analysis files --------------------------------------------------------------------------

def read_analysis(path) -> tuple:
    """Read an analysis file and rebuild its table.

    Returns
    -------
    (AnalysisSpec, Dataset, dict)
        The dict holds ``import_options`` (never None: at least the sheet), ``steps`` and ``recipes``.
    """
    spec, data_path = load_spec(path)  # checks the file and says what is wrong with it
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    dataset, made = load_analysis_data(data_path, raw)
    made = dict(made)
    made["import_options"] = made["import_options"] or ImportOptions(sheet=spec.data.sheet)
    return spec, dataset, made


def analysis_dict(window, path) -> dict:
    """The analysis file of the current analysis, its data path relative to ``path`` when possible."""
    spec = window.builder.spec()
    d = spec.to_dict()
    options = window.import_options
    data = dict(d["data"])
    ds = window.dataset
    if ds is not None and ds.source:
        source = Path(ds.source).resolve()
        try:
            rel = os.path.relpath(source, Path(path).resolve().parent)
        except ValueError:  # another drive on Windows
            rel = str(source)
        data["path"] = rel.replace(os.sep, "/")
    if options is not None:
        data["sheet"] = options.sheet
        if not options.is_plain():
            data["import"] = {k: v for k, v in options.to_dict().items() if k != "sheet"}
    if window.steps:
        data["reshape"] = [s.to_dict() for s in window.steps]
    d["data"] = data
    if window.recipes:
        d["computed"] = [r.to_dict() for r in window.recipes]
    return d


def write_analysis(window, path) -> None:
    """Write the analysis file atomically (raises OSError)."""
    atomic_write_text(path, json.dumps(analysis_dict(window, path), indent=2, ensure_ascii=False) + "\n")


# -- projects --------------------------------------------------------------------------------

def snapshot(window, include_original: bool = True):
    """The session as a :class:`~mixgui.session.project.Project`.

    ``include_original`` keeps the imported file's bytes (up to :data:`MAX_ORIGINAL_BYTES`);
    recovery copies leave them out, since they are written often.
    """
    from mixgui.session.project import Project

    ds = window.dataset
    session = window.session
    specs = [a.spec for a in session.analyses]
    options = window.import_options
    original = None
    if ds is not None and ds.source:
        source = Path(ds.source)
        specs = [s.with_(data=DataRef(str(source.resolve()), options.sheet if options else s.data.sheet))
                 for s in specs]
        if include_original and source.is_file() and source.stat().st_size <= MAX_ORIGINAL_BYTES:
            original = (source.name, source.read_bytes())
    dataset = None
    if ds is not None:  # a copy of the levels: the project must not change when the window does
        dataset = Dataset(ds.frame, ds.name, dict(ds.levels), dict(ds.labels), ds.source)
    # the names and which analysis was shown are the window's business: free metadata for the file
    names = {"names": [a.name for a in session.analyses], "current": session.current}
    return Project(dataset=dataset, analyses=specs, import_options=options, steps=list(window.steps),
                   recipes=list(window.recipes), original=original,
                   metadata={"plot_share": window.results_panel.plot_share(), "analyses": names})


def project_analyses(project) -> tuple:
    """``(analyses, current)`` of a loaded project: its specs with the names it saved (or "Analysis n")."""
    specs = list(project.analyses) or [AnalysisSpec(data=DataRef(project.dataset.source or ""))]
    meta = project.metadata.get("analyses") if isinstance(project.metadata, dict) else None
    names = meta.get("names") if isinstance(meta, dict) else None
    if not (isinstance(names, list) and len(names) == len(specs) and all(isinstance(n, str) and n.strip()
                                                                           for n in names)):
        names = [f"Analysis {k}" for k in range(1, len(specs) + 1)]  # an older or hand-made project
    current = meta.get("current", 0) if isinstance(meta, dict) else 0
    current = current if isinstance(current, int) and 0 <= current < len(specs) else 0
    return [Analysis(n, s) for n, s in zip(names, specs)], current


# -- reshaping and computed variables --------------------------------------------------------

def base_frame(window):
    """The window's table without its computed columns (what reshape steps apply to)."""
    frame = window.dataset.frame
    made = [r.name for r in window.recipes if r.name in frame.columns]
    return frame.drop(columns=made) if made else frame


def _base_name(name: str) -> str:
    return name.split(" · ")[0]


def reshaped(window, step) -> Dataset:
    """The window's data restructured by ``step``, computed variables recomputed on the result.

    Raises
    ------
    DataError
        The step does not fit the table, or a computed variable uses a column the step removes.
    """
    ds = window.dataset
    new = step.apply(base_frame(window))
    try:
        new = apply_recipes(new, window.recipes)
    except DataError as e:
        raise DataError(f"the computed variables cannot be remade after restructuring: {e}") from None
    kind = "long" if type(step).__name__ == "WideToLong" else "wide"
    return Dataset(new, f"{_base_name(ds.name)} · {kind}",
                   {c: v for c, v in ds.levels.items() if c in new.columns},
                   {c: v for c, v in ds.labels.items() if c in new.columns}, ds.source)


def with_recipe(window, recipe) -> Dataset:
    """The window's data with one more computed variable (all recipes replayed, as on reopening)."""
    ds = window.dataset
    if not str(recipe.name).strip():
        raise DataError("the new variable has no name; give it one")
    if recipe.name in ds.frame.columns:
        raise DataError(f'a column called "{recipe.name}" exists already; choose another name')
    new = apply_recipes(base_frame(window), list(window.recipes) + [recipe])
    return Dataset(new, ds.name, dict(ds.levels), dict(ds.labels), ds.source)


# -- unsaved work ----------------------------------------------------------------------------

def state_key(window) -> tuple:
    """What saving records: compare two keys with :func:`same_state`."""
    ds = window.dataset
    analyses = tuple((a.name, a.spec) for a in window.session.analyses)
    return (analyses, ds, dict(ds.levels) if ds is not None else None,
            window.import_options, tuple(window.steps), tuple(window.recipes))


def same_state(a, b) -> bool:
    """True when two :func:`state_key` results describe the same work."""
    if a is None or b is None:
        return False
    return a[1] is b[1] and a[0] == b[0] and a[2:] == b[2:]


class SessionMixin:
    """Open, save, restructure, compute and export; mixed into the main window.

    Expects the window's attributes (``session``, ``dataset``, ``import_options``, ``steps``,
    ``recipes``, ``builder``, ``results_panel``, ``status``, ``commands``, ``recovery``) and methods
    (``set_dataset``, ``show_error``, ``fit``, ``_refresh_levels``).
    """

    def open_data(self, path, sheet: str | None = None, options=None) -> bool:
        """Read a data file (as ``options`` say) and show it; on error show a message and keep the session."""
        options = options if options is not None else ImportOptions(sheet=sheet)
        try:
            dataset = read_with_options(path, options)
        except Exception as e:  # noqa: BLE001 - a reader bug must not close the window either
            return self._open_failed("Cannot open the data", path, e)
        self.set_data_state(dataset, options, [], [])
        self.analysis_path = self.project_path = None
        # the analyses stay (a new file of the same study fits the same models), now about these data;
        # reloaded from their specs, so the boxes are made anew from the new columns
        ref = DataRef(str(dataset.source), options.sheet)
        self.session.load_analyses([replace(a, spec=a.spec.with_(data=ref), draft=None)
                                    for a in self.session.analyses], self.session.current)
        self.commands.add_recent(path)
        self.mark_saved()  # nothing done to the file yet: nothing to lose
        return True

    def open_analysis(self, path, fit: bool = True) -> bool:
        """Open an analysis file and its data (redoing its import, reshape and computed variables)."""
        try:
            spec, dataset, made = read_analysis(path)
        except Exception as e:  # noqa: BLE001
            return self._open_failed("Cannot open the analysis", path, e)
        self.set_data_state(dataset, made["import_options"], made["steps"], made["recipes"])
        self.analysis_path, self.project_path = Path(path), None
        self._show_analyses([Analysis("Analysis 1", spec)])
        self.commands.add_recent(path)
        self.mark_saved()
        if fit:
            self.fit()
        return True

    def open_example(self, fit: bool = True) -> bool:
        """Open the demo study with its ready analysis."""
        return self.open_analysis(example_path(), fit=fit)

    def save_analysis(self, path) -> bool:
        """Write the current analysis (the builder's), with how its data were made, to ``path``."""
        path = Path(path)
        try:
            write_analysis(self, path)
        except OSError as e:
            self.show_error("Cannot save the analysis", f"{path} could not be written: {e.strerror or e}")
            return False
        self.analysis_path = path
        self.commands.add_recent(path)
        # the file rebuilds the table (import, reshape, computed variables) and the model
        self.mark_saved()
        self.recovery.autosaver.discard()
        self.status.show_text(f"Saved {path.name}")
        return True

    def open_project(self, path, fit: bool = True) -> bool:
        """Open a ``.mixgui`` project: its data as saved, how they were made, and its analysis."""
        from mixgui.session.project import load_project

        try:
            project = load_project(path)
        except Exception as e:  # noqa: BLE001
            return self._open_failed("Cannot open the project", path, e)
        if not self.apply_project(project, project_path=path):
            return False
        self.commands.add_recent(path)
        self.mark_saved()
        if project.load_warnings:
            self.status.show_text(" ".join(project.load_warnings))
        if fit:
            self.fit()
        return True

    def apply_project(self, project, project_path=None) -> bool:
        """Show a loaded :class:`~mixgui.session.project.Project` (used by open and restore)."""
        if project.dataset is None:
            self.show_error("Cannot open the project", "The project holds no data.")
            return False
        self.set_data_state(project.dataset, project.import_options, project.steps, project.recipes)
        self._show_analyses(*project_analyses(project))
        self.project_path = Path(project_path) if project_path else None
        self.analysis_path = None
        return True

    def save_project(self, path) -> bool:
        """Save data, analysis and how the data were made to a ``.mixgui`` file."""
        from mixgui.session.project import save_project

        path = Path(path)
        try:
            save_project(self.project_snapshot(), path)
        except (MixGUIError, OSError) as e:
            self.show_error("Cannot save the project", str(e))
            return False
        except Exception as e:  # noqa: BLE001 - a bug of ours: say so, keep the work (and the recovery copy)
            log.exception("saving %s failed", path)
            self.show_error("Cannot save the project", f"{path.name} could not be written ({type(e).__name__}: {e})")
            return False
        self.project_path = path
        self.commands.add_recent(path)
        self.mark_saved()
        self.recovery.autosaver.discard()  # the saved file is now the safe copy
        self.status.show_text(f"Saved {path.name}")
        self._update_title()
        return True

    def project_snapshot(self, include_original: bool = True):
        """The session as a :class:`~mixgui.session.project.Project`."""
        return snapshot(self, include_original)

    def _open_failed(self, title: str, path, e: Exception) -> bool:
        if isinstance(e, MixGUIError):
            self.show_error(title, str(e))
        else:
            log.exception("opening %s failed", path)
            self.show_error(title, f"{Path(path).name} could not be opened ({type(e).__name__}: {e})")
        return False

    def _show_analyses(self, analyses: list, current: int = 0) -> None:
        """Put opened analyses in the session (the builder shows the current one); history cleared."""
        for a in analyses:
            for col in a.spec.factors:  # the analysis says these columns are categorical
                if col in self.dataset.levels and self.dataset.levels[col] not in CATEGORICAL:
                    self.dataset.levels[col] = "nominal"
        self._refresh_levels()
        self.session.load_analyses(analyses, current)

    def set_data_state(self, dataset: Dataset, import_options, steps, recipes) -> None:
        """Show ``dataset`` made from its file by ``import_options``, ``steps`` and ``recipes``."""
        self.import_options, self.steps, self.recipes = import_options, list(steps), list(recipes)
        self.set_dataset(dataset)

    def base_frame(self):
        """The table before the computed variables (what reshape steps apply to)."""
        return base_frame(self)

    def reshape(self, step) -> bool:
        """Restructure the data (wide ↔ long); computed variables are recomputed, the analysis stays."""
        try:
            dataset = reshaped(self, step)
        except MixGUIError as e:
            self.show_error("Cannot restructure the data", str(e))
            return False
        self.steps.append(step)
        self.set_dataset(dataset)
        self.status.show_text(f"Restructured: {dataset.frame.shape[0]} rows · {dataset.frame.shape[1]} columns")
        return True

    def add_recipe(self, recipe) -> bool:
        """Add a computed variable; results stay (no row changed) and the variable lists update."""
        try:
            dataset = with_recipe(self, recipe)
        except MixGUIError as e:
            self.show_error("Cannot compute the variable", str(e))
            return False
        self.recipes.append(recipe)
        self.set_dataset(dataset, keep_results=True)
        note = recipe.note()
        self.status.show_text(f'Added "{recipe.name}": {recipe.describe()}' + (" (see the note)" if note else ""))
        return True

    # -- export -----------------------------------------------------------------------
    def can_export(self, explain: bool = False) -> bool:
        """True when the results shown are the current analysis's and up to date.

        Not while a fit or a refit after an edit is on its way, nor after a cancelled or failed fit
        (the pane greys its results then).
        """
        ok = self.results_panel.is_current() and self.live.shows_current() and not self.live.pending()
        if not ok and explain:
            self.show_error("Nothing to export yet", "Export writes the results shown; fit the model first "
                                                     "(Ctrl+R) and wait until the results are up to date.")
        return ok

    def export_results(self, path) -> bool:
        """Write the results shown as a report (.xlsx, .docx, .html, .R or a folder of CSV files)."""
        from mixgui.gui.widgets.export_dialog import export_report

        if not self.can_export(explain=True):
            return False
        try:
            written = export_report(self, path)
        except MixGUIError as e:
            self.show_error("Cannot export", str(e))
            return False
        except Exception as e:  # noqa: BLE001 - a report bug must not cost the session
            log.exception("exporting %s failed", path)
            self.show_error("Cannot export", f"{Path(path).name} could not be written ({type(e).__name__}: {e})")
            return False
        self.status.show_text(f"Exported {written.name}")
        return True

    def mark_saved(self) -> None:
        """What is shown now counts as saved (after opening or saving)."""
        self._clean_state = state_key(self)

    def mark_unsaved(self) -> None:
        """What is shown has not been saved anywhere (e.g. restored from a recovery copy)."""
        self._clean_state = None

    def is_dirty(self) -> bool:
        """True when the data or the analysis changed since they were opened or saved."""
        if self.dataset is None:
            return False
        return not same_state(self._clean_state, state_key(self))

