"""Excel report: a Methods sheet, one sheet per results table, then the analysis file and R script.

Numbers are stored as numbers (full precision) with number formats that show them as the
window does: three decimals, p-values as .023 and "<.001" (a conditional number format, so the
cell still holds the exact p), degrees of freedom without decimals when whole. A confidence
interval becomes two columns (lower, upper) so both stay numbers.
"""
from __future__ import annotations

import io
import math
import re
import struct

from openpyxl import Workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.drawing.image import Image
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from mixgui.report import ReportParts, atomic_write_bytes
from mixgui.report.equation_runs import report_equations

NUM = "0.000"
SCI = "0.00E+00"
P_FORMAT = '[<0.001]"<.001";.000'
DF_WHOLE = "0"
DF_FRAC = "0.00"
INT = "0"
MONO = Font(name="Consolas", size=9)
BOLD = Font(bold=True)
RULE = Side(style="thin", color="000000")


def number_format(value, kind: str) -> str:
    """The Excel number format for one value of a column ``kind`` (see :class:`Column`)."""
    if kind == "p":
        return P_FORMAT
    if kind == "int":
        return INT
    if kind == "df":
        return DF_WHOLE if abs(value - round(value)) < 1e-6 else DF_FRAC
    a = abs(value)
    return SCI if a != 0 and (a < 0.001 or a >= 1e7) else NUM


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def sheet_title(title: str, used: set) -> str:
    """A valid, unique sheet name (Excel: 31 characters, none of []:*?/\\)."""
    base = re.sub(r"\s+", " ", re.sub(r"[\[\]:*?/\\]", " ", title)).strip()
    if len(base) > 31:  # drop a parenthesis first, then cut at a word
        base = re.sub(r"\s*\([^)]*\)", "", base).strip()
    if len(base) > 31:
        base = base[:30].rsplit(" ", 1)[0] + "…"
    base = base or "Table"
    name, k = base, 2
    while name.lower() in used:
        suffix = f" ({k})"
        name, k = base[: 31 - len(suffix)] + suffix, k + 1
    used.add(name.lower())
    return name


class PngImage(Image):
    """A PNG for openpyxl without Pillow: the size is read from the PNG header, the bytes kept as they are."""

    def __init__(self, png: bytes):  # noqa: D107 - deliberately not calling Image.__init__ (it needs Pillow)
        if png[:8] != b"\x89PNG\r\n\x1a\n":
            raise ValueError("plots must be PNG images")
        self.ref = png
        self.width, self.height = struct.unpack(">II", png[16:24])
        self.format = "png"

    def _data(self) -> bytes:
        return self.ref


def _columns(table) -> list:
    """(header, getter, kind) per Excel column; a CI column becomes lower and upper."""
    out = []
    for c in table.columns:
        if c.kind == "ci":
            label = c.label.strip()
            out.append((f"{label} lower", lambda r, k=c.key: (r.get(k) or (None, None))[0], "num"))
            out.append((f"{label} upper", lambda r, k=c.key: (r.get(k) or (None, None))[1], "num"))
        else:
            out.append((c.label, lambda r, k=c.key: r.get(k), c.kind))
    return out


def _write_table(ws, table) -> None:
    ws["A1"] = table.title
    ws["A1"].font = Font(bold=True, size=12)
    cols = _columns(table)
    header_row = 3
    widths = [max(8, len(h) + 2) for h, _, _ in cols]
    for j, (label, _, kind) in enumerate(cols, 1):
        cell = ws.cell(header_row, j, label)
        cell.font = BOLD
        cell.border = Border(top=RULE, bottom=RULE)
        cell.alignment = Alignment(horizontal="left" if kind == "text" else "right")
    for i, row in enumerate(table.rows, header_row + 1):
        for j, (_, get, kind) in enumerate(cols, 1):
            v = get(row)
            cell = ws.cell(i, j)
            if kind == "text":
                cell.value = "" if v is None else str(v)
                widths[j - 1] = max(widths[j - 1], min(60, len(cell.value) + 2))
            elif _finite(v):
                cell.value = float(v) if kind != "int" else int(v)
                cell.number_format = number_format(v, kind)
            elif v is not None and isinstance(v, float) and math.isinf(v):
                cell.value = "∞" if v > 0 else "−∞"
            else:
                cell.value = None
    last = header_row + len(table.rows)
    for j in range(1, len(cols) + 1):
        if table.rows:
            ws.cell(last, j).border = Border(bottom=RULE)
        ws.column_dimensions[get_column_letter(j)].width = widths[j - 1]
    r = last + 2
    for note in table.footnotes:
        ws.cell(r, 1, f"Note. {note}").font = Font(italic=True)
        r += 1
    for w in table.warnings:
        ws.cell(r, 1, f"Warning: {w}").font = Font(color="9C2A00")
        r += 1
    ws.freeze_panes = ws.cell(header_row + 1, 1)


