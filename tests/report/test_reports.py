"""Reports in every format, read back; the R script in a report reproduces the numbers in R."""
import csv
import io
import json
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.computed import Center
from mixgui.data.importing import ImportOptions, read_with_options
from mixgui.data.readers import read_table
from mixgui.data.reshape import WideToLong
from mixgui.errors import MixGUIError
from mixgui.pipeline.run import run
from mixgui.report import build_parts, write_report
from mixgui.report.methods import methods_paragraph
from mixgui.report.rscript import r_script
from mixgui.report.xlsx import P_FORMAT

REF = Path(__file__).parents[1] / "reference"
ORTHODONT = (REF / "cli" / "orthodont_long.csv").resolve()
WIDE = REF / "data"
RSCRIPT = shutil.which("Rscript")
needs_r = pytest.mark.skipif(RSCRIPT is None, reason="Rscript is not on PATH")


def _png(w=3, h=2) -> bytes:
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * w for _ in range(h))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def lm_result():
    spec = AnalysisSpec.from_dict({"data": {"path": str(ORTHODONT)}, "formula": "distance ~ agen * Sex",
                                   "reference_levels": {"Sex": "Male"},
                                   "emmeans": [{"specs": "Sex", "contrasts": [{"method": "pairwise"}]}]})
    return run(spec, read_table(ORTHODONT))


def _fe(result, term):
    return next(r for r in result.data["fixed_effects"] if r["term"] == term)


def test_xlsx_report_has_methods_first_numbers_as_numbers_and_script_last(lm_result, tmp_path):
    from openpyxl import load_workbook
    path = write_report(lm_result, tmp_path / "report.xlsx", data_path=ORTHODONT, plots={"Residuals": _png()})
    wb = load_workbook(path)
    assert wb.sheetnames[0] == "Methods" and wb.sheetnames[-2:] == ["Analysis file", "R script"]
    assert "ordinary least-squares linear regression" in wb["Methods"]["A5"].value
    ws = wb["Fixed effects"]
    header = [c.value for c in ws[3]]
    assert header == ["Term", "Estimate", "SE", "df", "t", "p", "95% CI lower", "95% CI upper"]
    row = next(r for r in ws.iter_rows(min_row=4) if r[0].value == "SexFemale")
    fe = _fe(lm_result, "SexFemale")
    assert isinstance(row[1].value, float) and row[1].value == pytest.approx(fe["estimate"], rel=1e-14)
    assert row[1].number_format == "0.000" and row[5].number_format == P_FORMAT
    assert row[6].value == pytest.approx(fe["ci_lower"], rel=1e-14)
    assert row[3].value == 104 and row[3].number_format == "0"
    assert all(ws.cell(3, j).font.bold for j in range(1, 9))
    contrast_sheet = next(wb[n] for n in wb.sheetnames if n.startswith("Contrasts"))
    texts = [c.value for c in contrast_sheet["A"] if isinstance(c.value, str)]
    assert any(t.startswith("Note. p-values adjusted: tukey") for t in texts)
    analysis = json.loads("\n".join(c.value for c in wb["Analysis file"]["A"][2:] if c.value is not None))
    assert analysis["formula"] == "distance ~ agen * Sex" and analysis["data"]["path"] == ORTHODONT.as_posix()
    script = [c.value for c in wb["R script"]["A"][2:]]
    assert "m <- lm(distance ~ agen + Sex + agen:Sex, data = d)" in script
    import zipfile
    with zipfile.ZipFile(path) as z:  # openpyxl drops images on reading without Pillow: look in the file
        assert z.read("xl/media/image1.png") == _png()


