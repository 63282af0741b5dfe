"""Design matrices follow R's rules: coding, names, order, aliasing, missing rows, random blocks."""
import numpy as np
import pandas as pd
import pytest

from mixgui.analysis.formula import parse_formula
from mixgui.engine.design import build_design
from mixgui.errors import DataError, ModelError


@pytest.fixture
def frame():
    rng = np.random.default_rng(1)
    n = 40
    return pd.DataFrame({
        "y": rng.normal(size=n),
        "x": rng.normal(size=n),
        "f": np.tile(["lo", "mid", "hi", "lo"], n // 4),
        "g": np.repeat([f"g{i}" for i in range(8)], 5),
        "h": np.tile(["a"] * 4 + ["b"] * 4, n // 8),  # every (f, h) cell filled
    })


def test_treatment_coding_names_and_reference(frame):
    d = build_design(parse_formula("y ~ x * f"), frame, reference_levels={"f": "mid"})
    assert d.column_names == ["(Intercept)", "x", "fhi", "flo", "x:fhi", "x:flo"]
    assert d.terms == ["x", "f", "x:f"] and d.term_columns == [[1], [2, 3], [4, 5]]
    np.testing.assert_array_equal(d.X[:, 2], (frame["f"] == "hi").to_numpy(float))
    np.testing.assert_allclose(d.X[:, 4], frame["x"] * (frame["f"] == "hi"))


def test_no_intercept_gives_full_indicators(frame):
    d = build_design(parse_formula("y ~ 0 + f"), frame)
    assert d.column_names == ["fhi", "flo", "fmid"]


def test_interaction_without_margin_nests_as_r_does(frame):
    d = build_design(parse_formula("y ~ f + f:h"), frame)
    # in f:h the margin of h (f) is in the model, so h gets contrasts; the margin of f (h) is not, so f
    # gets full indicators: h nested within f, as R's model.matrix codes it
    assert d.column_names == ["(Intercept)", "flo", "fmid", "fhi:hb", "flo:hb", "fmid:hb"]
    assert d.X.shape[1] == np.linalg.matrix_rank(d.X)


def test_aliased_column_dropped_and_named(frame):
    frame = frame.assign(x2=2 * frame["x"] + 1)
    d = build_design(parse_formula("y ~ x + x2"), frame)
    assert d.column_names == ["(Intercept)", "x"] and d.dropped_columns == ["x2"]
    assert any(w.kind == "rank_deficient" and "x2" in w.message for w in d.warnings)


def test_missing_rows_left_out_and_counted(frame):
    frame.loc[[0, 3], "x"] = np.nan
    frame.loc[5, "y"] = np.nan
    d = build_design(parse_formula("y ~ x"), frame)
    assert d.nobs == 37
    (w,) = [w for w in d.warnings if w.kind == "missing_rows"]
    assert "3 rows" in w.message and "x: 2" in w.message and "y: 1" in w.message


def test_numeric_column_declared_factor_sorts_numerically():
    df = pd.DataFrame({"y": np.arange(8.0), "age": [8, 10, 12, 14] * 2})
    d = build_design(parse_formula("y ~ age"), df, factors=["age"])
    assert d.column_names == ["(Intercept)", "age10", "age12", "age14"]


def test_random_blocks_nested_uncorrelated_and_order(frame):
    d = build_design(parse_formula("y ~ x + (x || g) + (1 | h/g)"), frame)
    got = [(b.group, b.names, b.n_levels) for b in d.blocks]
    # lme4 orders terms by rev(order(nlevels)): most levels first, ties in reverse order of
    # appearance; R 4.2 / lme4 1.1-31 lists g:h, g (x), g.1 (Intercept), h for this formula
    assert got == [("g:h", ["(Intercept)"], 16), ("g", ["x"], 8), ("g", ["(Intercept)"], 8),
                   ("h", ["(Intercept)"], 2)]
    b = d.blocks[0]
    assert b.levels[0] == "g0:a" and len(b.codes) == d.nobs


def test_model_matrix_for_new_rows_matches(frame):
    d = build_design(parse_formula("y ~ x * f"), frame)
    np.testing.assert_allclose(d.model_matrix(d.frame), d.X)


def test_errors(frame):
    with pytest.raises(DataError, match='did you mean "x"'):
        build_design(parse_formula("y ~ xx"), frame)
    with pytest.raises(DataError, match="not numeric"):
        build_design(parse_formula("f ~ x"), frame)
    with pytest.raises(DataError, match="single level"):
        build_design(parse_formula("y ~ f"), frame[frame.f == "lo"])
    with pytest.raises(ModelError, match="only one level"):
        build_design(parse_formula("y ~ x + (1 | g)"), frame[frame.g == "g1"])
    with pytest.raises(DataError, match='reference level "zz"'):
        build_design(parse_formula("y ~ f"), frame, reference_levels={"f": "zz"})


def test_unicode_and_spaces_in_names():
    df = pd.DataFrame({"dep var": np.arange(6.0), "facto r": list("ababab"), "âge": np.arange(6.0) ** 2})
    d = build_design(parse_formula("`dep var` ~ `facto r` + âge"), df)
    assert d.column_names == ["(Intercept)", "`facto r`b", "âge"]
