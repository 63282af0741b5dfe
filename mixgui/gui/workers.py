"""Background fits: cancellable, tagged with a revision, shut down with their window.

The pattern is Orange's (a pure ``run(spec, dataset, progress)`` handed a cancel flag) plus
jamovi's revision tags: every request gets a larger revision number, a new request cancels the
running one, and the controller forwards only the newest revision's outcome, so what the window
shows always belongs to the options shown.

Each request is a plain Python callable on a private :class:`QThreadPool` owned by the
controller. The worker thread reports through the controller's private signals, which are queued
to the main thread; no Qt object is created or deleted in a worker thread, so there is nothing
whose lifetime could race with the thread. :meth:`FitController.shutdown` cancels and waits, so
no thread outlives the window.
"""
from __future__ import annotations

import logging
import time
import traceback
import weakref

from PySide6.QtCore import QObject, Qt, QThreadPool, Signal, Slot

from mixgui.errors import Cancelled, MixGUIError, Progress
from mixgui.gui.turns import soon

log = logging.getLogger(__name__)

#: every live controller, so tests can check that no fit thread is left running
_controllers: weakref.WeakSet[FitController] = weakref.WeakSet()


def running_controllers() -> list:
    """Controllers that still have a fit running (used by the tests' leak check)."""
    return [c for c in list(_controllers) if c.is_running()]


