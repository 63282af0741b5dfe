"""Type III hypothesis matrices (mixgui.engine.inference.anova3) against lmerTest's."""
from __future__ import annotations

import numpy as np
import pytest

from mixgui.engine.inference.anova3 import anova_table, contrast_coded, type1_hypotheses, type3_hypotheses

from .cases import (
    DF_REL,
    P_REL,
    R_CASES,
    STAT_REL,
    inference,
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


# -- type I (sequential) hypotheses and R's contrast coding ---------------------------------------
# R 4.2.2, lmerTest 3.1-3, on tests/reference/inference/orthodont.csv (age a factor, Sex reference Male):
#   m <- lmer(distance ~ age * Sex + (1 | Subject), d); lmerTest:::get_contrasts_type1(m)
#   as.data.frame(anova(m, type = 1))
R_TYPE1 = {
    "age": [[0, 1, -1 / 3, -1 / 3, 0, 0.40740740740740738, -0.13580246913580246, -0.13580246913580246],
            [0, 0, 1, -0.5, 0, 0, 0.40740740740740738, -0.20370370370370369],
            [0, 0, 0, 1, 0, 0, 0, 0.40740740740740738]],
    "Sex": [[0, 0, 0, 0, 1, 0.25, 0.25, 0.25]],
    "age:Sex": [[0, 0, 0, 0, 0, 1, -1 / 3, -1 / 3], [0, 0, 0, 0, 0, 0, 1, -0.5], [0, 0, 0, 0, 0, 0, 0, 1]],
}
R_TYPE1_F = {"age": (3, 75.0000000289859, 40.03165919399613, 1.48752727758000e-15),
             "Sex": (1, 24.9999999339424, 9.29209882611530, 5.37505596822134e-03),
             "age:Sex": (3, 75.0000000311291, 2.36156305662646, 7.80582663882086e-02)}


def test_type1_hypotheses_match_lmertest():
    design, _ = public_design("orthodont_cat")
    L = type1_hypotheses(design)
    assert list(L) == list(R_TYPE1)
    for term, want in R_TYPE1.items():
        np.testing.assert_allclose(L[term], np.array(want), rtol=1e-12, atol=1e-15, err_msg=term)


def test_type1_f_tests_match_lmertest():
    """F and df of the type I table through our fit and Satterthwaite (tolerances as in test_core)."""
    design, _ = public_design("orthodont_cat")
    inf = inference("public", "orthodont_cat", "lmm", "satterthwaite")
    for term, L in type1_hypotheses(design).items():
        F, q, ddf, p = inf.ftest(L)
        q_r, ddf_r, F_r, p_r = R_TYPE1_F[term]
        assert q == q_r
        assert F == pytest.approx(F_r, rel=STAT_REL), term
        assert ddf == pytest.approx(ddf_r, rel=DF_REL), term
        assert p == pytest.approx(p_r, rel=P_REL), term


def test_contrast_coding_follows_r_terms_factors():
    """R 4.2.2: attr(terms(y ~ x + x:B), "factors") codes x:B as x = 2, B = 1 and
    attr(terms(y ~ A + A:B:C + B), "factors") codes every variable of A:B:C as 2."""
    assert contrast_coded([("x",), ("x", "B")]) == [{"x"}, {"B"}]
    assert contrast_coded([("A",), ("B",), ("A", "B", "C")]) == [{"A"}, {"B"}, set()]
    assert contrast_coded([("A",), ("B",), ("A", "B")]) == [{"A"}, {"B"}, {"A", "B"}]


def test_intercept_only_model_has_no_hypotheses_and_an_empty_table():
    design, _ = public_design("pastes_nested")
    assert all(L.shape[0] == 0 for L in type3_hypotheses(design).values())
    assert anova_table(design, inference("public", "pastes_nested", "dense", "satterthwaite")) == []
