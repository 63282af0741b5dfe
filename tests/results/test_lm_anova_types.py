"""Type II and III tables on request for ordinary regression, end to end, against car::Anova."""
import json
from pathlib import Path

import pandas as pd
import pytest

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.errors import SpecError
from mixgui.pipeline.run import run

REF = Path(__file__).resolve().parents[1] / "reference" / "ols"


def test_type2_and_sas_type3_tables_match_car_on_unbalanced_data():
    ref = json.loads((REF / "ols_refs.json").read_text())["agef_sex_unbal"]  # made by make_ols_refs.R
    spec = AnalysisSpec.from_dict({"data": {"path": "x.csv"}, "formula": "distance ~ agef * Sex", "factors": ["agef"],
                                   "reference_levels": {"Sex": "Male"}, "anova_types": [2, 3]})
    r = run(spec, Dataset(pd.read_csv(REF / "orthodont_unbalanced.csv")))
    for key, ref_key in (("anova_type2", "anova_type2"), ("anova_type3", "anova_type3_sas")):
        got = {row["term"]: row for row in r.data[key]}
        for want in ref[ref_key]:
            g = got[want["term"]]
            assert g["df"] == want["df"]
            # least squares in closed form: agreement to ~1e-10; 1e-8 leaves room for BLAS differences
            assert g["sum_sq"] == pytest.approx(want["sum_sq"], rel=1e-8)
            if want["f"] is not None:
                assert g["f"] == pytest.approx(want["f"], rel=1e-8)
    keys = [t.key for t in r.tables]
    assert keys.index("anova") < keys.index("anova_type2") < keys.index("anova_type3")


def test_no_extra_tables_unless_asked_and_bad_values_refused():
    spec = AnalysisSpec.from_dict({"data": {"path": "x.csv"}, "formula": "distance ~ agen"})
    r = run(spec, Dataset(pd.read_csv(REF / "orthodont_long.csv")))
    assert "anova_type2" not in r.data and "anova_type3" not in r.data
    with pytest.raises(SpecError, match="anova_types"):
        AnalysisSpec.from_dict({"data": {"path": "x.csv"}, "formula": "y ~ x", "anova_types": [4]})
