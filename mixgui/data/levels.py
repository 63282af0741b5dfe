"""R's rules for categorical variables: which columns are factors and how their levels sort."""
from __future__ import annotations

import numpy as np
import pandas as pd


def is_categorical(series: pd.Series, declared: bool = False) -> bool:
    """True for text, boolean and pandas categorical columns, or any column declared a factor."""
    if declared:
        return True
    return not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def level_label(value) -> str:
    """How a level is written: integers without a decimal point (8, not 8.0), as R prints them."""
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _text_key(s: str):
    # R in an English locale sorts letters case-insensitively, lower case first on ties.
    return (s.casefold(), s.swapcase())


def sorted_levels(series: pd.Series) -> list:
    """Distinct non-missing values as level labels, in R's order.

    Numbers sort numerically, text alphabetically (case-insensitive); an ordered pandas
    Categorical keeps its own order.
    """
    s = series.dropna()
    if isinstance(s.dtype, pd.CategoricalDtype):
        present = set(s.astype(object))
        return [level_label(c) for c in s.cat.categories if c in present]
    values = pd.unique(s)
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return list(label_values(np.sort(np.asarray(values))))
    labels = list(label_values(values))
    return [labels[i] for i in _r_order(labels)]


def _r_order(labels: list) -> list:
    """Positions of ``labels`` in R's order: numerically when every label is a number, else as text."""
    nums = pd.to_numeric(pd.Series(labels), errors="coerce")
    if len(labels) and nums.notna().all():
        return list(np.argsort(nums.to_numpy(), kind="stable"))
    return sorted(range(len(labels)), key=lambda i: _text_key(labels[i]))


def label_values(values) -> np.ndarray:
    """:func:`level_label` of each value, as an object array; whole arrays at once for numbers and text.

    A subject column has tens of thousands of distinct values; labelling them one by one in Python
    was most of the time spent building a design.
    """
    arrays = (np.ndarray, pd.Index, pd.api.extensions.ExtensionArray)
    arr = np.asarray(values) if isinstance(values, arrays) else None
    kind = arr.dtype.kind if arr is not None else ""
    if kind == "f" and arr.dtype != np.float64:
        kind = ""  # float32 and the like: one by one, as they print
    if kind == "b":
        return np.where(arr, "TRUE", "FALSE").astype(object)
    if kind in ("i", "u"):
        return arr.astype(str).astype(object)
    if kind == "f":
        out = np.empty(len(arr), dtype=object)
        # whole numbers below 2**53 are written as integers exactly; the rest one by one, as level_label does
        whole = np.isfinite(arr) & (np.abs(arr) < 2.0 ** 53)
        whole[whole] = arr[whole] == np.trunc(arr[whole])
        out[whole] = arr[whole].astype(np.int64).astype(str)
        out[~whole] = [level_label(float(v)) for v in arr[~whole]]
        return out
    if kind == "O" and pd.api.types.infer_dtype(arr, skipna=False) == "string":
        return arr.astype(object)
    return np.array([level_label(v) for v in values] or [], dtype=object)


def as_labels(series: pd.Series) -> pd.Series:
    """The column as level labels (strings), missing values kept as NaN.

    Each distinct value is labelled once (a subject column of 5,000,000 rows has 50,000 of them;
    labelling every row took 30 s of a 55 s fit).
    """
    if _mixed(series):
        # mixed kinds (True next to 1) hash alike but are labelled apart: one by one
        return series.astype(object).map(level_label, na_action="ignore")
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    labels = np.append(label_values(uniques), np.nan).astype(object)
    return pd.Series(labels[codes], index=series.index, name=series.name)


def _mixed(series: pd.Series) -> bool:
    return series.dtype == object and pd.api.types.infer_dtype(series, skipna=True).startswith("mixed")


CHUNK_ROWS = 1_000_000  # rows hashed between two progress reports (about 0.5 s for text)


def factor_codes(series: pd.Series, progress=None, fraction: float | None = None,
                 message: str = "") -> tuple:
    """The column as a factor: integer codes and level labels in R's order, each row hashed once.

    The same levels as ``sorted_levels(as_labels(series))``, and ``levels[codes[i]]`` is
    ``as_labels(series)[i]``; a missing value has code -1.

    Parameters
    ----------
    series : Series
    progress : Progress, optional
        Told between chunks of :data:`CHUNK_ROWS` rows (a 5,000,000-row text column takes
        seconds to hash), so that Cancel is answered within about a second.
    fraction, message
        What the progress reports say.

    Returns
    -------
    (ndarray of int64, list of str)
    """
    order = None
    if _mixed(series):
        codes, uniques = pd.factorize(as_labels(series), use_na_sentinel=True)
        labels = np.asarray(uniques, dtype=object)
    else:
        codes, uniques = _factorize_chunked(series, progress, fraction, message)
        labels = label_values(uniques)
        # two distinct values written alike (rare) make one level, at the first one's place
        first, distinct = pd.factorize(labels)
        if len(distinct) < len(labels):
            codes = np.where(codes >= 0, first[np.maximum(codes, 0)], -1)
            labels = np.asarray(distinct, dtype=object)
        elif _exact_numbers(uniques):
            # the labels read back as these very numbers: sort the numbers, not the text
            order = np.argsort(np.asarray(uniques), kind="stable")
    if order is None:
        order = _r_order(list(labels))
    rank = np.empty(len(labels) + 1, dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(labels))
    rank[-1] = -1  # code -1 (missing) stays -1
    return rank[codes].astype(np.int64), [labels[i] for i in order]


def _exact_numbers(uniques) -> bool:
    """Integers, or finite float64 below 2**53: their labels parse back to the same numbers."""
    arr = np.asarray(uniques) if isinstance(uniques, (np.ndarray, pd.Index)) else None
    if arr is None or arr.dtype.kind not in ("i", "u", "f") or arr.dtype.kind == "f" and arr.dtype != np.float64:
        return False
    return arr.dtype.kind != "f" or bool(np.all(np.isfinite(arr) & (np.abs(arr) < 2.0 ** 53)))


def _factorize_chunked(series: pd.Series, progress, fraction, message) -> tuple:
    """``pd.factorize`` (first-appearance order) in chunks, with a progress report between them.

    The chunks' distinct values, concatenated in order, list every value at its first appearance
    before any later one, so factorizing them gives the order of a single pass.
    """
    n = len(series)
    if n <= CHUNK_ROWS or progress is None:
        return pd.factorize(series, use_na_sentinel=True)
    parts, uniques, offset = [], [], 0
    for start in range(0, n, CHUNK_ROWS):
        progress.step(fraction, message)
        c, u = pd.factorize(series.iloc[start:start + CHUNK_ROWS], use_na_sentinel=True)
        parts.append(np.where(c >= 0, c + offset, -1))
        uniques.append(u)
        offset += len(u)
    progress.step(fraction, message)
    glob, distinct = pd.factorize(uniques[0].append(uniques[1:]) if len(uniques) > 1 else uniques[0])
    glob = np.append(glob, -1)  # position -1 of the lookup: missing stays missing
    return glob[np.concatenate(parts)], distinct


def coded_labels(series: pd.Series, codes: np.ndarray, levels: list) -> pd.Series:
    """``as_labels(series)`` from the column's :func:`factor_codes`, without hashing it again."""
    if _mixed(series):
        return as_labels(series)
    labels = np.array(list(levels) + [np.nan], dtype=object)
    return pd.Series(labels[codes], index=series.index, name=series.name)
