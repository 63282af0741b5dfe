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
