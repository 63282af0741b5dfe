"""Opening and saving a session: data files, analysis files and projects (Qt-free).

Each function takes a :class:`~mixgui.session.document.Session` and a path, reads or writes, and
raises a :class:`~mixgui.errors.MixGUIError` (or OSError) with one sentence when it cannot; the
window shows the sentence. Opening replaces the document (a new history, marked saved); saving
marks the stack clean, so "unsaved" means "changed since opened or saved".

An analysis file holds the current analysis with how its data were made (import options, reshape
steps, computed variables); a project (and a recovery copy) holds the data as shown, how they
were made and every analysis with its name.
"""
from __future__ import annotations

import importlib.resources
import json
import os
from dataclasses import replace
from pathlib import Path

from mixgui.analysis.options import CATEGORICAL_LEVELS
from mixgui.analysis.spec import AnalysisSpec, DataRef, is_newer, load_spec
from mixgui.data.dataset import Dataset
from mixgui.data.importing import ImportOptions, load_analysis_data, read_with_options
from mixgui.data.provenance import Provenance
from mixgui.fileio import atomic_write_text
from mixgui.session.document import Analysis, Session

#: the imported file is kept inside a project up to this size, so the project is complete elsewhere
MAX_ORIGINAL_BYTES = 50 * 1024 * 1024


def example_path(name: str = "square_study.analysis.json") -> Path:
    """Path of a file shipped in ``mixgui.resources/examples``."""
    return Path(str(importlib.resources.files("mixgui.resources") / "examples" / name))


# -- opening ---------------------------------------------------------------------------------

def open_data(session: Session, path, options: ImportOptions | None = None, dataset: Dataset | None = None) -> None:
    """Read a data file as ``options`` say; the analyses stay, now about these data.

    ``dataset``: the file as :func:`read_with_options` read it elsewhere (the window reads in a
    worker thread), so it is not read again.

    Raises
    ------
    MixGUIError
        The file cannot be read as asked.
    """
    options = options if options is not None else ImportOptions()
    dataset = dataset if dataset is not None else read_with_options(path, options)
    session.set_dataset(dataset, Provenance(options))
    # a new file of the same study fits the same models; reloaded from their specs, so the boxes
    # are made anew from the new columns
    ref = DataRef(str(dataset.source), options.sheet)
    session.load_analyses([replace(a, spec=a.spec.with_(data=ref), draft=None) for a in session.analyses],
                          session.current)
    session.project_path = session.analysis_path = None
    session.source_stamp = file_stamp(dataset.source)
    session.mark_saved()  # nothing done to the file yet: nothing to lose


def read_analysis(path) -> tuple:
    """Read an analysis file and rebuild its table.

    Returns
    -------
    (AnalysisSpec, Dataset, Provenance)
    """
    spec, data_path = load_spec(path)  # checks the file and says what is wrong with it
    raw = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    dataset, made = load_analysis_data(data_path, raw, newer=is_newer(raw))
    options = made["import_options"] or ImportOptions(sheet=spec.data.sheet)
    # how the table was made now lives in the session's provenance, so the spec the builder edits
    # holds only the model (written back from the provenance on save)
    spec = spec.with_(data=DataRef(spec.data.path, spec.data.sheet), computed=(),
                      skipped_keys=spec.skipped_keys + tuple(made["skipped_keys"]))
    return spec, dataset, Provenance(options, made["steps"], made["recipes"])


def open_analysis(session: Session, path, read: tuple | None = None) -> None:
    """Open an analysis file and its data (redoing its import, reshape and computed variables).

    ``read``: what :func:`read_analysis` returned for ``path`` when it was read elsewhere (the window
    reads in a worker thread), so it is not read again.
    """
    spec, dataset, provenance = read if read is not None else read_analysis(path)
    _show(session, dataset, provenance, [Analysis("Analysis 1", spec)], 0)
    session.analysis_path, session.project_path = Path(path), None
    session.source_stamp = file_stamp(dataset.source)
    session.mark_saved()


def open_project(session: Session, path):
    """Open a ``.mixgui`` project; returns the :class:`~mixgui.session.project.Project` read."""
    from mixgui.session.project import load_project

    project = load_project(path)
    apply_project(session, project, path)
    session.mark_saved()
    return project


def apply_project(session: Session, project, project_path=None) -> None:
    """Show a loaded project (used by open and by restoring a recovery copy).

    Raises
    ------
    MixGUIError
        The project holds no data.
    """
    from mixgui.errors import MixGUIError

    if project.dataset is None:
        raise MixGUIError("the project holds no data")
    provenance = Provenance(project.import_options, project.steps, project.recipes)
    _show(session, project.dataset, provenance, *project_analyses(project))
    session.project_path = Path(project_path) if project_path else None
    session.analysis_path = None


