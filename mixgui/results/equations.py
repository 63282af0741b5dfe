"""The model written level by level, as a clinician learns it, with or without the fitted numbers.

Level 1 is the observation within its cluster, level 2 each cluster coefficient = a fixed part plus a
cluster deviation (cluster-level predictors enter here), and the combined (reduced) form puts both
together. The distributions follow: a variance per random term, the Psi matrix of correlated terms,
and the residual covariance pattern of a repeated-measures structure. Output is LaTeX (and plain
text, for pasting into a mail); numbers are rounded as the tables round them.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from mixgui.results.tables import format_number

DEVIATION = ("u", "v", "r", "s", "q")  # one letter per grouping factor
INDEX = ("j", "k", "l", "m", "n")

PARTS = (("level1", "Level 1 — an observation within its cluster"),
         ("level2", "Level 2 — each cluster's coefficients"),
         ("combined", "Combined (reduced) form"),
         ("distributions", "Distributions"))

_LATEX_SPECIAL = re.compile(r"([\\{}_^#$%&~])")


def latex_block(equations: dict) -> str:
    """All parts of ``equations`` as one LaTeX ``aligned`` block, ready to paste into a manuscript.

    Parameters
    ----------
    equations : dict
        The results file's ``equations`` (see :func:`model_equations`).

    Returns
    -------
    str
    """
    lines = [equations[k] for k, _ in PARTS if equations.get(k)]
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


def _tex(name: str) -> str:
    """A variable or level name as upright LaTeX text."""
    esc = _LATEX_SPECIAL.sub(lambda m: {"\\": r"\textbackslash{}", "~": r"\textasciitilde{}",
                                        "^": r"\textasciicircum{}"}.get(m.group(1), "\\" + m.group(1)), name)
    return r"\text{" + esc + "}"


def _num(v) -> str:
    return format_number(v).replace("−", "-")


def _groupings(blocks) -> list:
    """Distinct grouping factors, innermost of a nested chain first, each with its index letter."""
    names = list(dict.fromkeys(b.group for b in blocks))
    names.sort(key=lambda g: -len(g.split(":")))
    return names


def _varies_within(col: pd.Series, codes: np.ndarray) -> bool:
    """Whether some cluster holds two different values of ``col`` (missing values left out).

    Each value is compared with one value of its own cluster, in one linear pass: a grouped count of
    distinct values took ~4 s on 5,000,000 rows, with no progress report and no Cancel meanwhile.
    """
    if pd.api.types.is_float_dtype(col.dtype):
        values = col.to_numpy(float)
        valid = ~np.isnan(values)
    else:  # text, categories, integers, dates: compare integer codes of the distinct values
        values = col.cat.codes.to_numpy() if isinstance(col.dtype, pd.CategoricalDtype) else pd.factorize(col)[0]
        valid = values >= 0
    values, codes = values[valid], codes[valid]
    if not len(values):
        return False
    one = np.empty(int(codes.max()) + 1, values.dtype)
    one[codes] = values  # some value of each cluster: all of them when the cluster has only one
    return bool(np.any(values != one[codes]))


def _within(design, group: str) -> set:
    """Variables that vary within clusters of ``group`` (level-1 variables); the rest are cluster-level."""
    block = next(b for b in design.blocks if b.group == group)
    codes = np.asarray(block.codes, dtype=np.intp)
    return {v for v in {v for t in design.term_vars for v in t} if _varies_within(design.frame[v], codes)}


def _pieces(design) -> list:
    """Per fixed column: (name, [(variable, piece text)]) with the intercept as an empty list."""
    out = []
    for name in design.column_names:
        if name == "(Intercept)":
            out.append((name, []))
            continue
        term = next((tv for tv, cols in zip(design.term_vars, design.term_columns)
                     if design.column_names.index(name) in cols), ())
        parts = name.split(":") if len(term) > 1 else [name]
        items = []
        for v, part in zip(term, parts):
            if v in design.factor_levels and part.startswith(_strip_quotes(v)):
                items.append((v, f"{_tex(v)}[{_tex(part[len(_strip_quotes(v)):])}]"))
            else:
                items.append((v, _tex(v)))
        out.append((name, items))
    return out


def _strip_quotes(v: str) -> str:
    from mixgui.analysis.formula import quote
    return quote(v)


def model_equations(design, data: dict, fitted: bool = True) -> dict:
    """The model's equations: ``{"level1", "level2", "combined", "distributions", "plain"}``.

    Parameters
    ----------
    design : mixgui.engine.design.Design
        The design the model was fitted on (variables, columns, random blocks).
    data : dict
        The results contract of the fit (``fixed_effects``, ``variance_components``, ``repeated``).
    fitted : bool
        Put the estimates in place of the symbols (rounded as in the tables).

    Returns
    -------
    dict of str
        LaTeX for each part (``level2`` empty for a model without random terms) and a plain-text copy.
    """
    est = {r["term"]: r["estimate"] for r in data.get("fixed_effects", [])}
    blocks = list(design.blocks)
    groups = _groupings(blocks)
    idx = {g: INDEX[i % len(INDEX)] for i, g in enumerate(groups)}
    sub = "i" + "".join(idx[g] for g in groups)
    pieces = _pieces(design)
    # cluster-level predictors move to level 2 only for one grouping or a nested chain
    nested = all(set(groups[-1].split(":")) <= set(g.split(":")) for g in groups)
    within = _within(design, groups[0]) if groups and nested else {v for _, it in pieces for v, _ in it}
    random_of = {}  # fixed column name -> [(grouping, deviation symbol)]
    for gi, g in enumerate(groups):
        letter = DEVIATION[gi % len(DEVIATION)]
        for b in (b for b in blocks if b.group == g):
            for name in b.names:
                k = design.column_names.index(name) if name in design.column_names else None
                random_of.setdefault(name, []).append((g, f"{letter}_{{{k if k is not None else name}{idx[g]}}}"))

    def coef(k: int, name: str, level: str) -> str:
        if fitted and name in est:
            return _num(est[name])
        return rf"\gamma_{{{level}}}" if groups else rf"\beta_{{{k}}}"

    def predictor(items, s) -> str:
        # a cluster-level variable carries only the cluster's index
        return r" \cdot ".join(f"{t}_{{{s if (v in within or not cl) else cl}}}" for v, t in items)

    y = f"{_tex(design.formula.response)}_{{{sub}}}"
    cl = "".join(idx[g] for g in groups)
    if not groups:
        # ordinary regression: one equation; a repeated structure indexes visits i within subject j
        s1 = "ij" if data.get("repeated") else "i"
        terms = [coef(k, n, "") if not it else f"{coef(k, n, '')}\\,{predictor(it, s1)}"
                 for k, (n, it) in enumerate(pieces)]
        eq = f"{_tex(design.formula.response)}_{{{s1}}} = " + _join(terms) + f" + e_{{{s1}}}"
        dist = _residual(data, s1, fitted)
        return {"level1": eq, "level2": "", "combined": eq, "distributions": dist, "plain": _plain([eq, dist])}
    # level 1: the level-1 predictors, each with its cluster coefficient beta_pj
    level1_cols = [(k, n, it) for k, (n, it) in enumerate(pieces)
                   if n == "(Intercept)" or (it and all(v in within for v, _ in it))]
    l1 = [rf"\beta_{{{k}{cl}}}" + ("" if not it else rf"\,{predictor(it, sub)}") for k, n, it in level1_cols]
    level1 = f"{y} = " + _join(l1) + f" + e_{{{sub}}}"
    # level 2: each beta = fixed part (+ cluster-level predictors and cross-level interactions) + deviations
    level2 = []
    for k, n, it in level1_cols:
        parts = [coef(k, n, f"{k}0") if groups else coef(k, n, "")]
        own = {v for v, _ in it}
        for k2, (n2, it2) in enumerate(pieces):
            vs = {v for v, _ in it2}
            extra = [(v, t) for v, t in it2 if v not in within]
            if k2 == k or not extra or {v for v in vs if v in within} != own:
                continue
            parts.append(f"{coef(k2, n2, f'{k}{k2}')}\\,{predictor(extra, cl)}")
        parts += [sym for _, sym in random_of.get(n, [])]
        level2.append(rf"\beta_{{{k}{cl}}} = " + _join(parts))
    # combined: every fixed column times its predictor, then each deviation times its column
    comb = [coef(k, n, f"{k}") if not it else f"{coef(k, n, f'{k}')}\\,{predictor(it, sub)}"
            for k, (n, it) in enumerate(pieces)]
    for name, devs in random_of.items():
        it = dict(pieces).get(name, [])
        comb += [sym if not it else f"{sym}\\,{predictor(it, sub)}" for _, sym in devs]
    combined = f"{y} = " + _join(comb) + f" + e_{{{sub}}}"
    dists = _distributions(data, blocks, groups, random_of, fitted)
    dists.append(_residual(data, sub, fitted))
    if data.get("model") == "glmm":  # the linear predictor is the link of the mean; no normal residual
        level1, combined, dists[-1] = (_generalized(t, y, sub, data) for t in (level1, combined, None))
    return {"level1": level1, "level2": r" \\ ".join(level2), "combined": combined,
            "distributions": r" \\ ".join(dists), "plain": _plain([level1, *level2, combined, *dists])}


def _generalized(text: str | None, y: str, sub: str, data: dict) -> str:
    """A generalized model's equation: link(mu) on the left, no residual; or (text None) its distribution."""
    mu = rf"\mu_{{{sub}}}"
    if text is None:
        family = data.get("family", "")
        law = {"binomial": rf"\text{{Binomial}}(n_{{{sub}}}, {mu})", "poisson": rf"\text{{Poisson}}({mu})",
               "negative_binomial": rf"\text{{NB}}({mu}, \theta)"}.get(family, family)
        return f"{y} \\sim {law}"
    link = data.get("link", "")
    lhs = rf"\log({mu})" if link == "log" else rf"\text{{{link}}}({mu})"
    return text.replace(f"{y} = ", f"{lhs} = ", 1).replace(f" + e_{{{sub}}}", "")


