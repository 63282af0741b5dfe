"""Faults from outside: a full disk, a read-only folder, the data file changed or deleted under an
open session, a project file cut short at every byte or with any byte damaged, a corrupt autosave.

Each ends in one typed sentence (a :class:`~mixgui.errors.MixGUIError`) and loses nothing: the
file that was there before a failed save is intact byte for byte, no temporary file is left, the
session keeps its data and can still be saved elsewhere.
"""
from __future__ import annotations

import errno
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixgui.fileio as fileio
from mixgui.analysis import builder as B
from mixgui.analysis.spec import AnalysisSpec, DataRef
from mixgui.data.computed import Center
from mixgui.data.dataset import Dataset
from mixgui.data.importing import ImportOptions
from mixgui.errors import MixGUIError
from mixgui.pipeline.run import run
from mixgui.report import write_report
from mixgui.session import files
from mixgui.session.document import Session
from mixgui.session.project import Autosaver, find_recovery, load_project

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "cli"
REPORT_KINDS = ("report.html", "report.xlsx", "report.docx", "report.R")


def _one_sentence(e: BaseException) -> str:
    msg = str(e)
    assert isinstance(e, MixGUIError), f"{type(e).__name__}: {msg}"
    assert msg.strip() and "\n" not in msg and "Traceback" not in msg and "[Errno" not in msg, msg
    return msg


@pytest.fixture
def session(tmp_path) -> Session:
    """A session opened from a real CSV (sleepstudy), with a model and a computed variable."""
    csv = tmp_path / "sleep.csv"
    csv.write_bytes((REFERENCE / "sleepstudy.csv").read_bytes())
    s = Session()
    files.open_data(s, csv, ImportOptions(missing=(999,)))
    s.add_recipe(Center("Days_c", "Days"))
    draft = B.ModelDraft(outcome="Reaction", covariates=("Days_c",), terms=(("Days_c",),),
                         groupings=(B.Grouping(("Subject",)),))
    s.edit_draft(draft, "Build the model")
    return s


@pytest.fixture(scope="module")
def result():
    csv = REFERENCE / "sleepstudy.csv"
    spec = AnalysisSpec(formula="Reaction ~ Days + (1 | Subject)", data=DataRef(str(csv)))
    return run(spec, Dataset(pd.read_csv(csv), "sleepstudy", source=str(csv)))


def _savers(session, result):
    """Every way the window writes a file: (name, function writing to a path)."""
    out = [("project.mixgui", lambda p: files.save_project(session, p)),
           ("model.analysis.json", lambda p: files.save_analysis(session, p))]
    out += [(k, lambda p: write_report(result, p)) for k in REPORT_KINDS]
    return out


def _old_files(folder: Path, savers) -> dict:
    """A previous version of every file, written by the saver itself (so each is a real old version)."""
    old = {}
    for name, save in savers:
        save(folder / name)
        old[name] = (folder / name).read_bytes()
    return old