def _show(session: Session, dataset: Dataset, provenance: Provenance, analyses: list, current: int) -> None:
    levels = dict(dataset.levels)
    for a in analyses:
        for col in a.spec.factors:  # the analysis says these columns are categorical
            if col in levels and levels[col] not in CATEGORICAL_LEVELS:
                levels[col] = "nominal"
    if levels != dataset.levels:
        dataset = Dataset(dataset.frame, dataset.name, levels, dict(dataset.labels), dataset.source)
    session.set_dataset(dataset, provenance)
    session.load_analyses(analyses, current)


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


# -- the data file on disk -----------------------------------------------------------------

def file_stamp(path) -> tuple | None:
    """``(size, modification time in ns)`` of a file, None when there is none."""
    try:
        st = os.stat(path) if path else None
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns) if st is not None else None


def data_file_note(session: Session) -> str | None:
    """A sentence when the data file read into ``session`` was deleted or changed since, else None.

    The table shown stays as it was read (it lives in the session, not in the file), so nothing is
    lost; but an analysis file names the data file, so the sentence says how to keep the work.
    """
    ds = session.dataset
    if ds is None or not ds.source or session.source_stamp is None:
        return None
    name = Path(ds.source).name
    now = file_stamp(ds.source)
    if now is None:
        return (f"{name} was deleted or moved after it was opened; the data shown are still here: save a "
                "project (File > Save project) to keep them with the analyses")
    if now != session.source_stamp:
        return (f"{name} was changed on disk after it was opened; the data shown are the ones read then: "
                "open the file again to use the new version, or save a project to keep these")
    return None


# -- saving ----------------------------------------------------------------------------------

def analysis_dict(session: Session, path) -> dict:
    """The analysis file of the current analysis, its data path relative to ``path`` when possible."""
    a = session.current_analysis
    d = (a.spec if a is not None else AnalysisSpec()).to_dict()
    prov = session.provenance
    options = prov.import_options
    data = dict(d["data"])
    ds = session.dataset
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
    if prov.steps:
        data["reshape"] = [s.to_dict() for s in prov.steps]
    d["data"] = data
    if prov.recipes:
        d["computed"] = [r.to_dict() for r in prov.recipes]
    return d


def save_analysis(session: Session, path) -> Path:
    """Write the current analysis, with how its data were made, atomically (raises OSError)."""
    path = Path(path)
    atomic_write_text(path, json.dumps(analysis_dict(session, path), indent=2, ensure_ascii=False) + "\n")
    session.analysis_path = path
    session.mark_saved()  # the file rebuilds the table (import, reshape, computed variables) and the model
    return path


def to_project(session: Session, include_original: bool = True, metadata: dict | None = None):
    """The session as a :class:`~mixgui.session.project.Project`.

    ``include_original`` keeps the imported file's bytes (up to :data:`MAX_ORIGINAL_BYTES`);
    recovery copies leave them out, since they are written often. ``metadata`` is stored as is
    (e.g. the window's layout), with the analyses' names and which one is current.
    """
    from mixgui.session.project import Project

    ds = session.dataset
    prov = session.provenance
    options = prov.import_options
    specs = [a.spec for a in session.analyses]
    original = None
    if ds is not None and ds.source:
        source = Path(ds.source)
        specs = [s.with_(data=DataRef(str(source.resolve()), options.sheet if options else s.data.sheet))
                 for s in specs]
        # the file's bytes only while they are the ones the data were read from
        unchanged = session.source_stamp is None or file_stamp(source) == session.source_stamp
        if include_original and unchanged and source.is_file() and source.stat().st_size <= MAX_ORIGINAL_BYTES:
            original = (source.name, source.read_bytes())
    names = {"names": [a.name for a in session.analyses], "current": session.current}
    return Project(dataset=ds, analyses=specs, import_options=options, steps=list(prov.steps),
                   recipes=list(prov.recipes), original=original,
                   metadata={**(metadata or {}), "analyses": names})


def save_project(session: Session, path, metadata: dict | None = None) -> Path:
    """Save data, analyses and how the data were made to a ``.mixgui`` file (atomically).

    Raises
    ------
    MixGUIError
        The folder does not exist or cannot be written.
    """
    from mixgui.session.project import save_project as write

    path = Path(path)
    write(to_project(session, metadata=metadata), path)
    session.project_path = path
    session.mark_saved()
    return path
