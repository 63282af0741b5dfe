"""`mixgui power DESIGN.json --json OUT.json`: the contract's output keys, bad input exits 2 with one line."""
import json

import numpy as np
import pandas as pd
import pytest

from mixgui.cli import main

CONTRACT_KEYS = {"power", "power_lower", "power_upper", "simulations", "design_effect", "effective_sample_size",
                 "analytic_power", "fit_failures"}


def write(tmp_path, design, name="design.json"):
    p = tmp_path / name
    p.write_text(json.dumps(design))
    return str(p)


def test_power_command_writes_the_contract_keys(tmp_path):
    d = {"format": "mixgui-design", "design": "cluster_randomized", "clusters": 16, "per_cluster": 12, "icc": 0.08,
         "effect": 0.45, "sd": 1.0, "alpha": 0.05, "simulations": 500, "seed": 1}
    out = tmp_path / "out.json"
    assert main(["power", write(tmp_path, d), "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert CONTRACT_KEYS <= set(r)
    assert r["simulations"] == 500 and r["seed"] == 1
    assert r["power_lower"] < r["power"] < r["power_upper"]
    assert r["design_effect"] == pytest.approx(1 + 11 * 0.08)
    assert r["effective_sample_size"] == pytest.approx(16 * 12 / (1 + 11 * 0.08))
    assert 0 < r["analytic_power"] < 1
    assert abs(r["power"] - r["analytic_power"]) < 0.1
    assert r["clusters_needed"] >= 16 and r["target_power"] == 0.8
    # the same file again: the same numbers (seeded)
    out2 = tmp_path / "out2.json"
    assert main(["power", write(tmp_path, d), "--json", str(out2)]) == 0
    assert json.loads(out2.read_text())["rejections"] == r["rejections"]


def test_curves_on_request(tmp_path):
    d = {"design": "within_cluster", "clusters": 6, "per_cluster": 8, "icc": 0.1, "effect": 0.4,
         "simulations": 100, "curve_simulations": 50, "seed": 2, "curves": True}
    out = tmp_path / "out.json"
    assert main(["power", write(tmp_path, d), "--json", str(out)]) == 0
    c = json.loads(out.read_text())["curves"]
    assert set(c) == {"clusters", "per_cluster"}
    assert [s["design"] for s in c["clusters"]["series"]] == ["cluster_randomized", "within_cluster"]


@pytest.mark.parametrize("design, words", [
    ({"icc": 1.5}, "ICC must be at least 0 and below 1"),
    ({"clusters": 2}, "fewer than 2 clusters per arm"),
    ({"per_cluster": 0}, "at least one member"),
    ({"effect": -0.2, "alternative": "one.sided"}, "one-sided"),
    ({"simulations": 1_000_000}, "100,000"),
    ({"simulatons": 100}, 'did you mean "simulations"'),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, design, words):
    assert main(["power", write(tmp_path, design)]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err and err.startswith("mixgui: ")


def test_missing_file_and_bad_json(tmp_path, capsys):
    assert main(["power", str(tmp_path / "nope.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    p = tmp_path / "bad.json"
    p.write_text("{not json")
    assert main(["power", str(p)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def _trial(tmp_path):
    rng = np.random.default_rng(7)
    rows = []
    for j in range(10):
        u = rng.normal(0, 0.5)
        for _i in range(6):
            arm = "new" if j % 2 else "usual"
            rows.append({"ward id": f"w{j}", "arm": arm, "score": 0.6 * (arm == "new") + u + rng.normal()})
    pd.DataFrame(rows).to_csv(tmp_path / "trial.csv", index=False)
    (tmp_path / "trial.json").write_text(json.dumps({"data": {"path": "trial.csv"},
                                                     "formula": "score ~ arm + (1 | `ward id`)"}))


@pytest.mark.slow
def test_from_analysis_extends_the_clusters(tmp_path, capsys):
    _trial(tmp_path)
    d = {"format": "mixgui-design", "from_analysis": "trial.json", "clusters": [12], "simulations": 10, "seed": 1,
         "workers": 1}
    out = tmp_path / "out.json"
    rc = main(["power", write(tmp_path, d), "--json", str(out)])
    assert rc == 0, capsys.readouterr().err
    r = json.loads(out.read_text())
    assert r["design"] == "from_analysis" and r["clusters"] == 12 and r["per_cluster"] == 6
    assert r["test"] == "armusual" and r["along"] == "ward id"
    assert r["analytic_power"] is None and CONTRACT_KEYS <= set(r)
    bad = write(tmp_path, {**d, "term": "armusal"}, "bad.json")
    assert main(["power", bad]) == 2
    assert 'did you mean "armusual"' in capsys.readouterr().err
