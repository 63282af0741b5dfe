"""Result tables that render themselves: numbers formatted as in a paper, full precision kept.

A :class:`Table` has typed columns (``kind`` decides the formatting), rows of raw values, footnotes
and the warnings that concern it. Renderers: plain text, HTML (for the results panel and reports)
and tab-separated text (for pasting into Excel).
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    """A table column: ``key`` into the row dicts, ``label`` for the header, ``kind`` for formatting.

    kinds: ``text``, ``num`` (3 significant decimals), ``int``, ``df``, ``p`` (p < .001 style),
    ``ci`` (key holds a (lower, upper) pair, shown as [lo, hi]).
    """

    key: str
    label: str
    kind: str = "num"


@dataclass
class Table:
    """One results table."""

    key: str
    title: str
    columns: list
    rows: list
    footnotes: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def cell(self, row: dict, col: Column, digits: int = 3) -> str:
        return format_value(row.get(col.key), col.kind, digits)

    def text_rows(self, digits: int = 3) -> list:
        return [[self.cell(r, c, digits) for c in self.columns] for r in self.rows]

    def to_text(self, digits: int = 3) -> str:
        header = [c.label for c in self.columns]
        body = self.text_rows(digits)
        widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(header)]
        lines = [self.title, "  ".join(h.ljust(w) for h, w in zip(header, widths))]
        lines += ["  ".join(v.rjust(w) if c.kind != "text" else v.ljust(w) for v, w, c in zip(r, widths, self.columns))
                  for r in body]
        lines += [f"Note. {f}" for f in self.footnotes]
        lines += [f"Warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_tsv(self, digits: int = 3) -> str:
        """Tab-separated text: pastes into Excel as cells."""
        lines = ["\t".join(c.label for c in self.columns)]
        lines += ["\t".join(r) for r in self.text_rows(digits)]
        return "\n".join(lines)

    def to_html(self, digits: int = 3, full_precision_titles: bool = True) -> str:
        """An HTML table; each number carries its full value as a tooltip."""
        out = [f'<table class="result" data-key="{html.escape(self.key)}">',
               f"<caption>{html.escape(self.title)}</caption>", "<thead><tr>"]
        out += [f"<th>{html.escape(c.label)}</th>" for c in self.columns]
        out.append("</tr></thead><tbody>")
        for r in self.rows:
            out.append("<tr>")
            for c in self.columns:
                v = r.get(c.key)
                text = html.escape(format_value(v, c.kind, digits))
                tip = f' title="{html.escape(full_value(v))}"' if full_precision_titles and c.kind not in ("text",) else ""
                align = "left" if c.kind == "text" else "right"
                out.append(f'<td style="text-align:{align}"{tip}>{text}</td>')
            out.append("</tr>")
        out.append("</tbody></table>")
        for f in self.footnotes:
            out.append(f'<p class="note"><i>Note.</i> {html.escape(f)}</p>')
        for w in self.warnings:
            out.append(f'<p class="warning">&#9888; {html.escape(str(w))}</p>')
        return "".join(out)


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def full_value(v) -> str:
    if isinstance(v, (tuple, list)):
        return ", ".join(full_value(x) for x in v)
    if _finite(v):
        return repr(float(v))
    return "" if v is None else str(v)


def format_number(v, digits: int = 3) -> str:
    """Three decimals for ordinary numbers, significant digits for small or large ones."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, float) and math.isinf(v):
        return "∞" if v > 0 else "−∞"
    v = float(v)
    a = abs(v)
    if a != 0 and (a < 10 ** -(digits - 1) or a >= 1e7):
        return f"{v:.{digits}g}".replace("-", "−")
    return f"{v:.{digits}f}".replace("-", "−")


def format_p(p, digits: int = 3) -> str:
    """APA style: p < .001, otherwise three decimals without the leading zero."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "—"
    if p < 10 ** -digits:
        return "< ." + "0" * (digits - 1) + "1"
    s = f"{p:.{digits}f}"
    return s[1:] if s.startswith("0") else s


def format_value(v, kind: str, digits: int = 3) -> str:
    if kind == "text":
        return "" if v is None else str(v)
    if kind == "p":
        return format_p(v, digits)
    if kind == "int":
        return "—" if v is None else f"{int(v)}"
    if kind == "df":
        if v is None:
            return "—"
        if _finite(v) and abs(v - round(v)) < 1e-6:
            return f"{int(round(v))}"
        return format_number(v, 2 if digits <= 3 else digits)
    if kind == "ci":
        if not v or v[0] is None:
            return "—"
        # both limits with the same number of decimals, so the interval reads as one quantity
        lo, hi = v
        if max(abs(lo), abs(hi)) < 1e7 and max(abs(lo), abs(hi)) >= 10 ** -(digits - 1):
            return f"[{lo:.{digits}f}, {hi:.{digits}f}]".replace("-", "−")
        return f"[{format_number(lo, digits)}, {format_number(hi, digits)}]"
    return format_number(v, digits)