def test_docx_report_apa_tables(lm_result, tmp_path):
    import docx
    from docx.oxml.ns import qn
    path = write_report(lm_result, tmp_path / "report.docx", data_path=ORTHODONT, plots={"Residuals": _png()})
    doc = docx.Document(str(path))
    texts = [p.text for p in doc.paragraphs]
    methods_at = texts.index("Methods")
    assert texts[methods_at + 1].startswith("distance was analysed with ordinary least-squares")
    assert texts.index("Analysis file") < texts.index("R script")
    assert "m <- lm(distance ~ agen + Sex + agen:Sex, data = d)" in texts
    title = next(p for p in doc.paragraphs if p.text == "Fixed effects")
    assert title.runs[0].italic
    table = next(t for t in doc.tables if any(c.text == "SexFemale" for c in t.columns[0].cells))
    row = next(r for r in table.rows if r.cells[0].text == "SexFemale")
    assert row.cells[1].text == "1.032" and row.cells[5].text == ".643"
    def borders(cell):
        b = cell._tc.tcPr.find(qn("w:tcBorders"))
        return {e: b.find(qn(f"w:{e}")).get(qn("w:val")) for e in ("top", "bottom", "left", "right")}
    assert borders(table.rows[0].cells[0]) == {"top": "single", "bottom": "single", "left": "nil", "right": "nil"}
    assert borders(row.cells[1]) == {"top": "nil", "bottom": "nil", "left": "nil", "right": "nil"}
    assert borders(table.rows[-1].cells[0])["bottom"] == "single"
    assert len(doc.inline_shapes) == 1


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells, self.pre, self.srcs, self.links, self._tag, self._id = [], {}, [], [], None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self._tag, self._id = tag, a.get("id")
        if tag == "img":
            self.srcs.append(a.get("src", ""))
        if tag in ("link", "script") or (tag == "a" and a.get("href", "").startswith("http")):
            self.links.append(tag)
        if tag == "pre":
            self.pre[self._id] = ""

    def handle_data(self, data):
        if self._tag == "td":
            self.cells.append(data)
        if self._tag == "pre":
            self.pre[self._id] += data


def _html_parts(path: Path) -> _Collect:
    p = _Collect()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def test_html_report_is_self_contained(lm_result, tmp_path):
    path = write_report(lm_result, tmp_path / "report.html", data_path=ORTHODONT, plots={"Residuals": _png()})
    text = path.read_text(encoding="utf-8")
    p = _html_parts(path)
    assert "1.032" in p.cells and "< .001" in p.cells
    assert text.index("Methods") < text.index("Fixed effects") < text.index('id="analysis-json"') < text.index(
        'id="r-script"')
    assert json.loads(p.pre["analysis-json"])["reference_levels"] == {"Sex": "Male"}
    assert p.pre["r-script"].startswith("# R script made by MixGUI")
    assert p.srcs and p.srcs[0].startswith("data:image/png;base64,") and not p.links


