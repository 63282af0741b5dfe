"""The model's equations in every report format, with the fitted numbers as the results file has them."""
import dataclasses
import json
from pathlib import Path

import pytest

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.readers import read_table
from mixgui.pipeline import run
from mixgui.report import write_report
from mixgui.report.equation_runs import equation_runs, plain_text, report_equations
from mixgui.results.equations import latex_block

SLEEP = (Path(__file__).parents[1] / "reference" / "cli" / "sleepstudy.csv").resolve()


@pytest.fixture(scope="module")
def slope_fit():
    spec = AnalysisSpec.from_dict({"data": {"path": str(SLEEP)}, "formula": "Reaction ~ Days + (Days | Subject)"})
    return run(spec, read_table(SLEEP))


def test_runs_carry_subscripts_greek_letters_and_matrices_inline():
    runs = equation_runs(r"\text{y}_{ij} = \beta_{0j} + e_{ij} \\ \mathbf{u}_{j} \sim N\left(\mathbf{0}, "
                         r"\begin{pmatrix} 612.1 & 9.6 \\ 9.6 & 35.1 \end{pmatrix}\right)")
    assert ("ij", "sub") in runs and ("0j", "sub") in runs and ("u", "bold") in runs
    text = plain_text(runs)
    assert "β_{0j}" in text and "\n" in text
    assert "[612.1, 9.6; 9.6, 35.1]" in text  # a matrix becomes one inline run, rows split by ";"


def test_report_equations_hold_the_fitted_estimates_rounded_as_the_tables(slope_fit):
    eq = slope_fit.data["equations"]
    parts = dict(report_equations(eq))
    assert list(parts)[0].startswith("Level 1") and len(parts) == 4
    combined = plain_text(next(r for label, r in parts.items() if label.startswith("Combined")))
    fe = {r["term"]: r["estimate"] for r in slope_fit.data["fixed_effects"]}
    assert f"{fe['(Intercept)']:.3f}" in combined and f"{fe['Days']:.3f}" in combined


def test_html_report_renders_the_equations_and_keeps_their_latex(slope_fit, tmp_path):
    text = write_report(slope_fit, tmp_path / "r.html").read_text(encoding="utf-8")
    model = text.index("<h2>Model</h2>")
    assert model < text.index("<h2>Results</h2>")
    assert "β<sub>0j</sub>" in text[model:]
    assert "\\begin{aligned}" in text and "Reaction" in text[model:text.index("<h2>Results</h2>")]


def test_docx_report_writes_equations_as_text_with_subscript_runs(slope_fit, tmp_path):
    from docx import Document
    doc = Document(str(write_report(slope_fit, tmp_path / "r.docx")))
    heads = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert heads.index("Model") < heads.index("Results")
    subs = [r.text for p in doc.paragraphs for r in p.runs if r.font.subscript]
    assert "0j" in subs and "ij" in subs
    body = "\n".join(p.text for p in doc.paragraphs)
    assert latex_block(slope_fit.data["equations"]).splitlines()[1] in body


def test_xlsx_report_puts_equations_on_the_methods_sheet_as_rich_text(slope_fit, tmp_path):
    from openpyxl import load_workbook
    ws = load_workbook(write_report(slope_fit, tmp_path / "r.xlsx"), rich_text=True)["Methods"]
    values = [c.value for c in ws["A"] if c.value is not None]
    labels = [str(v) for v in values]
    start = labels.index("Model")
    rich = [v for v in values[start:] if not isinstance(v, str)]
    assert rich, "equations should be rich text, not flattened strings"
    assert any(b.font.vertAlign == "subscript" and b.text == "ij" for v in rich for b in v
               if hasattr(b, "font"))


def test_csv_folder_has_the_equations_as_text_and_latex(slope_fit, tmp_path):
    write_report(slope_fit, tmp_path / "out")
    text = (tmp_path / "out" / "00_model_equations.txt").read_text(encoding="utf-8")
    assert text.startswith("Level 1") and "LaTeX:" in text and "\\beta_{0j}" in text


def test_a_model_without_equations_writes_no_model_section(slope_fit, tmp_path):
    no_equations = dataclasses.replace(slope_fit, sections={k: s for k, s in slope_fit.sections.items()
                                                            if k != "equations"},
                                       layout=tuple(k for k in slope_fit.layout if k != "equations"))
    text = write_report(no_equations, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<h2>Model</h2>" not in text
    json.dumps(slope_fit.data["equations"])  # the results file's part stays serialisable
