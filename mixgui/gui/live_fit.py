"""Live results: a refit shortly after each model edit, and the last fit of every analysis kept.

jamovi's way: results follow the options without pressing a button, and a result shown always
belongs to the options shown. Every edit of the current analysis (a drop, a typed formula, undo,
redo) greys the results pane as stale and (re)starts a short single-shot timer, so a burst of
edits costs one fit; when the timer fires and the model can be fitted (data, an outcome, a
readable formula) the window fits in the background through its
:class:`~mixgui.gui.workers.FitController`, which cancels any older request. When the model
cannot be fitted nothing is started and the reason is shown instead.

Each analysis keeps its last result (keyed by :attr:`mixgui.session.document.Analysis.uid`, with
the spec it was fitted for and the data it was fitted on), so switching back to an analysis
shows its numbers at once. A kept result is shown only while its spec is the analysis's spec and
the data are unchanged; otherwise the analysis is refitted.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer

from mixgui.analysis.spec import AnalysisSpec
from mixgui.session.document import ANALYSIS, DATASET, LOADED

REFIT_DELAY_MS = 600  # long enough for a burst of clicks or keystrokes, short enough to feel live

NOTE_LIVE = "Results follow the model: they update a moment after each change."
NOTE_PENDING = "The model changed: the results update in a moment…"
NOTE_FITTING = "Fitting the model shown…"
STALE = "The model changed. The results below are from the previous model; updating…"


@dataclass(frozen=True)
class KeptResult:
    """The last fit of one analysis: valid while ``spec`` is the analysis's and the data are the same."""

    spec: AnalysisSpec
    generation: int
    revision: int
    result: object


