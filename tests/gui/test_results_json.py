"""The window shows exactly what `mixgui fit --json` writes: its tables are rendered from the FitResult
that the JSON serialises, and every number shown rounds from the JSON's number."""
import json
from pathlib import Path

import pandas as pd

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.results.tables import format_value

REF = Path(__file__).resolve().parents[1] / "reference"


def test_window_tables_and_json_come_from_one_result_and_agree(qtbot):
    import mixgui.pipeline
    from mixgui.gui.widgets.results_panel import ResultsPanel
    from mixgui.gui.workers import FitController

    controller = FitController()
    assert controller._run_fn is mixgui.pipeline.run  # the window's fits go through the one entry point
    spec = AnalysisSpec.from_dict({"data": {"path": "orthodont_long.csv"}, "formula": "distance ~ agen * Sex + (1 | Subject)",
                                   "emmeans": [{"specs": "Sex"}]})
    dataset = Dataset(pd.read_csv(REF / "cli" / "orthodont_long.csv"), name="orthodont_long.csv")
    try:
        with qtbot.waitSignal(controller.finished, timeout=120_000) as sig:
            controller.submit(spec, dataset)
    finally:
        controller.shutdown()
    result = sig.args[1]
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    panel.show_result(sig.args[0], result)
    written = json.loads(result.to_json())
    assert [panel.model(t.key).table for t in result.tables] == result.tables  # the same table objects
    assert [t.figure.key for t in panel.plots.tabs] == [f.key for f in result.figures]

    model = panel.model("fixed_effects")
    columns = {c.key: i for i, c in enumerate(model.table.columns)}
    assert model.rowCount() == len(written["fixed_effects"]) == 4
    for r, row in enumerate(written["fixed_effects"]):
        assert model.data(model.index(r, columns["term"])) == row["term"]
        for key, kind in (("estimate", "num"), ("std_error", "num"), ("df", "df"), ("t_value", "num"),
                          ("p_value", "p")):
            shown = model.data(model.index(r, columns[key]))
            assert shown == format_value(row[key], kind), (row["term"], key)
        ci = model.data(model.index(r, columns["ci"]))
        assert ci == format_value((row["ci_lower"], row["ci_upper"]), "ci")

    means = panel.model("emmeans_0")
    for r, row in enumerate(written["emmeans"][0]["emmeans"]):
        assert means.data(means.index(r, 0)) == row["level"]
        assert means.data(means.index(r, 1)) == format_value(row["emmean"], "num")
    variances = panel.model("variance_components")
    assert variances.data(variances.index(0, 2)) == format_value(written["variance_components"][0]["vcov"], "num")