class FitController(QObject):
    """Runs fits in the background; the window only ever sees the newest request's outcome.

    Parameters
    ----------
    run_fn : callable, optional
        ``run_fn(spec, dataset, progress) -> FitResult``; defaults to :func:`mixgui.pipeline.run` (which also
        renders the tables and computes the figures' data, so nothing of a fit is left for the GUI thread).
        Tests inject slow or failing fakes here.
    parent : QObject, optional

    Signals
    -------
    started(revision)
    finished(revision, FitResult, seconds)
        Only for the newest revision; ``seconds`` is the wall time of the request.
    failed(revision, message)
        Only for the newest revision; ``message`` is one line for the user.
    cancelled(revision)
        For every cancelled request (superseded ones too), so waiters can rely on it.
    progress(revision, fraction, message)
        Only for the newest revision; ``fraction`` is -1 when unknown.
    idle()
        No fit is running any more.
    """

    started = Signal(int)
    finished = Signal(int, object, float)
    failed = Signal(int, str)
    cancelled = Signal(int)
    progress = Signal(int, float, str)
    idle = Signal()

    # emitted from worker threads, delivered (queued) in the main thread
    _job_finished = Signal(int, object, float)
    _job_failed = Signal(int, str)
    _job_cancelled = Signal(int)
    _job_progress = Signal(int, float, str)

    def __init__(self, run_fn=None, parent=None):
        super().__init__(parent)
        if run_fn is None:
            from mixgui.pipeline import run as run_fn
        self._run_fn = run_fn
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)  # the newest fit plus a cancelled one winding down
        self._revision = 0
        self._jobs: dict = {}  # revision -> Progress, until that job has reported
        self._closed = False
        queued = Qt.ConnectionType.QueuedConnection
        self._job_finished.connect(self._on_finished, queued)
        self._job_failed.connect(self._on_failed, queued)
        self._job_cancelled.connect(self._on_cancelled, queued)
        self._job_progress.connect(self._on_progress, queued)
        _controllers.add(self)

    # -- state ------------------------------------------------------------------------
    @property
    def revision(self) -> int:
        """The newest revision handed out."""
        return self._revision

    def is_running(self) -> bool:
        """True while any job (the newest or one winding down) has not reported yet."""
        return bool(self._jobs)

    def is_current_running(self) -> bool:
        """True while the newest request is still running."""
        return self._revision in self._jobs

    # -- requests ---------------------------------------------------------------------
    def submit(self, spec, dataset) -> int:
        """Start fitting ``spec`` on ``dataset``; cancels whatever runs.

        Returns
        -------
        int
            The revision of this request.
        """
        if self._closed:
            raise RuntimeError("the fit controller was shut down")
        self.cancel()
        self._revision += 1
        rev = self._revision
        progress = Progress(_throttled(lambda fraction, message: self._job_progress.emit(
            rev, -1.0 if fraction is None else float(fraction), str(message or ""))))
        self._jobs[rev] = progress
        self.started.emit(rev)
        run_fn = self._run_fn
        # the worker starts in the next turn of the event loop: the window paints its "Updating…"
        # state first, before the worker competes with it for the processor (that paint waited
        # 0.1-0.2 s behind a 200,000-row design build on two cores)
        soon(self, lambda: self._start(rev, run_fn, spec, dataset, progress))
        return rev

    def _start(self, rev: int, run_fn, spec, dataset, progress: Progress) -> None:
        if self._closed:
            return  # the window closed in the meantime: shutdown() forgot the job
        # a job cancelled before it started still runs: it stops at its first progress step and
        # reports "cancelled" through the same path as any other
        self._pool.start(lambda: self._work(rev, run_fn, spec, dataset, progress))

    def cancel(self) -> None:
        """Ask every running job to stop at its next progress step."""
        for progress in self._jobs.values():
            progress.cancel()

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel and wait for the threads (called when the window closes).

        Returns
        -------
        bool
            False when a fit did not stop within ``timeout_ms`` (logged; the pool's destructor
            still waits, so no thread is destroyed while running).
        """
        self._closed = True
        self.cancel()
        done = self._pool.waitForDone(timeout_ms)
        if not done:
            log.warning("a fit did not stop within %d ms of closing the window", timeout_ms)
        self._jobs.clear()  # their queued reports are dropped: nobody waits for them now
        return done

    # -- the worker (pool thread) -----------------------------------------------------
    def _work(self, rev: int, run_fn, spec, dataset, progress: Progress) -> None:
        t0 = time.perf_counter()
        try:
            result = run_fn(spec, dataset, progress)
        except Cancelled:
            self._job_cancelled.emit(rev)
            return
        except MixGUIError as e:
            self._job_failed.emit(rev, str(e))
            return
        except Exception as e:  # a bug of ours: one line for the user, the traceback for the log
            log.error("fit of revision %d failed:\n%s", rev, traceback.format_exc())
            first = str(e).splitlines()[0] if str(e) else ""
            self._job_failed.emit(rev, f"Internal error ({type(e).__name__}: {first}). "
                                       "Please report it; the details are in the log.")
            return
        if progress.cancelled:
            # cancelled after its last step(): the result belongs to options no longer shown
            self._job_cancelled.emit(rev)
        else:
            self._job_finished.emit(rev, result, time.perf_counter() - t0)

    # -- reports (main thread) --------------------------------------------------------
    def _done(self, rev: int) -> bool:
        """Forget job ``rev``; True when it is the newest request (its report should be shown)."""
        known = self._jobs.pop(rev, None) is not None
        if known and not self._jobs:
            self.idle.emit()
        return known and rev == self._revision and not self._closed

    @Slot(int, object, float)
    def _on_finished(self, rev: int, result, seconds: float) -> None:
        if self._done(rev):
            self.finished.emit(rev, result, seconds)
        else:
            log.debug("dropped the result of superseded revision %d", rev)

    @Slot(int, str)
    def _on_failed(self, rev: int, message: str) -> None:
        if self._done(rev):
            self.failed.emit(rev, message)

    @Slot(int)
    def _on_cancelled(self, rev: int) -> None:
        known = rev in self._jobs
        self._done(rev)
        if known and not self._closed:
            self.cancelled.emit(rev)

    @Slot(int, float, str)
    def _on_progress(self, rev: int, fraction: float, message: str) -> None:
        if rev == self._revision and rev in self._jobs and not self._closed:
            self.progress.emit(rev, fraction, message)


#: at most this many progress signals per second reach the window from one job
PROGRESS_PER_SECOND = 20


def _throttled(emit):
    """``emit``, with repeats of the same message at most PROGRESS_PER_SECOND times a second.

    A computation may call ``progress.step`` thousands of times a second (each optimiser
    evaluation, each simulated replicate); every call queued a signal to the window thread, and a
    flood of them kept Cancel and Close waiting behind the queue on a busy machine. A new message
    (a new stage) always goes through; cancellation is unaffected, since ``Progress.step`` checks
    the cancel flag on every call.
    """
    last = {"time": 0.0, "message": None}

    def call(fraction, message):
        now = time.monotonic()
        if message != last["message"] or now - last["time"] >= 1.0 / PROGRESS_PER_SECOND:
            last["time"], last["message"] = now, message
            emit(fraction, message)
    return call