# -- a full disk ------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["write", "fsync", "replace"])
def test_a_full_disk_gives_one_sentence_and_keeps_the_old_file(tmp_path, session, result, monkeypatch, where):
    folder = tmp_path / "out"
    folder.mkdir()
    savers = _savers(session, result)
    old = _old_files(folder, savers)
    session.edit_analysis(spec=session.current_analysis.spec.with_(method="ML"), text="Use ML")  # something new

    def full(*a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if where == "write":  # the bytes do not fit: the temporary file's write fails
        real_fdopen = os.fdopen

        class Full:
            def __init__(self, f):
                self.f = f

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.f.close()

            def write(self, data):
                self.f.write(data[: len(data) // 2])
                full()

            def __getattr__(self, name):
                return getattr(self.f, name)

        monkeypatch.setattr(fileio.os, "fdopen", lambda *a, **k: Full(real_fdopen(*a, **k)))
    else:
        monkeypatch.setattr(fileio.os, where, full)
    for name, save in savers:
        with pytest.raises(MixGUIError) as info:
            save(folder / name)
        msg = _one_sentence(info.value)
        assert "disk is full" in msg and name in msg, msg
        assert isinstance(info.value, OSError) and info.value.errno == errno.ENOSPC  # callers catching OSError still do
        assert (folder / name).read_bytes() == old[name], f"{name} was damaged by a failed save"
    assert sorted(p.name for p in folder.iterdir()) == sorted(old), "a temporary file was left behind"
    assert session.is_unsaved()  # the failed save did not mark the work as saved
    monkeypatch.undo()
    files.save_project(session, folder / "project.mixgui")  # once there is room, the work saves
    assert load_project(folder / "project.mixgui").analyses[0].method == "ML"


# -- a read-only folder -----------------------------------------------------------------------
def _chmod_works(folder: Path) -> bool:
    """chmod makes a folder read-only for this user (not for root, who writes anyway)."""
    folder.chmod(0o555)
    try:
        (folder / ".probe").write_bytes(b"")
    except PermissionError:
        return True
    (folder / ".probe").unlink()
    return False


@pytest.mark.parametrize("mode", ["chmod", "simulated"])
def test_a_read_only_folder_gives_one_sentence_and_keeps_the_old_file(tmp_path, session, result, monkeypatch, mode):
    folder = tmp_path / "locked"
    folder.mkdir()
    savers = _savers(session, result)
    old = _old_files(folder, savers)
    try:
        if mode == "chmod":
            if not _chmod_works(folder):
                pytest.skip("running as root: chmod does not stop writes (the 'simulated' case covers it)")
        else:  # what a read-only folder does to the writer: creating the temporary file is refused
            def refuse(*a, **k):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(folder))
            monkeypatch.setattr(fileio.tempfile, "mkstemp", refuse)
        for name, save in savers:
            with pytest.raises(MixGUIError) as info:
                save(folder / name)
            msg = _one_sentence(info.value)
            assert "no permission to write" in msg and "choose another folder" in msg, msg
            assert (folder / name).read_bytes() == old[name]
        assert sorted(p.name for p in folder.iterdir()) == sorted(old)
    finally:
        folder.chmod(0o755)


def test_a_missing_folder_gives_one_sentence(tmp_path, session, result):
    for name, save in _savers(session, result):
        with pytest.raises(MixGUIError, match="does not exist") as info:
            save(tmp_path / "gone" / name)
        _one_sentence(info.value)


# -- the data file changes under an open session ----------------------------------------------
def test_the_data_file_deleted_while_open_is_noticed_and_nothing_is_lost(tmp_path, session):
    csv = Path(session.dataset.source)
    assert files.data_file_note(session) is None
    shown = session.dataset.frame.copy()
    csv.unlink()
    note = files.data_file_note(session)
    assert note and "sleep.csv was deleted" in note and "save a project" in note
    # the data are still in the session: a project saved now holds every row, and reopens without the file
    path = files.save_project(session, tmp_path / "rescued.mixgui")
    other = Session()
    files.open_project(other, path)
    pd.testing.assert_frame_equal(other.dataset.frame, shown)
    assert other.current_analysis.spec.formula == session.current_analysis.spec.formula
    assert run(other.current_analysis.spec, other.dataset).data["nobs"] == 180


def test_the_data_file_changed_while_open_is_noticed_and_not_mixed_in(tmp_path, session):
    csv = Path(session.dataset.source)
    shown = session.dataset.frame.copy()
    original = csv.read_bytes()
    frame = pd.read_csv(csv)
    frame["Reaction"] = frame["Reaction"] + 1000.0  # someone edits the file in Excel
    frame.to_csv(csv, index=False)
    os.utime(csv, ns=(os.stat(csv).st_atime_ns, os.stat(csv).st_mtime_ns + 10**9))  # a coarse clock: a new time
    note = files.data_file_note(session)
    assert note and "changed on disk" in note and "open the file again" in note
    pd.testing.assert_frame_equal(session.dataset.frame, shown)  # the table shown is untouched
    project = files.to_project(session)
    # the project does not pass the edited file off as the one its data came from
    assert project.original is None
    path = files.save_project(session, tmp_path / "kept.mixgui")
    back = load_project(path)
    pd.testing.assert_frame_equal(back.dataset.frame, shown)
    # with the file as it was, the original bytes are kept again
    csv.write_bytes(original)
    os.utime(csv, ns=(session.source_stamp[1], session.source_stamp[1]))
    assert files.data_file_note(session) is None
    assert files.to_project(session).original == ("sleep.csv", original)


# -- damaged project files --------------------------------------------------------------------
def _small_project(tmp_path) -> bytes:
    frame = pd.DataFrame({"y": [1.5, 2.25, np.nan, 4.0], "g": ["a", "b", "a", "b"], "x": [1, 2, 3, 4]})
    s = Session()
    csv = tmp_path / "tiny.csv"
    frame.to_csv(csv, index=False)
    files.open_data(s, csv)
    s.edit_draft(B.ModelDraft(outcome="y", covariates=("x",), terms=(("x",),), groupings=(B.Grouping(("g",)),)),
                 "Model")
    return files.save_project(s, tmp_path / "tiny.mixgui").read_bytes()


def _load_or_refuse(path: Path) -> str:
    """Open a project as the window does; returns "ok" or the refusal; any other exception fails the test."""
    try:
        files.open_project(Session(), path)
    except MixGUIError as e:
        _one_sentence(e)
        return "refused"
    return "ok"


def test_a_project_cut_short_at_every_byte_is_refused_in_one_sentence(tmp_path):
    good = _small_project(tmp_path)
    path = tmp_path / "cut.mixgui"
    outcomes = {}
    for n in range(len(good)):
        path.write_bytes(good[:n])
        outcomes[n] = _load_or_refuse(path)
    assert set(outcomes.values()) == {"refused"}, [n for n, o in outcomes.items() if o != "refused"][:5]
    path.write_bytes(good)
    assert _load_or_refuse(path) == "ok"
    assert len(outcomes) == len(good) > 500  # every offset of a real project file was tried


def test_a_project_with_any_byte_damaged_opens_or_is_refused_in_one_sentence(tmp_path):
    """A flipped byte in compressed data, a header or the directory: CRC, zlib and zip errors all become one sentence."""
    good = _small_project(tmp_path)
    path = tmp_path / "flipped.mixgui"
    refused = 0
    for n in range(len(good)):
        bad = bytearray(good)
        bad[n] ^= 0xFF
        path.write_bytes(bytes(bad))
        refused += _load_or_refuse(path) == "refused"
    # most damage is caught (CRC); a flip in e.g. the zip comment's length or a timestamp is harmless
    assert refused > len(good) // 2


# -- a corrupt autosave -----------------------------------------------------------------------
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_corrupt_autosave_is_skipped_with_a_note_and_the_good_one_offered(tmp_path, session):
    folder = tmp_path / "recovery"
    saver = Autosaver(folder, lambda: files.to_project(session, include_original=False))
    good = saver.save_now()
    older, newer = folder / f"recovery-{_dead_pid()}.mixgui", folder / f"recovery-{_dead_pid() + 100000}.mixgui"
    good.rename(older)
    damaged = older.read_bytes()
    newer.write_bytes(damaged[: len(damaged) // 2])  # killed mid-write by a disk that lied about fsync
    os.utime(newer)  # the newest file is the damaged one
    empty = folder / f"recovery-{_dead_pid() + 200000}.mixgui"
    empty.write_bytes(b"")
    skipped = []
    offered = find_recovery(folder, skipped)
    assert offered == older
    assert set(skipped) >= {newer} and older not in skipped
    restored = Session()
    files.apply_project(restored, load_project(offered))
    pd.testing.assert_frame_equal(restored.dataset.frame, session.dataset.frame)
    # only damaged copies: nothing offered, each named in the note
    older.write_bytes(b"PK\x03\x04 not a zip")
    skipped = []
    assert find_recovery(folder, skipped) is None
    assert set(skipped) == {older, newer, empty}
    with zipfile.ZipFile(tmp_path / "nojson.zip", "w") as z:
        z.writestr("data.csv", "a\n1\n")
    with pytest.raises(MixGUIError, match="not a MixGUI project"):
        load_project(tmp_path / "nojson.zip")


# -- the import dialog parses a workbook once ------------------------------------------------
def test_the_import_dialog_path_parses_a_workbook_once_per_version(tmp_path, monkeypatch):
    """Title rows, raw rows, preview and the final read share one parse (bench/bench_xlsx_import.py: 200 x 2,000
    went from 8.7 s to 2.7 s); a changed file is parsed again."""
    from mixgui.data import excel
    from mixgui.data.importing import preview, raw_rows, read_with_options, suggest_options

    path = tmp_path / "wide.xlsx"
    frame = pd.DataFrame(np.arange(60.0).reshape(6, 10) / 4, columns=[f"v{i}" for i in range(10)])
    frame.to_excel(path, index=False)
    parsed = []
    real = excel._workbook

    class Counting:  # counts the sheet parses (opening a workbook for its sheet names is cheap)
        def __init__(self, wb):
            self.wb = wb

        def get_sheet_by_name(self, name):
            parsed.append(name)
            return self.wb.get_sheet_by_name(name)

        def __getattr__(self, name):
            return getattr(self.wb, name)

    monkeypatch.setattr(excel, "_workbook", lambda p: Counting(real(p)))
    options = suggest_options(path)
    raw_rows(path, options, nrows=12)
    preview(path, options, nrows=3)
    ds = read_with_options(path, options)
    assert parsed == ["Sheet1"]  # one parse for the whole dialog
    pd.testing.assert_frame_equal(ds.frame, frame)
    frame.assign(v0=frame["v0"] + 1).to_excel(path, index=False)
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 10**9))
    assert read_with_options(path, options).frame["v0"].iloc[0] == 1.0  # the new version, not the cached one
