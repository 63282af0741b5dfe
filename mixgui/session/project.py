"""Project files (``.mixgui``) and crash recovery.

A project file is a zip archive holding

- ``project.json``: format/version, the analyses (analysis-file dicts), how the data were made
  (import options, reshape steps, computed variables), per-column types and metadata;
- ``data.csv``: the data table as the user last saw it (parquet is not available);
- ``original/<name>``: the bytes of the file the data were imported from, when kept.

Files are written atomically (a temporary file in the same folder, flushed to disk, then
``os.replace``), so a crash or a kill while saving leaves the previous version intact.
:class:`Autosaver` writes a recovery file (the window's recovery manager: shortly after each change);
:func:`find_recovery` finds it on the next start.
"""
from __future__ import annotations

import datetime as _dt
import io
import json
import os
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mixgui import __version__
from mixgui.analysis.spec import AnalysisSpec, DataRef
from mixgui.data.computed import recipe_from_dict
from mixgui.data.dataset import Dataset
from mixgui.data.importing import ImportOptions
from mixgui.data.reshape import step_from_dict
from mixgui.errors import MixGUIError, SpecError
from mixgui.fileio import atomic_write_bytes

FORMAT = "mixgui-project"
VERSION = 1
SUFFIX = ".mixgui"
RECOVERY_PREFIX = "recovery-"


@dataclass
class Project:
    """Everything a project file holds.

    Attributes
    ----------
    dataset : Dataset or None
    analyses : list of AnalysisSpec
    import_options : ImportOptions or None
        How the original file was read.
    steps : list
        Reshape steps applied after reading (:mod:`mixgui.data.reshape`).
    recipes : list
        Computed variables (:mod:`mixgui.data.computed`).
    original : tuple (str, bytes) or None
        Name and bytes of the imported file, kept so the project is complete on another computer.
    metadata : dict
        Free JSON-ready data (window layout, notes, autosave details).
    load_warnings : list of str
        Filled by :func:`load_project` when parts could not be restored exactly.
    """

    dataset: Dataset | None = None
    analyses: list = field(default_factory=list)
    import_options: ImportOptions | None = None
    steps: list = field(default_factory=list)
    recipes: list = field(default_factory=list)
    original: tuple | None = None
    metadata: dict = field(default_factory=dict)
    load_warnings: list = field(default_factory=list)


# -- column types survive the CSV ------------------------------------------------------------

def _column_types(frame: pd.DataFrame) -> list:
    out = []
    for c in frame.columns:
        s = frame[c]
        info = {"name": str(c)}
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = [c.item() if hasattr(c, "item") else c for c in s.cat.categories]
            if not all(isinstance(c, (str, int, float)) for c in cats):
                cats = [str(c) for c in cats]
            info.update(type="category", categories=cats, ordered=bool(s.cat.ordered))
        elif pd.api.types.is_bool_dtype(s):
            info["type"] = "bool"
        elif pd.api.types.is_integer_dtype(s):
            info["type"] = "Int64" if isinstance(s.dtype, pd.Int64Dtype) else "int"
        elif pd.api.types.is_float_dtype(s):
            info["type"] = "float"
        elif pd.api.types.is_datetime64_any_dtype(s):
            info["type"] = "datetime"
        else:
            info["type"] = "text"
        out.append(info)
    return out


def _restore(frame: pd.DataFrame, types: list) -> pd.DataFrame:
    for info in types:
        c, t = info["name"], info.get("type", "text")
        if c not in frame.columns:
            continue
        s = frame[c]
        if t in ("int", "float", "Int64"):
            s = pd.to_numeric(s)
            if t == "int" and s.notna().all():
                s = s.astype("int64")
            elif t == "Int64":
                s = s.astype("Int64")
        elif t == "bool":
            s = s.map({"True": True, "False": False}, na_action="ignore")
            if s.notna().all():
                s = s.astype(bool)
        elif t == "datetime":
            s = pd.to_datetime(s, format="ISO8601")
        elif t == "category":
            cats = info.get("categories") or []
            if cats and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in cats):
                s = pd.to_numeric(s)  # numeric categories were written as numbers
            s = pd.Categorical(s, categories=cats, ordered=info.get("ordered", False))
        frame[c] = s
    return frame


def _frame_to_csv(frame: pd.DataFrame) -> bytes:
    # float_format=None writes the shortest repr that reads back to the same double
    return frame.to_csv(index=False, lineterminator="\n", date_format="%Y-%m-%dT%H:%M:%S.%f").encode("utf-8")


