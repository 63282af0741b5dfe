"""A "monkey" that clicks through the Qt-free document at random: hypothesis' stateful testing.

:class:`SessionMonkey` drives a real :class:`~mixgui.session.document.Session` opened from a real
CSV file, and the builder's draft model (:mod:`mixgui.analysis.builder`), through random
sequences of what a user does: put variables in boxes and take them out, add interactions,
remove terms, change the outcome, add groupings, random slopes and ``||``, set the repeated
part's residual structure, change a factor's reference level and a column's measurement level,
switch REML/ML and the df method, add / duplicate / rename / remove / switch analyses,
restructure the data (wide -> long -> wide), add computed variables, undo, redo, and save and
reopen the project and the analysis file.

After every step (``@invariant``) and around every edit:

* the current spec round-trips through the analysis file: ``from_dict(to_dict(spec)) == spec``
  (a spec without a formula is refused with a SpecError, never saved half-way);
* undo returns the exact previous document (the same dataset object, provenance, data generation,
  analyses with their identities, current index) and redo the exact next one;
* the formula text and the builder agree: the spec's formula is the draft's, and parsing it puts
  the same variables in the same roles (outcome, factors, covariates, terms, groupings);
* nothing but a typed :class:`~mixgui.errors.MixGUIError` escapes an action (any other exception
  fails the test: in the window it would be an "Internal error").

Saving a project and opening it again gives the same data (cell by cell, with dtypes), the same
provenance and the same analyses; saving the analysis file and opening it rebuilds the same table
from the CSV by replaying the import options, reshape steps and computed variables.

Bounded and reproducible: the ``mixgui-reliability`` profile (derandomized) with
``max_examples=MONKEY_EXAMPLES`` and ``stateful_step_count=30``; ~20-40 s on a loaded two-core
machine.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from mixgui.analysis import builder as B
from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.computed import Center, Log, Recode, Standardize
from mixgui.data.importing import ImportOptions
from mixgui.data.reshape import LongToWide, WideToLong
from mixgui.errors import MixGUIError, SpecError
from mixgui.session import files
from mixgui.session.document import Session

PROFILE = settings.get_profile("mixgui-reliability")
MONKEY_EXAMPLES = PROFILE.max_examples  # 30 by default; MIXGUI_RELIABILITY_EXAMPLES raises it

STRUCTURES = ("ID", "DIAG", "CS", "CSH", "AR1", "ARH1", "TOEP", "UN")
LEVELS = ("nominal", "ordinal", "continuous", "identifier")


def _wide_csv(folder: Path) -> Path:
    rng = np.random.default_rng(11)
    n = 10
    frame = pd.DataFrame({"patient": [f"P{i:02d}" for i in range(1, n + 1)], "arm": np.repeat(["A", "B"], n // 2),
                          "age": rng.normal(60, 8, n).round(1), "dose": rng.choice([10, 20, 40], n),
                          "bp_0": rng.normal(140, 9, n).round(1), "bp_1": rng.normal(135, 9, n).round(1),
                          "bp_3": rng.normal(130, 9, n).round(1)})
    frame.loc[3, "bp_1"] = 999  # a missing-value code, blanked by the import options
    path = folder / "trial.csv"
    frame.to_csv(path, index=False)
    return path


def state_of(s: Session) -> tuple:
    """Everything undo must restore exactly (the dataset by identity: undo puts the very object back)."""
    return (id(s.dataset), dict(s.dataset.levels), s.provenance, s.generation, s.analyses,
            [a.uid for a in s.analyses], s.current)


def _diff(a: tuple, b: tuple) -> str:
    names = ("dataset", "levels", "provenance", "generation", "analyses", "uids", "current")
    return "; ".join(f"{n}: {x!r} != {y!r}" for n, x, y in zip(names, a, b) if x != y)


def roles(d: B.ModelDraft) -> tuple:
    """Outcome, the role of every variable the formula uses, terms, intercept, random part.

    A variable left in a box without a term is not in the formula (the spec's ``factors`` keeps it
    for the file), so the roles compared are those of the variables the model uses.
    """
    used = {v for t in d.terms for v in t} | {v for g in d.groupings for s in g.slopes for v in s}
    return (d.outcome, frozenset(used & set(d.factors)), frozenset(used & set(d.covariates)), tuple(d.terms),
            d.intercept, tuple(d.groupings))


class SessionMonkey(RuleBasedStateMachine):
    """A user clicking at random; see the module docstring for what is checked."""

    def __init__(self):
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="mixgui-monkey-"))
        self.csv = _wide_csv(self.folder)
        self.session = Session()
        files.open_data(self.session, self.csv, ImportOptions(missing=(999,)))
        self.steps_done = 0

    def teardown(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- helpers ------------------------------------------------------------------------------
    @property
    def columns(self) -> list:
        return [str(c) for c in self.session.dataset.frame.columns]

    def draft(self) -> B.ModelDraft:
        a = self.session.current_analysis
        if a.draft is not None:
            return a.draft
        try:
            return B.spec_to_draft(a.spec, self.columns, self.session.dataset.levels)
        except SpecError:
            return B.ModelDraft()

    def act(self, action, merges: bool = False) -> None:
        """Do one user action: it may refuse with a MixGUIError, nothing else; then check undo/redo."""
        s = self.session
        before, depth = state_of(s), s.undo_stack.index
        try:
            action(s)
        except MixGUIError as e:
            assert str(e).strip() and "\n" not in str(e).strip(), repr(e)
            assert state_of(s) == before, "a refused action changed the document"
            return
        self.steps_done += 1
        after = state_of(s)
        if s.undo_stack.index == depth and not merges:
            # no undo step (the edit changed nothing): then nothing may have changed, not even an identity
            assert after == before, "a change without an undo step: " + _diff(after, before)
        if s.undo_stack.index == depth + 1 and after != before:  # a new undo step (not merged, not a no-op)
            assert s.undo_stack.undo()
            assert state_of(s) == before, "undo: " + _diff(state_of(s), before)
            assert s.undo_stack.redo()
            assert state_of(s) == after, "redo: " + _diff(state_of(s), after)

    def edit(self, fn, *args, text: str = "Edit", **kwargs) -> None:
        def do(s):
            s.edit_draft(fn(self.draft(), *args, **kwargs), text)
        self.act(do)

    # -- the builder's boxes ------------------------------------------------------------------
    @rule(column=st.sampled_from(("bp", "bp_0", "age", "dose")))
    def set_outcome(self, column):
        if column in self.columns:
            self.edit(B.set_outcome, column, text=f"Outcome {column}")

    @rule(role=st.sampled_from(("factors", "covariates")),
          column=st.sampled_from(("arm", "age", "dose", "visit", "patient", "age_c", "bp_1", "arm2")))
    def add_to_role(self, role, column):
        if column in self.columns and column != self.draft().outcome:
            self.edit(B.add_to_role, role, [column], text=f"Add {column} to {role}")

    @rule(data=st.data())
    def remove_variable(self, data):
        d = self.draft()
        if d.predictors():
            self.edit(B.remove_variables, [data.draw(st.sampled_from(d.predictors()))], text="Remove")

    @rule(data=st.data())
    def add_interaction(self, data):
        d = self.draft()
        if len(d.predictors()) >= 2:
            pair = data.draw(st.lists(st.sampled_from(d.predictors()), min_size=2, max_size=3, unique=True))
            self.edit(B.add_interaction, [(v,) for v in pair], text="Interaction")

    @rule()
    def full_factorial(self):
        self.edit(B.full_factorial, text="Full factorial")

    @rule(data=st.data())
    def remove_term(self, data):
        d = self.draft()
        if d.terms:
            self.edit(B.remove_terms, [data.draw(st.sampled_from(d.terms))], text="Remove term")

    @rule(intercept=st.booleans())
    def toggle_intercept(self, intercept):
        self.edit(lambda d: d.with_(intercept=intercept), text="Intercept")

    # -- random effects and covariance structures ---------------------------------------------
    @rule(column=st.sampled_from(("patient", "arm", "dose")))
    def add_grouping(self, column):
        if column in self.columns:
            self.edit(B.add_grouping, column, text=f"Group by {column}")

    @rule(data=st.data())
    def change_grouping(self, data):
        d = self.draft()
        if not d.groupings:
            return
        i = data.draw(st.integers(0, len(d.groupings) - 1))
        what = data.draw(st.sampled_from(("correlated", "slope", "no slopes", "intercept", "remove", "nest")))
        if what == "correlated":
            self.edit(B.set_grouping, i, correlated=not d.groupings[i].correlated, text="||")
        elif what == "slope" and d.terms:
            self.edit(lambda d: B.set_grouping(d, i, slopes=d.groupings[i].slopes + (data.draw(st.sampled_from(d.terms)),)),
                      text="Random slope")
        elif what == "no slopes":
            self.edit(B.set_grouping, i, slopes=(), text="No slopes")
        elif what == "intercept":
            self.edit(B.set_grouping, i, intercept=not d.groupings[i].intercept, text="Random intercept")
        elif what == "remove":
            self.edit(B.remove_grouping, i, text="Remove grouping")
        elif "visit" in self.columns:
            self.edit(B.nest_in_grouping, i, ["visit"], text="Nest")

    @rule(structure=st.sampled_from(STRUCTURES), complete=st.booleans())
    def set_repeated(self, structure, complete):
        if {"patient", "visit"} <= set(self.columns):
            index = "visit" if complete else ""
            self.edit(B.set_repeated, subject="patient", index=index, structure=structure, text="Residuals")

    @rule()
    def clear_repeated(self):
        self.edit(lambda d: d.with_(repeated=None), text="No repeated part")

    # -- factor levels ------------------------------------------------------------------------
    @rule(column=st.sampled_from(("arm", "dose", "visit")), data=st.data())
    def set_reference_level(self, column, data):
        d = self.draft()
        if column in d.factors:
            values = sorted(map(str, self.session.dataset.frame[column].dropna().unique()))
            level = data.draw(st.sampled_from(values + [None]))
            self.edit(B.set_reference_level, column, level, text="Reference level")

    @rule(column=st.sampled_from(("arm", "dose", "age", "visit", "patient")), level=st.sampled_from(LEVELS))
    def set_measurement_level(self, column, level):
        self.act(lambda s: s.set_level(column, level, self.draft()))

    @rule(method=st.sampled_from(("REML", "ML")), df=st.sampled_from(("satterthwaite", "kenward-roger", "residual")))
    def set_estimation(self, method, df):
        self.edit(lambda d: d.with_(method=method, df_method=df), text="Estimation")

    @rule(data=st.data())
    def emmeans(self, data):
        d = self.draft()
        if d.factors:
            self.edit(B.add_emmeans, data.draw(st.sampled_from(d.factors)), text="Means")
        elif d.emmeans:
            self.edit(B.remove_emmeans, 0, text="No means")

    # -- analyses -----------------------------------------------------------------------------
    @rule(what=st.sampled_from(("add", "duplicate", "remove", "rename", "switch")), k=st.integers(0, 3))
    def analyses(self, what, k):
        s = self.session
        n = len(s.analyses)
        if what == "add":
            self.act(lambda s: s.add_analysis())
        elif what == "duplicate":
            self.act(lambda s: s.duplicate_analysis(k % n))
        elif what == "remove":
            self.act(lambda s: s.remove_analysis(k % n))
        elif what == "rename":
            self.act(lambda s: s.rename_analysis(k % n, f"Model {k}"), merges=True)  # typing merges
        else:
            s.set_current(k % n)

    # -- data ---------------------------------------------------------------------------------
    @rule()
    def reshape(self):
        cols = self.columns
        if {"bp_0", "bp_1", "bp_3"} <= set(cols):
            step = WideToLong(("bp_0", "bp_1", "bp_3"), "visit", "bp")
        elif {"patient", "visit", "bp"} <= set(cols):
            step = LongToWide("patient", "visit", ("bp",))
        else:
            return
        self.act(lambda s: s.reshape(step))

    @rule(kind=st.sampled_from(("center", "standardize", "log", "recode", "bad log")))
    def compute(self, kind):
        recipe = {"center": Center("age_c", "age"), "standardize": Standardize("age_z", "age"),
                  "log": Log("log_bp", "bp", "10"), "recode": Recode("arm2", "arm", {"A": "control"}),
                  "bad log": Log("log_x", "patient")}[kind]
        self.act(lambda s: s.add_recipe(recipe))

    @rule(undo=st.booleans(), times=st.integers(1, 3))
    def undo_redo(self, undo, times):
        s = self.session
        for _ in range(times):
            before = state_of(s)
            done = s.undo_stack.undo() if undo else s.undo_stack.redo()
            if not done:
                break
            # and back: each undo step is exactly reversible
            after = state_of(s)
            assert (s.undo_stack.redo() if undo else s.undo_stack.undo())
            assert state_of(s) == before, _diff(state_of(s), before)
            assert (s.undo_stack.undo() if undo else s.undo_stack.redo())
            assert state_of(s) == after, _diff(state_of(s), after)

    # -- files --------------------------------------------------------------------------------
    @rule()
    def save_and_open_project(self):
        s = self.session
        path = files.save_project(s, self.folder / "study.mixgui")
        assert not s.is_unsaved()
        other = Session()
        files.open_project(other, path)
        pd.testing.assert_frame_equal(other.dataset.frame, s.dataset.frame)
        assert other.provenance == s.provenance
        assert [a.name for a in other.analyses] == [a.name for a in s.analyses]
        assert other.current == s.current
        source = str(Path(s.dataset.source).resolve())
        for mine, theirs in zip(s.analyses, other.analyses):
            assert theirs.spec == mine.spec.with_(data=mine.spec.data.__class__(source, mine.spec.data.sheet))
        # carry on in the reopened document, as a user would after File > Open
        self.session = other

    @rule()
    def save_and_open_analysis(self):
        s = self.session
        if not s.current_analysis.spec.formula:
            return  # the window offers "Save analysis" only for a model with an outcome
        path = files.save_analysis(s, self.folder / "model.analysis.json")
        spec, dataset, provenance = files.read_analysis(path)
        assert provenance == s.provenance
        pd.testing.assert_frame_equal(dataset.frame, s.dataset.frame)
        assert spec.formula == s.current_analysis.spec.formula
        assert spec.with_(data=s.current_analysis.spec.data) == s.current_analysis.spec

    # -- invariants ---------------------------------------------------------------------------
    @invariant()
    def spec_round_trips_through_the_analysis_file(self):
        for a in self.session.analyses:
            if not a.spec.formula:
                try:
                    AnalysisSpec.from_dict(a.spec.to_dict())
                except SpecError:
                    continue
                raise AssertionError("a spec without a formula was accepted")
            assert AnalysisSpec.from_dict(a.spec.to_dict()) == a.spec, a.spec

    @invariant()
    def formula_and_builder_agree(self):
        for a in self.session.analyses:
            if a.draft is None:
                continue
            assert a.spec.formula == B.draft_to_formula(a.draft)
            if not a.spec.formula:
                continue
            # (a reshape may have removed a column the model uses: the builder then shows a note, so no
            # column check here)
            parsed = B.formula_to_draft(a.spec.formula, None, self.session.dataset.levels, a.spec.factors)
            assert roles(parsed) == roles(a.draft), (a.spec.formula, parsed, a.draft)
            # and the draft the window would show after a reload says the same
            assert roles(B.spec_to_draft(a.spec, None, self.session.dataset.levels)) == roles(a.draft)

    @invariant()
    def document_is_consistent(self):
        s = self.session
        assert 0 <= s.current < len(s.analyses)
        assert s.undo_stack.index <= len(s.undo_stack)
        assert s.is_unsaved() == (not s.undo_stack.is_clean())


SessionMonkey.TestCase.settings = settings(PROFILE, max_examples=MONKEY_EXAMPLES, stateful_step_count=30,
                                           report_multiple_bugs=False)
test_session_monkey = SessionMonkey.TestCase


def test_the_monkey_is_bounded_and_reproducible():
    s = SessionMonkey.TestCase.settings
    assert s.derandomize and s.database is None and s.stateful_step_count == 30
