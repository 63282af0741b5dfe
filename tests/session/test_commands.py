"""The Qt-free undo stack and the session: every kind of edit undoes and redoes; merging; clear; callbacks."""
import pytest

from mixgui.analysis import builder as B
from mixgui.analysis.spec import AnalysisSpec
from mixgui.session.commands import Command, UndoStack
from mixgui.session.document import ANALYSES, ANALYSIS, CURRENT, LOADED, Analysis, Session


class SetValue(Command):
    """A test command: set a value through ``setter``; merges with a later one of the same setter."""

    def __init__(self, text, setter, old, new, merge_key=None):
        super().__init__(text, merge_key)
        self.setter, self.old, self.new = setter, old, new

    def do(self):
        self.setter(self.new)

    def undo(self):
        self.setter(self.old)

    def merge(self, other):
        if not isinstance(other, SetValue) or other.setter != self.setter:
            return False
        self.new = other.new
        return True

    def is_obsolete(self):
        return self.old == self.new


class CallCommand(Command):
    """A test command from two functions."""

    def __init__(self, text, do_fn, undo_fn):
        super().__init__(text)
        self.do, self.undo = do_fn, undo_fn


class Box:
    def __init__(self, value=0):
        self.value = value

    def set(self, v):
        self.value = v


def _set(box, new, key=None, text="set"):
    return SetValue(text, box.set, box.value, new, merge_key=key)


# -- UndoStack --------------------------------------------------------------------------------

def test_push_does_and_undo_redo_walk_the_history():
    box, stack = Box(), UndoStack()
    assert not stack.can_undo() and not stack.can_redo()
    for v in (1, 2, 3):
        stack.push(_set(box, v, text=f"set {v}"))
    assert box.value == 3 and stack.index == 3 and stack.undo_text() == "set 3"
    assert stack.undo() and stack.undo()
    assert box.value == 1 and stack.redo_text() == "set 2"
    assert stack.redo()
    assert box.value == 2
    stack.push(_set(box, 9))  # a new edit drops what could be redone
    assert not stack.can_redo() and len(stack) == 3
    assert stack.undo() and box.value == 2
    while stack.undo():
        pass
    assert box.value == 0 and not stack.undo()


def test_consecutive_edits_of_one_field_merge_until_closed():
    box, stack = Box(""), UndoStack()
    for text in ("R", "Re", "Rea"):
        stack.push(_set(box, text, key="formula"))
    assert len(stack) == 1 and box.value == "Rea"
    stack.close_merge()
    stack.push(_set(box, "Reac", key="formula"))
    assert len(stack) == 2
    stack.push(_set(box, "x", key="other"))
    stack.push(_set(box, "y", key="formula"))  # not consecutive: no merge
    assert len(stack) == 4
    stack.undo()
    stack.undo()
    assert box.value == "Reac"
    stack.undo()
    assert box.value == "Rea"
    stack.undo()
    assert box.value == ""


def test_merging_stops_after_undo_and_a_merge_back_to_the_start_is_dropped():
    box, stack = Box("a"), UndoStack()
    stack.push(_set(box, "ab", key="f"))
    stack.undo()
    stack.push(_set(box, "ac", key="f"))
    assert len(stack) == 1 and stack.command(0).new == "ac"
    stack.push(_set(box, "a", key="f"))  # typed back to where it started: nothing to undo
    assert len(stack) == 0 and box.value == "a"
    stack.push(_set(box, "a"))  # a no-op edit is not recorded
    assert len(stack) == 0


def test_change_callback_and_subscribers():
    calls, box = [], Box()
    stack = UndoStack(on_change=lambda: calls.append("cb"))
    unsubscribe = stack.subscribe(lambda: calls.append("sub"))
    stack.push(_set(box, 1))
    stack.undo()
    stack.redo()
    assert calls == ["cb", "sub"] * 3
    unsubscribe()
    stack.clear()
    assert calls[-1] == "cb" and calls.count("sub") == 3
    assert len(stack) == 0 and not stack.can_undo() and box.value == 1  # clear forgets, does not undo


