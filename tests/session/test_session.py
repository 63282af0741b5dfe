"""The Qt-free Session owns the document: every user action is an undoable command, "unsaved" follows the stack.

Each command kind is done, undone and redone, and the whole document (dataset object, provenance,
data generation, analyses with their identities, current index) must be exactly what it was.
"""
import numpy as np
import pandas as pd
import pytest

from mixgui.analysis import builder as B
from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.computed import Center
from mixgui.data.dataset import Dataset
from mixgui.data.importing import ImportOptions
from mixgui.data.provenance import Provenance, base_frame
from mixgui.data.reshape import WideToLong
from mixgui.errors import DataError
from mixgui.session import files
from mixgui.session.document import ANALYSIS, DATASET, VARIABLES, Analysis, Session


def _wide() -> Dataset:
    rng = np.random.default_rng(3)
    n = 12
    frame = pd.DataFrame({"patient id": np.arange(1, n + 1), "arm": np.repeat(["A", "B"], n // 2),
                          "age": rng.normal(60, 8, n).round(1),
                          "bp_0": rng.normal(140, 9, n).round(1), "bp_1": rng.normal(135, 9, n).round(1),
                          "bp_3": rng.normal(130, 9, n).round(1)})
    return Dataset(frame, "trial", source="trial.csv")


def _long_session() -> Session:
    s = Session()
    s.set_dataset(_wide(), Provenance(ImportOptions(missing=(999,))))
    s.reshape(WideToLong(("bp_0", "bp_1", "bp_3"), "visit", "bp"))
    draft = B.ModelDraft(outcome="bp", factors=("arm",), covariates=("visit", "age"),
                         terms=(("visit",), ("arm",), ("age",)), groupings=(B.Grouping(("patient id",)),))
    s.edit_draft(draft, "Build the model")
    s.mark_saved()
    return s


def _state(s: Session) -> tuple:
    return (id(s.dataset), dict(s.dataset.levels) if s.dataset is not None else None, s.provenance, s.generation,
            s.analyses, [a.uid for a in s.analyses], s.current)


def _check_undo_redo(s: Session, do) -> tuple:
    """Do ``do(s)``; undo must give the state before exactly, redo the state after exactly."""
    before = _state(s)
    do(s)
    after = _state(s)
    assert after != before, "the action changed nothing"
    assert s.undo_stack.undo()
    assert _state(s) == before
    assert s.undo_stack.redo()
    assert _state(s) == after
    return before, after


ACTIONS = {
    "add analysis": lambda s: s.add_analysis(name="Second"),
    "duplicate analysis": lambda s: s.duplicate_analysis(0),
    "remove analysis": lambda s: s.remove_analysis(0),
    "rename analysis": lambda s: s.rename_analysis(0, "Primary"),
    "edit analysis": lambda s: s.edit_analysis(spec=s.current_analysis.spec.with_(method="ML"), text="Use ML"),
    "edit draft": lambda s: s.edit_draft(B.ModelDraft(outcome="bp", covariates=("age",), terms=(("age",),)),
                                         "Simpler model"),
    "level, not in the model": lambda s: s.set_level("patient id", "identifier"),
    "level, moves a covariate": lambda s: s.set_level("visit", "ordinal"),
    "reshape": lambda s: s.reshape(_to_wide_again()),
    "computed variable": lambda s: s.add_recipe(Center("age centred", "age")),
}


def _to_wide_again():
    from mixgui.data.reshape import LongToWide

    return LongToWide("patient id", "visit", ("bp",))


@pytest.mark.parametrize("name", list(ACTIONS))
def test_every_command_undoes_and_redoes_to_the_exact_state(name):
    s = _long_session()
    _check_undo_redo(s, ACTIONS[name])
    assert s.undo_stack.undo_text()  # named for the Edit menu


@pytest.mark.parametrize("name", list(ACTIONS))
def test_unsaved_follows_the_stack(name):
    s = _long_session()
    assert not s.is_unsaved()
    ACTIONS[name](s)
    assert s.is_unsaved()
    while s.undo_stack.can_undo() and s.undo_stack.index > 0:
        s.undo_stack.undo()
        if s.undo_stack.is_clean():
            break
    assert not s.is_unsaved()  # back where it was saved
    s.undo_stack.redo()
    assert s.is_unsaved()
    s.mark_saved()  # saving marks the new state clean
    assert not s.is_unsaved()
    s.undo_stack.undo()  # undo after a save: unsaved again
    assert s.is_unsaved()


def test_level_change_moves_the_column_in_one_named_step():
    s = _long_session()
    events = []
    s.subscribe(lambda e, i: events.append(e))
    s.set_level("visit", "ordinal")
    a = s.current_analysis
    assert s.dataset.levels["visit"] == "ordinal"
    assert "visit" in a.draft.factors and "visit" not in a.draft.covariates and "visit" in a.spec.factors
    assert s.undo_stack.undo_text() == "Treat visit as categorical"
    assert events == [VARIABLES, ANALYSIS]
    s.undo_stack.undo()
    assert s.dataset.levels["visit"] == "continuous" and "visit" in s.current_analysis.draft.covariates
    s.set_level("patient id", "identifier")
    assert s.undo_stack.undo_text() == "Make patient id identifier"


def test_bad_level_changes_are_refused_with_a_sentence_and_change_nothing():
    s = _long_session()
    before = _state(s)
    with pytest.raises(DataError, match="arm holds text, so it cannot be continuous"):
        s.set_level("arm", "continuous")
    with pytest.raises(DataError, match='did you mean "visit"'):
        s.set_level("visit ", "nominal")
    with pytest.raises(DataError, match="not a measurement level"):
        s.set_level("visit", "interval")
    assert _state(s) == before and len(s.undo_stack) == 2  # reshape + model, nothing more
    assert s.set_level("arm", "nominal") is None  # already nominal: no step


def test_reshape_keeps_its_provenance_and_undo_brings_back_the_earlier_generation():
    s = _long_session()
    long_data, long_generation = s.dataset, s.generation
    assert s.provenance.steps == (WideToLong(("bp_0", "bp_1", "bp_3"), "visit", "bp"),)
    assert s.provenance.import_options == ImportOptions(missing=(999,))
    events = []
    s.subscribe(lambda e, i: events.append(e))
    s.reshape(_to_wide_again())
    assert events == [DATASET] and s.generation != long_generation
    assert list(s.dataset.frame.columns)[-3:] == ["bp_0", "bp_1", "bp_3"]
    s.undo_stack.undo()
    assert s.dataset is long_data and s.generation == long_generation and len(s.provenance.steps) == 1


def test_computed_variables_keep_the_generation_and_are_remade_after_a_reshape():
    s = _long_session()
    generation = s.generation
    s.add_recipe(Center("age_c", "age"))
    assert s.generation == generation  # the same rows: kept fits stay valid
    assert s.dataset.frame["age_c"].mean() == pytest.approx(0, abs=1e-12)
    assert list(base_frame(s.dataset, s.provenance).columns) == [c for c in s.dataset.frame.columns if c != "age_c"]
    s.reshape(_to_wide_again())
    assert "age_c" in s.dataset.frame.columns  # recomputed on the new table
    with pytest.raises(DataError, match="exists already"):
        s.add_recipe(Center("age_c", "age"))
    with pytest.raises(DataError, match="no name"):
        s.add_recipe(Center(" ", "age"))


def test_kept_results_belong_to_their_spec_and_data_generation():
    s = _long_session()
    a = s.current_analysis
    s.keep_result(a.uid, a.spec, s.generation, 1, "fit 1")
    assert s.kept_result().result == "fit 1"
    s.edit_analysis(spec=a.spec.with_(method="ML"))
    assert s.kept_result() is None  # another model
    s.undo_stack.undo()
    assert s.kept_result().result == "fit 1"  # undo: the fit is valid again
    s.reshape(_to_wide_again())
    assert s.kept_result() is None  # other rows
    s.undo_stack.undo()
    assert s.kept_result().result == "fit 1"
    s.duplicate_analysis(0)
    assert s.kept_result().result == "fit 1"  # a copy of the same spec on the same data
    s.set_dataset(_wide())
    assert s.kept_result() is None


def test_new_data_are_unsaved_and_clear_the_history():
    s = _long_session()
    s.rename_analysis(0, "x")
    s.set_dataset(_wide())
    assert not s.undo_stack.can_undo() and s.is_unsaved()
    s.mark_saved()
    assert not s.is_unsaved()
    s.mark_unsaved()
    assert s.is_unsaved()
    assert not Session().is_unsaved()  # no data, nothing to lose


def test_saved_files_reopen_to_the_same_document(tmp_path):
    source = tmp_path / "trial data.csv"
    _wide().frame.to_csv(source, index=False)
    s = Session()
    files.open_data(s, source, ImportOptions())
    assert not s.is_unsaved()
    s.reshape(WideToLong(("bp_0", "bp_1", "bp_3"), "visit", "bp"))
    s.add_recipe(Center("age_c", "age"))
    s.edit_draft(B.ModelDraft(outcome="bp", factors=("arm",), covariates=("visit", "age_c"),
                              terms=(("visit",), ("arm",), ("age_c",)), groupings=(B.Grouping(("patient id",)),)), "Model")
    s.set_level("patient id", "identifier")
    s.add_analysis(AnalysisSpec(formula="bp ~ visit + (1 | `patient id`)"), name="Slopes later")
    assert s.is_unsaved()
    files.save_project(s, tmp_path / "trial.mixgui")
    files.save_analysis(s, tmp_path / "trial.analysis.json")
    assert not s.is_unsaved() and s.project_path == tmp_path / "trial.mixgui"

    p = Session()
    files.open_project(p, tmp_path / "trial.mixgui")
    assert [a.name for a in p.analyses] == ["Analysis 1", "Slopes later"] and p.current == 1
    assert p.provenance == s.provenance and p.dataset.levels["patient id"] == "identifier"
    pd.testing.assert_frame_equal(p.dataset.frame, s.dataset.frame, check_dtype=False)
    assert not p.is_unsaved() and not p.undo_stack.can_undo()

    q = Session()
    files.open_analysis(q, tmp_path / "trial.analysis.json")
    assert q.provenance == s.provenance  # the file rebuilds the table: read, reshaped, computed
    assert q.current_analysis.spec.formula == s.current_analysis.spec.formula
    pd.testing.assert_frame_equal(q.dataset.frame, s.dataset.frame, check_dtype=False)


def test_an_analysis_is_identified_across_undo():
    s = Session(analyses=[Analysis("A", AnalysisSpec())])
    uid = s.current_analysis.uid
    s.rename_analysis(0, "B")
    s.undo_stack.undo()
    assert s.current_analysis.uid == uid and s.current_analysis.name == "A"
