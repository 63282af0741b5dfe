"""The model's equations (level 1, level 2, combined) carry the fitted numbers, rounded as the tables are."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mixgui.analysis.spec import AnalysisSpec, Repeated
from mixgui.data.dataset import Dataset
from mixgui.pipeline.run import run
from mixgui.results.equations import model_equations
from mixgui.results.tables import format_number

REF = Path(__file__).resolve().parents[1] / "reference"


def _fit(csv, formula, repeated=None, factors=()):
    frame = pd.read_csv(REF / csv)
    res = run(AnalysisSpec(formula=formula, repeated=repeated, factors=factors), Dataset(frame, name="d"))
    return res, model_equations(res.design, res.data)


def _shown(v) -> str:
    return format_number(v).replace("−", "-").lstrip("-")


def _fixed_numbers_appear(res, eq):
    for row in res.data["fixed_effects"]:
        assert _shown(row["estimate"]) in eq["combined"], (row["term"], eq["combined"])


def test_random_intercept():
    res, eq = _fit("lmm/orthodont.csv", "distance ~ age * Sex + (1 | Subject)")
    _fixed_numbers_appear(res, eq)
    assert eq["level1"].startswith(r"\text{distance}_{ij} = \beta_{0j} + \beta_{1j}\,\text{age}_{ij}")
    # Sex is constant within a subject: a level-2 predictor of the intercept, and of age's slope (cross-level)
    assert r"\beta_{0j} = 17.373 - 1.032\,\text{Sex}[\text{Male}]_{j} + u_{0j}" in eq["level2"]
    assert r"\beta_{1j} = 0.480 + 0.305\,\text{Sex}[\text{Male}]_{j}" in eq["level2"]
    tau = next(r["vcov"] for r in res.data["variance_components"] if r["group"] == "Subject")
    assert f"u_{{0j}} \\sim N(0, {_shown(tau)})" in eq["distributions"]


def test_correlated_random_slope_has_its_psi_matrix():
    res, eq = _fit("lmm/sleepstudy.csv", "Reaction ~ Days + (Days | Subject)")
    _fixed_numbers_appear(res, eq)
    assert r"\beta_{1j} = 10.467 + u_{1j}" in eq["level2"]
    vc = {(r["var1"], r["var2"]): r["vcov"] for r in res.data["variance_components"] if r["group"] == "Subject"}
    psi = (f"{_shown(vc[('(Intercept)', None)])} & {_shown(vc[('(Intercept)', 'Days')])} \\\\ "
           f"{_shown(vc[('(Intercept)', 'Days')])} & {_shown(vc[('Days', None)])}")
    assert psi in eq["distributions"] and r"\Psi" in eq["distributions"]
    assert eq["combined"].endswith(r"+ u_{0j} + u_{1j}\,\text{Days}_{ij} + e_{ij}")


def test_uncorrelated_slopes_have_separate_variances():
    res, eq = _fit("lmm/sleepstudy.csv", "Reaction ~ Days + (Days || Subject)")
    assert r"\Psi" not in eq["distributions"]
    assert eq["distributions"].count(r"\sim N(0, ") == 3  # two random terms and the residual


def test_three_level_nesting_gets_an_index_per_level():
    res, eq = _fit("lmm/pastes.csv", "strength ~ 1 + (1 | batch/cask)")
    assert eq["level1"] == r"\text{strength}_{ijk} = \beta_{0jk} + e_{ijk}"
    assert eq["level2"] == r"\beta_{0jk} = 60.053 + u_{0j} + v_{0k}"
    inner = next(r["vcov"] for r in res.data["variance_components"] if r["group"] == "cask:batch")
    assert f"u_{{0j}} \\sim N(0, {_shown(inner)})" in eq["distributions"]


def test_crossed_factors():
    res, eq = _fit("lmm/penicillin.csv", "diameter ~ 1 + (1 | plate) + (1 | sample)")
    assert "u_{0j}" in eq["combined"] and "v_{0k}" in eq["combined"]
    assert eq["level2"].startswith(r"\beta_{0jk} = 22.972")


def test_repeated_structure_is_written_as_its_pattern():
    res, eq = _fit("repeated/orthodont_long.csv", "distance ~ age + Sex", Repeated("AR1", "Subject", "age"))
    _fixed_numbers_appear(res, eq)
    assert r"\sigma^2\rho^{3}" in eq["distributions"]
    assert f"= {_shown(res.data['repeated']['parameters']['rho'])}" in eq["distributions"]


def test_ordinary_regression_is_one_equation():
    res, eq = _fit("ols/sleepstudy.csv", "Reaction ~ Days")
    assert eq["level2"] == "" and eq["level1"] == eq["combined"]
    assert eq["combined"] == r"\text{Reaction}_{i} = 251.405 + 10.467\,\text{Days}_{i} + e_{i}"
    assert f"N(0, {_shown(res.data['glance']['sigma'] ** 2)})" in eq["distributions"]


def test_symbols_without_numbers_and_plain_text():
    frame = pd.read_csv(REF / "lmm/sleepstudy.csv")
    res = run(AnalysisSpec(formula="Reaction ~ Days + (Days | Subject)"), Dataset(frame, name="d"))
    eq = model_equations(res.design, res.data, fitted=False)
    assert r"\beta_{0j} = \gamma_{00} + u_{0j}" in eq["level2"]
    assert "\\" not in eq["plain"] and "beta_0j = gamma_00 + u_0j" in eq["plain"]


@pytest.mark.parametrize("name", ["Age (years)", "dose_mg"])
def test_names_are_escaped_for_latex(name):
    from mixgui.results.equations import _tex
    assert _tex(name) in (r"\text{Age (years)}", r"\text{dose\_mg}")


def test_the_results_file_carries_the_equations():
    res, eq = _fit("lmm/sleepstudy.csv", "Reaction ~ Days + (1 | Subject)")
    assert set(res.data["equations"]) >= {"level1", "level2", "combined"}
    assert res.data["equations"]["combined"] == eq["combined"]


def test_html_rendering_has_subscripts_greek_and_matrices():
    from mixgui.results.equations import to_html

    res, eq = _fit("lmm/sleepstudy.csv", "Reaction ~ Days + (Days | Subject)")
    assert to_html(eq["level2"]) == "β<sub>0j</sub> = 251.405 + u<sub>0j</sub><br>β<sub>1j</sub> = 10.467 + u<sub>1j</sub>"
    dist = to_html(eq["distributions"])
    assert "Ψ = <table" in dist and "<td style='padding:0 6px'>612.090</td>" in dist and "\\" not in dist


def test_a_generalized_model_writes_the_link_of_the_mean():
    frame = pd.read_csv(REF / "glmm" / "cbpp.csv")
    res = run(AnalysisSpec(formula="incidence ~ factor(period) + (1 | herd)", family="binomial", trials="size"),
              Dataset(frame, name="cbpp"))
    eq = res.data["equations"]
    assert eq["combined"].startswith(r"\text{logit}(\mu_{ij}) = -1.399 - 0.992\,\text{factor(period)}[\text{2}]_{ij}")
    assert "e_{ij}" not in eq["combined"]
    assert r"\text{Binomial}(n_{ij}, \mu_{ij})" in eq["distributions"]
    assert "logit(mu_ij)" in eq["plain"]


def test_varies_within_agrees_with_counting_distinct_values_per_cluster():
    """The linear-time check of level-1 variables gives what a grouped count of distinct values gives."""
    import numpy as np
    import pandas as pd

    from mixgui.results.equations import _varies_within
    rng = np.random.default_rng(4)
    seen = set()
    for trial in range(120):
        n, L = int(rng.integers(1, 300)), int(rng.integers(1, 40))
        codes = rng.integers(0, L, n)
        base = rng.integers(0, 3, L)[codes]
        if trial % 2:  # one row differs from its cluster
            base = base.copy()
            base[rng.integers(0, n)] += 1
        col = [pd.Series(base * 0.5), pd.Series(base), pd.Series(np.array(list("abcd"))[base], dtype=object),
               pd.Series(np.array(list("abcd"))[base]).astype("category")][trial % 4]
        if trial % 3 == 0:
            col = col.where(rng.random(n) > 0.3)  # missing values do not count as a value
        want = bool(col.groupby(codes).nunique(dropna=True).max() > 1)
        assert _varies_within(col, codes) == want, (trial, col.dtype)
        seen.add(want)
    assert seen == {True, False}
