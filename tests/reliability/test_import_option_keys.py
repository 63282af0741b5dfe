"""Import options read from a file: a misspelt option is refused with the nearest name, never dropped.

A dropped ``skip_rows`` or ``missing`` would silently give another table (title rows read as data,
999 read as a blood pressure), so an unknown key in ``data.import`` of an analysis file or in a
project is an error naming the nearest known option; only a file from a newer MixGUI skips it,
with a warning in the results.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest

from mixgui.data.importing import ImportOptions, load_analysis_data
from mixgui.errors import DataError, MixGUIError
from mixgui.pipeline.run import run
from mixgui.session import files
from mixgui.session.document import Session


def test_an_unknown_key_names_the_nearest_known_one():
    with pytest.raises(DataError, match='unknown option "skiprows"; did you mean "skip_rows"'):
        ImportOptions.from_dict({"skiprows": 2})
    with pytest.raises(DataError, match='"missing_codes"; did you mean "missing"'):
        ImportOptions.from_dict({"missing_codes": [999]})
    with pytest.raises(DataError, match="known options are sheet, skip_rows"):
        ImportOptions.from_dict({"zzz": 1})


def test_values_of_the_wrong_kind_are_refused_in_one_sentence():
    for bad, word in [({"skip_rows": "two"}, "whole number"), ({"skip_rows": -1}, "whole number"),
                      ({"skip_rows": 1.5}, "whole number"), ({"header": "no"}, "true or false"),
                      ({"missing": {"a": 1}}, "must be a list"), ({"column_missing": [999]}, "map a column"),
                      ({"delimiter": 9}, "must be text"), ("skip_rows", "must be an object")]:
        with pytest.raises(DataError, match=word) as info:
            ImportOptions.from_dict(bad)
        assert "\n" not in str(info.value)


def test_known_keys_round_trip_and_one_code_needs_no_list():
    o = ImportOptions(sheet="2019", skip_rows=2, header=True, skip_after_header=1, missing=(999, "n/a"),
                      column_missing={"age": (-1,)}, date_columns=("visit date",), dayfirst=True, delimiter=";",
                      decimal=",", encoding="latin-1")
    assert ImportOptions.from_dict(o.to_dict()) == o
    assert ImportOptions.from_dict({"missing": 999, "sheet": 2019}) == ImportOptions(sheet="2019", missing=(999,))


def test_a_newer_file_skips_the_key_and_says_so(tmp_path):
    skipped = []
    o = ImportOptions.from_dict({"skip_rows": 1, "smart_units": True}, newer=True, skipped=skipped)
    assert o == ImportOptions(skip_rows=1) and skipped == ["smart_units"]


def _analysis(tmp_path, version=2, **imp):
    csv = tmp_path / "d.csv"
    pd.DataFrame({"y": [1.0, 2.5, 2.0, 4.0, 3.5, 5.0, 4.5, 7.0], "x": [1, 2, 3, 4, 5, 6, 7, 8],
                  "g": list("aabbccdd")}).to_csv(csv, index=False)
    path = tmp_path / "m.analysis.json"
    path.write_text(json.dumps({"version": version, "data": {"path": "d.csv", "import": imp},
                                "formula": "y ~ x + (1 | g)"}), encoding="utf-8")
    return path, csv


def test_an_analysis_file_with_a_misspelt_import_option_is_refused(tmp_path):
    path, csv = _analysis(tmp_path, missing_code=[999])
    with pytest.raises(MixGUIError, match='did you mean "missing"'):
        files.open_analysis(Session(), path)
    with pytest.raises(DataError, match='did you mean "missing"'):
        load_analysis_data(csv, json.loads(path.read_text()))


def test_an_analysis_file_from_a_newer_mixgui_opens_with_a_warning(tmp_path):
    path, _ = _analysis(tmp_path, version=99, missing=[999], smart_units=True)
    spec, dataset, provenance = files.read_analysis(path)
    assert "data.import.smart_units" in spec.skipped_keys
    assert provenance.import_options == ImportOptions(missing=(999,))
    warnings = run(spec, dataset).data["warnings"]
    assert any("newer MixGUI" in w and "data.import.smart_units" in w for w in warnings)


def test_the_cli_refuses_a_misspelt_import_option(tmp_path):
    import subprocess
    import sys

    path, _ = _analysis(tmp_path, skip_row=1)
    proc = subprocess.run([sys.executable, "-m", "mixgui", "fit", str(path)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert 'did you mean "skip_rows"' in proc.stderr and "Traceback" not in proc.stderr
