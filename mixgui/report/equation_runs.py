"""The model's equations as styled text runs, for formats without a LaTeX renderer (Word, Excel).

Word and Excel both take a cell or paragraph as a sequence of runs with sub- or superscript set, so
the equations read as they do in the window (Greek letters, subscripts) and stay editable text, where
a picture of the formula could be neither searched nor corrected.
"""
from __future__ import annotations

import html
import re

from mixgui.results.equations import PARTS, to_html

_TAG = re.compile(r"(</?sub>|</?sup>|</?b>|<br>)")


def _flat_matrices(latex: str) -> str:
    """``pmatrix`` written inline as ``[a, b; c, d]`` (a run cannot hold a table)."""
    def flat(m: re.Match) -> str:
        rows = [", ".join(c.strip() for c in r.split(" & ")) for r in m.group(1).split(r" \\ ")]
        return "[" + "; ".join(rows) + "]"
    return re.sub(r"\\begin\{pmatrix\}(.*?)\\end\{pmatrix\}", flat, latex)


def equation_runs(latex: str) -> list:
    """One equation part as ``[(text, style), ...]`` with style ``""``, ``"sub"``, ``"sup"`` or ``"bold"``.

    Parameters
    ----------
    latex : str
        A part of the results file's ``equations`` (the LaTeX this program writes).

    Returns
    -------
    list of tuple
        Runs in reading order; a line break is a run ``("\\n", "")``.
    """
    runs, style = [], []
    for piece in _TAG.split(to_html(_flat_matrices(latex))):
        if not piece:
            continue
        if piece == "<br>":
            runs.append(("\n", ""))
        elif piece.startswith("</"):
            if style:
                style.pop()
        elif piece.startswith("<"):
            style.append({"<sub>": "sub", "<sup>": "sup", "<b>": "bold"}[piece])
        else:
            text = html.unescape(piece).replace("\xa0", " ").replace("\u2009", " ")
            runs.append((text, style[-1] if style else ""))
    return runs


def report_equations(equations: dict) -> list:
    """The parts a report shows: ``[(label, runs), ...]`` in the window's order, empty parts left out."""
    return [(label, equation_runs(equations[key])) for key, label in PARTS if equations.get(key)]


def plain_text(runs: list) -> str:
    """Runs as one string (subscripts written after ``_``, superscripts after ``^``) for CSV/text files."""
    mark = {"sub": "_", "sup": "^"}
    out = []
    for text, style in runs:
        m = mark.get(style, "")
        out.append(m + (f"{{{text}}}" if m and len(text) > 1 else text))
    return "".join(out)
