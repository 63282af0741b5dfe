"""Type III hypothesis matrices (mixgui.engine.inference.anova3) against lmerTest's."""
from __future__ import annotations

import numpy as np
import pytest

from mixgui.engine.inference.anova3 import type3_hypotheses

from .cases import (
    R_CASES,
    public_design,
    r_design,
)


@pytest.mark.parametrize("case", list(R_CASES))
def test_type3_hypotheses_match_lmertest(case):
    design, _ = r_design(case)
    L = type3_hypotheses(design)
    for a in R_CASES[case]["anova"]:
        want = np.array(a["hypothesis"], float)
        assert L[a["term"]] == pytest.approx(want, abs=1e-6), a["term"]


def test_type3_public_orthodont_hypotheses():
    design, _ = public_design("orthodont_cat")
    L = type3_hypotheses(design)
    assert L["Sex"] == pytest.approx(np.array([[0, 0, 0, 0, 1, .25, .25, .25]]), abs=1e-7)
    assert L["age"].shape == (3, 8) and L["age:Sex"].shape == (3, 8)