class LiveFit(QObject):
    """Keeps the results pane in step with the session's current analysis.

    Parameters
    ----------
    window : MainWindow
        Gives ``session``, ``controller``, ``results_panel``, ``model_panel``, ``dataset`` and
        ``fit()``; the window reports its fits' outcomes with :meth:`submitted`,
        :meth:`finished`, :meth:`failed` and :meth:`message_shown`.
    delay_ms : int
        Quiet time after the last edit before the refit starts.

    Attributes
    ----------
    timer : QTimer
        The single-shot refit timer (active while a refit is pending).
    generation : int
        Increased whenever the data are replaced; results of an older generation are never shown.
    shown_uid : int or None
        The analysis whose result (or fit message) the results pane shows.
    """

    def __init__(self, window, delay_ms: int = REFIT_DELAY_MS):
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(delay_ms)
        self.timer.timeout.connect(self._due)
        self.generation = 0
        self.shown_uid: int | None = None
        self._stopped = False
        self._kept: dict = {}      # Analysis.uid -> KeptResult
        self._requests: dict = {}  # revision -> (uid, spec, generation) of the fits not reported yet
        self._auto: set = set()  # revisions started by the refit timer, not by the user
        self._quiet: set = set()  # revisions cancelled because the model shown has its fit already
        unsubscribe = self.session.subscribe(self._session_changed)
        self.destroyed.connect(lambda *_: unsubscribe())  # the session is a plain object: it may outlive us
        # typing that makes the formula unreadable changes no spec (the builder keeps the last valid
        # model), so the typed text itself is watched too; user edits only, loads come as events
        window.model_panel.formula_edit.textEdited.connect(self._formula_typed)

    # -- queries ------------------------------------------------------------------------
    def pending(self) -> bool:
        """True while a refit waits for the quiet time to pass."""
        return self.timer.isActive()

    def reason(self) -> str | None:
        """Why the current model cannot be fitted now, in one sentence; None when it can."""
        w = self.window
        if w.dataset is None:
            return "Open a data file first (File ▸ Open data…)."
        error = w.model_panel.formula_error()
        if error:
            return f"The formula cannot be read: {error}."
        if not w.model_panel.spec().formula.strip():
            return "The model has no outcome yet: drag a variable into Outcome, or type a formula."
        return None

    def kept(self, analysis=None) -> KeptResult | None:
        """The kept result of ``analysis`` (default: the current one) that belongs to its spec and the data."""
        a = analysis if analysis is not None else self.session.current_analysis
        if a is None:
            return None
        k = self._kept.get(a.uid)
        if k is not None and k.generation == self.generation and k.spec == a.spec:
            return k
        # a duplicate, or an analysis brought back by undo: a fit of the very same spec is its fit too
        return next((k for k in self._kept.values() if k.generation == self.generation and k.spec == a.spec),
                    None)

    def shows_current(self) -> bool:
        """True when the results pane shows something of the current analysis."""
        a = self.session.current_analysis
        return a is not None and self.shown_uid == a.uid

    # -- what the window reports -------------------------------------------------------
    def data_replaced(self) -> None:
        """Other data are shown (rows may differ): no kept result is valid any more."""
        self.generation += 1
        self._kept.clear()
        self._requests.clear()
        self._auto.clear()
        self.timer.stop()
        self.shown_uid = None

    def submitted(self, revision: int, spec: AnalysisSpec, auto: bool = False) -> None:
        """The window started fit ``revision`` of ``spec`` for the current analysis (``auto``: by the timer)."""
        self.timer.stop()
        a = self.session.current_analysis
        self._requests[revision] = (a.uid if a is not None else None, spec, self.generation)
        if auto:
            self._auto.add(revision)
        self._note(NOTE_FITTING)

    def was_auto(self, revision: int) -> bool:
        """True when fit ``revision`` was started by the refit timer (an edit), not by the user."""
        return revision in self._auto

    def finished(self, revision: int, result) -> bool:
        """Keep the result of fit ``revision``; True when it belongs to the model shown (show it then)."""
        self._auto.discard(revision)
        request = self._requests.pop(revision, None)
        if request is None or request[2] != self.generation:
            return False  # fitted on data no longer shown
        uid, spec, _ = request
        analysis = next((a for a in self.session.analyses if a.uid == uid), None)
        kept = self.kept(analysis)
        if kept is None or kept.spec == spec:
            # the analysis's last fit, unless it already has the fit of the model it shows now
            self._kept[uid] = KeptResult(spec, self.generation, revision, result)
        if not self._belongs(uid, spec):
            return False  # the analysis was edited or another one is shown; kept for switching back
        self.shown_uid = uid
        self.timer.stop()  # an edit undone before its refit: this is that model's result
        return True

    def failed(self, revision: int) -> bool:
        """True when the failed fit ``revision`` belongs to the model shown (show its message then)."""
        self._auto.discard(revision)
        request = self._requests.pop(revision, None)
        if request is None or request[2] != self.generation or not self._belongs(request[0], request[1]):
            return False
        self.shown_uid = request[0]
        return True

    def cancelled(self, revision: int) -> bool:
        """Forget fit ``revision``; True when it was cancelled quietly (the results shown are up to date)."""
        self._auto.discard(revision)
        self._requests.pop(revision, None)
        quiet = revision in self._quiet
        self._quiet.discard(revision)
        return quiet

    def message_shown(self) -> None:
        """The window put a message about the current analysis in the results pane."""
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
        if event == DATASET:
            return  # the window clears or keeps the results itself (set_dataset)
        if event == ANALYSIS:
            self.model_changed()
        elif event == LOADED:
            # a load, not an edit: the caller decides whether to fit (open with fit=False must not)
            self.timer.stop()
            self.window.controller.cancel()
            self.show_current(refit=False)
        else:  # ANALYSES, CURRENT: another analysis is shown, or the list changed around it
            self.show_current(refit=True)

    def model_changed(self) -> None:
        """The current analysis was edited, or an edit undone or redone: stale results, refit soon."""
        if self._show_kept():  # back to a model whose fit is kept (e.g. an edit undone before its refit)
            c = self.window.controller
            if c.is_current_running() and not self._running_for(self.session.current_analysis):
                self._quiet.add(c.revision)
                c.cancel()  # what runs is for a model no longer shown
            return
        if self.shows_current():
            self.window.results_panel.set_stale(STALE)
        else:
            self._clear()
        self.window.controller.cancel()  # a running fit is for a model no longer shown
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
        self.window.fit(auto=True)

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
        c = self.window.controller
        request = self._requests.get(c.revision)
        return analysis is not None and c.is_current_running() and request is not None \
            and request[0] == analysis.uid and request[1] == analysis.spec and request[2] == self.generation

    def _show_kept(self) -> bool:
        a = self.session.current_analysis
        k = self.kept(a)
        if k is None or self.reason():
            return False
        self._kept[a.uid] = k
        panel = self.window.results_panel
        if panel.result is not k.result:
            panel.show_result(k.revision, k.result)
            self.window.status.show_text(f"Ready · the results of “{a.name}” from its last fit")
        else:
            panel.set_updating(False)
        self.shown_uid = a.uid
        self.timer.stop()
        self._note(NOTE_LIVE)
        return True

    def _explain(self, reason: str) -> None:
        if self.window.model_panel.formula_error():
            self.window.model_panel.set_note(f"{reason} The results do not update until it can.", warning=True)
        elif self.window.dataset is not None:  # no outcome yet: the usual start, not a mistake
            self.window.model_panel.set_note("The results appear once the model has an outcome.")
        else:
            self.window.model_panel.set_note(reason)
        if self.shows_current():
            self.window.results_panel.set_stale(f"{reason} The results below are from an earlier model.")
        else:
            self._clear(reason)

    def _clear(self, text: str | None = None) -> None:
        a = self.session.current_analysis
        name = f"“{a.name}”" if a is not None else "this analysis"
        self.window.results_panel.clear(text or f"The results of {name} appear here once it is fitted.")
        self.shown_uid = None

    def _note(self, text: str) -> None:
        self.window.model_panel.set_note(text)
