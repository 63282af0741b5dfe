"""Parse model formulas in lme4 syntax into a plain structure.

Supported: ``y ~ a + b``, ``a * b``, ``a:b``, ``a / b``, ``(a + b + c)^2``, ``- term``,
``0 +`` / ``- 1`` (no intercept), random terms ``(x | g)``, ``(x || g)``, ``(0 + x | g)``,
``(1 | g1/g2)``, ``(1 | g1:g2)`` and several of them, backtick-quoted names (```my var```).
A formula without ``|`` is an ordinary regression.

Errors are :class:`~mixgui.errors.SpecError` whose message names the position and what was
expected, e.g. ``formula position 14: expected a variable name after "+"``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from mixgui.errors import SpecError

Term = tuple  # a tuple of variable names; () is not used (the intercept is a flag)


@dataclass(frozen=True)
class RandomTerm:
    """One ``( ... | group)`` term of the formula.

    Attributes
    ----------
    intercept : bool
        Whether the term has a random intercept.
    terms : tuple of Term
        Random slopes (each a tuple of variable names; an interaction has several).
    groups : tuple of Term
        Grouping factors after expanding nesting: ``g1/g2`` gives ``(("g1",), ("g1", "g2"))``.
    correlated : bool
        False for ``||``.
    """

    intercept: bool
    terms: tuple
    groups: tuple
    correlated: bool = True

    def lhs_text(self) -> str:
        parts = (["1"] if self.intercept else ["0"]) + [term_label(t) for t in self.terms]
        if self.intercept and self.terms:
            parts = parts[1:]
        return " + ".join(parts)

    def group_text(self) -> str:
        if len(self.groups) > 1 and all(self.groups[i] == self.groups[-1][: i + 1] for i in range(len(self.groups))):
            return "/".join(quote(g[-1]) for g in self.groups)
        return " + ".join(term_label(g) for g in self.groups)

    def text(self) -> str:
        bar = "|" if self.correlated else "||"
        return f"({self.lhs_text()} {bar} {self.group_text()})"


@dataclass(frozen=True)
class Formula:
    """A parsed model formula.

    Attributes
    ----------
    response : str
        The outcome column.
    intercept : bool
        Whether the fixed part has an intercept.
    terms : tuple of Term
        Fixed terms in R's order (by interaction order, then first appearance).
    random : tuple of RandomTerm
        Random-effects terms in the order written.
    """

    response: str
    intercept: bool = True
    terms: tuple = ()
    random: tuple = field(default_factory=tuple)
    offsets: tuple = ()  # generalized models: ("log", "x") for offset(log(x)), ("", "x") for offset(x)

    @property
    def is_mixed(self) -> bool:
        return bool(self.random)

    def variables(self) -> list:
        """Every column the formula names, response first, each once."""
        seen: list = [self.response]
        for t in self.terms:
            seen.extend(t)
        for r in self.random:
            for t in r.terms:
                seen.extend(t)
            for g in r.groups:
                seen.extend(g)
        seen.extend(v for _, v in self.offsets)
        return list(dict.fromkeys(seen))

    def grouping_variables(self) -> list:
        return list(dict.fromkeys(v for r in self.random for g in r.groups for v in g))

    def fixed_text(self) -> str:
        parts = [term_label(t) for t in self.terms]
        if not self.intercept:
            parts = ["0"] + parts
        return " + ".join(parts) if parts else ("1" if self.intercept else "0")

    def text(self) -> str:
        """The formula written back in lme4 syntax (canonical form)."""
        rhs = self.fixed_text()
        for fn, v in self.offsets:
            rhs += f" + offset({fn}({quote(v)}))" if fn else f" + offset({quote(v)})"
        if self.random:
            rhs += " + " + " + ".join(r.text() for r in self.random)
        return f"{quote(self.response)} ~ {rhs}"


_NAME = re.compile(r"(?:[^\W\d]|\.)[\w.]*")  # R names: letters (any script), digits, _ and .


_FACTOR_CALL = re.compile(r"^factor\((.+)\)$", re.S)


def factor_column(name: str) -> str | None:
    """The column inside R's ``factor(x)`` (``"factor(age)"`` -> ``"age"``); None for a plain name."""
    m = _FACTOR_CALL.match(name)
    return m.group(1) if m else None


