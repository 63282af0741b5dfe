"""The lme4 formula parser: every construct of the contract, and errors that point at the position."""
import pytest

from mixgui.analysis.formula import parse_formula
from mixgui.errors import SpecError


def test_random_slope_correlated():
    f = parse_formula("Reaction ~ Days + (Days | Subject)")
    assert f.response == "Reaction" and f.intercept and f.terms == (("Days",),)
    (r,) = f.random
    assert r.intercept and r.terms == (("Days",),) and r.groups == (("Subject",),) and r.correlated


def test_star_expands_in_r_order():
    f = parse_formula("y ~ time * treatment + age")
    assert f.terms == (("time",), ("treatment",), ("age",), ("time", "treatment"))


def test_uncorrelated_and_no_intercept_slope():
    f = parse_formula("y ~ x + (x || g) + (0 + z | h)")
    assert not f.random[0].correlated
    assert not f.random[1].intercept and f.random[1].terms == (("z",),)


def test_nesting_expands_to_outer_and_interaction():
    f = parse_formula("y ~ 1 + (1 | clinic/patient)")
    assert f.random[0].groups == (("clinic",), ("clinic", "patient"))
    assert f.text() == "y ~ 1 + (1 | clinic/patient)"


def test_explicit_interaction_group_and_crossed_terms():
    f = parse_formula("y ~ 1 + (1 | plate) + (1 | a:b)")
    assert [r.groups for r in f.random] == [(("plate",),), (("a", "b"),)]


@pytest.mark.parametrize("text", ["y ~ 0 + a", "y ~ a - 1", "y ~ -1 + a"])
def test_no_intercept(text):
    f = parse_formula(text)
    assert not f.intercept and f.terms == (("a",),)


def test_power_and_nesting_in_fixed_part():
    assert parse_formula("y ~ (a + b + c)^2").terms == (
        ("a",), ("b",), ("c",), ("a", "b"), ("a", "c"), ("b", "c"))
    assert parse_formula("y ~ a / b").terms == (("a",), ("a", "b"))


def test_backticks_keep_spaces_and_unicode():
    f = parse_formula("`dep var` ~ `facto r` * âge + (1 | `clinic id`)")
    assert f.response == "dep var"
    assert ("facto r", "âge") in f.terms
    assert f.random[0].groups == (("clinic id",),)
    assert parse_formula(f.text()) == f  # round trip through the canonical text


def test_removing_a_term():
    assert parse_formula("y ~ a * b - a:b").terms == (("a",), ("b",))


@pytest.mark.parametrize("text, position, expected", [
    ("y ~ a +", 8, "a term"),
    ("y ~ a + (1 | )", 14, "grouping factor"),
    ("y ~ a + (1 | g", 15, 'closing ")"'),
    ("y ~ a $ b", 7, "unexpected character"),
])
def test_errors_name_position_and_expectation(text, position, expected):
    with pytest.raises(SpecError) as e:
        parse_formula(text)
    assert f"position {position}" in str(e.value) and expected in str(e.value)


@pytest.mark.parametrize("text", ["", "y", "y ~", "~ x", "y ~ a * (1 | g)", "y ~ y + x", "y ~ 2"])
def test_malformed_formulas_raise_spec_error(text):
    with pytest.raises(SpecError):
        parse_formula(text)
