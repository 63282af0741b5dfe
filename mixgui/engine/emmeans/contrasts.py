"""Contrast families among marginal means and their p-value adjustments, following R's emmeans.

A family is a coefficient matrix over the ``k`` means of one ``by`` group (one column per
contrast) with emmeans's labels. :func:`adjust_pvalues` applies the multiplicity adjustment to
one family within one ``by`` group, with emmeans's rules: a family of a single contrast is
never adjusted, and Tukey's method (meant for all pairwise differences) becomes Sidak's for any
other family.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from scipy import stats

from mixgui.analysis.spec import Contrast
from mixgui.engine.emmeans.adjust import P_ADJUST, mvt_pvalues, p_adjust, pdunnx
from mixgui.engine.emmeans.studentized import ptukey
from mixgui.engine.numerics import zapsmall
from mixgui.errors import SpecError

# the p-value adjustments computed here (emmeans' names; fdr is Benjamini-Hochberg)
ADJUSTMENTS = ("tukey", "holm", "bonferroni", "sidak", "dunnettx", "mvt", "fdr", "hommel", "none")

POLY_NAMES = ("linear", "quadratic", "cubic", "quartic")
POLY_MAX_DEGREE = 6  # emmeans's poly.emmc stops at degree 6 by default
_PARENS = re.compile(r"-|\+|/|\*")  # emmeans wraps labels holding these in parentheses


@dataclass(frozen=True)
class Family:
    """The contrasts of one family over the means of one group.

    Attributes
    ----------
    coef : ndarray (k, m)
        Column j holds the weights of contrast j over the k means.
    names : list of str
        The m contrast labels, as emmeans writes them.
    pairs : bool
        True for the pairwise family, the only one Tukey's method is meant for.
    """

    coef: np.ndarray
    names: list
    pairs: bool = False


# -- labels ------------------------------------------------------------------------------
def looks_numeric(values) -> bool:
    """True when every value reads as a number (emmeans's test for prefixing the factor name)."""
    for v in values:
        try:
            x = float(str(v))
        except ValueError:
            return False
        if math.isnan(x):
            return False
    return True


def contrast_level_labels(columns: dict) -> list:
    """Labels of the means inside contrast names.

    Parameters
    ----------
    columns : dict
        Spec variable -> its values over the means of one group, in grid order.

    Returns
    -------
    list of str
        One label per mean: the values joined with a space, a factor whose levels all look like
        numbers prefixed with its name (``age8``, so ``age8 - age10`` is not read as a
        subtraction), and a label holding ``- + / *`` put in parentheses, as emmeans does.
    """
    parts = []
    for var, vals in columns.items():
        vals = [str(v) for v in vals]
        parts.append([var + v for v in vals] if looks_numeric(vals) else vals)
    labels = [" ".join(p) for p in zip(*parts)]
    return [f"({lab})" if _PARENS.search(lab) else lab for lab in labels]


def _fmt(x: float) -> str:
    return f"{x:g}"


def custom_name(weights, labels) -> str:
    """A readable label for unnamed custom weights, e.g. ``age14 - 0.5 age10 - 0.5 age12``."""
    terms = []
    for w, lab in sorted(((w, lab) for w, lab in zip(weights, labels) if w != 0), key=lambda t: -t[0]):
        mag = "" if abs(w) == 1 else _fmt(abs(w)) + " "
        sign = "-" if w < 0 else "+"
        terms.append((sign, mag + lab))
    if not terms:
        return "0"
    first = ("-" if terms[0][0] == "-" else "") + terms[0][1]
    return " ".join([first] + [f"{s} {t}" for s, t in terms[1:]])


# -- families ----------------------------------------------------------------------------
def pairwise_family(labels: list) -> Family:
    """Every earlier mean minus every later one (i < j), in emmeans's order."""
    k = len(labels)
    cols, names = [], []
    for i in range(k - 1):
        for j in range(i + 1, k):
            c = np.zeros(k)
            c[i], c[j] = 1.0, -1.0
            cols.append(c)
            names.append(f"{labels[i]} - {labels[j]}")
    return Family(_stack(cols, k), names, pairs=True)


def consec_family(labels: list) -> Family:
    """Each mean minus the one before it."""
    k = len(labels)
    cols, names = [], []
    for i in range(k - 1):
        c = np.zeros(k)
        c[i], c[i + 1] = -1.0, 1.0
        cols.append(c)
        names.append(f"{labels[i + 1]} - {labels[i]}")
    return Family(_stack(cols, k), names)


def trt_vs_ctrl_family(labels: list, ref: int = 0) -> Family:
    """Each mean minus the control mean (position ``ref``)."""
    k = len(labels)
    cols, names = [], []
    for i in range(k):
        if i == ref:
            continue
        c = np.zeros(k)
        c[i], c[ref] = 1.0, -1.0
        cols.append(c)
        names.append(f"{labels[i]} - {labels[ref]}")
    return Family(_stack(cols, k), names)


def poly_coefficients(k: int, max_degree: int | None = None) -> np.ndarray:
    """Orthogonal polynomial contrasts for ``k`` equally spaced levels, as small integers.

    The orthonormal polynomials of R's ``poly(1:k, degree)`` (each degree's residual on the lower
    ones, so the leading coefficient is positive), then each column rescaled to integers the way
    emmeans's ``poly.emmc`` does: divide by the smallest positive entry and keep dividing by the
    largest distance from an integer until every entry is within 0.05 of one.

    Returns
    -------
    ndarray (k, d)
        d = min(6, k - 1) columns: linear, quadratic, cubic, ...
    """
    degree = min(POLY_MAX_DEGREE, k - 1) if max_degree is None else min(max_degree, k - 1)
    x = np.arange(1, k + 1, dtype=float)
    x -= x.mean()
    basis = [np.ones(k) / math.sqrt(k)]
    out = np.empty((k, degree))
    for d in range(1, degree + 1):
        v = x ** d
        for _ in range(2):  # twice: classical Gram-Schmidt loses orthogonality at high degree
            for b in basis:
                v = v - (b @ v) * b
        v /= np.linalg.norm(v)
        basis.append(v)
        con = v / v[v > 0.01].min()
        z = np.max(np.abs(con - np.round(con)))
        while z > 0.05:
            con = con / z
            z = np.max(np.abs(con - np.round(con)))
        out[:, d - 1] = np.round(con)
    return out


def poly_family(labels: list) -> Family:
    """Linear, quadratic, cubic ... trends over the means, taken as equally spaced."""
    coef = poly_coefficients(len(labels))
    names = [POLY_NAMES[d] if d < len(POLY_NAMES) else f"degree {d + 1}" for d in range(coef.shape[1])]
    return Family(coef, names)


def custom_family(weights, labels: list, name: str | None, what: str, name_labels: list | None = None) -> Family:
    """One contrast with the user's weights (one per mean; they must sum to zero).

    ``labels`` name the means in messages; an unnamed contrast is labelled from the weights and
    ``name_labels`` (default ``labels``).

    Raises
    ------
    SpecError
        Wrong number of weights, weights that do not sum to zero, or all weights zero.
    """
    k = len(labels)
    w = np.asarray([float(x) for x in (weights or ())], dtype=float)
    if len(w) != k:
        raise SpecError(f"custom contrast {_quoted(name)}has {len(w)} weight{'s' if len(w) != 1 else ''} but "
                        f"{what} has {k} levels ({', '.join(labels)}); give one weight per level, in that order")
    if not np.isfinite(w).all():
        raise SpecError("custom contrast weights must be numbers")
    total = float(w.sum())
    if abs(total) > 1e-8 * max(1.0, float(np.abs(w).max())):
        example = ", ".join(["1", "-1"] if k == 2 else ["1", "-0.5", "-0.5"] + ["0"] * (k - 3))
        raise SpecError(f"custom contrast weights must sum to 0 (these sum to {total:g}); e.g. {example}")
    if not np.any(w):
        raise SpecError(f"custom contrast weights are all 0; give e.g. {', '.join(['1', '-1'] + ['0'] * (k - 2))}")
    return Family(w.reshape(k, 1), [name or custom_name(w, name_labels or labels)])


def contrast_family(contrast: Contrast, labels: list, raw_labels: list, what: str) -> Family:
    """The family a :class:`~mixgui.analysis.spec.Contrast` asks for over one group's means.

    Parameters
    ----------
    contrast : Contrast
    labels : list of str
        Labels of the means for contrast names (see :func:`contrast_level_labels`).
    raw_labels : list of str
        The same means as the user names them (``"12"``, ``"8, Male"``), to find ``Contrast.ref``.
    what : str
        What the means are of, for messages (``"age"``, ``"age x Sex"``).
    """
    m = contrast.method
    if m == "pairwise":
        return pairwise_family(labels)
    if m == "consec":
        return consec_family(labels)
    if m == "trt.vs.ctrl":
        return trt_vs_ctrl_family(labels, _ref_index(contrast.ref, labels, raw_labels, what))
    if m == "poly":
        return poly_family(labels)
    if m == "custom":
        return custom_family(contrast.weights, raw_labels, contrast.name, what, labels)
    raise SpecError(f'contrast method "{m}" is not known; use pairwise, consec, trt.vs.ctrl, poly or custom')


def _ref_index(ref, labels, raw_labels, what) -> int:
    if ref is None or ref == "":
        return 0
    ref = str(ref).strip()
    for cands in (raw_labels, labels, [r.replace(", ", " ") for r in raw_labels]):
        if ref in cands:
            return cands.index(ref)
    raise SpecError(f'control level "{ref}" is not a level of {what} (its levels are {", ".join(raw_labels)})')


def _quoted(name):
    return f'"{name}" ' if name else ""


def _stack(cols, k):
    return np.column_stack(cols) if cols else np.empty((k, 0))


# -- p-value adjustment ------------------------------------------------------------------
def two_sided_p(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    """2 P(T > |t|) with the given df (a normal reference where df is infinite)."""
    t, df = np.asarray(t, float), np.asarray(df, float)
    out = np.full(t.shape, np.nan)
    for i, (ti, di) in enumerate(zip(t, df)):
        if np.isnan(ti) or np.isnan(di):
            continue
        out[i] = 2 * (stats.norm.sf(abs(ti)) if np.isinf(di) else stats.t.sf(abs(ti), di))
    return out


def adjust_pvalues(t, df, p_unadjusted, method: str, n_means: int, pairs: bool, corr=None) -> tuple:
    """Adjust the p-values of one family within one ``by`` group.

    Parameters
    ----------
    t, df, p_unadjusted : array (m,)
        Per contrast; NaN for a contrast that cannot be estimated.
    method : str
        One of :data:`ADJUSTMENTS`.
    n_means : int
        Number of means in the group: the family size of Tukey's method.
    pairs : bool
        Whether the family is all pairwise differences.
    corr : ndarray (r, r), optional
        Correlation of the estimable contrasts' estimates (needed by ``mvt``).

    Returns
    -------
    (ndarray, str, str or None)
        Adjusted p-values, the method actually used, and a sentence when it differs from
        ``method`` for a reason worth telling (Tukey changed to Sidak).

    Notes
    -----
    The family is the contrasts of one ``by`` group; the p.adjust methods and Sidak count every
    contrast of the family, estimable or not (emmeans passes ``n`` to ``p.adjust``).
    """
    t = np.asarray(t, float)
    df = np.asarray(df, float)
    p = np.asarray(p_unadjusted, float)
    m = len(p)
    note = None
    if m <= 1 or method == "none":
        return p.copy(), "none", None
    if method == "tukey" and not pairs:
        method = "sidak"
        note = ('Tukey\'s method is meant for the full set of pairwise comparisons, so the Sidak adjustment '
                'was used instead (as emmeans does).')
    ok = ~np.isnan(p)
    out = np.full(m, np.nan)
    if method == "tukey":
        dz = zapsmall(df.copy())
        out[ok] = np.clip(1.0 - ptukey(math.sqrt(2.0) * np.abs(t[ok]), n_means, dz[ok]), 0.0, 1.0)
    elif method in P_ADJUST:
        out = p_adjust(p, method, m)
    elif method == "dunnettx":
        for i in np.flatnonzero(ok):
            out[i] = 1.0 - pdunnx(abs(t[i]), m, df[i])
        out = np.clip(out, 0.0, 1.0)
    elif method == "mvt":
        out[ok] = mvt_pvalues(t[ok], df[ok], corr)
    else:
        raise SpecError(f'adjustment "{method}" is not known; use one of {", ".join(ADJUSTMENTS)}')
    return out, method, note


def adjustment_message(method: str, n_means: int, n_tests: int) -> str | None:
    """emmeans's footnote, e.g. ``P value adjustment: tukey method for comparing a family of 4 estimates``."""
    if method == "none":
        return None
    if method == "tukey":
        return f"P value adjustment: tukey method for comparing a family of {n_means} estimates"
    return f"P value adjustment: {method} method for {n_tests} tests"
