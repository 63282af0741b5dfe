"""Export names and folders as the user chose them; copied numbers paste into Excel as numbers."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from mixgui.gui.models.result_model import table_mime_data
from mixgui.gui.widgets.export_dialog import FORMATS, resolve_export_path, start_folder
from mixgui.results.tables import Column, Table

XLSX, DOCX, HTML, R, CSV = (f for f, _ in FORMATS)


@pytest.mark.parametrize("typed, chosen, expected", [
    ("/d/report.html", XLSX, "/d/report.html"),        # the typed suffix wins over last time's format
    ("/d/report.DOCX", HTML, "/d/report.DOCX"),
    ("/d/report", DOCX, "/d/report.docx"),              # no suffix typed: the chosen format's
    ("/d/report.v2", XLSX, "/d/report.v2.xlsx"),        # a dot in a name is not a format
    ("/d/tables.csv", CSV, "/d/tables"),                # the CSV folder
    ("/d/tables", CSV, "/d/tables"),
])
def test_typed_name_is_kept_and_a_missing_suffix_added(typed, chosen, expected):
    assert resolve_export_path(typed, chosen) == expected


def test_export_dialog_starts_beside_the_data_file(tmp_path):
    data = tmp_path / "study" / "trial.xlsx"
    data.parent.mkdir()
    data.write_bytes(b"")
    session = SimpleNamespace(project_path=None, analysis_path=None, dataset=SimpleNamespace(source=str(data)))
    assert Path(start_folder(session, last_folder=str(tmp_path))) == data.parent
    session.project_path = str(tmp_path / "p.mixgui")
    assert Path(start_folder(session)) == tmp_path   # a saved project's folder comes first
    empty = SimpleNamespace(project_path=None, analysis_path=None, dataset=None)
    assert start_folder(empty, last_folder=str(tmp_path)) == str(tmp_path)
    assert start_folder(empty) == str(Path.home())


def test_copied_negative_numbers_use_the_ascii_minus(qapp):
    table = Table("fixed_effects", "Fixed effects", [Column("term", "Term", "text"), Column("estimate", "Estimate")],
                  [{"term": "age", "estimate": -0.0481}])
    mime = table_mime_data(table)
    assert "\u2212" in table.to_tsv()          # the window keeps its typographic minus
    assert "-0.048" in mime.text() and "\u2212" not in mime.text()
    assert "-0.048" in mime.html() and "\u2212" not in mime.html()