def _join(parts: list) -> str:
    text = " + ".join(parts)
    return text.replace("+ -", "- ")


def _sigma2(data: dict) -> float:
    glance = data.get("glance") or {}
    if "sigma" in glance:
        return glance["sigma"] ** 2
    for r in data.get("variance_components", []):
        if r["group"] == "Residual":
            return r["vcov"]
    return float("nan")


def _distributions(data, blocks, groups, random_of, fitted) -> list:
    vc = data.get("variance_components", [])
    out = []
    for g in groups:
        syms = [sym for name, devs in random_of.items() for gg, sym in devs if gg == g]
        names = [name for name, devs in random_of.items() for gg, _ in devs if gg == g]
        rows = {(r["var1"], r["var2"]): r["vcov"] for r in vc if r["group"] == g}
        correlated = any(r["group"] == g and r["var2"] is not None for r in vc)
        if len(syms) == 1 or not correlated:
            for s, n in zip(syms, names):
                var = _num(rows.get((n, None), float("nan"))) if fitted else rf"\tau^2_{{{s}}}"
                out.append(f"{s} \\sim N(0, {var})")
            continue
        m = len(syms)
        cells = []
        for a in range(m):
            row = []
            for b in range(m):
                key = (names[a], None) if a == b else ((names[min(a, b)], names[max(a, b)]))
                row.append(_num(rows.get(key, float("nan"))) if fitted else rf"\tau_{{{min(a, b)}{max(a, b)}}}")
            cells.append(" & ".join(row))
        vec = r"\begin{pmatrix}" + r" \\ ".join(syms) + r"\end{pmatrix}"
        psi = r"\begin{pmatrix}" + r" \\ ".join(cells) + r"\end{pmatrix}"
        out.append(rf"{vec} \sim N\left(\mathbf{{0}}, \Psi = {psi}\right)")
    return out


