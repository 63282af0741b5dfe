"""`mixgui fit` end to end: the results file, and one plain line (exit 2) for each kind of bad input."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REF = Path(__file__).resolve().parents[1] / "reference" / "cli"


def mixgui_fit(tmp_path, analysis: dict | str, data_files=("sleepstudy.csv", "orthodont_long.csv")):
    for f in data_files:
        shutil.copy(REF / f, tmp_path / f)
    a = tmp_path / "analysis.json"
    a.write_text(analysis if isinstance(analysis, str) else json.dumps(analysis))
    out = tmp_path / "out.json"
    p = subprocess.run([sys.executable, "-m", "mixgui", "fit", str(a), "--json", str(out)],
                       capture_output=True, text=True, timeout=300)
    return p, out


def assert_one_clear_line(p, *words):
    assert p.returncode == 2, (p.returncode, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr  # one line, never a traceback
    assert "Traceback" not in p.stderr
    for w in words:
        assert w in lines[0], lines[0]


def test_regression_results_file_matches_r(tmp_path):
    p, out = mixgui_fit(tmp_path, {"data": {"path": "orthodont_long.csv"}, "formula": "distance ~ agen * Sex",
                                   "reference_levels": {"Sex": "Male"}})
    assert p.returncode == 0, p.stderr
    res = json.loads(out.read_text())
    ref = json.loads((REF / "orthodont_lm.json").read_text())
    got = {r["term"]: r for r in res["fixed_effects"]}
    for r in ref["fixed_effects"]:
        # R prints 15 significant digits; least squares here agrees to ~1e-10, so 1e-8 is generous
        assert got[r["term"]]["estimate"] == pytest.approx(r["estimate"], rel=1e-8)
        assert got[r["term"]]["std_error"] == pytest.approx(r["std_error"], rel=1e-8)
    assert res["glance"]["r_squared"] == pytest.approx(ref["glance"]["r_squared"], rel=1e-8)


def test_mixed_model_results_file_matches_lme4(tmp_path):
    p, out = mixgui_fit(tmp_path, {"data": {"path": "sleepstudy.csv"}, "formula": "Reaction ~ Days + (1 | Subject)",
                                   "method": "REML"})
    assert p.returncode == 0, p.stderr
    res = json.loads(out.read_text())
    ref = json.loads((REF / "sleepstudy_ri.json").read_text())
    assert res["loglik"] == pytest.approx(ref["loglik"], abs=1e-3)  # optimiser tolerance on the deviance
    fe = {r["term"]: r for r in res["fixed_effects"]}
    for r in ref["fixed_effects"]:
        assert fe[r["term"]]["estimate"] == pytest.approx(r["estimate"], rel=1e-4)
        assert fe[r["term"]]["std_error"] == pytest.approx(r["std_error"], rel=2e-3)
        assert fe[r["term"]]["df"] == pytest.approx(r["df_satterthwaite"], rel=1e-2)


def test_missing_analysis_file(tmp_path):
    p = subprocess.run([sys.executable, "-m", "mixgui", "fit", str(tmp_path / "none.json")],
                       capture_output=True, text=True)
    assert_one_clear_line(p, "does not exist")


def test_missing_data_file(tmp_path):
    p, _ = mixgui_fit(tmp_path, {"data": {"path": "nowhere.csv"}, "formula": "y ~ x"}, data_files=())
    assert_one_clear_line(p, "nowhere.csv", "does not exist")


def test_unknown_column_suggests_closest(tmp_path):
    p, _ = mixgui_fit(tmp_path, {"data": {"path": "sleepstudy.csv"}, "formula": "Reaction ~ Dayz + (1 | Subject)"})
    assert_one_clear_line(p, '"Dayz"', 'did you mean "Days"?')


def test_unreadable_data_file(tmp_path):
    (tmp_path / "bin.csv").write_bytes(b"\x00\x01\x02\x03" * 100)
    p, _ = mixgui_fit(tmp_path, {"data": {"path": "bin.csv"}, "formula": "y ~ x"}, data_files=())
    assert_one_clear_line(p, "not a text file")


def test_malformed_formula(tmp_path):
    p, _ = mixgui_fit(tmp_path, {"data": {"path": "sleepstudy.csv"}, "formula": "Reaction ~ Days + (1 | Subject"})
    assert_one_clear_line(p, "position", 'closing ")"')


def test_malformed_json(tmp_path):
    p, _ = mixgui_fit(tmp_path, '{"data": {"path": "sleepstudy.csv"}, "formula": ')
    assert_one_clear_line(p, "not valid JSON")


def test_text_outcome(tmp_path):
    p, _ = mixgui_fit(tmp_path, {"data": {"path": "orthodont_long.csv"}, "formula": "Sex ~ agen"})
    assert_one_clear_line(p, '"Sex"', "not numeric")