def _write_lines(ws, title: str, text: str) -> None:
    ws["A1"] = title
    ws["A1"].font = Font(bold=True, size=12)
    for i, line in enumerate(text.splitlines(), 3):
        # a leading "=" would make Excel read the line as a formula
        ws.cell(i, 1).value = line
        ws.cell(i, 1).data_type = "s"
        ws.cell(i, 1).font = MONO
    ws.column_dimensions["A"].width = 120


def _rich_lines(runs: list) -> list:
    """Runs split at line breaks, each line as an Excel rich-text value (sub- and superscripts kept)."""
    lines, current = [], []
    for text, style in runs + [("\n", "")]:
        if text == "\n":
            if current:
                lines.append(CellRichText(*current))
            current = []
            continue
        font = InlineFont(rFont="Cambria Math", sz=11, vertAlign={"sub": "subscript", "sup": "superscript"}
                          .get(style), b=style == "bold" or None)
        current.append(TextBlock(font, text))
    return lines


def write_equations(ws, row: int, equations: dict) -> int:
    """The model's equations from ``row`` down on ``ws``; returns the next free row."""
    shown = report_equations(equations)
    if not shown:
        return row
    ws.cell(row, 1, "Model").font = BOLD
    row += 1
    for label, runs in shown:
        ws.cell(row, 1, label).font = Font(italic=True)
        row += 1
        for line in _rich_lines(runs):
            ws.cell(row, 1).value = line
            row += 1
    return row + 1


def build_workbook(parts: ReportParts) -> Workbook:
    """The report as an openpyxl Workbook (not yet saved)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Methods"
    ws["A1"] = parts.title
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = parts.subtitle
    ws["A4"] = "Methods"
    ws["A4"].font = BOLD
    ws["A5"] = parts.methods
    ws["A5"].alignment = Alignment(wrap_text=True, vertical="top")
    ws.row_dimensions[5].height = max(60, 15 * (len(parts.methods) // 110 + 1))
    ws.column_dimensions["A"].width = 120
    r = 7
    for note in parts.notes:
        ws.cell(r, 1, f"Note. {note}").alignment = Alignment(wrap_text=True)
        r += 1
    r = write_equations(ws, r + 1, parts.equations) - 1
    ws.cell(r + 1, 1, "Sheets: " + ", ".join(t.title for t in parts.tables) + "; the analysis file and the R "
            "script are the last two sheets.").font = Font(italic=True, color="555555")
    used = {"methods", "analysis file", "r script"}
    for table in parts.tables:
        _write_table(wb.create_sheet(sheet_title(table.title, used)), table)
    if parts.plots:
        wsp = wb.create_sheet(sheet_title("Plots", used))
        row = 1
        for name, png in parts.plots.items():
            wsp.cell(row, 1, name).font = BOLD
            img = PngImage(png)
            wsp.add_image(img, f"A{row + 1}")
            row += int(img.height / 20) + 3
    _write_lines(wb.create_sheet("Analysis file"), "Analysis file (JSON; save as .json to re-run with mixgui fit)",
                 parts.analysis_json)
    _write_lines(wb.create_sheet("R script"), "R script (save as .R and run with Rscript)", parts.r_script)
    for sheet in wb.worksheets:
        sheet.sheet_view.showGridLines = sheet.title not in ("Methods",)
    ws.sheet_properties.tabColor = "2F6690"
    return wb


def write_xlsx(parts: ReportParts, path) -> None:
    """Write the report to ``path`` atomically."""
    buf = io.BytesIO()
    build_workbook(parts).save(buf)
    atomic_write_bytes(path, buf.getvalue())
