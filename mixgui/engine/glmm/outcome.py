"""Checks and codings of a generalized model's outcome, with messages that name the column.

A binary outcome may be 0/1, logical, or a two-level text column (the second level in R's sorted
order is the success, as ``glmer`` does with a factor); successes out of trials come with a trials
column; counts must be whole and non-negative. Anything else is refused with a sentence saying
what to do, never fitted as something else.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from mixgui.data.levels import as_labels, sorted_levels
from mixgui.errors import DataError


def binary_codes(col: pd.Series, name: str):
    """A two-valued column as 0/1 floats (missing kept), and the level counted as success.

    Returns
    -------
    (Series, str or None)
        The codes and, for a text column, the success level (the second sorted level); None for 0/1.

    Raises
    ------
    DataError
    """
    s = col.dropna()
    if pd.api.types.is_bool_dtype(col):
        return col.map({True: 1.0, False: 0.0}).astype(float), None
    num = pd.to_numeric(col, errors="coerce")
    if pd.api.types.is_numeric_dtype(col) or (len(s) and num.notna().sum() == len(s)):
        return num.astype(float), None
    labels = as_labels(s)
    levels = sorted_levels(labels)
    if len(levels) != 2:
        shown = ", ".join(f'"{v}"' for v in levels[:6])
        raise DataError(f'the outcome "{name}" has {len(levels)} different values ({shown}{", ..." if len(levels) > 6 else ""}); '
                        "a binary (logistic) model needs exactly two, such as yes/no: recode it or choose another family")
    codes = pd.Series(np.nan, index=col.index)
    codes[s.index] = (labels == levels[1]).astype(float).to_numpy()
    return codes, levels[1]


def check_outcome(y: np.ndarray, family: str, name: str, trials: np.ndarray | None = None, trials_name: str = ""):
    """Validate the outcome of a generalized model; returns (y on the model's scale, prior weights).

    Binomial: 0/1, or successes with ``trials`` (returned as the proportion, with the trials as
    weights, R's ``cbind(k, n - k)``). Poisson and negative binomial: whole non-negative counts.

    Raises
    ------
    DataError
        Naming the column and the remedy.
    """
    y = np.asarray(y, float)
    if family == "binomial":
        if trials is None:
            bad = ~np.isin(y, (0.0, 1.0))
            if bad.any():
                ex = _examples(y[bad])
                raise DataError(f'the outcome "{name}" of a binary (logistic) model must be 0 or 1, but it has other '
                                f"values ({ex}); recode it to 0/1, or give the number of trials if it counts successes")
            return y, np.ones_like(y)
        n = np.asarray(trials, float)
        if np.any(n < 0) or np.any(n != np.round(n)):
            raise DataError(f'the trials column "{trials_name}" must hold whole non-negative numbers; '
                            f"it has {_examples(n[(n < 0) | (n != np.round(n))])}")
        if np.any(y < 0) or np.any(y != np.round(y)):
            raise DataError(f'the outcome "{name}" must count successes (whole numbers from 0), but it has '
                            f"{_examples(y[(y < 0) | (y != np.round(y))])}")
        above = y > n
        if above.any():
            raise DataError(f'the outcome "{name}" has {int(above.sum())} row(s) with more successes than trials '
                            f'("{trials_name}"); check the two columns')
        if np.any(n == 0):
            raise DataError(f'the trials column "{trials_name}" has rows with 0 trials; remove those rows')
        return y / n, n
    if np.any(y < 0):
        raise DataError(f'the outcome "{name}" is a count but has negative values ({_examples(y[y < 0])}); '
                        "a count model needs whole numbers from 0 upwards: check the column")
    frac = y != np.round(y)
    if frac.any():
        raise DataError(f'the outcome "{name}" is a count but has values that are not whole numbers '
                        f"({_examples(y[frac])}); a Poisson or negative binomial model needs counts, so check the "
                        "column or use a linear model")
    return y, np.ones_like(y)


def _examples(v) -> str:
    vals = list(dict.fromkeys(float(x) for x in np.asarray(v).ravel()))[:3]
    return ", ".join(str(int(x)) if x.is_integer() else f"{x:g}" for x in vals)
