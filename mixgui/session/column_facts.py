"""Facts about a data frame's columns, computed once per frame and kept with it.

The builder asks, at every redraw, for a factor's sorted levels, how many distinct groups a
grouping has and what kind of outcome a column holds. On a 200,000-row study each answer is
10-40 ms of pandas work, and the window waited for all of them when an analysis was opened. Here
each answer is kept beside its frame (forgotten with it), and :func:`warm` computes them in the
thread that read the file, so the window only looks them up.
"""
from __future__ import annotations

import threading
import weakref

import pandas as pd

from mixgui.analysis.builder_notes import distinct_groups as _distinct_groups
from mixgui.analysis.outcome import OutcomeKind
from mixgui.analysis.outcome import outcome_kind as _outcome_kind
from mixgui.data.levels import is_categorical
from mixgui.data.levels import sorted_levels as _sorted_levels

# id(frame) -> (weak reference to it, its facts). A frame cannot be a dict key (pandas objects are not
# hashable), so the id is, and the weak reference tells a reused id from the frame it belonged to.
_facts: dict = {}
_lock = threading.Lock()  # the reading thread warms while the window may look up


def _table(frame: pd.DataFrame) -> dict:
    key = id(frame)
    entry = _facts.get(key)
    if entry is None or entry[0]() is not frame:
        entry = _facts[key] = (weakref.ref(frame, lambda ref, key=key: _forget(key, ref)), {})
    return entry[1]


def _forget(key: int, ref) -> None:
    if _facts.get(key, (None,))[0] is ref:  # not a newer frame that took the same id
        _facts.pop(key, None)


def _memo(frame: pd.DataFrame, key: tuple, compute):
    with _lock:
        table = _table(frame)
        if key in table:
            return table[key]
    value = compute()
    with _lock:
        _table(frame)[key] = value
    return value


def levels(frame: pd.DataFrame, column: str) -> list:
    """The column's distinct non-missing values as level labels in R's order (see ``sorted_levels``)."""
    return _memo(frame, ("levels", column), lambda: _sorted_levels(frame[column]))


def distinct_groups(frame: pd.DataFrame, columns) -> int:
    """How many distinct combinations of ``columns`` occur in rows where none of them is missing."""
    columns = tuple(columns)
    return _memo(frame, ("groups", columns), lambda: _distinct_groups(frame, columns))


def outcome_kind(frame: pd.DataFrame, column: str) -> OutcomeKind:
    """What the column holds as an outcome: binary, count, continuous or unusable (see ``outcome_kind``)."""
    return _memo(frame, ("outcome", column), lambda: _outcome_kind(column, frame[column]))


def warm(frame: pd.DataFrame, columns=None, outcome: str | None = None) -> None:
    """Compute ahead (in a worker) the levels of ``columns`` that hold categories and the outcome's kind.

    Parameters
    ----------
    frame : pandas.DataFrame
    columns : iterable of str, optional
        Columns whose levels the window will ask for (default: every text or yes/no column), and
        whose distinct counts the builder's notes use.
    outcome : str, optional
        The outcome column.
    """
    if columns is None:
        columns = [c for c in frame.columns if is_categorical(frame[c])]
    for c in columns:
        if c in frame.columns:
            levels(frame, c)
            distinct_groups(frame, (c,))
    if outcome and outcome in frame.columns:
        outcome_kind(frame, outcome)


def warm_read(value) -> None:
    """Warm the facts of what a background read returned: a Dataset, or ``(spec, dataset, ...)``.

    Called in the reading thread. The columns are the text and yes/no columns, the factors the
    analysis declares and its grouping columns; the outcome is the formula's. Anything that goes
    wrong here is left for the window to meet (and report) when it asks the same question itself.
    """
    from mixgui.analysis.formula import parse_formula
    from mixgui.data.dataset import Dataset

    spec, dataset = None, value
    if isinstance(value, tuple):
        spec = next((v for v in value if hasattr(v, "formula")), None)
        dataset = next((v for v in value if isinstance(v, Dataset)), None)
    if not isinstance(dataset, Dataset):
        return
    frame = dataset.frame
    columns = [c for c in frame.columns if is_categorical(frame[c])]
    outcome = None
    try:
        if spec is not None:
            columns += list(spec.factors)
            if spec.formula:
                formula = parse_formula(spec.formula)
                outcome = formula.response
                columns += [c for r in formula.random for g in r.groups for c in g]
        warm(frame, dict.fromkeys(columns), outcome)
    except Exception:  # noqa: BLE001 - only a head start; the window computes (and reports) it itself
        return
