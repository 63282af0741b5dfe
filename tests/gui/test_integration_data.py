"""From a messy wide spreadsheet to exported reports, through the window's dialogs.

Open a wide .xlsx with title rows and 999 codes through the import dialog, restructure it to
long, add a centred variable, fit, and export every report format; then check that the saved
analysis rebuilds the same table.
"""
import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from mixgui.data.computed import Center
from mixgui.data.importing import ImportOptions
from mixgui.data.reshape import WideToLong
from mixgui.results.tables import format_value

DATA = Path(__file__).parents[1] / "reference" / "data"
FIT_TIMEOUT_MS = 60_000
FORMULA = "bp ~ time + age_c + (1 | `patient id`)"


def _ok(qtbot, dialog):
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)


def _import_reshape_compute(w, qtbot):
    """Drive the three dialogs as a user would."""
    dlg = w.dialogs.open_data_file(DATA / "wide_titled.xlsx")
    assert dlg is w.dialogs.import_dialog and dlg.isVisible()
    with qtbot.waitSignal(dlg.previewUpdated, timeout=3000):
        dlg.sheet.setCurrentText("Visits")
        dlg.header_row.setValue(3)  # two title rows above the names
        dlg.missing.setText("999")
    assert list(dlg.preview_frame().columns) == ["patient id", "Sex", "age", "bp_T0", "bp_T1", "bp_T3"]
    _ok(qtbot, dlg)
    assert w.dialogs.import_dialog is None
    # the file is read in a worker thread (a big file must not freeze the window), then shown
    qtbot.waitUntil(lambda: w.dataset is not None and not w.documents.is_reading())
    assert w.dataset.frame.shape == (4, 6) and w.dataset.frame["age"].isna().sum() == 1
    assert w.session.provenance.import_options == ImportOptions(sheet="Visits", skip_rows=2, missing=(999,))
    assert w.wide_to_long_action.isEnabled() and w.compute_action.isEnabled()

    rd = w.dialogs.ask_reshape(0)
    assert rd.value_name.text() == "bp"  # the bp_T* columns are suggested and ticked
    _ok(qtbot, rd)
    assert w.session.provenance.steps == (WideToLong(("bp_T0", "bp_T1", "bp_T3"), "time", "bp"),)
    assert w.dataset.frame.shape == (12, 5) and w.dataset.name == "wide_titled: Visits · long"
    assert w.data_grid.data_model().total_rows == 12

    cd = w.dialogs.ask_compute()
    with qtbot.waitSignal(cd.previewUpdated, timeout=3000):
        cd.set_kind("center")
        cd.source.setCurrentText("age")
    assert cd.name.text() == "age_c"
    assert cd.preview_values()[:3] == ["0", "0", "0"]  # P01 is 54, the mean age is 54
    assert not cd.note.isVisible()
    _ok(qtbot, cd)
    assert w.session.provenance.recipes == (Center("age_c", "age"),)
    assert "age_c" in w.dataset.columns
    assert any(w.variable_list.item(i).text() == "age_c" for i in range(w.variable_list.count()))
    assert w.is_dirty()


def _estimate(result, term):
    table = next(t for t in result.tables if t.key == "fixed_effects")
    col = next(c for c in table.columns if c.key == "estimate")
    raw = next(r["estimate"] for r in table.rows if r["term"] == term)
    return raw, format_value(raw, col.kind)


