"""Bad repeated-measures input gets one clear sentence (a MixGUI error), never a traceback."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.errors import MixGUIError
from mixgui.pipeline.run import run

DATA = Path(__file__).resolve().parents[2] / "reference" / "repeated" / "orthodont_long.csv"


def fit(frame, **repeated):
    spec = AnalysisSpec.from_dict({"data": {"path": "x.csv"}, "formula": "distance ~ Sex",
                                   "repeated": dict({"subject": "Subject", "index": "age"}, **repeated)})
    return run(spec, Dataset(frame, name="x"))


def one_sentence(e) -> str:
    msg = str(e.value)
    assert msg and "\n" not in msg and "Traceback" not in msg
    return msg


def test_spatial_structure_on_a_text_time_is_refused():
    d = pd.read_csv(DATA)
    d["visit"] = "V" + d.age.astype(str)
    with pytest.raises(MixGUIError) as e:
        fit(d, structure="SP(EXP)", index="visit")
    assert "must be numeric" in one_sentence(e) and "visit" in str(e.value)


def test_unstructured_with_more_parameters_than_subjects_is_refused():
    d = pd.read_csv(DATA)
    subjects = sorted(d.Subject.unique())
    d = d[d.Subject.isin(subjects[:3] + subjects[-2:])]  # both sexes, 5 subjects, 10 UN parameters
    with pytest.raises(MixGUIError) as e:
        fit(d, structure="UN")
    assert "only 5 subjects" in one_sentence(e)


def test_ante1_with_a_visit_pair_never_seen_together_is_refused():
    d = pd.read_csv(DATA)
    first = d.Subject.isin(sorted(d.Subject.unique())[::2])
    d = d[(first & d.age.isin([8, 10])) | (~first & d.age.isin([12, 14]))]
    with pytest.raises(MixGUIError) as e:
        fit(d, structure="ANTE1")
    assert "no subject has both" in one_sentence(e)


def test_spatial_over_two_columns_uses_euclidean_distance():
    d = pd.read_csv(DATA)
    d["x"], d["y"] = d.age * 0.6, d.age * 0.8  # on a line: distance = age difference
    two = fit(d, structure="SP(POW)", index=["x", "y"])
    one = fit(d, structure="SP(POW)")
    assert two.data["loglik"] == pytest.approx(one.data["loglik"], abs=1e-6)
    assert np.isfinite(two.data["repeated"]["parameters"]["rho"])
