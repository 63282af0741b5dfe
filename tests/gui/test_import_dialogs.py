"""The import and reshape dialogs: live previews over the Qt-free readers."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.data.importing import ImportOptions
from mixgui.data.reshape import LongToWide, WideToLong

pytestmark = pytest.mark.gui

DATA = Path(__file__).parents[1] / "reference" / "data"


def _import_dialog(qtbot, path, options=None):
    from mixgui.gui.widgets.import_dialog import ImportDialog
    dlg = ImportDialog(path, options)
    qtbot.addWidget(dlg)
    return dlg


def test_import_dialog_finds_the_header_and_blanks_999(qtbot):
    dlg = _import_dialog(qtbot, DATA / "wide_titled.xlsx")
    assert dlg.sheet.count() == 2
    with qtbot.waitSignal(dlg.previewUpdated, timeout=3000):
        dlg.sheet.setCurrentText("Visits")
    assert dlg.preview_frame().columns[0].startswith("Blood pressure")  # the title taken as the header
    assert "  3 | patient id" in dlg.raw.toPlainText()  # the raw view shows where the names are
    with qtbot.waitSignal(dlg.previewUpdated, timeout=3000):
        dlg.header_row.setValue(3)
        dlg.missing.setText("999")
    frame = dlg.preview_frame()
    assert list(frame.columns) == ["patient id", "Sex", "age", "bp_T0", "bp_T1", "bp_T3"]
    assert np.isnan(frame.loc[1, "age"]) and np.isnan(frame.loc[0, "bp_T3"])
    assert dlg.model.rowCount() == 4 and dlg.model.columnCount() == 6
    assert dlg.options() == ImportOptions(sheet="Visits", skip_rows=2, missing=(999,))
    assert dlg.dataset().frame.shape == (4, 6)
    assert dlg.buttons.button(dlg.buttons.StandardButton.Ok).isEnabled()


def test_import_dialog_per_column_codes_dates_and_errors(qtbot, tmp_path):
    p = tmp_path / "eu.csv"
    p.write_bytes("id;visit;score\n1;45366;999\n2;45000;12,5\n".encode("cp1252"))
    dlg = _import_dialog(qtbot, p)
    assert dlg.csv_box.isVisibleTo(dlg) and dlg.column_codes.rowCount() == 3
    with qtbot.waitSignal(dlg.previewUpdated, timeout=3000):
        dlg.column_codes.item(2, 1).setText("999")
        dlg.dates.item(1).setCheckState(dlg.dates.item(1).checkState().Checked)
    frame = dlg.preview_frame()
    assert np.isnan(frame.loc[0, "score"]) and frame.loc[1, "score"] == 12.5
    assert frame.loc[0, "visit"] == pd.Timestamp("2024-03-15")
    assert dlg.options().column_missing == {"score": (999,)} and dlg.options().date_columns == ("visit",)
    with qtbot.waitSignal(dlg.previewUpdated, timeout=3000):
        dlg.decimal.setCurrentIndex(dlg.decimal.findData(","))
        dlg.delimiter.setCurrentIndex(dlg.delimiter.findData(","))
    assert "decimal mark and the field separator" in dlg.status.text()
    assert not dlg.buttons.button(dlg.buttons.StandardButton.Ok).isEnabled()


def test_import_dialog_starts_from_given_options(qtbot):
    o = ImportOptions(skip_rows=1, missing=(999, "n/a"))
    dlg = _import_dialog(qtbot, DATA / "wide_titled.csv", o)
    assert dlg.header_row.value() == 2 and dlg.missing.text() == "999, n/a"
    assert dlg.preview_frame()["age"].isna().tolist() == [False, True, False, False]


def test_reshape_dialog_wide_to_long_and_back(qtbot):
    from mixgui.gui.widgets.reshape_dialog import ReshapeDialog
    wide = pd.DataFrame({"patient id": ["P1", "P2"], "age": [50, 60], "bp_T0": [140.0, 150.0],
                         "bp_T1": [135.0, np.nan], "bp_T3": [130.0, 138.0]})
    dlg = ReshapeDialog(wide)
    qtbot.addWidget(dlg)
    assert dlg.value_name.text() == "bp"  # the suggested group is ticked and named
    assert dlg.step() == WideToLong(("bp_T0", "bp_T1", "bp_T3"), "time", "bp")
    assert "bp_T3 → 3" in dlg.occasions.text()
    assert dlg.model.rowCount() == 6 and list(dlg.model.frame().columns) == ["patient id", "age", "time", "bp"]
    with qtbot.waitSignal(dlg.previewUpdated, timeout=3000):
        dlg.drop_missing.setChecked(True)
        dlg.index_name.setText("visit")
    out = dlg.result_frame()
    assert out["visit"].tolist() == [0, 1, 3, 0, 3] and out["bp"].tolist() == [140.0, 135.0, 130.0, 150.0, 138.0]
    with qtbot.waitSignal(dlg.previewUpdated, timeout=3000):
        dlg.index_name.setText("age")
    assert 'already have a column "age"' in dlg.error

    long = out.rename(columns={"visit": "time"})
    dlg2 = ReshapeDialog(long)
    qtbot.addWidget(dlg2)
    with qtbot.waitSignal(dlg2.previewUpdated, timeout=3000):
        dlg2.tabs.setCurrentIndex(1)
        dlg2.subject.setCurrentText("patient id")
        dlg2.index.setCurrentText("time")
        dlg2.values.item(3).setCheckState(dlg2.values.item(3).checkState().Checked)
    assert dlg2.step() == LongToWide("patient id", "time", ("bp",))
    assert list(dlg2.result_frame().columns) == ["patient id", "age", "bp_0", "bp_1", "bp_3"]
