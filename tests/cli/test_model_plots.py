"""mixgui fit --plots writes the pictures that explain a mixed model."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REF = Path(__file__).resolve().parents[1] / "reference"


def test_plots_folder_has_fitted_lines_pooling_and_variance(tmp_path):
    analysis = tmp_path / "a.json"
    analysis.write_text(json.dumps({"data": {"path": str(REF / "lmm" / "sleepstudy.csv")},
                                    "formula": "Reaction ~ Days + (Days | Subject)"}))
    p = subprocess.run([sys.executable, "-m", "mixgui", "fit", str(analysis), "--plots", str(tmp_path / "plots")],
                       capture_output=True, text=True, timeout=300, env={"QT_QPA_PLATFORM": "offscreen",
                                                                          **__import__("os").environ})
    assert p.returncode == 0, p.stderr
    names = {f.name for f in (tmp_path / "plots").iterdir()}
    for pattern in ("fitted_lines", "pooling", "variance", "within_between"):
        hits = [n for n in names if n.startswith(pattern) and n.endswith(".png")]
        assert hits, (pattern, sorted(names))
        assert all((tmp_path / "plots" / n).stat().st_size > 5000 for n in hits)  # a drawn picture, not a blank
