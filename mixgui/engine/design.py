"""From a formula and a table to the arrays the fitters take, following R's rules.

R's rules reproduced here: treatment coding with the first sorted level (or the chosen one) as
reference; a factor inside an interaction gets contrasts when the term without it is in the model
and full indicators otherwise; interaction columns vary the first factor fastest; column names are
variable name + level joined with ``:``; rows with a missing value in any used column are left out;
aliased (linearly dependent) columns are dropped, later ones first, and named.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mixgui.analysis.formula import Formula, factor_column, quote, term_label
from mixgui.data.dataset import missing_column_message
from mixgui.data.levels import CHUNK_ROWS, coded_labels, factor_codes, is_categorical, sorted_levels
from mixgui.engine.covmodel import RandomBlock
from mixgui.errors import DataError, FitWarning, ModelError, Progress

ALIAS_TOL = 1e-7  # R's qr() tolerance for declaring a column aliased


@dataclass
class Design:
    """Arrays and bookkeeping for one model on one table.

    Attributes
    ----------
    y : ndarray (n,)
    X : ndarray (n, p)              full column rank
    column_names : list of str      R-style names of X's columns
    terms : list of str             fixed term labels (``"age"``, ``"Sex"``, ``"age:Sex"``), R's order
    term_vars : list of tuple       variables of each term
    term_columns : list of list     columns of X belonging to each term (intercept excluded)
    intercept : bool
    dropped_columns : list of str   aliased columns removed
    factor_levels : dict            factor -> level labels with the reference first (R's relevel)
    numeric_means : dict            numeric predictor -> mean over the rows used
    blocks : list of RandomBlock    random-effects blocks in lme4's order
    rows : ndarray                  positions (0-based) of the rows used in the input table
    frame : DataFrame               the used columns of the used rows (factors as labels)
    warnings : list of FitWarning
    """

    formula: Formula
    y: np.ndarray
    X: np.ndarray
    column_names: list
    terms: list
    term_vars: list
    term_columns: list
    intercept: bool
    dropped_columns: list
    factor_levels: dict
    numeric_means: dict
    blocks: list
    rows: np.ndarray
    frame: pd.DataFrame
    warnings: list = field(default_factory=list)
    _all_names: list = field(default_factory=list, repr=False)
    _keep: list = field(default_factory=list, repr=False)
    offset: np.ndarray | None = None  # offset(...) terms of a generalized model, summed (None: no offset)
    # factor -> (codes of frame's rows, levels in sorted order): the coding done once, reused for X and Z
    _coded: dict = field(default_factory=dict, repr=False)

    @property
    def nobs(self) -> int:
        return len(self.y)

    def model_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """X for new rows (e.g. a reference grid), with the same columns as :attr:`X`.

        ``frame`` holds every fixed-effect variable: factors as level labels, numbers as numbers.
        """
        cols = _fixed_columns(self.formula.terms, self.intercept, frame, self.factor_levels)
        full = np.column_stack([c for _, c in cols]) if cols else np.empty((len(frame), 0))
        return full[:, self._keep]

    def full_indicator_matrix(self) -> tuple:
        """Over-parametrised X with every level of every factor in every term (SAS's / lmerTest's rdX).

        Returns
        -------
        (ndarray, list of str, list of list)
            The matrix, its column names and the columns of each term (after the intercept column
            when the model has one).
        """
        mats, names, term_cols = [], [], []
        start = 0
        if self.intercept:
            mats.append(np.ones((self.nobs, 1)))
            names.append("(Intercept)")
            start = 1
        for term in self.formula.terms:
            pieces = []
            for v in term:
                if v in self.factor_levels:
                    pieces.append(_indicators(self.frame[v], self.factor_levels[v], v, full=True,
                                              coded=_coded_for(self._coded, v, self.nobs)))
                else:
                    pieces.append([(quote(v), self.frame[v].to_numpy(float))])
            cols = _product(pieces)
            mats.append(np.column_stack([c for _, c in cols]))
            names.extend(n for n, _ in cols)
            term_cols.append(list(range(start, start + len(cols))))
            start += len(cols)
        return np.column_stack(mats), names, term_cols


def build_design(formula: Formula, data: pd.DataFrame, factors=(), reference_levels=None,
                 extra_columns=(), where: str = "the data", progress: Progress | None = None) -> Design:
    """Build the design of ``formula`` on ``data``.

    Parameters
    ----------
    formula : Formula
    data : DataFrame
    factors : iterable of str
        Columns to treat as categorical even when numeric.
    reference_levels : dict, optional
        Factor -> reference level (treatment coding against it).
    extra_columns : iterable of str
        Further columns whose missing values also drop a row (e.g. the repeated-measures subject).
    where : str
        Name of the data for messages.
    progress : Progress, optional
        Told between the steps (and between chunks of a million rows), with fractions below 0.05,
        so that Cancel stops a design of millions of rows within about a second (raises
        ``Cancelled``).

    Raises
    ------
    DataError, ModelError
        Unknown columns (with the closest name), a text outcome, no complete rows, a factor or
        grouping factor with a single level, an unknown reference level.
    """
    reference_levels = dict(reference_levels or {})
    used = list(dict.fromkeys(formula.variables() + list(extra_columns)))
    columns = [str(c) for c in data.columns]
    # factor(x) in the formula: a categorical copy of column x under R's name for it
    calls = {v: factor_column(v) for v in used if factor_column(v) is not None and v not in data.columns}
    for col in calls.values():
        if col not in data.columns:
            raise DataError(missing_column_message(col, columns, where, "column inside factor()"))
    if calls:
        data = data.assign(**{v: data[col] for v, col in calls.items()})
        factors = set(factors) | set(calls)
    for v in used:
        if v not in data.columns:
            role = "outcome" if v == formula.response else "column"
            raise DataError(missing_column_message(v, columns, where, role))
    if formula.response in set(factors) or formula.response in reference_levels:
        raise DataError(f'the outcome "{formula.response}" is declared categorical (in the factors or with a '
                        "reference level); an outcome must be numeric, so remove it from the factors")
    # a reference level makes its column a factor (treatment coding against it), as in the R script
    factors = set(factors) | set(formula.grouping_variables()) | (set(reference_levels) & set(used))
    y_col = data[formula.response]
    if not pd.api.types.is_numeric_dtype(y_col) or pd.api.types.is_bool_dtype(y_col):
        y_num = pd.to_numeric(y_col, errors="coerce")
        if y_num.notna().sum() < 0.9 * y_col.notna().sum():
            raise DataError(f'the outcome "{formula.response}" is not numeric (it holds text such as '
                            f'"{_example(y_col)}"); choose a numeric outcome, or recode it')
    warnings = []
    step = progress.step if progress is not None else (lambda fraction, message: None)
    sub = data[used]
    complete, nmiss = _complete_rows(sub, step)
    if not complete.all():
        which = ", ".join(f"{c}: {int(k)}" for c, k in nmiss if k > 0)
        nd = int((~complete).sum())
        warnings.append(FitWarning("missing_rows", f"{nd} row{'s' if nd != 1 else ''} with missing values "
                                   f"{'were' if nd != 1 else 'was'} left out (missing per column: {which}).", "model"))
    rows = np.flatnonzero(complete)
    if len(rows) == 0:
        raise DataError("no row has a value in every column the model uses; check the missing values")
    frame = sub.reset_index(drop=True) if len(rows) == len(sub) else sub.iloc[rows].reset_index(drop=True)
    factor_levels, coded = {}, {}
    for v in used:
        if v == formula.response:
            continue
        if is_categorical(frame[v], v in factors):
            step(0.02, f"coding {v}")
            # each row hashed once: the codes serve the labels, X's indicators and Z's groups
            codes, levels = factor_codes(frame[v], progress, 0.02, f"coding {v}")
            coded[v] = (codes, levels)
            step(0.02, f"coding {v}")
            frame[v] = coded_labels(frame[v], codes, levels)
            ref = reference_levels.get(v)
            if ref is not None:
                ref = str(ref)
                if ref not in levels:
                    raise DataError(f'reference level "{ref}" is not a level of {v} (its levels are {", ".join(levels[:10])})')
                levels = [ref] + [lv for lv in levels if lv != ref]
            factor_levels[v] = levels
        else:
            frame[v] = pd.to_numeric(frame[v], errors="coerce").astype(float)
    y = pd.to_numeric(frame[formula.response], errors="coerce").to_numpy(float)
    if not np.isfinite(y).all():
        raise DataError(f'the outcome "{formula.response}" has values that are not numbers; recode them or mark them as missing')
    for term in formula.terms:
        for v in term:
            if v in factor_levels and len(factor_levels[v]) < 2:
                raise DataError(f'{v} has a single level ("{factor_levels[v][0]}") in the rows used, so it cannot '
                                "be a predictor; remove it from the model")
    step(0.03, "fixed-effects columns")
    cols = _fixed_columns(formula.terms, formula.intercept, frame, factor_levels, coded)
    names = [n for n, _ in cols]
    X_full = np.column_stack([c for _, c in cols]) if cols else np.empty((len(frame), 0))
    del cols
    if not np.isfinite(X_full).all():
        raise DataError("a predictor holds values that are not finite numbers (inf); recode them")
    keep = _independent_columns(X_full, step)
    dropped = [names[i] for i in range(len(names)) if i not in set(keep)]
    if dropped:
        warnings.append(FitWarning(
            "rank_deficient",
            f"{_plural(len(dropped), 'column')} of the fixed effects ({', '.join(dropped)}) "
            f"{'is a linear combination' if len(dropped) == 1 else 'are linear combinations'} of the others and "
            "cannot be estimated; dropped, as R does. Check for a predictor that repeats another or an empty cell "
            "of an interaction.", "fixed_effects"))
    X = X_full[:, keep]
    term_labels, term_vars, term_columns = [], [], []
    start = 1 if formula.intercept else 0
    pos_of = {j: i for i, j in enumerate(keep)}
    for term in formula.terms:
        n_cols = _n_term_columns(term, formula.terms, formula.intercept, factor_levels)
        idx = [pos_of[j] for j in range(start, start + n_cols) if j in pos_of]
        start += n_cols
        term_labels.append(term_label(term))
        term_vars.append(term)
        term_columns.append(idx)
    numeric_means = {v: float(frame[v].mean()) for t in formula.terms for v in t if v not in factor_levels}
    blocks = _random_blocks(formula, frame, factor_levels, coded, step)
    return Design(formula, y, X, [names[i] for i in keep], term_labels, term_vars, term_columns, formula.intercept,
                  dropped, factor_levels, numeric_means, blocks, rows, frame, warnings, names, keep,
                  _offset(formula, frame, factor_levels), _coded=coded)


def _complete_rows(sub: pd.DataFrame, step) -> tuple:
    """Rows with a value in every column, and the missing count per column; a progress step per chunk."""
    n = len(sub)
    complete = np.ones(n, dtype=bool)
    nmiss = []
    for j, name in enumerate(sub.columns):
        col = sub.iloc[:, j]
        missing = 0
        for start in range(0, n, CHUNK_ROWS):
            step(0.01, "looking for missing values")
            miss = col.iloc[start:start + CHUNK_ROWS].isna().to_numpy()
            complete[start:start + CHUNK_ROWS] &= ~miss
            missing += int(miss.sum())
        nmiss.append((name, missing))
    return complete, nmiss


def _offset(formula: Formula, frame: pd.DataFrame, factor_levels: dict):
    """The summed ``offset(x)`` / ``offset(log(x))`` terms, or None; refuses a log of zero by name."""
    if not formula.offsets:
        return None
    total = np.zeros(len(frame))
    for fn, v in formula.offsets:
        if v in factor_levels:
            raise DataError(f'the offset column "{v}" is categorical; an offset must be a number (e.g. the time at risk)')
        x = frame[v].to_numpy(float)
        if fn == "log":
            if np.any(x <= 0):
                k = int(np.sum(x <= 0))
                raise DataError(f'the offset column "{v}" has {k} zero or negative value{"s" if k != 1 else ""}, '
                                "whose log is not defined; remove those rows or use a positive exposure")
            x = np.log(x)
        total += x
    return total


# ----------------------------------------------------------------------------------------
def _plural(n, word):
    return f"{n} {word}{'' if n == 1 else 's'}"


def _example(series):
    s = series.dropna()
    bad = s[pd.to_numeric(s, errors="coerce").isna()]
    return str(bad.iloc[0]) if len(bad) else str(s.iloc[0]) if len(s) else ""


def _coded_for(coded: dict, var: str, n: int):
    """The stored coding of ``var`` when it belongs to rows of this length (else None: code anew)."""
    c = coded.get(var) if coded else None
    return c if c is not None and len(c[0]) == n else None


def _recode(coded: tuple, levels: list) -> np.ndarray:
    """Codes against ``levels`` (e.g. the reference first) from codes against the sorted levels."""
    codes, sorted_lv = coded
    if list(sorted_lv) == list(levels):
        return codes
    where = {lv: i for i, lv in enumerate(levels)}
    perm = np.array([where.get(lv, -1) for lv in sorted_lv] + [-1], dtype=np.int64)
    return perm[codes]


def _indicators(labels: pd.Series, levels: list, var: str, full: bool, coded: tuple | None = None) -> list:
    if coded is None:
        codes = pd.Categorical(labels, categories=levels).codes
    else:
        codes = _recode(coded, levels)
    use = levels if full else levels[1:]
    start = 0 if full else 1
    return [(quote(var) + lv, (codes == k).astype(float)) for k, lv in enumerate(use, start)]


def _product(pieces: list) -> list:
    """Columns of an interaction: every combination, the first variable varying fastest (R's order)."""
    out = []
    for combo in itertools.product(*reversed(pieces)):
        combo = combo[::-1]
        name = ":".join(n for n, _ in combo)
        col = combo[0][1]
        for _, c in combo[1:]:
            col = col * c
        out.append((name, col))
    return out


def _contrasts(v, term, all_terms, intercept) -> bool:
    """Whether factor ``v`` gets contrasts in ``term`` (R's rule) rather than full indicators."""
    margin = frozenset(term) - {v}
    return intercept if not margin else margin in {frozenset(t) for t in all_terms}


def _term_columns(term, all_terms, intercept, frame, factor_levels, coded=None) -> list:
    pieces = []
    for v in term:
        if v in factor_levels:
            contrasts = _contrasts(v, term, all_terms, intercept)
            pieces.append(_indicators(frame[v], factor_levels[v], v, full=not contrasts,
                                      coded=_coded_for(coded, v, len(frame))))
        else:
            pieces.append([(quote(v), frame[v].to_numpy(float))])
    return _product(pieces)


def _n_term_columns(term, all_terms, intercept, factor_levels) -> int:
    """How many columns :func:`_term_columns` gives for ``term``, without making them."""
    n = 1
    for v in term:
        if v in factor_levels:
            n *= len(factor_levels[v]) - (1 if _contrasts(v, term, all_terms, intercept) else 0)
    return n


def _fixed_columns(terms, intercept, frame, factor_levels, coded=None) -> list:
    cols = [("(Intercept)", np.ones(len(frame)))] if intercept else []
    for term in terms:
        cols.extend(_term_columns(term, terms, intercept, frame, factor_levels, coded))
    return cols


def _independent_columns(X: np.ndarray, step=None) -> list:
    """Indices of columns kept when each column aliased with earlier ones is dropped (as R's lm/lmer)."""
    p = X.shape[1]
    if p == 0:
        return []
    # Scale columns so the tolerance is relative, then a pivot-free Gram-Schmidt in column order.
    step = step or (lambda fraction, message: None)
    step(0.04, "checking for aliased columns")
    norms = np.linalg.norm(X, axis=0)
    keep, Q = [], np.empty((X.shape[0], 0))
    for j in range(p):
        step(0.04, "checking for aliased columns")
        if norms[j] == 0:
            continue
        v = X[:, j] / norms[j]
        if Q.shape[1]:
            v = v - Q @ (Q.T @ v)
            step(0.04, "checking for aliased columns")
            v = v - Q @ (Q.T @ v)  # second pass for numerical orthogonality
        r = np.linalg.norm(v)
        if r > ALIAS_TOL:
            keep.append(j)
            Q = np.column_stack([Q, v / r])
    return keep


def _one_group(frame: pd.DataFrame, g: str, coded) -> tuple:
    """Codes and sorted levels of grouping factor ``g`` (its labels as text)."""
    c = _coded_for(coded, g, len(frame))
    if c is not None:  # the labels are the levels' text already: the same codes and order
        return c[0].copy(), list(c[1])
    labels = frame[g].astype(str)
    levels = sorted_levels(labels)
    return pd.Categorical(labels, categories=levels).codes.astype(np.int64), levels


def _group_codes(frame: pd.DataFrame, group: tuple, factor_levels: dict, name: str, coded=None):
    if len(group) == 1:
        return _one_group(frame, group[0], coded)
    parts = [_one_group(frame, g, coded) for g in group]
    key = np.zeros(len(frame), dtype=np.int64)
    for c, lv in parts:
        key = key * len(lv) + c
    uniq, codes = np.unique(key, return_inverse=True)
    pieces = []
    for _, lv in reversed(parts):  # the last factor varies fastest in the key
        uniq, r = np.divmod(uniq, len(lv))
        pieces.append(np.asarray(lv, dtype=object)[r])
    labels = [":".join(t) for t in zip(*reversed(pieces))]
    return codes.astype(np.int64), labels


def _nested_name(chain: tuple) -> str:
    """lme4's name of the innermost group of a nesting ``a/b/c``: ``b:a``, ``c:(b:a)``, ``d:(c:(b:a))``."""
    name = chain[0]
    for k, g in enumerate(chain[1:]):
        name = f"{g}:{name}" if k == 0 else f"{g}:({name})"
    return name


def _random_blocks(formula: Formula, frame: pd.DataFrame, factor_levels: dict, coded=None, step=None) -> list:
    blocks = []
    for rt in formula.random:
        lhs_terms = list(rt.terms)
        for v in (v for t in lhs_terms for v in t):
            if v in factor_levels and len(factor_levels[v]) < 2:
                raise DataError(f'{v} has a single level, so it cannot have a random slope; remove it from the random term')
        # `||` splits the term into one block per column (lme4 splits per term; factors keep their columns)
        if rt.correlated:
            specs = [(rt.intercept, lhs_terms)]
        else:
            specs = ([(True, [])] if rt.intercept else []) + [(False, [t]) for t in lhs_terms]
        for g in rt.groups:
            nested = len(rt.groups) > 1 and g == rt.groups[-1][: len(g)] and len(g) > 1
            parts = tuple(reversed(g)) if nested else g
            name = _nested_name(g) if nested else ":".join(parts)
            if step is not None:
                step(0.045, f"random effects of {name}")
            codes, levels = _group_codes(frame, parts, factor_levels, name, coded)
            if len(levels) < 2:
                raise ModelError(f'the grouping factor {name} has only one level in the rows used, so its variance '
                                 "cannot be estimated; remove the random term or use a factor with several groups")
            for icpt, terms in specs:
                cols = _fixed_columns(terms, icpt, frame, factor_levels, coded)
                Z = np.column_stack([c for _, c in cols])
                blocks.append(RandomBlock(name, codes, levels, Z, [n for n, _ in cols]))
    return lme4_order(blocks)


def lme4_order(blocks: list) -> list:
    """Order random-effects terms as lme4's ``mkReTrms``, so every table lists them as R does.

    When the numbers of levels are not already non-increasing, lme4 uses ``rev(order(nl))``:
    decreasing number of levels, ties in reverse order of appearance.
    """
    nl = [b.n_levels for b in blocks]
    if any(nl[i + 1] > nl[i] for i in range(len(nl) - 1)):
        return [blocks[i] for i in np.argsort(nl, kind="stable")[::-1]]
    return list(blocks)


def rebuild_design(design, formula):
    """The design of another formula on the same rows, factor codings and reference levels."""
    return build_design(formula, design.frame, factors=list(design.factor_levels),
                        reference_levels={v: lv[0] for v, lv in design.factor_levels.items()})