def test_clean_state():
    box, stack = Box(), UndoStack()
    assert stack.is_clean()
    stack.push(_set(box, 1, key="k"))
    stack.set_clean()
    assert stack.is_clean()
    stack.push(_set(box, 2, key="k"))  # must not merge into the saved state
    assert not stack.is_clean() and len(stack) == 2
    stack.undo()
    assert stack.is_clean()
    stack.undo()
    stack.push(_set(box, 5))
    assert not stack.is_clean()  # the saved state is unreachable now


def test_macro_is_one_step_and_rolls_back_on_error():
    box1, box2, stack = Box(), Box(), UndoStack()
    with stack.macro("both"):
        stack.push(_set(box1, 1))
        stack.push(_set(box2, 2))
    assert len(stack) == 1 and stack.undo_text() == "both"
    stack.undo()
    assert (box1.value, box2.value) == (0, 0)
    stack.redo()
    assert (box1.value, box2.value) == (1, 2)
    with pytest.raises(ValueError):
        with stack.macro("broken"):
            stack.push(_set(box1, 7))
            raise ValueError
    assert box1.value == 1 and len(stack) == 1


def test_call_command_limit_and_no_push_while_a_command_runs():
    log, stack = [], UndoStack(limit=2)
    for i in range(3):
        stack.push(CallCommand(f"c{i}", lambda i=i: log.append(f"do{i}"), lambda i=i: log.append(f"undo{i}")))
    assert len(stack) == 2 and stack.command(0).text == "c1"
    stack.undo()
    stack.undo()
    assert not stack.undo() and log[-2:] == ["undo2", "undo1"]
    reentrant = UndoStack()
    reentrant.subscribe(lambda: None)

    class Pushy(Command):
        def do(self):
            reentrant.push(_set(Box(), 1))

        def undo(self):
            pass

    with pytest.raises(RuntimeError, match="while another command runs"):
        reentrant.push(Pushy("pushy"))


# -- Session ----------------------------------------------------------------------------------

@pytest.fixture
def session():
    s = Session()
    s.events = []
    s.subscribe(lambda event, index: s.events.append((event, index)))
    return s


def test_session_starts_with_one_analysis(session):
    assert [a.name for a in session.analyses] == ["Analysis 1"] and session.current == 0
    assert session.current_analysis.spec == AnalysisSpec()


def test_edit_draft_is_a_command(session):
    d = B.formula_to_draft("Reaction ~ Days + (1 | Subject)")
    session.edit_draft(d, "Build model")
    assert session.current_analysis.spec.formula == "Reaction ~ Days + (1 | Subject)"
    assert session.current_analysis.draft == d and session.events[-1] == (ANALYSIS, 0)
    d2 = B.set_grouping(d, 0, slopes=[("Days",)])
    session.edit_draft(d2, "Add slope")
    assert session.current_analysis.spec.formula == "Reaction ~ Days + (Days | Subject)"
    session.undo_stack.undo()
    assert session.current_analysis.draft == d
    session.undo_stack.undo()
    assert session.current_analysis.spec == AnalysisSpec() and session.current_analysis.draft is None
    session.undo_stack.redo()
    session.undo_stack.redo()
    assert session.current_analysis.draft == d2
    assert session.edit_draft(d2, "same again") is None  # nothing changed: nothing pushed
    assert len(session.undo_stack) == 2


def test_edit_draft_keeps_data_and_title(session):
    from mixgui.analysis.spec import DataRef

    session.edit_analysis(spec=AnalysisSpec(data=DataRef("x.csv"), title="Main"), text="set data")
    session.edit_draft(B.formula_to_draft("y ~ x"), "model")
    spec = session.current_analysis.spec
    assert spec.data.path == "x.csv" and spec.title == "Main" and spec.formula == "y ~ x"


def test_typed_formula_edits_merge(session):
    for text in ("y ~ x", "y ~ x + z", "y ~ x + z + (1 | g)"):
        session.edit_draft(B.formula_to_draft(text), "Edit formula", merge_key="formula")
    assert len(session.undo_stack) == 1
    session.undo_stack.undo()
    assert session.current_analysis.spec.formula == ""


