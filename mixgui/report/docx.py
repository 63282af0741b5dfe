"""Word report with APA-style tables: "Table n" in bold, the title in italics, horizontal rules
only (above and below the header, below the last row), notes under the table.

python-docx has no API for cell borders, so the rules are set on the cells' XML (``w:tcBorders``).
"""
from __future__ import annotations

import io

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt

from mixgui.report import ReportParts, atomic_write_bytes
from mixgui.report.equation_runs import report_equations
from mixgui.results.equations import latex_block

BODY_PT = 11
TABLE_PT = 9.5
CODE_FONT = "Consolas"
EQUATION_FONT = "Cambria Math"


def _set_borders(cell, **edges) -> None:
    """Set cell borders, e.g. ``top="single"``; every edge not named is explicitly off."""
    tc_pr = cell._tc.get_or_add_tcPr()
    borders = tc_pr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tc_pr.append(borders)
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = borders.find(qn(f"w:{edge}"))
        if el is None:
            el = OxmlElement(f"w:{edge}")
            borders.append(el)
        style = edges.get(edge)
        el.set(qn("w:val"), style or "nil")
        if style:
            el.set(qn("w:sz"), "8")
            el.set(qn("w:space"), "0")
            el.set(qn("w:color"), "000000")


def _cell_text(cell, text: str, *, bold=False, italic=False, right=False) -> None:
    p = cell.paragraphs[0]
    p.paragraph_format.space_after = Pt(0)
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT if right else WD_ALIGN_PARAGRAPH.LEFT
    run = p.add_run(text)
    run.font.size = Pt(TABLE_PT)
    run.bold = bold
    run.italic = italic


def add_apa_table(doc, number: int, table) -> None:
    """One results table in APA style."""
    p = doc.add_paragraph()
    p.paragraph_format.space_after = Pt(0)
    p.add_run(f"Table {number}").bold = True
    doc.add_paragraph().add_run(table.title).italic = True
    cols = table.columns
    t = doc.add_table(rows=1 + len(table.rows), cols=len(cols))
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    stat_labels = {"t", "z", "F", "p", "df", "SE"}  # APA italicises statistical symbols
    for j, c in enumerate(cols):
        _cell_text(t.rows[0].cells[j], c.label, italic=c.label in stat_labels, right=c.kind != "text")
    for i, row in enumerate(table.rows, 1):
        for j, c in enumerate(cols):
            _cell_text(t.rows[i].cells[j], table.cell(row, c), right=c.kind != "text")
    last = len(table.rows)
    for i, r in enumerate(t.rows):
        for cell in r.cells:
            edges = {}
            if i == 0:
                edges.update(top="single", bottom="single")
            if i == last and i > 0:
                edges["bottom"] = "single"
            _set_borders(cell, **edges)
    notes = list(table.footnotes)
    if notes:
        p = doc.add_paragraph()
        p.add_run("Note. ").italic = True
        p.add_run(" ".join(notes))
    for w in table.warnings:
        p = doc.add_paragraph()
        run = p.add_run(f"Warning: {w}")
        run.font.size = Pt(TABLE_PT)
    doc.add_paragraph()


def _code_block(doc, text: str) -> None:
    for line in text.splitlines() or [""]:
        p = doc.add_paragraph()
        p.paragraph_format.space_after = Pt(0)
        run = p.add_run(line)
        run.font.name = CODE_FONT
        run.font.size = Pt(8)


def add_equations(doc, equations: dict) -> None:
    """The model's equations as editable text (sub- and superscripts set), then their LaTeX."""
    shown = report_equations(equations)
    if not shown:
        return
    doc.add_heading("Model", level=2)
    for label, runs in shown:
        doc.add_paragraph().add_run(label).italic = True
        p = doc.add_paragraph()
        for text, style in runs:
            if text == "\n":
                p = doc.add_paragraph()
                continue
            run = p.add_run(text)
            run.font.name = EQUATION_FONT
            run.font.subscript = style == "sub"
            run.font.superscript = style == "sup"
            run.bold = style == "bold"
    doc.add_paragraph("The same equations in LaTeX, for a manuscript:")
    _code_block(doc, latex_block(equations))


def build_document(parts: ReportParts):
    """The report as a python-docx Document (not yet saved)."""
    doc = Document()
    style = doc.styles["Normal"]
    style.font.size = Pt(BODY_PT)
    doc.add_heading(parts.title, level=1)
    doc.add_paragraph(parts.subtitle).runs[0].italic = True
    doc.add_heading("Methods", level=2)
    doc.add_paragraph(parts.methods)
    for note in parts.notes:
        p = doc.add_paragraph()
        p.add_run("Note. ").italic = True
        p.add_run(note)
    add_equations(doc, parts.equations)
    doc.add_heading("Results", level=2)
    for k, table in enumerate(parts.tables, 1):
        add_apa_table(doc, k, table)
    if parts.plots:
        doc.add_heading("Figures", level=2)
        for k, (name, png) in enumerate(parts.plots.items(), 1):
            doc.add_paragraph().add_run(f"Figure {k}").bold = True
            doc.add_paragraph().add_run(name).italic = True
            doc.add_picture(io.BytesIO(png), width=Inches(6))
    doc.add_heading("Analysis file", level=2)
    doc.add_paragraph("Save this as a .json file to re-run the analysis with: mixgui fit analysis.json")
    _code_block(doc, parts.analysis_json)
    doc.add_heading("R script", level=2)
    doc.add_paragraph("The same analysis in R (lme4/lmerTest, nlme, emmeans).")
    _code_block(doc, parts.r_script)
    return doc


def write_docx(parts: ReportParts, path) -> None:
    """Write the report to ``path`` atomically."""
    buf = io.BytesIO()
    build_document(parts).save(buf)
    atomic_write_bytes(path, buf.getvalue())