PATTERNS = {  # the residual covariance pattern of each structure, entry (s, t), 1-based
    "ID": lambda s, t: r"\sigma^2" if s == t else "0",
    "DIAG": lambda s, t: rf"\sigma^2_{{{s}}}" if s == t else "0",
    "CS": lambda s, t: r"\sigma^2" if s == t else r"\sigma^2\rho",
    "CSH": lambda s, t: rf"\sigma^2_{{{s}}}" if s == t else rf"\sigma_{{{s}}}\sigma_{{{t}}}\rho",
    "AR1": lambda s, t: r"\sigma^2" if s == t else rf"\sigma^2\rho^{{{abs(s - t)}}}",
    "ARH1": lambda s, t: rf"\sigma^2_{{{s}}}" if s == t else rf"\sigma_{{{s}}}\sigma_{{{t}}}\rho^{{{abs(s - t)}}}",
    "TOEP": lambda s, t: r"\sigma^2" if s == t else rf"\sigma^2\rho_{{{abs(s - t)}}}",
    "UN": lambda s, t: rf"\sigma_{{{min(s, t)}{max(s, t)}}}",
}


def _residual(data: dict, sub: str, fitted: bool) -> str:
    rep = data.get("repeated")
    if not rep:
        return rf"e_{{{sub}}} \sim N(0, " + (_num(_sigma2(data)) if fitted else r"\sigma^2") + ")"
    pattern = PATTERNS.get(rep["structure"])
    T = len(rep.get("positions") or rep.get("marginal_covariance") or [])
    shown = min(T, 4) or 4
    if pattern is None:
        body = r"\Sigma"
    else:
        rows = [" & ".join(pattern(s, t) for t in range(1, shown + 1)) + (r" & \cdots" if T > shown else "")
                for s in range(1, shown + 1)]
        if T > shown:
            rows.append(" & ".join([r"\vdots"] * shown) + r" & \ddots")
        body = r"\begin{pmatrix}" + r" \\ ".join(rows) + r"\end{pmatrix}"
    params = ""
    if fitted and rep.get("parameters"):
        params = r",\quad " + ", ".join(f"{_tex(k)} = {_num(v)}" for k, v in rep["parameters"].items()
                                         if isinstance(v, (int, float)))
    last = sub[-1] if len(sub) > 1 else "i"
    return rf"\mathbf{{e}}_{{{last}}} \sim N\left(\mathbf{{0}}, \Sigma = {body}\right)" + params