def test_add_remove_rename_duplicate_analyses(session):
    i = session.add_analysis(AnalysisSpec(formula="y ~ x"))
    assert i == 1 and session.current == 1 and session.analyses[1].name == "Analysis 2"
    assert (ANALYSES, 1) in session.events and (CURRENT, 1) in session.events
    for name in ("B", "Bl", "Blood"):
        session.rename_analysis(1, name)
    assert session.analyses[1].name == "Blood"
    j = session.duplicate_analysis(1)
    assert session.analyses[j].name == "Blood copy" and session.analyses[j].spec.formula == "y ~ x"
    session.remove_analysis(0)
    assert [a.name for a in session.analyses] == ["Blood", "Blood copy"]
    stack = session.undo_stack
    assert stack.undo_text() == "Remove Analysis 1"
    stack.undo()
    assert [a.name for a in session.analyses] == ["Analysis 1", "Blood", "Blood copy"]
    stack.undo()  # duplicate
    stack.undo()  # the three renames are one step
    assert [a.name for a in session.analyses] == ["Analysis 1", "Analysis 2"]
    stack.undo()
    assert len(session.analyses) == 1 and session.current == 0
    while stack.can_redo():
        stack.redo()
    assert [a.name for a in session.analyses] == ["Blood", "Blood copy"]


def test_the_last_analysis_is_replaced_not_removed(session):
    session.edit_draft(B.formula_to_draft("y ~ x"), "model")
    session.remove_analysis(0)
    assert len(session.analyses) == 1 and session.current_analysis.spec == AnalysisSpec()
    session.undo_stack.undo()
    assert session.current_analysis.spec.formula == "y ~ x"


def test_undo_shows_the_analysis_it_changes(session):
    session.edit_draft(B.formula_to_draft("y ~ x"), "model 1")
    session.add_analysis()
    session.set_current(1)
    session.set_current(0)
    session.set_current(1)
    session.undo_stack.undo()  # removes analysis 2 and goes back to analysis 1
    assert session.current == 0
    session.undo_stack.undo()
    assert session.current_analysis.spec.formula == ""


def test_load_is_not_an_edit_and_clears_the_history(session):
    session.edit_draft(B.formula_to_draft("y ~ x"), "model")
    spec = AnalysisSpec(formula="Reaction ~ Days + (1 | Subject)")
    session.load_analysis(spec)
    assert session.current_analysis == Analysis("Analysis 1", spec, None)
    assert session.events[-1] == (LOADED, 0) and not session.undo_stack.can_undo()


def test_set_dataset_and_bad_index(session):
    session.set_dataset("data")
    assert session.dataset == "data" and session.events[-1] == ("dataset", None)
    with pytest.raises(IndexError):
        session.set_current(5)


def test_an_analysis_keeps_its_identity_through_edits_renames_and_undo(session):
    uid = session.current_analysis.uid
    session.edit_draft(B.formula_to_draft("y ~ x"), "model")
    session.rename_analysis(0, "Main")
    assert session.current_analysis.uid == uid
    copy = session.duplicate_analysis(0)
    assert session.analyses[copy].uid != uid  # a copy is another analysis, with the same spec
    session.remove_analysis(0)
    session.undo_stack.undo()
    assert [a.uid for a in session.analyses][0] == uid  # brought back, not remade
    session.undo_stack.undo()
    session.undo_stack.undo()
    assert session.current_analysis.uid == uid and session.current_analysis.name == "Analysis 1"
    assert Analysis("A", AnalysisSpec()) == Analysis("A", AnalysisSpec())  # identity is not equality


def test_load_analyses_replaces_the_list_and_clears_the_history(session):
    session.edit_draft(B.formula_to_draft("y ~ x"), "model")
    opened = [Analysis("First", AnalysisSpec(formula="y ~ 1")), Analysis("Second", AnalysisSpec(formula="y ~ x"))]
    session.load_analyses(opened, current=1)
    assert [a.name for a in session.analyses] == ["First", "Second"] and session.current == 1
    assert session.events[-1] == (LOADED, 1) and not session.undo_stack.can_undo()
    session.load_analyses([], current=5)  # nothing opened: one empty analysis, as a new session
    assert len(session.analyses) == 1 and session.current == 0
    assert session.current_analysis.spec == AnalysisSpec()
