"""Marginal-means tables: "A at each level of B" laid out by factor, and each note beside its own means."""
from pathlib import Path

import pandas as pd
import pytest

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.pipeline import run

REF = Path(__file__).resolve().parents[1] / "reference"


@pytest.fixture(scope="module")
def result():
    frame = pd.read_csv(REF / "cli" / "orthodont_long.csv")
    frame["agef"] = frame["age"].astype(str)
    spec = AnalysisSpec.from_dict({
        "data": "d.csv", "formula": "distance ~ Sex * agef + (1 | Subject)", "factors": ["agef"],
        "emmeans": [{"specs": "Sex", "by": "agef", "contrasts": [{"method": "pairwise"}]},
                    {"specs": "agef", "contrasts": [{"method": "trt.vs.ctrl", "adjust": "dunnettx"}]}]})
    return run(spec, Dataset(frame, name="orthodont"), figures=False)


def tables(result):
    return {t.key: t for t in result.tables}


def test_means_at_each_level_of_a_factor_have_one_column_per_factor(result):
    t = tables(result)["emmeans_0"]
    assert t.title == "Estimated marginal means: Sex at each level of agef"
    assert [c.label for c in t.columns[:2]] == ["agef", "Sex"]
    first = t.rows[0]
    assert (first["level_agef"], first["level_Sex"]) == ("8", "Female")
    # the rows are the engine's, in its order: 4 ages x 2 sexes
    assert len(t.rows) == 8 and {r["level_agef"] for r in t.rows} == {"8", "10", "12", "14"}
    assert tables(result)["contrasts_0_0"].title.endswith("at each level of agef")


def test_the_averaging_note_sits_beside_the_means_it_concerns(result):
    note = [w for w in result.warnings if w.kind == "averaged_over_interaction"]
    assert len(note) == 1 and note[0].table == "emmeans_1"
    t = tables(result)
    assert t["emmeans_1"].warnings == [note[0].message]
    assert t["emmeans_0"].warnings == []  # Sex at each level of agef averages over nothing