def quote(name: str) -> str:
    """Write a variable name as a formula token (backticks when it is not a plain name).

    ``factor(x)`` is written as R writes it, with the column inside quoted if it needs to be.
    """
    inner = factor_column(name)
    if inner is not None:
        return f"factor({quote(inner)})"
    return name if _NAME.fullmatch(name) and name not in ("0", "1") else f"`{name}`"


def term_label(term: tuple) -> str:
    """R's label of a term: variables joined with ``:``."""
    return ":".join(quote(v) for v in term)


# ----------------------------------------------------------------------------------------
# tokenizer

@dataclass
class _Tok:
    kind: str  # name, num, op, end
    text: str
    pos: int


def _tokenize(text: str) -> list:
    toks, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "`":
            j = text.find("`", i + 1)
            if j < 0:
                raise SpecError(f"formula position {i + 1}: a backtick-quoted name is not closed with `")
            if j == i + 1:
                raise SpecError(f"formula position {i + 1}: empty name between backticks")
            toks.append(_Tok("name", text[i + 1:j], i))
            i = j + 1
        elif text.startswith("||", i):
            toks.append(_Tok("op", "||", i))
            i += 2
        elif c in "~+-*:/|()^":
            toks.append(_Tok("op", c, i))
            i += 1
        elif c.isdigit():
            m = re.match(r"\d+(\.\d+)?", text[i:])
            toks.append(_Tok("num", m.group(0), i))
            i += len(m.group(0))
        else:
            m = _NAME.match(text, i)
            if not m:
                raise SpecError(f'formula position {i + 1}: unexpected character "{c}"; '
                                "put names with spaces or symbols in backticks, like `my var`")
            toks.append(_Tok("name", m.group(0), i))
            i = m.end()
    toks.append(_Tok("end", "", n))
    return toks


# ----------------------------------------------------------------------------------------
# term algebra: an expression is (terms, intercept) where intercept is True/False/None (not said)