def test_wide_xlsx_to_reports(make_window, qtbot, tmp_path, type_formula):
    w = make_window()
    _import_reshape_compute(w, qtbot)
    type_formula(w, FORMULA)
    assert w.model_panel.spec().formula == FORMULA and w.model_panel.formula_error() is None
    with qtbot.waitSignal(w.controller.finished, timeout=FIT_TIMEOUT_MS) as blocker:
        blocker.connect(w.controller.failed)
        w.fit()
    result = blocker.args[1]
    assert not isinstance(result, str), result
    raw, shown = _estimate(result, "age_c")
    assert shown in {w.results_panel.model("fixed_effects").data(w.results_panel.model("fixed_effects").index(i, 1))
                     for i in range(3)}
    assert w.can_export() and w.export_action.isEnabled()

    out = {s: tmp_path / f"report{s}" for s in (".xlsx", ".docx", ".html", ".R")}
    out["csv"] = tmp_path / "report_csv"
    for path in out.values():
        assert w.export_results(path), w.last_error
        assert path.exists()

    from openpyxl import load_workbook
    wb = load_workbook(out[".xlsx"], read_only=True)
    numbers = [v for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
               if isinstance(v, float)]
    wb.close()
    assert any(v == pytest.approx(raw, rel=1e-9) for v in numbers)

    import docx
    doc = docx.Document(str(out[".docx"]))
    cells = {c.text for t in doc.tables for r in t.rows for c in r.cells}
    assert shown in cells

    html = out[".html"].read_text(encoding="utf-8")
    assert f">{shown}<" in html
    assert html.count("data:image/png;base64,") >= 4  # the plots shown, embedded
    assert "&quot;computed&quot;" in html and "age_c" in html  # the analysis file, escaped

    script = out[".R"].read_text(encoding="utf-8")
    for needle in ("bp_T0", "999", "age_c", "lmer(", "Visits"):
        assert needle in script, needle

    fixed = next(out["csv"].glob("*fixed_effects.csv"))
    rows = list(csv.DictReader(io.StringIO(fixed.read_text(encoding="utf-8-sig"))))
    est = next(float(r["Estimate"]) for r in rows if r["Term"] == "age_c")
    assert est == pytest.approx(raw, rel=1e-12)
    assert list(out["csv"].glob("plot_*.png"))


def test_saved_analysis_rebuilds_the_same_table(make_window, qtbot, tmp_path, type_formula):
    w = make_window()
    _import_reshape_compute(w, qtbot)
    type_formula(w, FORMULA)
    path = tmp_path / "bp.json"
    assert w.save_analysis(path)
    saved = json.loads(path.read_text())
    assert saved["data"]["sheet"] == "Visits" and saved["data"]["import"]["missing"] == [999]
    assert saved["data"]["reshape"][0]["columns"] == ["bp_T0", "bp_T1", "bp_T3"]
    assert saved["computed"] == [{"kind": "center", "name": "age_c", "source": "age"}]

    w2 = make_window()
    assert w2.open_analysis(path, fit=False)
    pd.testing.assert_frame_equal(w2.dataset.frame, w.dataset.frame)
    assert w2.session.provenance == w.session.provenance
    assert w2.model_panel.formula_edit.text() == FORMULA
    spec = w.model_panel.spec()  # the same model and options; only the data path is now relative
    assert w2.model_panel.spec().with_(data=spec.data) == spec
    assert not w2.is_dirty()


def test_compute_dialog_kinds_notes_and_errors(make_window, qtbot):
    w = make_window()
    w.open_example(fit=False)
    cd = w.dialogs.ask_compute()
    with qtbot.waitSignal(cd.previewUpdated, timeout=3000):
        cd.set_kind("dichotomize")
        cd.source.setCurrentText("age")
    assert cd.note.isVisibleTo(cd) and "throws information away" in cd.note.text()
    assert set(cd.preview_values()) <= {"0", "1"}
    with qtbot.waitSignal(cd.previewUpdated, timeout=3000):
        cd.set_kind("cluster_center")
        cd.cluster.setCurrentText("clinic")
    assert cd.cluster.isVisibleTo(cd) and cd.name.text() == "age_cwc"
    assert not cd.note.isVisibleTo(cd)
    with qtbot.waitSignal(cd.previewUpdated, timeout=3000):
        cd.name.setText("score")  # an existing column
    assert "exists already" in cd.error
    assert not cd.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
    with qtbot.waitSignal(cd.previewUpdated, timeout=3000):
        cd.set_kind("recode")
        cd.source.setCurrentText("treatment")
        cd.name.setText("arm")
        cd.mapping.item(0, 1).setText("usual care")
    assert cd.recipe().mapping == {"control": "usual care"}
    _ok(qtbot, cd)
    assert set(w.dataset.frame["arm"]) == {"usual care", "treated"}
    assert w.dataset.levels["arm"] == "nominal"
    variables = w.builder.variables.model  # the builder lists the new variable, as categorical
    assert "arm" in variables.columns()
    assert variables.item(variables.columns().index("arm")).toolTip() == "arm: nominal"
