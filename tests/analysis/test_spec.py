"""The analysis file: round trip, defaults, migration of older versions, atomic writes, errors."""
import json

import pytest

from mixgui.analysis.spec import AnalysisSpec, load_spec, save_spec
from mixgui.errors import SpecError

CONTRACT_EXAMPLE = {
    "format": "mixgui-analysis", "version": 1,
    "data": {"path": "sleepstudy.csv", "sheet": None},
    "formula": "Reaction ~ Days + (Days | Subject)", "method": "REML", "df_method": "satterthwaite",
    "factors": ["Subject"], "reference_levels": {"Sex": "Male"},
    "repeated": {"structure": "AR1", "subject": "Subject", "index": "age"},
    "random_effect_tests": True,
    "emmeans": [{"specs": "age", "contrasts": [
        {"method": "pairwise", "adjust": "tukey"},
        {"method": "custom", "name": "T14 - (T10+T12)/2", "weights": [0, -0.5, -0.5, 1], "adjust": "none"}]}],
}


def test_round_trip_keeps_every_field(tmp_path):
    spec = AnalysisSpec.from_dict(CONTRACT_EXAMPLE)
    save_spec(spec, tmp_path / "a.json")
    again, data_path = load_spec(tmp_path / "a.json")
    assert again == spec
    assert data_path == (tmp_path / "sleepstudy.csv").resolve()
    written = json.loads((tmp_path / "a.json").read_text())
    assert written["format"] == "mixgui-analysis" and written["version"] == 2
    assert written["emmeans"][0]["contrasts"][1]["weights"] == [0, -0.5, -0.5, 1]


def test_defaults_are_reml_and_satterthwaite():
    spec = AnalysisSpec.from_dict({"data": {"path": "x.csv"}, "formula": "y ~ x"})
    assert (spec.method, spec.df_method, spec.repeated) == ("REML", "satterthwaite", None)


def test_version_0_file_migrates_on_read():
    spec = AnalysisSpec.from_dict({"data": "old.csv", "formula": "y ~ x", "df": "kenward-roger"})
    assert spec.data.path == "old.csv" and spec.df_method == "kenward-roger"


@pytest.mark.parametrize("bad, words", [
    ({"formula": "y ~ x"}, "no data path"),
    ({"data": {"path": "x.csv"}}, "no formula"),
    ({"data": {"path": "x.csv"}, "formula": "y ~ x", "method": "OLS"}, "REML"),
    ({"data": {"path": "x.csv"}, "formula": "y ~ x", "repeated": {"structure": "AR9", "subject": "s", "index": "t"}},
     "AR1"),
    ({"data": {"path": "x.csv"}, "formula": "y ~ x", "methd": "ML"}, 'unknown key "methd"; did you mean "method"'),
    ({"data": {"path": "x.csv"}, "formula": "y ~ x", "family": "gausian"}, 'did you mean "gaussian"'),
    ({"data": {"path": "x.csv"}, "formula": "y ~ x", "family": "binomial", "link": "logt"}, 'did you mean "logit"'),
    ({"data": {"path": "x.csv"}, "formula": "y ~ x", "family": "poisson", "link": "logit"}, "does not go with"),
    ({"data": {"path": "x.csv"}, "formula": "y ~ x", "repeated": {"structure": "UN", "subject": "s", "index": "t",
                                                                   "grup": "arm"}}, 'did you mean "group"'),
    ({"data": {"path": "x.csv", "sheat": "A"}, "formula": "y ~ x"}, 'did you mean "sheet"'),
])
def test_bad_files_say_what_to_do(bad, words):
    with pytest.raises(SpecError, match=words):
        AnalysisSpec.from_dict(bad)


def test_malformed_json_names_line(tmp_path):
    p = tmp_path / "a.json"
    p.write_text('{"formula": "y ~ x",\n "data": }')
    with pytest.raises(SpecError, match="line 2"):
        load_spec(p)


def test_save_is_atomic_when_writing_fails(tmp_path, monkeypatch):
    p = tmp_path / "a.json"
    save_spec(AnalysisSpec.from_dict({"data": {"path": "x.csv"}, "formula": "y ~ x"}), p)
    before = p.read_text()
    import os

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        save_spec(AnalysisSpec.from_dict({"data": {"path": "z.csv"}, "formula": "y ~ z"}), p)
    assert p.read_text() == before
    assert [f.name for f in tmp_path.iterdir()] == ["a.json"]  # no temporary file left behind


def test_a_newer_file_skips_its_unknown_keys_and_lists_them():
    spec = AnalysisSpec.from_dict({"data": {"path": "x.csv"}, "formula": "y ~ x", "version": 99, "smoothing": 3})
    assert spec.skipped_keys == ("smoothing",)


def test_second_round_options_round_trip():
    d = {"data": {"path": "x.csv", "import": {"missing": [".", 999]}}, "formula": "y ~ x + (1 | g)",
         "family": "binomial", "link": "probit", "trials": "n", "nagq": 7,
         "repeated": {"structure": "toep(2)", "subject": "s", "index": "t", "group": "arm"},
         "kr_information": "expected", "kr_variant": "linear", "vcov": "empirical", "weights": "w",
         "predictions": True, "df_method": "BW", "anova_types": [1, 3],
         "emmeans": [{"specs": "arm", "type": "response", "contrasts": [{"method": "pairwise", "adjust": "BH"}]}]}
    spec = AnalysisSpec.from_dict(d)
    assert spec.repeated.structure == "TOEP(2)" and spec.repeated.group == "arm"
    assert spec.df_method == "between-within" and spec.anova_types == (1, 3)
    assert spec.emmeans[0].contrasts[0].adjust == "fdr" and spec.emmeans[0].type == "response"
    assert spec.link_name == "probit"
    assert AnalysisSpec.from_dict(spec.to_dict()) == spec
