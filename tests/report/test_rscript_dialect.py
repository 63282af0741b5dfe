"""The R script's read.csv line when the data file is missing, a folder or a real file."""
from pathlib import Path

from mixgui.analysis.spec import AnalysisSpec
from mixgui.report.rscript import _csv_dialect, r_script

DEFAULT = (",", ".", "UTF-8-BOM")


def test_a_project_without_a_data_file_gets_the_default_dialect(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the empty path is the current folder: it must not be read as a file
    assert _csv_dialect(Path(""), None) == DEFAULT
    assert _csv_dialect(tmp_path, None) == DEFAULT  # a folder
    assert _csv_dialect(tmp_path / "gone.csv", None) == DEFAULT  # a file that is not there
    spec = AnalysisSpec(formula="y ~ x + (1 | g)")
    assert spec.data.path == ""
    script = r_script(spec)
    assert 'sep = ",", dec = ".", fileEncoding = "UTF-8-BOM"' in script
    assert "lmer(" in script


def test_a_real_file_is_still_sniffed(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("y;x;g\n1,5;2,25;a\n2,5;3,5;b\n", encoding="utf-8")
    assert _csv_dialect(path, None) == (";", ",", "UTF-8-BOM")
    path.write_bytes("y;x;naïve\n1,5;2;a\n".encode("cp1252"))
    assert _csv_dialect(path, None)[2] == "CP1252"
