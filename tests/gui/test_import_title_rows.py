"""The import dialog opens on a sheet with a title row showing the real column names."""
from __future__ import annotations

import openpyxl

from mixgui.gui.widgets.import_dialog import ImportDialog


def test_the_dialog_starts_below_the_title_rows(qtbot, tmp_path):
    path = tmp_path / "trial.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in (["Trial ABC: visit scores"], [], ["patient", "week", "score"], [1, 0, 12.5], [1, 4, 13.0]):
        ws.append(row)
    wb.save(path)
    dlg = ImportDialog(path)
    qtbot.addWidget(dlg)
    assert dlg.options().skip_rows == 2
    assert dlg.dataset().columns == ["patient", "week", "score"]


def test_the_dialog_reads_an_xlsb_workbook_like_xlsx(qtbot):
    from pathlib import Path
    files = Path(__file__).parent.parent / "data" / "files"
    seen = {}
    for suffix in ("xlsx", "xlsb"):
        dlg = ImportDialog(files / f"formats.{suffix}")
        qtbot.addWidget(dlg)
        seen[suffix] = (dlg.options().sheet, dlg.options().skip_rows, dlg.dataset().frame)
    assert seen["xlsb"][:2] == seen["xlsx"][:2] == ("Visits", 2)
    assert seen["xlsb"][2].equals(seen["xlsx"][2]) and seen["xlsb"][2].columns.tolist() == ["patient", "week", "score"]