def _plain(lines: list) -> str:
    """The equations as plain text: LaTeX markup taken out, Greek letters spelled."""
    text = "\n".join(lines)
    for a, b in ((r"\text{", ""), (r"\,", " "), (r"\cdot", "*"), (r"\sim", "~"), (r"\gamma", "gamma"),
                 (r"\beta", "beta"), (r"\mu", "mu"), (r"\theta", "theta"), (r"\log", "log"), (r"\sigma", "sigma"), (r"\rho", "rho"), (r"\tau", "tau"), (r"\Psi", "Psi"),
                 (r"\Sigma", "Sigma"), (r"\mathbf{", ""), (r"\left", ""), (r"\right", ""), (r"\quad", " "),
                 (r"\begin{pmatrix}", "["), (r"\end{pmatrix}", "]"), (r" \\ ", "; "), (r"\cdots", "..."),
                 (r"\vdots", "..."), (r"\ddots", "..."), ("{", ""), ("}", ""), (r"\_", "_"), ("&", ",")):
        text = text.replace(a, b)
    return text


_GREEK = {r"\gamma": "γ", r"\beta": "β", r"\mu": "μ", r"\theta": "θ", r"\log": "log", r"\sigma": "σ", r"\rho": "ρ", r"\tau": "τ", r"\Psi": "Ψ",
          r"\Sigma": "Σ", r"\sim": "~", r"\cdot": "·", r"\cdots": "⋯", r"\vdots": "⋮", r"\ddots": "⋱",
          r"\quad": "&nbsp;&nbsp;", r"\,": "&#8201;", r"\left": "", r"\right": ""}


def to_html(latex: str) -> str:
    """The LaTeX this module writes, as HTML that Qt's rich text and a Word-pasted table show.

    Handles exactly the markup produced here: ``\\text{}``, sub- and superscripts, Greek letters,
    ``\\mathbf{}`` and ``pmatrix`` (as a small bordered table).
    """
    import html as _html

    text = latex

    def matrix(m: re.Match) -> str:
        rows = [r.split(" & ") for r in m.group(1).split(r" \\ ")]
        cells = "".join("<tr>" + "".join(f"<td style='padding:0 6px'>{c}</td>" for c in r) + "</tr>" for r in rows)
        return ("<table style='display:inline-table;border-left:1px solid #444;border-right:1px solid #444'>"
                f"{cells}</table>")

    text = re.sub(r"\\begin\{pmatrix\}(.*?)\\end\{pmatrix\}", lambda m: "\x00" + _html.escape(m.group(1)) + "\x01",
                  text)
    text = re.sub(r"\\text\{((?:[^{}]|\{\})*)\}", lambda m: m.group(1).replace(r"\_", "_").replace(r"\%", "%")
                  .replace(r"\&", "&").replace(r"\#", "#").replace(r"\$", "$"), text)
    text = re.sub(r"\\mathbf\{([^{}]*)\}", r"<b>\1</b>", text)
    for k in sorted(_GREEK, key=len, reverse=True):
        text = text.replace(k, _GREEK[k])
    text = re.sub(r"_\{([^{}]*)\}", r"<sub>\1</sub>", text)
    text = re.sub(r"\^\{([^{}]*)\}", r"<sup>\1</sup>", text)
    text = re.sub(r"\^(\w)", r"<sup>\1</sup>", text)
    text = re.sub("\x00(.*?)\x01", lambda m: matrix(re.match(r"(.*)", _html.unescape(m.group(1)))), text)
    return text.replace(r" \\ ", "<br>")