def test_csv_folder_keeps_full_precision(lm_result, tmp_path):
    folder = write_report(lm_result, tmp_path / "tables", data_path=ORTHODONT)
    names = sorted(f.name for f in folder.iterdir())
    assert names[0] == "00_methods.txt" and names[-2:] == ["98_analysis.json", "99_script.R"]
    with open(folder / "02_fixed_effects.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    row = next(r for r in rows if r["Term"] == "SexFemale")
    assert float(row["Estimate"]) == _fe(lm_result, "SexFemale")["estimate"]


def test_report_errors_are_plain(lm_result, tmp_path):
    with pytest.raises(MixGUIError, match="cannot write a .pdf report"):
        write_report(lm_result, tmp_path / "r.pdf")
    with pytest.raises(MixGUIError, match="does not exist"):
        write_report(lm_result, tmp_path / "no" / "such" / "r.xlsx")


def test_methods_paragraph_for_mixed_and_repeated_models():
    spec = AnalysisSpec.from_dict({"data": "x.csv", "formula": "y ~ time * arm + (1 + time | clinic/patient)",
                                   "df_method": "kenward-roger", "random_effect_tests": True,
                                   "emmeans": [{"specs": "arm", "contrasts": [{"method": "trt.vs.ctrl",
                                                                               "adjust": "holm"}]}]})
    text = methods_paragraph(spec, {"model": "lmm", "nobs": 256, "n_groups": {"clinic": 9}})
    for words in ("linear mixed model was fitted to y by restricted maximum likelihood (REML) on 256 observations",
                  "time, arm and the time × arm interaction", "random slopes for time (correlated)",
                  "nested within clinic", "Kenward-Roger", "likelihood-ratio test", "Holm's method", "NumPy"):
        assert words in text
    rep = AnalysisSpec.from_dict({"data": "x.csv", "formula": "y ~ visit", "method": "ML",
                                  "repeated": {"structure": "ARH1", "subject": "id", "index": "visit"}})
    text = methods_paragraph(rep, {"model": "gls", "nobs": 40})
    assert "correlated residuals" in text and "maximum likelihood (ML)" in text and "ARH1" in text


def test_r_script_translations_without_r():
    def script(d):
        return r_script(AnalysisSpec.from_dict({"data": "d.csv", **d}), "/data/d.csv")
    s = script({"formula": "y ~ x + (x || g)", "df_method": "kenward-roger", "emmeans": ["x"]})
    assert 'summary(m, ddf = "Kenward-Roger")' in s and 'lmer.df = "kenward-roger"' in s
    assert 'd[["g"]] <- factor(d[["g"]])' in s
    s = script({"formula": "y ~ t", "factors": ["t"], "repeated": {"structure": "TOEP", "subject": "id", "index": "t"}})
    assert "corARMA(form = ~ .pos | id, p = length(idx_values) - 1)" in s and "gls(y ~ t" in s
    s = script({"formula": "y ~ t", "repeated": {"structure": "UN", "subject": "id", "index": "t"}})
    assert "corSymm(form = ~ .pos | id)" in s and "varIdent(form = ~ 1 | .posf)" in s
    s = script({"formula": "y ~ t + (t || id)", "repeated": {"structure": "CS", "subject": "id", "index": "t"}})
    assert "random = list(id = pdDiag(~ t))" in s and "corCompSymm(form = ~ 1 | id)" in s
    s = script({"formula": "y ~ t + (1 | a) + (1 | b)", "repeated": {"structure": "AR1", "subject": "a", "index": "t"}})
    assert "stop(" in s
    s = script({"formula": "`dep var` ~ `facto r`", "reference_levels": {"facto r": "b"}})
    assert 'relevel(factor(d[["facto r"]]), ref = "b")' in s and "lm(`dep var` ~ `facto r`" in s


# -- the R script reproduces the numbers ----------------------------------------------------------------

def _run_r(script: str, tmp_path: Path) -> list:
    out = tmp_path / "fixed.json"
    code = script + f'\njsonlite::write_json(fixed, "{out.as_posix()}", digits = NA)\n'
    (tmp_path / "script.R").write_text(code, encoding="utf-8")
    proc = subprocess.run([RSCRIPT, str(tmp_path / "script.R")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def _compare(result, rows, est=1e-8, se=1e-8, df=1e-8, check_df=True):
    assert [r["term"] for r in rows] == [r["term"] for r in result.data["fixed_effects"]]
    for mine, theirs in zip(result.data["fixed_effects"], rows):
        assert theirs["estimate"] == pytest.approx(mine["estimate"], rel=est, abs=est), mine["term"]
        assert theirs["std_error"] == pytest.approx(mine["std_error"], rel=se), mine["term"]
        if check_df:
            assert theirs["df"] == pytest.approx(mine["df"], rel=df), mine["term"]


def _script_from_html(result, tmp_path, **kwargs) -> str:
    path = write_report(result, tmp_path / "report.html", **kwargs)
    return _html_parts(path).pre["r-script"]


@needs_r
def test_r_script_reproduces_a_regression(lm_result, tmp_path):
    rows = _run_r(_script_from_html(lm_result, tmp_path, data_path=ORTHODONT), tmp_path)
    _compare(lm_result, rows)
    for mine, theirs in zip(lm_result.data["fixed_effects"], rows):
        assert theirs["p_value"] == pytest.approx(mine["p_value"], rel=1e-8)


@needs_r
def test_r_script_reproduces_a_mixed_model(tmp_path):
    spec = AnalysisSpec.from_dict({"data": {"path": str(ORTHODONT)}, "formula": "distance ~ agen * Sex + (agen | Subject)",
                                   "reference_levels": {"Sex": "Male"}})
    result = run(spec, read_table(ORTHODONT))
    rows = _run_r(_script_from_html(result, tmp_path, data_path=ORTHODONT), tmp_path)
    # lme4's optimiser stops a little short on this flat likelihood (its REML log-likelihood is ~3e-6 lower),
    # which moves the SEs and df in the fourth digit; the estimates do not depend on it here.
    _compare(result, rows, est=1e-8, se=2e-3, df=2e-3)


@needs_r
def test_r_script_reproduces_a_repeated_measures_model(tmp_path):
    spec = AnalysisSpec.from_dict({"data": {"path": str(ORTHODONT)}, "formula": "distance ~ agef + Sex",
                                   "factors": ["agef"], "reference_levels": {"Sex": "Male"},
                                   "repeated": {"structure": "UN", "subject": "Subject", "index": "age"}})
    result = run(spec, read_table(ORTHODONT))
    rows = _run_r(_script_from_html(result, tmp_path, data_path=ORTHODONT), tmp_path)
    _compare(result, rows, est=1e-5, se=1e-4, check_df=False)  # nlme's df are n - p, not Satterthwaite


@needs_r
@pytest.mark.parametrize("name, options", [
    ("wide_titled.xlsx", ImportOptions(sheet="Visits", skip_rows=2, missing=(999,))),
    ("wide_titled.csv", ImportOptions(skip_rows=1, missing=(999, "n/a"))),
])
def test_r_script_redoes_import_options_reshape_and_computed_variables(tmp_path, name, options):
    path = (WIDE / name).resolve()
    steps = [WideToLong(("bp_T0", "bp_T1", "bp_T3"), "visit", "sbp")]
    recipes = [Center("age_c", "age")]
    frame = read_with_options(path, options).frame
    for s in steps:
        frame = s.apply(frame)
    from mixgui.data.computed import apply_recipes
    from mixgui.data.dataset import Dataset
    ds = Dataset(apply_recipes(frame, recipes), name="bp")
    spec = AnalysisSpec.from_dict({"data": {"path": str(path)}, "formula": "sbp ~ visit + age_c + Sex"})
    result = run(spec, ds)
    parts = build_parts(result, data_path=path, import_options=options, steps=steps, recipes=recipes)
    assert '"age_c" is age centred at its mean.' in parts.methods
    rows = _run_r(parts.r_script, tmp_path)
    _compare(result, rows)


def test_report_parts_record_how_the_data_were_made(lm_result):
    o = ImportOptions(skip_rows=1, missing=(999,))
    parts = build_parts(lm_result, data_path=ORTHODONT, import_options=o,
                        steps=[WideToLong(("a", "b"))], recipes=[Center("c", "agen")])
    analysis = json.loads(parts.analysis_json)
    assert analysis["data"]["import"]["missing"] == [999]
    assert analysis["data"]["reshape"][0]["kind"] == "wide_to_long"
    assert analysis["computed"] == [{"kind": "center", "name": "c", "source": "agen"}]
    assert io.StringIO(parts.r_script).read().count("na_codes") >= 2


@needs_r
@pytest.mark.parametrize("form", ["csv_eu", "xlsx", "sav"])
def test_r_script_reads_each_file_format_as_mixgui_does(tmp_path, form):
    import pandas as pd
    df = pd.read_csv(ORTHODONT)
    sheet = None
    if form == "csv_eu":
        path = tmp_path / "o.csv"
        df.to_csv(path, index=False, sep=";", decimal=",", encoding="cp1252")
    elif form == "xlsx":
        path, sheet = tmp_path / "o.xlsx", "Orthodont"
        with pd.ExcelWriter(path) as xw:
            pd.DataFrame({"note": ["data on the next sheet"]}).to_excel(xw, sheet_name="Read me", index=False)
            df.to_excel(xw, sheet_name=sheet, index=False)
    else:
        import pyreadstat
        path = tmp_path / "o.sav"
        coded = df.assign(Sex=df["Sex"].map({"Male": 1.0, "Female": 2.0}))
        pyreadstat.write_sav(coded, str(path), variable_value_labels={"Sex": {1.0: "Male", 2.0: "Female"}})
    # no reference level given: R must sort the labels as MixGUI does (Female first), not by SPSS code
    spec = AnalysisSpec.from_dict({"data": {"path": str(path), "sheet": sheet}, "formula": "distance ~ agen * Sex"})
    result = run(spec, read_table(path, sheet))
    assert result.data["fixed_effects"][2]["term"] == "SexMale"
    _compare(result, _run_r(r_script(result, path), tmp_path))


def test_methods_paragraph_names_the_further_analyses():
    from mixgui.report.methods import methods_paragraph
    spec = AnalysisSpec(formula="y ~ x + (1 | g)", random_effect_tests=True, bootstrap=500, pooling="g")
    text = methods_paragraph(spec, {"effect_sizes": {}, "pooling_comparison": {}})
    assert "from 500 data sets simulated" in text
    assert "Cohen's local f²" in text and "g as a fixed factor (no pooling)" in text
    assert "covariance structures were compared" not in text  # not asked for, not claimed


def test_methods_paragraph_says_the_structures_were_compared_by_ml():
    spec = AnalysisSpec.from_dict({"data": {"path": "x.csv"}, "formula": "distance ~ agef", "compare_structures": True,
                                   "repeated": {"structure": "CS", "subject": "Subject", "index": "age"}})
    text = methods_paragraph(spec, {"structure_comparison": {"method": "ML"}})
    assert "compared by AIC and BIC of maximum-likelihood (ML) fits" in text
    assert "fitted by REML with the CS structure" in text and "compared by AIC and BIC of REML" not in text
