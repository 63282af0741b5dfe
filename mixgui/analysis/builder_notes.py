"""The model builder's plain-language notes on a draft (shown under the random-effects box).

Notes only advise: the user decides (nothing here changes the draft).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mixgui.analysis.formula import term_label

if TYPE_CHECKING:
    from mixgui.analysis.builder import ModelDraft

FEW_GROUPS = 10  # below this many groups a variance is estimated imprecisely


@dataclass(frozen=True)
class Note:
    """Advice under the random-effects box. ``kind``: incomplete, missing_column, few_groups, centre,
    slope_without_fixed or slope_constant; ``column``: what it concerns (a centring offer acts on it)."""

    kind: str
    message: str
    column: str = ""


def _fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1e5 else f"{x:.0f}"


def distinct_groups(frame, columns) -> int:
    """How many distinct combinations of ``columns`` occur in rows where none of them is missing."""
    columns = list(columns)
    if len(columns) == 1:
        return int(frame[columns[0]].nunique(dropna=True))
    return len(frame[columns].dropna().drop_duplicates())


def model_notes(d: ModelDraft, frame=None, count_groups=distinct_groups) -> list:
    """Plain-language notes on the draft (never changes it: the user decides).

    Parameters
    ----------
    d : ModelDraft
    frame : pandas.DataFrame, optional
        The data; without it only structural notes are given.
    count_groups : callable, optional
        ``count_groups(frame, columns) -> int`` (default :func:`distinct_groups`); the window passes
        one that remembers the answers for its frame.
    """
    import pandas as pd

    notes = []
    if not d.outcome:
        notes.append(Note("incomplete", "Drop the outcome (the measurement to explain) into the Outcome box."))
    if d.repeated and bool(d.repeated.subject) != bool(d.repeated.index):
        notes.append(Note("incomplete", "Repeated measures need both a subject and an index (time or visit) column."))
    for g in d.groupings:
        for s in g.slopes:
            if s not in d.terms:
                lab = term_label(s)
                notes.append(Note("slope_without_fixed", f"The random slope for {lab} has no fixed effect: its "
                                  f"average is forced to zero. Add {lab} to the model terms.", lab))
    if frame is None:
        return notes
    needed = [d.outcome] + list(d.predictors()) + [c for g in d.groupings for c in g.factors]
    if d.repeated:
        needed += [d.repeated.subject, d.repeated.index]
    needed += [d.trials, d.weights] + [v for _, v in d.offsets]  # columns named outside the boxes
    for c in dict.fromkeys(c for c in needed if c):
        if c not in frame.columns:
            notes.append(Note("missing_column", f'"{c}" is not a column of the data.', c))
    centred = set()
    for g in d.groupings:
        if not set(g.factors) <= set(frame.columns):
            continue
        for level in g.levels():
            name = ":".join(level) if g.combined or len(level) == 1 else f"{level[-1]} within {' / '.join(level[:-1])}"
            n = count_groups(frame, level)
            if n < FEW_GROUPS:
                notes.append(Note("few_groups", f"{name} has {n} level{'s' if n != 1 else ''}: variance "
                                  f"estimates from fewer than {FEW_GROUPS} groups are imprecise", name))
        for s in g.slopes:
            for v in s:
                if v not in frame.columns or not pd.api.types.is_numeric_dtype(frame[v]) or v in d.factors:
                    continue
                x = frame[v].dropna().astype(float)
                if x.nunique() > 1 and frame.groupby(list(g.factors), observed=True)[v].nunique().max() <= 1:
                    notes.append(Note("slope_constant", f"{v} does not vary within {g.label}, so a random slope "
                                      "for it cannot be estimated; remove the slope.", v))
                elif v not in centred and len(x) > 1 and abs(x.mean()) > 2 * x.std():
                    centred.add(v)
                    notes.append(Note("centre", f"{v} is far from zero (mean {_fmt(x.mean())}): centring it makes "
                                      "the intercept and the random slope interpretable", v))
    return notes
