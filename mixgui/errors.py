"""Errors the user can act on, and typed warnings about statistical trouble.

Every layer raises :class:`MixGUIError` (or a subclass) with one sentence that says what is wrong
and what to do; the CLI prints it and exits 2, the window shows it next to what it concerns.
Statistical trouble that still gives a result is a :class:`FitWarning` attached to the result.
"""
from __future__ import annotations

from dataclasses import dataclass


class MixGUIError(Exception):
    """A problem with the user's input, stated so the user can fix it."""


class SpecError(MixGUIError):
    """The analysis file or formula is malformed."""


class DataError(MixGUIError):
    """The data cannot be read or does not fit the analysis."""


class ModelError(MixGUIError):
    """The model cannot be fitted as specified (e.g. a grouping factor with one level)."""


class Cancelled(Exception):
    """Raised inside a computation when its progress object says it was cancelled."""


@dataclass(frozen=True)
class FitWarning:
    """A statistical warning, shown next to the table it concerns.

    Parameters
    ----------
    kind : str
        Machine-readable kind: ``singular``, ``convergence``, ``few_groups``, ``rank_deficient``,
        ``missing_rows``, ``non_estimable``, ``ml_refit``, ...
    message : str
        One or two plain sentences: what happened and the usual remedy.
    table : str
        Which results table it belongs to: ``model``, ``fixed_effects``, ``variance_components``,
        ``anova``, ``emmeans_0`` (the first marginal-means request; ``emmeans_1`` the second ...),
        ``random_effect_tests``, ``repeated``; the engine says ``emmeans`` and the pipeline numbers it.
    """

    kind: str
    message: str
    table: str = "model"

    def __str__(self) -> str:
        return self.message


class Progress:
    """Progress report and cancel flag handed to long computations (Qt-free).

    A computation calls :meth:`step` now and then; when the owner has called :meth:`cancel`,
    ``step`` raises :class:`Cancelled`, so the computation stops at the next safe point.
    """

    def __init__(self, callback=None):
        self._callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def step(self, fraction: float | None = None, message: str = "") -> None:
        if self.cancelled:
            raise Cancelled()
        if self._callback is not None:
            self._callback(fraction, message)