def _frame_from_csv(raw: bytes, types: list) -> pd.DataFrame:
    frame = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
    return _restore(frame, types)


# -- save / load -----------------------------------------------------------------------------

def project_bytes(project: Project) -> bytes:
    """The project file's bytes (a zip archive)."""
    ds = project.dataset
    data_meta = None
    if ds is not None:
        data_meta = {
            "name": ds.name, "source": ds.source, "levels": dict(ds.levels),
            "labels": {c: [[k, v] for k, v in lab.items()] for c, lab in (ds.labels or {}).items()},
            "columns": _column_types(ds.frame),
            "import": project.import_options.to_dict() if project.import_options else None,
            "reshape": [s.to_dict() for s in project.steps],
            "computed": [r.to_dict() for r in project.recipes],
            "original": f"original/{project.original[0]}" if project.original else None}
    doc = {"format": FORMAT, "version": VERSION, "mixgui": __version__,
           "saved": _dt.datetime.now().isoformat(timespec="seconds"),
           "data": data_meta, "analyses": [a.to_dict() for a in project.analyses],
           "metadata": project.metadata}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("project.json", json.dumps(doc, indent=2, ensure_ascii=False, default=str))
        if ds is not None:
            z.writestr("data.csv", _frame_to_csv(ds.frame))
        if project.original:
            z.writestr(f"original/{Path(project.original[0]).name}", project.original[1])
    return buf.getvalue()


def save_project(project: Project, path) -> Path:
    """Write ``project`` to ``path`` atomically (the old file stays intact until the new one is complete).

    Raises
    ------
    MixGUIError
        The folder does not exist or is not writable.
    """
    path = Path(path)
    data = project_bytes(project)
    try:
        atomic_write_bytes(path, data)
    except FileNotFoundError:
        raise MixGUIError(f"cannot save {path.name}: the folder {path.parent} does not exist") from None
    except PermissionError:
        raise MixGUIError(f"cannot save {path.name}: no permission to write in {path.parent}; "
                          "choose another folder") from None
    return path