@dataclass
class _Expr:
    terms: list  # list of tuples (variable order = first appearance)
    intercept: object = None  # True (1), False (0 / -1), None (not mentioned)
    random: list = field(default_factory=list)
    offsets: list = field(default_factory=list)


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.order: dict = {}  # variable -> first appearance, for R's within-term ordering

    # -- helpers
    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def fail(self, tok: _Tok, what: str) -> SpecError:
        k = next((j for j, t in enumerate(self.toks) if t is tok), 0)
        if tok.kind == "op" and tok.text == "(" and k > 0 and self.toks[k - 1].kind == "name":
            fn = self.toks[k - 1].text
            return SpecError(f"formula position {self.toks[k - 1].pos + 1}: functions such as {fn}(...) cannot be "
                             "used in a formula; compute a new column with the transformed values and use its name")
        got = "the end of the formula" if tok.kind == "end" else f'"{tok.text}"'
        return SpecError(f"formula position {tok.pos + 1}: expected {what}, found {got}")

    def expect(self, op: str, what: str) -> _Tok:
        t = self.take()
        if t.kind != "op" or t.text != op:
            raise self.fail(t, what)
        return t

    def norm(self, term) -> tuple:
        return tuple(sorted(dict.fromkeys(term), key=lambda v: self.order[v]))

    # -- grammar
    def formula(self) -> Formula:
        t = self.take()
        if t.kind != "name":
            raise self.fail(t, "the outcome (a column name) before ~")
        response = t.text
        self.expect("~", '"~" after the outcome')
        if self.peek().kind == "end":
            raise self.fail(self.peek(), "model terms after ~ (use 1 for an intercept-only model)")
        expr = self.sum(top=True)
        if self.peek().kind != "end":
            raise self.fail(self.peek(), '"+" or the end of the formula')
        if response in {v for term in expr.terms for v in term}:
            raise SpecError(f'formula: the outcome "{response}" also appears as a predictor')
        terms = sorted(expr.terms, key=len)  # stable: by order, then appearance
        return Formula(response, expr.intercept is not False, tuple(terms), tuple(expr.random), tuple(expr.offsets))

    def sum(self, top=False) -> _Expr:
        left = self.product(top)
        while self.peek().kind == "op" and self.peek().text in "+-" and self.peek().text:
            op = self.take().text
            if self.peek().kind == "end":
                raise self.fail(self.peek(), f'a term after "{op}"')
            right = self.product(top)
            if op == "+":
                left = _Expr(_union(left.terms, right.terms),
                             right.intercept if right.intercept is not None else left.intercept,
                             left.random + right.random, left.offsets + right.offsets)
            else:
                if right.random:
                    raise SpecError("formula: a random-effects term cannot be subtracted")
                keep = [t for t in left.terms if t not in right.terms]
                icpt = False if right.intercept is True else left.intercept
                left = _Expr(keep, icpt, left.random)
        return left

    def product(self, top=False) -> _Expr:
        left = self.nest(top)
        while self.peek().kind == "op" and self.peek().text == "*":
            self.take()
            right = self.nest(top)
            self._no_random(left, right, "*")
            cross = [self.norm(a + b) for a in left.terms for b in right.terms]
            left = _Expr(_union(_union(left.terms, right.terms), cross), _icpt(left, right))
        return left

    def nest(self, top=False) -> _Expr:
        left = self.interaction(top)
        while self.peek().kind == "op" and self.peek().text == "/":
            self.take()
            right = self.interaction(top)
            self._no_random(left, right, "/")
            allvars = tuple(v for t in left.terms for v in t)
            nested = [self.norm(allvars + b) for b in right.terms]
            left = _Expr(_union(left.terms, nested), _icpt(left, right))
        return left

    def interaction(self, top=False) -> _Expr:
        left = self.power(top)
        while self.peek().kind == "op" and self.peek().text == ":":
            self.take()
            right = self.power(top)
            self._no_random(left, right, ":")
            left = _Expr(_union([], [self.norm(a + b) for a in left.terms for b in right.terms]), None)
        return left

    def power(self, top=False) -> _Expr:
        base = self.atom(top)
        if self.peek().kind == "op" and self.peek().text == "^":
            self.take()
            t = self.take()
            if t.kind != "num" or not t.text.isdigit() or int(t.text) < 1:
                raise self.fail(t, "a whole number after ^")
            result = base
            for _ in range(int(t.text) - 1):
                cross = [self.norm(a + b) for a in result.terms for b in base.terms]
                result = _Expr(_union(result.terms, cross), base.intercept)
            return result
        return base

    def atom(self, top=False) -> _Expr:
        t = self.take()
        if t.kind == "name" and t.text == "factor" and self.peek().kind == "op" and self.peek().text == "(":
            # R's factor(x): the column x, treated as categorical; its terms are named factor(x)<level>
            self.take()
            inner = self.take()
            if inner.kind != "name":
                raise self.fail(inner, "a column name inside factor( )")
            self.expect(")", 'a closing ")" after factor(column')
            name = f"factor({inner.text})"
            self.order.setdefault(name, len(self.order))
            return _Expr([(name,)])
        if t.kind == "name" and t.text == "offset" and self.peek().kind == "op" and self.peek().text == "(":
            return self.offset(t, top)
        if t.kind == "name":
            self.order.setdefault(t.text, len(self.order))
            return _Expr([(t.text,)])
        if t.kind == "num":
            if t.text in ("0", "1"):
                return _Expr([], t.text == "1")
            raise SpecError(f'formula position {t.pos + 1}: the number {t.text} cannot be a term (only 0 or 1)')
        if t.kind == "op" and t.text == "-" and self.peek().kind == "num" and self.peek().text in ("0", "1"):
            n = self.take()
            return _Expr([], n.text == "0")  # "-1" removes the intercept
        if t.kind == "op" and t.text == "(":
            inner = self.sum()
            nxt = self.peek()
            if nxt.kind == "op" and nxt.text in ("|", "||"):
                if not top:
                    raise SpecError(f"formula position {t.pos + 1}: a random-effects term (… | group) "
                                    "must be added to the model with +, not combined with * : or /")
                self.take()
                groups = self.groups()
                self.expect(")", 'a closing ")" after the grouping factor')
                if inner.random:
                    raise SpecError(f"formula position {t.pos + 1}: random-effects terms cannot be nested in each other")
                rt = RandomTerm(inner.intercept is not False, tuple(sorted(inner.terms, key=len)),
                                tuple(groups), nxt.text == "|")
                if not rt.intercept and not rt.terms:
                    raise SpecError(f"formula position {t.pos + 1}: the random-effects term has neither an "
                                    "intercept nor a slope")
                return _Expr([], None, [rt])
            self.expect(")", 'a closing ")"')
            return inner
        raise self.fail(t, "a variable name, 1, 0 or (")

    def offset(self, t: _Tok, top: bool) -> _Expr:
        """``offset(x)`` or ``offset(log(x))``: a known part of the linear predictor (generalized models)."""
        if not top:
            raise SpecError(f"formula position {t.pos + 1}: an offset must be added to the model with +")
        self.expect("(", '"(" after offset')
        fn, name = "", self.take()
        if name.kind == "name" and name.text == "log" and self.peek().kind == "op" and self.peek().text == "(":
            self.take()
            fn, name = "log", self.take()
            if name.kind != "name":
                raise self.fail(name, "a column name inside offset(log(...))")
            self.expect(")", 'a closing ")" after the offset column')
        elif name.kind != "name":
            raise self.fail(name, "a column name or log(column) inside offset(...)")
        self.expect(")", 'a closing ")" after the offset')
        return _Expr([], None, [], [(fn, name.text)])

    def groups(self) -> list:
        t = self.take()
        if t.kind != "name":
            raise self.fail(t, 'a grouping factor after "|"')
        self.order.setdefault(t.text, len(self.order))
        current = (t.text,)
        out = []
        while self.peek().kind == "op" and self.peek().text in (":", "/"):
            op = self.take().text
            n = self.take()
            if n.kind != "name":
                raise self.fail(n, f'a grouping factor after "{op}"')
            self.order.setdefault(n.text, len(self.order))
            if op == "/":
                out.append(current)
            current = current + (n.text,)
        out.append(current)
        return out

    @staticmethod
    def _no_random(a: _Expr, b: _Expr, op: str) -> None:
        if a.random or b.random:
            raise SpecError(f'formula: random-effects terms cannot be combined with "{op}"; add them with +')


def _union(a: list, b: list) -> list:
    out = list(a)
    for t in b:
        if t not in out:
            out.append(t)
    return out


def _icpt(a: _Expr, b: _Expr):
    if a.intercept is False or b.intercept is False:
        return False
    return None


def parse_formula(text: str) -> Formula:
    """Parse an lme4 formula.

    Parameters
    ----------
    text : str
        e.g. ``"score ~ time * treatment + age + (1 | clinic/patient)"``.

    Returns
    -------
    Formula

    Raises
    ------
    SpecError
        With the position (1-based) and what was expected.
    """
    if not isinstance(text, str) or not text.strip():
        raise SpecError("the formula is empty; write it as outcome ~ predictors, e.g. score ~ time + (1 | patient)")
    if "~" not in text:
        raise SpecError('the formula has no "~"; write it as outcome ~ predictors, e.g. score ~ time + (1 | patient)')
    return _Parser(text).formula()
