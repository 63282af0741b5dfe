"""What kind of outcome a column holds, so the builder can offer the model that suits it.

The builder never switches the family on its own (a setting changes only when the user changes
it); it shows the suggestion with a button. Rules, in the order a statistician would apply them:
two distinct values (0/1, yes/no, a two-level factor) is a binary outcome; non-negative whole
numbers with a small mean or a long right tail are counts; anything else is continuous.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: counts: non-negative whole numbers whose mean is below this, or whose variance is well above the
#: mean, are unlikely to be a score on a scale (a 0-100 score has a large mean and small dispersion)
COUNT_MEAN = 20.0
OVERDISPERSION = 1.5


@dataclass(frozen=True)
class OutcomeKind:
    """The kind of an outcome column and the family the builder offers for it.

    Attributes
    ----------
    kind : str
        ``"binary"``, ``"count"``, ``"continuous"`` or ``"unusable"``.
    family : str
        The family offered (an :data:`mixgui.analysis.options.FAMILIES` value).
    message : str
        One sentence for the builder, in the user's words; empty when nothing is to be said.
    """

    kind: str
    family: str
    message: str = ""


def outcome_kind(column: str, values: pd.Series) -> OutcomeKind:
    """Classify ``values`` (the outcome column) as binary, count or continuous.

    Parameters
    ----------
    column : str
        The column's name, used in the message.
    values : pandas.Series

    Returns
    -------
    OutcomeKind
    """
    v = values.dropna()
    if v.empty:
        return OutcomeKind("unusable", "gaussian", f"{column} has no values.")
    distinct = pd.unique(v)
    if len(distinct) == 2:
        return OutcomeKind("binary", "binomial",
                           f"{column} has two values ({_two(distinct)}): a binary (logistic) model suits it.")
    x = pd.to_numeric(v, errors="coerce")
    if x.isna().any():
        return OutcomeKind("unusable", "gaussian", f"{column} holds text: choose a numeric outcome, or a "
                                                   "column with two values for a logistic model.")
    arr = x.to_numpy(float)
    whole = bool(np.all(arr >= 0) and np.all(arr == np.round(arr)))
    if whole and len(distinct) > 2:
        mean, var = float(arr.mean()), float(arr.var(ddof=1)) if len(arr) > 1 else 0.0
        if mean < COUNT_MEAN or var > OVERDISPERSION * mean:
            family = "negative_binomial" if var > OVERDISPERSION * mean else "poisson"
            label = "negative binomial" if family == "negative_binomial" else "Poisson"
            spread = " (its variance is well above its mean)" if family == "negative_binomial" else ""
            return OutcomeKind("count", family, f"{column} looks like a count{spread}: a {label} model suits it.")
    return OutcomeKind("continuous", "gaussian")


def _two(distinct) -> str:
    a, b = sorted(distinct, key=str)
    return f"{a} and {b}"