def load_project(path) -> Project:
    """Read a project file.

    Raises
    ------
    MixGUIError
        Missing file, not a MixGUI project, damaged archive, or a newer format.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "project.json" not in names:
                raise MixGUIError(f"{path.name} is not a MixGUI project (no project.json inside)")
            doc = json.loads(z.read("project.json").decode("utf-8"))
            if not isinstance(doc, dict):
                raise MixGUIError(f"{path.name} is not a MixGUI project (its project.json holds no object)")
            raw_data = z.read("data.csv") if "data.csv" in names else None
            dmeta = doc.get("data") or {}
            orig_name = dmeta.get("original")
            original = (Path(orig_name).name, z.read(orig_name)) if orig_name and orig_name in names else None
    except FileNotFoundError:
        raise MixGUIError(f"project file {path} does not exist") from None
    except PermissionError:
        raise MixGUIError(f"cannot open {path.name}: no permission to read it; copy it somewhere you can read") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, json.JSONDecodeError, UnicodeDecodeError, KeyError,
            zlib.error, NotImplementedError, ValueError, OSError) as e:
        # zlib.error: damaged compressed bytes; NotImplementedError: a damaged compression method;
        # OSError/ValueError: a damaged header (e.g. a negative offset)
        raise MixGUIError(f"{path.name} is damaged and cannot be opened ({type(e).__name__}); "
                          "look for a recovery file or a backup") from None
    if doc.get("format") != FORMAT:
        raise MixGUIError(f"{path.name} is not a MixGUI project")
    if not isinstance(doc.get("version"), int) or doc["version"] > VERSION:
        raise MixGUIError(f"{path.name} was saved by a newer MixGUI (project version {doc.get('version')}); "
                          "update MixGUI to open it")
    project = Project(metadata=doc.get("metadata") or {}, original=original)
    if raw_data is not None:
        frame = _frame_from_csv(raw_data, dmeta.get("columns") or [])
        labels = {c: {k: v for k, v in pairs} for c, pairs in (dmeta.get("labels") or {}).items()}
        project.dataset = Dataset(frame, name=dmeta.get("name") or path.stem, levels=dict(dmeta.get("levels") or {}),
                                  labels=labels, source=dmeta.get("source") or "")
    if dmeta.get("import"):
        project.import_options = ImportOptions.from_dict(dmeta["import"])
    project.steps = [step_from_dict(s) for s in dmeta.get("reshape") or []]
    project.recipes = [recipe_from_dict(r) for r in dmeta.get("computed") or []]
    for k, a in enumerate(doc.get("analyses") or [], 1):
        try:
            project.analyses.append(AnalysisSpec.from_dict(a))
        except SpecError as e:
            if isinstance(a, dict) and not str(a.get("formula") or "").strip():
                try:  # an unfinished analysis (no outcome yet) keeps its settings: REML/ML, df, factors, ...
                    project.analyses.append(AnalysisSpec.from_dict({**a, "formula": "y ~ 1"}).with_(formula=""))
                    continue
                except SpecError:
                    pass
            # otherwise it is kept as far as it goes
            project.analyses.append(AnalysisSpec(formula=str(a.get("formula") or ""),
                                                 data=DataRef(str((a.get("data") or {}).get("path") or "")),
                                                 title=str(a.get("title") or "")))
            project.load_warnings.append(f"analysis {k} was incomplete ({e}); it was opened as far as possible")
    return project


# -- autosave and recovery -------------------------------------------------------------------

class Autosaver:
    """Writes a recovery copy of the open project now and then; Qt-free (the window calls it).

    Parameters
    ----------
    folder : str or Path
        Where recovery files live (e.g. the user's application-data folder); created if needed.
    snapshot : callable
        Returns the current :class:`Project` (called only when a save is due).
    interval : float
        Seconds between periodic saves (``maybe_save``).
    project_path : str or Path, optional
        The project's own file, recorded so the recovery can offer to restore into it.

    Notes
    -----
    Call :meth:`mark_dirty` after each edit; write with :meth:`save_now` (or :meth:`maybe_save`,
    at most once per ``interval``), or in two halves: :meth:`prepare` in the thread that owns the
    document, :meth:`write` in a worker (the window's recovery manager does so a moment after each
    change). Call :meth:`discard` when the user saved or closed cleanly.
    """

    def __init__(self, folder, snapshot, interval: float = 180.0, project_path=None):
        self.folder = Path(folder)
        self.snapshot = snapshot
        self.interval = float(interval)
        self.project_path = str(project_path) if project_path else None
        self.path = self.folder / f"{RECOVERY_PREFIX}{os.getpid()}{SUFFIX}"
        self.dirty = True
        self.last_save: float | None = None

    def mark_dirty(self) -> None:
        """Something changed since the last recovery copy."""
        self.dirty = True

    def maybe_save(self, now: float | None = None) -> Path | None:
        """Save when there are changes and ``interval`` seconds passed since the last save."""
        now = time.monotonic() if now is None else now
        if not self.dirty:
            return None
        if self.last_save is not None and now - self.last_save < self.interval:
            return None
        return self.save_now(now)

    def save_now(self, now: float | None = None) -> Path:
        """Write the recovery file now."""
        path = self.write(self.prepare())
        self.last_save = time.monotonic() if now is None else now
        return path

    def prepare(self) -> Project:
        """The copy to write: the snapshot with the autosave details (cheap; no file is touched).

        Marks the work as copied, so a change made while :meth:`write` runs counts as new.
        """
        project = self.snapshot()
        meta = dict(project.metadata)
        meta["autosave"] = {"pid": os.getpid(), "time": _dt.datetime.now().isoformat(timespec="seconds"),
                            "project_path": self.project_path}
        self.dirty = False
        return Project(project.dataset, project.analyses, project.import_options, project.steps,
                       project.recipes, project.original, meta)

    def write(self, copy: Project) -> Path:
        """Write a :meth:`prepare` d copy atomically (safe to call from a worker thread)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        save_project(copy, self.path)
        return self.path

    def discard(self) -> None:
        """Delete this session's recovery file (after a clean save or exit)."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def _owner_running(path: Path) -> bool:
    try:
        pid = int(path.stem[len(RECOVERY_PREFIX):])
    except ValueError:
        return False
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return False  # no cheap, safe liveness test on Windows (signal 0 there is CTRL_C_EVENT)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def find_recovery(folder, skipped: list | None = None) -> Path | None:
    """The newest readable recovery file in ``folder`` from an earlier session, or None.

    Files of sessions still running (this one, another open window) and damaged files (which
    atomic writing should prevent) are skipped, never returned; the damaged ones checked on the
    way are appended to ``skipped``, so the caller can say so.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return None
    candidates = sorted(folder.glob(f"{RECOVERY_PREFIX}*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
    for p in candidates:
        if _owner_running(p):
            continue  # this session's own file, or another open window's
        try:
            with zipfile.ZipFile(p) as z:
                if z.testzip() is None and "project.json" in z.namelist():
                    return p
        except (zipfile.BadZipFile, OSError, EOFError):
            pass
        if skipped is not None:
            skipped.append(p)
    return None
