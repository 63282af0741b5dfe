"""Cancel answers while the figures are computed (on millions of rows they take seconds)."""
from pathlib import Path

import pandas as pd
import pytest

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.errors import Cancelled, Progress
from mixgui.pipeline import run
from mixgui.pipeline.figures import compute_figures

REF = Path(__file__).resolve().parents[1] / "reference"


def test_cancel_during_the_figures_stops_them():
    frame = pd.read_csv(REF / "cli" / "orthodont_long.csv")
    result = run(AnalysisSpec(formula="distance ~ age * Sex + (age | Subject)"), Dataset(frame, name="o"),
                 figures=False)
    messages = []
    progress = Progress(lambda fraction, message: messages.append(message))
    assert len(compute_figures(result, progress)) > 5
    told = len(messages)
    assert told >= 5 and set(messages) == {"figures"}  # told between the figures, not only at the end

    calls = []

    def cancel_at_third(fraction, message):
        calls.append(message)
        if len(calls) == 3:
            progress.cancel()

    progress = Progress(cancel_at_third)
    with pytest.raises(Cancelled):
        compute_figures(result, progress)
    assert len(calls) == 3


def test_the_means_figure_names_its_axes():
    frame = pd.read_csv(REF / "cli" / "orthodont_long.csv")
    spec = AnalysisSpec.from_dict({"data": "d.csv", "formula": "distance ~ age + Sex + (1 | Subject)",
                                   "emmeans": [{"specs": "Sex"}]})
    result = run(spec, Dataset(frame, name="o"))
    fig = next(f for f in result.figures if f.kind == "emmeans")
    assert fig.title == "Means: Sex" and fig.options == {"x_label": "Sex", "y_label": "Mean"}
    assert fig.data["levels"] == ["Female", "Male"]


# -- at millions of rows the per-group steps report every CHUNK_ROWS rows, so Cancel is answered --------

def _many_rows(n=12_000, groups=40, seed=2):
    import numpy as np
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, groups, n)
    return codes, rng.normal(size=n).round(1), rng.integers(0, 6, n).astype(float), [f"s{k}" for k in range(groups)]


@pytest.mark.parametrize("step", ["by_group", "trajectories"])
def test_per_group_steps_tick_every_chunk_and_stop_on_cancel(monkeypatch, step):
    from mixgui.pipeline import plotdata
    monkeypatch.setattr(plotdata, "CHUNK_ROWS", 1_000)
    codes, resid, x, levels = _many_rows()

    def call(tick):
        if step == "by_group":
            return plotdata.residuals_by_group(resid, codes, levels, tick=tick)
        return plotdata.observed_trajectories(x, resid, codes, levels, tick=tick)
    ticks = []
    call(lambda: ticks.append(1))
    assert len(ticks) >= 12_000 // 1_500  # about one per thousand rows (whole groups), not one at the end

    progress = Progress()
    count = []

    def tick():
        count.append(1)
        if len(count) == 4:
            progress.cancel()  # as the window's button does between two reports
        progress.step(None, "figures")
    with pytest.raises(Cancelled):
        call(tick)
    assert len(count) == 4  # stopped at that report, not at the end of the step


def test_drawn_groups_are_those_of_the_whole_result_spread():
    """Computing only the groups drawn gives the very numbers the spread of all groups gave."""
    import numpy as np

    from mixgui.pipeline import plotdata
    codes, resid, x, levels = _many_rows(groups=900)
    full = plotdata.residuals_by_group(resid, codes, levels)
    part = plotdata.residuals_by_group(resid, codes, levels, max_groups=50)
    keep = plotdata.spread(900, 50)
    assert part["total"] == 900 and part["levels"] == [full["levels"][i] for i in keep]
    np.testing.assert_array_equal(part["medians"], full["medians"][keep])
    assert all(np.array_equal(full["values"][i], v) for i, v in zip(keep, part["values"]))
    lines = plotdata.observed_trajectories(x, resid, codes, levels)
    some = plotdata.observed_trajectories(x, resid, codes, levels, max_lines=50)
    keep = plotdata.spread(len(lines["levels"]), 50)
    assert some["total"] == len(lines["levels"]) and some["levels"] == [lines["levels"][i] for i in keep]
    for key in ("x", "y", "rows"):
        assert all(np.array_equal(lines[key][i], v) for i, v in zip(keep, some[key]))


def test_figures_of_many_rows_report_within_the_per_group_steps(monkeypatch):
    """With a small CHUNK_ROWS the orthodont figures report more often: the steps pass the ticks on."""
    from mixgui.pipeline import plotdata
    frame = pd.read_csv(REF / "cli" / "orthodont_long.csv")
    result = run(AnalysisSpec(formula="distance ~ age * Sex + (1 | Subject)"), Dataset(frame, name="o"),
                 figures=False)
    counts = {}
    for chunk in (1_000_000, 10):
        monkeypatch.setattr(plotdata, "CHUNK_ROWS", chunk)
        counts[chunk] = 0

        def count(fraction, message, chunk=chunk):
            counts[chunk] += 1
        compute_figures(result, Progress(count))
    # 108 rows: medians (11 pieces), values (10), trajectories (10) and the two histograms add reports
    assert counts[10] >= counts[1_000_000] + 25, counts
