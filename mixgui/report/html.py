"""Self-contained HTML report: embedded CSS, plots as ``data:`` URIs, no external files or links,
so it can be e-mailed or archived as one file and opened in any browser."""
from __future__ import annotations

import base64
import html

from mixgui.analysis.spec import atomic_write_text
from mixgui.report import ReportParts
from mixgui.results.equations import PARTS, latex_block, to_html

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #222;
       max-width: 60em; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
.subtitle { color: #666; font-style: italic; margin-top: 0; }
table.result { border-collapse: collapse; margin: 0.8em 0 0.3em; font-variant-numeric: tabular-nums; }
table.result caption { text-align: left; font-style: italic; padding-bottom: 0.3em; }
table.result thead th { border-top: 1.5px solid #000; border-bottom: 1px solid #000; padding: 0.25em 0.8em;
                        font-weight: 600; }
table.result tbody tr:last-child td { border-bottom: 1.5px solid #000; }
table.result td { padding: 0.2em 0.8em; }
p.note { font-size: 0.9em; margin: 0.2em 0; }
p.warning { font-size: 0.9em; margin: 0.2em 0; color: #9c2a00; }
.table-number { font-weight: 600; margin: 1.6em 0 0 0; }
figure { margin: 1em 0; } figure img { max-width: 100%; } figcaption { font-style: italic; }
p.equation { margin: 0.5em 0; font-family: "Cambria Math", "STIX Two Math", Georgia, serif; }
pre { background: #f6f6f6; border: 1px solid #ddd; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
@media print { pre { white-space: pre-wrap; } }
"""


def png_data_uri(png: bytes) -> str:
    """A PNG as a ``data:`` URI for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render_html(parts: ReportParts) -> str:
    """The whole report as one HTML document (a string)."""
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{e(parts.title)}</title>", f"<style>{CSS}</style></head><body>",
           f"<h1>{e(parts.title)}</h1>", f'<p class="subtitle">{e(parts.subtitle)}</p>',
           '<h2>Methods</h2>', f'<p class="methods">{e(parts.methods)}</p>']
    out += [f'<p class="note"><i>Note.</i> {e(n)}</p>' for n in parts.notes]
    out += _equations(parts.equations)
    out.append("<h2>Results</h2>")
    for k, table in enumerate(parts.tables, 1):
        out.append(f'<p class="table-number">Table {k}</p>')
        out.append(table.to_html())
    if parts.plots:
        out.append("<h2>Figures</h2>")
        for k, (name, png) in enumerate(parts.plots.items(), 1):
            out.append(f'<figure><img src="{png_data_uri(png)}" alt="{e(name)}">'
                       f"<figcaption>Figure {k}. {e(name)}</figcaption></figure>")
    out += ["<h2>Analysis file</h2>",
            "<p>Save this as a .json file to re-run the analysis with <code>mixgui fit analysis.json</code>.</p>",
            f'<pre id="analysis-json">{e(parts.analysis_json)}</pre>',
            "<h2>R script</h2>", "<p>The same analysis in R.</p>",
            f'<pre id="r-script">{e(parts.r_script)}</pre>', "</body></html>"]
    return "\n".join(out) + "\n"


def _equations(equations: dict) -> list:
    """The model's equations, rendered, with the LaTeX folded away for a manuscript."""
    shown = [(label, equations[key]) for key, label in PARTS if equations.get(key)]
    if not shown:
        return []
    out = ["<h2>Model</h2>", '<div class="equations">']
    out += [f'<p class="equation"><i>{html.escape(label)}</i><br>{to_html(tex)}</p>' for label, tex in shown]
    out += ["</div>", "<details><summary>LaTeX</summary>",
            f'<pre id="equations-latex">{html.escape(latex_block(equations))}</pre></details>']
    return out


def write_html(parts: ReportParts, path) -> None:
    """Write the report to ``path`` atomically."""
    atomic_write_text(path, render_html(parts))
