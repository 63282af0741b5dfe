"""The methods paragraph and the R script of a generalized model name glmer / glmmTMB with the same call.

Checked on bare specs (no fit needed): the family and link, nAGQ, the trials as cbind(successes,
trials - successes) (glmer's equivalent of weights = trials on the proportion), the offset inside the
formula, glmmTMB's nbinom2 for the negative binomial, and drop1 for the fixed terms' likelihood-ratio
tests the results show. (The tests never run R; the script of the cbpp model was run once in R 4.2.2 /
lme4 1.1-31 when this was written: its drop1 printed LRT 25.61, AIC 213.66, as the results' row.)
"""
from __future__ import annotations

from mixgui.analysis.spec import AnalysisSpec
from mixgui.report.methods import methods_paragraph
from mixgui.report.rscript import r_script


def _spec(**kw) -> AnalysisSpec:
    return AnalysisSpec.from_dict({"data": "x.csv", **kw})


def _model_line(script: str) -> str:
    return next(line for line in script.splitlines() if line.startswith("m <- "))


def test_binomial_with_trials_probit_and_quadrature_is_one_glmer_call():
    spec = _spec(formula="incidence ~ period + (1 | herd)", family="binomial", link="probit", trials="size", nagq=7)
    line = _model_line(r_script(spec))
    assert line == ('m <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), data = d, '
                    'family = binomial(link = "probit"), nAGQ = 7)')
    text = methods_paragraph(spec, {"model": "glmm", "nobs": 56})
    assert "binomial family, probit link" in text
    assert "adaptive Gauss-Hermite quadrature with 7 points" in text and "lme4's glmer" in text


def test_binary_outcome_is_a_factor_whose_second_level_is_the_success():
    script = r_script(_spec(formula="y ~ trt + week2 + (1 | ID)", family="binomial"))
    assert "factor(d$y)" in script or "factor(d[[\"y\"]])" in script
    assert _model_line(script) == 'm <- glmer(y ~ trt + week2 + (1 | ID), data = d, family = binomial(link = "logit"))'
    assert "exp(fixed[c(\"estimate\", \"ci_lower\", \"ci_upper\")])" in script  # the odds ratios the table shows


def test_poisson_offset_stays_in_the_formula():
    spec = _spec(formula="y ~ trt + lage + offset(log(base)) + (1 | subject)", family="poisson")
    assert _model_line(r_script(spec)) == ('m <- glmer(y ~ trt + lage + offset(log(base)) + (1 | subject), data = d, '
                                           'family = poisson(link = "log"))')
    assert "Poisson family, log link" in methods_paragraph(spec, {"model": "glmm", "nobs": 236})


def test_negative_binomial_is_glmmtmb_nbinom2():
    spec = _spec(formula="y ~ trt + (1 | subject)", family="negative_binomial")
    script = r_script(spec)
    assert "library(glmmTMB)" in script and "library(lme4)" not in script
    assert _model_line(script) == "m <- glmmTMB(y ~ trt + (1 | subject), data = d, family = nbinom2)"
    assert "sigma(m)" in script  # theta, the results' "dispersion"
    text = methods_paragraph(spec, {"model": "glmm", "nobs": 236})
    assert "negative binomial (NB2) family" in text and "glmmTMB's" in text


def test_fixed_term_likelihood_ratio_tests_are_in_both():
    spec = _spec(formula="y ~ trt * week2 + (1 | ID)", family="binomial", random_effect_tests=True)
    assert 'print(drop1(m, test = "Chisq"))' in r_script(spec)
    text = methods_paragraph(spec, {"model": "glmm", "nobs": 220})
    assert "drop1(m, test = \"Chisq\")" in text and "not contained in a higher-order term" in text
    assert "Each random term was tested" in text


def test_the_html_report_of_a_fit_has_the_fixed_term_tests_and_odds_ratios():
    from pathlib import Path

    import pandas as pd

    from mixgui.data.dataset import Dataset
    from mixgui.pipeline.run import run
    from mixgui.report import build_parts
    from mixgui.report.html import render_html

    data = Path(__file__).resolve().parents[1] / "reference" / "glmm" / "cbpp.csv"
    spec = AnalysisSpec(formula="incidence ~ period + (1 | herd)", family="binomial", trials="size",
                        factors=("period",))
    result = run(spec, Dataset(pd.read_csv(data), name="cbpp.csv"), figures=False)
    page = render_html(build_parts(result, data_path=data))
    assert "Likelihood-ratio tests of fixed terms" in page and 'data-key="fixed_effect_tests"' in page
    assert "Odds ratio" in page
    assert 'print(drop1(m, test = &quot;Chisq&quot;))' in page or 'print(drop1(m, test = "Chisq"))' in page
