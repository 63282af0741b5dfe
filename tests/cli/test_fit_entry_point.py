"""`mixgui fit` goes through pipeline.run: its results file is the FitResult's to_dict, key for key."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.pipeline import run

REF = Path(__file__).resolve().parents[1] / "reference" / "cli"


def test_results_file_is_the_pipelines_result(tmp_path):
    shutil.copy(REF / "orthodont_long.csv", tmp_path / "orthodont_long.csv")
    analysis = {"data": {"path": "orthodont_long.csv"}, "formula": "distance ~ agen * Sex + (1 | Subject)",
                "df_method": "kenward-roger", "emmeans": [{"specs": "Sex"}]}
    (tmp_path / "a.json").write_text(json.dumps(analysis))
    out = tmp_path / "out.json"
    p = subprocess.run([sys.executable, "-m", "mixgui", "fit", str(tmp_path / "a.json"), "--json", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    written = json.loads(out.read_text())
    spec = AnalysisSpec.from_dict(analysis)
    mine = run(spec, Dataset(pd.read_csv(REF / "orthodont_long.csv"), name="orthodont_long.csv"),
               figures=False).to_dict()
    assert written.pop("fit_seconds") > 0 and mine.pop("fit_seconds") > 0
    assert list(written) == list(mine)
    # the same computation in two processes: the same numbers (rounding-level differences only)
    for a, b in zip(written["fixed_effects"], mine["fixed_effects"]):
        assert a.keys() == b.keys() and a["term"] == b["term"]
        for k in ("estimate", "std_error", "df", "p_value"):
            assert abs(a[k] - b[k]) <= 1e-9 * max(1.0, abs(b[k])), (a["term"], k)
    assert written["warnings"] == mine["warnings"] and written["formula"] == mine["formula"]
