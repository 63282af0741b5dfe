"""Contrasts and p-value adjustments (mixgui.engine.emmeans.contrasts) against R's emmeans and p.adjust."""
from __future__ import annotations

import numpy as np
import pytest

from mixgui.analysis.spec import Contrast, EmmeansRequest
from mixgui.engine.emmeans.contrasts import adjust_pvalues, poly_coefficients
from mixgui.engine.emmeans.means import emmeans
from mixgui.errors import SpecError

from .cases import (
    REF,
    REL,
    _cat,
    _close,
)


def test_poly_coefficients_match_emmeans():
    for k, want in zip(range(2, 11), REF["poly"]):
        np.testing.assert_array_equal(poly_coefficients(k), np.asarray(want, float).reshape(k, -1), err_msg=f"k={k}")


def test_holm_matches_p_adjust_with_missing_values():
    # R 4.2.2: p.adjust(c(0.01, NA, 0.04, 0.03), "holm", n = 4) -> 0.04 NA 0.09 0.09
    p = np.array([0.01, np.nan, 0.04, 0.03])
    got, used, _ = adjust_pvalues(np.zeros(4), np.full(4, 10.0), p, "holm", 4, False)
    np.testing.assert_allclose(got, [0.04, np.nan, 0.09, 0.09])
    assert used == "holm"


def test_custom_weights_must_sum_to_zero():
    design, beta, vcov, df_fn = _cat()
    req = EmmeansRequest(("age",), (), (Contrast("custom", "none", "bad", (1.0, -0.5, 0.0, 0.0)),))
    with pytest.raises(SpecError, match=r"custom contrast weights must sum to 0 \(these sum to 0.5\); "
                                        r"e\.g\. 1, -0\.5, -0\.5, 0"):
        emmeans(design, beta, vcov, df_fn, req)


def test_custom_weights_need_one_per_level():
    design, beta, vcov, df_fn = _cat()
    req = EmmeansRequest(("age",), (), (Contrast("custom", "none", "short", (1.0, -1.0)),))
    with pytest.raises(SpecError, match=r'"short" has 2 weights but age has 4 levels \(8, 10, 12, 14\)'):
        emmeans(design, beta, vcov, df_fn, req)


def test_unnamed_custom_contrast_gets_a_readable_label():
    design, beta, vcov, df_fn = _cat()
    req = EmmeansRequest(("age",), (), (Contrast("custom", "none", None, (0, -0.5, -0.5, 1)),))
    out = emmeans(design, beta, vcov, df_fn, req)
    assert out["contrasts"][0]["rows"][0]["contrast"] == "age14 - 0.5 age10 - 0.5 age12"
    _close(out["contrasts"][0]["rows"][0]["estimate"], 2.06747159090909, REL, 0, "estimate")


def test_unknown_control_level_and_variable():
    design, beta, vcov, df_fn = _cat()
    with pytest.raises(SpecError, match=r'control level "9" is not a level of age'):
        emmeans(design, beta, vcov, df_fn, EmmeansRequest(("age",), (), (Contrast("trt.vs.ctrl", "none", ref="9"),)))
    with pytest.raises(SpecError, match=r'"Agee" is not a predictor in the fixed part'):
        emmeans(design, beta, vcov, df_fn, EmmeansRequest(("Agee",)))
    with pytest.raises(SpecError, match="twice"):
        emmeans(design, beta, vcov, df_fn, EmmeansRequest(("age",), ("age",)))


def test_tukey_on_a_non_pairwise_family_becomes_sidak_with_a_note():
    design, beta, vcov, df_fn = _cat()
    out = emmeans(design, beta, vcov, df_fn, EmmeansRequest(("age",), (), (Contrast("consec", "tukey"),)))
    block = out["contrasts"][0]
    assert block["adjust"] == "tukey" and block["adjust_used"] == "sidak"
    assert "Sidak" in block["note"]
    assert block["family_size"] == 3 and block["n_means"] == 4


def test_single_contrast_is_not_adjusted():
    design, beta, vcov, df_fn = _cat()
    out = emmeans(design, beta, vcov, df_fn, EmmeansRequest(("Sex",), (), (Contrast("pairwise", "tukey"),)))
    block = out["contrasts"][0]
    assert block["adjust_used"] == "none" and block["family_size"] == 1
    row = block["rows"][0]
    assert row["p_value"] == row["p_value_unadjusted"]
