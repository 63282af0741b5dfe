"""Live results: a refit shortly after each model edit, and the last fit of every analysis kept.

jamovi's way: results follow the options without pressing a button, and a result shown always
belongs to the options shown. Every edit of the current analysis (a drop, a typed formula, undo,
redo) greys the results pane as stale and (re)starts a short single-shot timer, so a burst of
edits costs one fit; when the timer fires and the model can be fitted (data, an outcome, a
readable formula) :class:`LiveFit` fits in the background through a
:class:`~mixgui.gui.workers.FitController`, which cancels any older request, and shows the
outcome in the results pane. When the model cannot be fitted nothing is started and the reason
is shown instead.

Each analysis keeps its last result in the session (:meth:`mixgui.session.document.Session.keep_result`,
with the spec it was fitted for and the data generation it was fitted on), so switching back to an
analysis, or undoing an edit or a reshape, shows its numbers at once. A kept result is shown only
while its spec is the analysis's spec and the data generation is unchanged; otherwise the analysis
is refitted.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.session.document import ANALYSIS, DATASET, LOADED, VARIABLES, KeptResult, Session

REFIT_DELAY_MS = 600  # long enough for a burst of clicks or keystrokes, short enough to feel live

NOTE_LIVE = "Results follow the model: they update a moment after each change."
NOTE_PENDING = "The model changed: the results update in a moment…"
NOTE_FITTING = "Fitting the model shown…"
STALE = "The model changed. The results below are from the previous model; updating…"


class LiveFit(QObject):
    """Fits the session's current analysis and keeps the results pane in step with it.

    Parameters
    ----------
    session : Session
        The document: its current analysis is fitted, its kept results are shown.
    controller : FitController
        Runs the fits in the background.
    model_pane : ModelPane
        Its formula line is watched and its note says whether results follow the model.
    results_panel : ResultsPanel
        Where results, messages and "updating…" are shown.
    status : FitStatusBar
        Progress, timings and one-line messages.
    delay_ms : int
        Quiet time after the last edit before the refit starts.

    Attributes
    ----------
    timer : QTimer
        The single-shot refit timer (active while a refit is pending).
    shown_uid : int or None
        The analysis whose result (or fit message) the results pane shows.
    """

    def __init__(self, session: Session, controller, model_pane, results_panel, status,
                 delay_ms: int = REFIT_DELAY_MS, parent=None):
        super().__init__(parent)
        self.session = session
        self.controller = controller
        self.model_pane = model_pane
        self.results_panel = results_panel
        self.status = status
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(delay_ms)
        self.timer.timeout.connect(self._due)
        self.shown_uid: int | None = None
        self._stopped = False
        self._requests: dict = {}  # revision -> (uid, spec, generation) of the fits not reported yet
        self._quiet: set = set()  # revisions cancelled because the model shown has its fit already
        unsubscribe = session.subscribe(self._session_changed)
        self.destroyed.connect(lambda *_: unsubscribe())  # the session is a plain object: it may outlive us
        # typing that makes the formula unreadable changes no spec (the builder keeps the last valid
        # model), so the typed text itself is watched too; user edits only, loads come as events
        model_pane.formula_edit.textEdited.connect(self._formula_typed)
        controller.started.connect(self._fit_started)
        controller.progress.connect(lambda rev, f, m: status.fit_progress(f, m))
        controller.finished.connect(self._fit_finished)
        controller.failed.connect(self._fit_failed)
        controller.cancelled.connect(self._fit_cancelled)

    # -- queries ------------------------------------------------------------------------
    def pending(self) -> bool:
        """True while a refit waits for the quiet time to pass."""
        return self.timer.isActive()

    def reason(self) -> str | None:
        """Why the current model cannot be fitted now, in one sentence; None when it can."""
        if self.session.dataset is None:
            return "Open a data file first (File ▸ Open data…)."
        error = self.model_pane.formula_error()
        if error:
            return f"The formula cannot be read: {error}."
        if not self.model_pane.spec().formula.strip():
            return "The model has no outcome yet: drag a variable into Outcome, or type a formula."
        return None

    def kept(self, analysis=None) -> KeptResult | None:
        """The session's kept result of ``analysis`` (default: the current one) valid for its spec and data."""
        return self.session.kept_result(analysis)

    def shows_current(self) -> bool:
        """True when the results pane shows something of the current analysis."""
        a = self.session.current_analysis
        return a is not None and self.shown_uid == a.uid

    def can_export(self) -> bool:
        """True when the results shown are the current analysis's and up to date.

        Not while a fit or a refit after an edit is on its way, nor after a cancelled or failed fit
        (the pane greys its results then).
        """
        return self.results_panel.is_current() and self.shows_current() and not self.pending()

    # -- fitting ------------------------------------------------------------------------
    def fit(self) -> int | None:
        """Fit the current analysis now, in the background; returns its revision (None if not started).

        The Fit button and Ctrl+R call this, and so does the refit after an edit.
        """
        self.timer.stop()
        if self.session.dataset is None:
            self.results_panel.show_message(None, "Open a data file first (File ▸ Open data…).")
            return None
        error = self.model_pane.formula_error()
        spec = self.model_pane.spec()
        if error or not spec.formula.strip():
            self.controller.cancel()
            text = (f"The formula cannot be read. {error[0].upper()}{error[1:]}." if error else
                    "The model has no outcome yet: drag a variable into Outcome, or type a formula.")
            self.results_panel.show_message(None, text)
            self.message_shown()
            self.status.show_text("Ready · fix the formula to fit" if error else "Ready · choose an outcome to fit")
            return None
        ds = self.session.dataset
        # A copy of the metadata: the session never changes a dataset in place, but a fit must not
        # see even a careless change made while it runs.
        snapshot = Dataset(ds.frame, ds.name, dict(ds.levels), dict(ds.labels), ds.source)
        rev = self.controller.submit(spec, snapshot)
        self.submitted(rev, spec)
        return rev

    def cancel(self) -> None:
        """Stop the running fit (its results will not be shown)."""
        self._user_cancelled = self.controller.is_current_running()
        self.controller.cancel()

    def _fit_started(self, rev: int) -> None:
        self.results_panel.set_updating(True)
        self.status.fit_started()

    def _fit_finished(self, rev: int, result, seconds: float) -> None:
        self.status.fit_finished(seconds)
        if self.finished(rev, result):
            self.results_panel.show_result(rev, result)
            self.after_shown()
        else:  # the model was edited or another analysis shown meanwhile: kept, but never shown under it
            self.status.show_text("Ready · the model shown changed during the fit")

    def _fit_failed(self, rev: int, message: str) -> None:
        self.status.fit_failed()
        if self.failed(rev):
            self.results_panel.show_message(rev, message)
            self.model_pane.set_note("The fit did not succeed: see the message in the results pane.", warning=True)
        else:
            self.status.show_text("Ready · a fit of a model no longer shown did not succeed")

    def _fit_cancelled(self, rev: int) -> None:
        quiet = self.cancelled(rev)
        if rev != self.controller.revision:
            return  # superseded by a newer request, which is running
        self.status.fit_cancelled()
        asked, self._user_cancelled = getattr(self, "_user_cancelled", False), False
        if quiet:  # back to a model whose fit is shown (by an edit, or Cancel of a refit): nothing is stale
            self.status.show_text(f"Ready · {'fit cancelled · ' if asked else ''}results belong to the model shown")
        elif self.pending():  # cancelled by an edit: the refit follows in a moment
            self.status.show_text("Ready · the model changed; refitting in a moment")
        elif self.results_panel.revision is not None:  # an earlier fit is shown (not e.g. a formula message)
            self.results_panel.set_stale("Fit cancelled. The results below are from the previous fit; "
                                         "press Fit to update them.")

    # -- the outcome of each request ------------------------------------------------------
    def submitted(self, revision: int, spec: AnalysisSpec) -> None:
        """Fit ``revision`` of ``spec`` was started for the current analysis."""
        self.timer.stop()
        a = self.session.current_analysis
        self._requests[revision] = (a.uid if a is not None else None, spec, self.session.generation)
        self._note(NOTE_FITTING)

    def finished(self, revision: int, result) -> bool:
        """Keep the result of fit ``revision``; True when it belongs to the model shown (show it then)."""
        request = self._requests.pop(revision, None)
        if request is None:
            return False
        uid, spec, generation = request
        # kept with its spec and data generation, so undoing an edit or a reshape brings it back
        self.session.keep_result(uid, spec, generation, revision, result)
        if generation != self.session.generation or not self._belongs(uid, spec):
            return False  # other data, an edited analysis or another one shown; kept for going back
        self.shown_uid = uid
        self.timer.stop()  # an edit undone before its refit: this is that model's result
        return True

    def failed(self, revision: int) -> bool:
        """True when the failed fit ``revision`` belongs to the model shown (show its message then)."""
        request = self._requests.pop(revision, None)
        if request is None or request[2] != self.session.generation or not self._belongs(request[0], request[1]):
            return False
        self.shown_uid = request[0]
        return True

    def cancelled(self, revision: int) -> bool:
        """Forget fit ``revision``; True when it was cancelled quietly (the results shown are up to date)."""
        self._requests.pop(revision, None)
        quiet = revision in self._quiet
        self._quiet.discard(revision)
        return quiet

    def message_shown(self) -> None:
        """A message about the current analysis was put in the results pane."""
        a = self.session.current_analysis
        self.shown_uid = a.uid if a is not None else None

    def after_shown(self) -> None:
        """A result was put in place: grey it again if the formula shown is not the model fitted."""
        reason = self.reason()
        if reason:
            self._explain(reason)
        else:
            self._note(NOTE_LIVE)

    # -- session events ------------------------------------------------------------------
    def _session_changed(self, event: str, index) -> None:
        if event == VARIABLES:
            return  # the same rows: fits kept so far stay valid; an edit of the model comes as its own event
        if event == DATASET:
            # other rows (opened, reshaped, or a reshape undone): what runs is for other data
            self.timer.stop()
            self.controller.cancel()
            self.shown_uid = None
            self.results_panel.clear()
            self.show_current(refit=False)
        elif event == ANALYSIS:
            self.model_changed()
        elif event == LOADED:
            # a load, not an edit: the caller decides whether to fit (open with fit=False must not)
            self.timer.stop()
            self.controller.cancel()
            self.show_current(refit=False)
        else:  # ANALYSES, CURRENT: another analysis is shown, or the list changed around it
            self.show_current(refit=True)

    def model_changed(self) -> None:
        """The current analysis was edited, or an edit undone or redone: stale results, refit soon."""
        if self._show_kept():  # back to a model whose fit is kept (e.g. an edit undone before its refit)
            c = self.controller
            if c.is_current_running() and not self._running_for(self.session.current_analysis):
                self._quiet.add(c.revision)
                c.cancel()  # what runs is for a model no longer shown
            return
        if self.shows_current():
            self.results_panel.set_stale(STALE)
        else:
            self._clear()
        self.controller.cancel()  # a running fit is for a model no longer shown
        self.schedule()

    def show_current(self, refit: bool = True) -> None:
        """Show the current analysis's kept result, or clear the pane and (``refit``) fit it soon."""
        if self._show_kept():
            return
        a = self.session.current_analysis
        if self._running_for(a):  # its fit is on the way (e.g. a rename while it runs)
            if not self.shows_current():
                self._clear(f"Fitting “{a.name}”…")
            return
        self._clear()
        if refit:
            self.schedule()
        else:
            self.timer.stop()
            reason = self.reason()
            if reason:
                self._explain(reason)
            else:
                self._note("Press Fit (Ctrl+R) to fit this model; after that the results follow each change.")

    def stop(self) -> None:
        """No more refits (the window closes)."""
        self._stopped = True
        self.timer.stop()

    def schedule(self) -> None:
        """(Re)start the quiet time before a refit; with a reason not to fit, show it instead."""
        if self._stopped:
            return
        reason = self.reason()
        if reason:
            self.timer.stop()
            self._explain(reason)
            return
        self.timer.start()
        self._note(NOTE_PENDING)

    # -- internals -----------------------------------------------------------------------
    def _due(self) -> None:
        if self._stopped:
            return
        reason = self.reason()
        if reason:
            self._explain(reason)
            return
        self.fit()

    def _formula_typed(self, _text: str) -> None:
        reason = self.reason()
        if reason:
            self.timer.stop()
            self._explain(reason)
        elif not self.timer.isActive() and not self._show_kept() \
                and not self._running_for(self.session.current_analysis):
            self.schedule()  # readable again (and the same model): what was waiting can go ahead

    def _belongs(self, uid, spec) -> bool:
        a = self.session.current_analysis
        return a is not None and a.uid == uid and a.spec == spec

    def _running_for(self, analysis) -> bool:
        c = self.controller
        request = self._requests.get(c.revision)
        return analysis is not None and c.is_current_running() and request is not None \
            and request[0] == analysis.uid and request[1] == analysis.spec \
            and request[2] == self.session.generation

    def _show_kept(self) -> bool:
        a = self.session.current_analysis
        k = self.kept(a)
        if k is None or self.reason():
            return False
        self.session.keep_result(a.uid, k.spec, k.generation, k.revision, k.result)
        panel = self.results_panel
        if panel.result is not k.result:
            panel.show_result(k.revision, k.result)
            self.status.show_text(f"Ready · the results of “{a.name}” from its last fit")
        else:
            panel.set_updating(False)
        self.shown_uid = a.uid
        self.timer.stop()
        self._note(NOTE_LIVE)
        return True

    def _explain(self, reason: str) -> None:
        if self.model_pane.formula_error():
            self.model_pane.set_note(f"{reason} The results do not update until it can.", warning=True)
        elif self.session.dataset is not None:  # no outcome yet: the usual start, not a mistake
            self.model_pane.set_note("The results appear once the model has an outcome.")
        else:
            self.model_pane.set_note(reason)
        if self.shows_current():
            self.results_panel.set_stale(f"{reason} The results below are from an earlier model.")
        else:
            self._clear(reason)

    def _clear(self, text: str | None = None) -> None:
        a = self.session.current_analysis
        name = f"“{a.name}”" if a is not None else "this analysis"
        self.results_panel.clear(text or f"The results of {name} appear here once it is fitted.")
        self.shown_uid = None

    def _note(self, text: str) -> None:
        self.model_pane.set_note(text)
