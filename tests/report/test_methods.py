"""The methods paragraph names exactly the packages that computed the numbers of that analysis."""
from __future__ import annotations

from mixgui.analysis.spec import AnalysisSpec
from mixgui.report.methods import methods_paragraph, software_versions


def _spec(formula, adjust=None):
    em = [{"specs": "arm", "contrasts": [{"method": "pairwise", "adjust": adjust}]}] if adjust else []
    return AnalysisSpec.from_dict({"data": "x.csv", "formula": formula, "emmeans": em})


def test_regression_is_credited_to_statsmodels_with_its_version():
    text = methods_paragraph(_spec("y ~ arm"), {"model": "lm", "nobs": 40})
    v = software_versions()
    assert f"tests by statsmodels {v['statsmodels']}" in text
    assert "Shapiro-Wilk test by SciPy" in text
    assert "mixed-model engine" not in text


def test_mixed_model_without_statsmodels_work_does_not_cite_it():
    data = {"model": "lmm", "nobs": 40, "emmeans": [{"contrasts": [{"adjust_used": "tukey", "ci_adjust_used": "tukey"}]}]}
    text = methods_paragraph(_spec("y ~ arm + (1 | g)", "tukey"), data)
    assert "statsmodels" not in text
    assert "MixGUI's own mixed-model engine" in text and "studentized range (Tukey) by MixGUI's own quadrature" in text


def test_mixed_model_with_holm_cites_statsmodels_for_the_adjustment_only():
    data = {"model": "lmm", "nobs": 40, "emmeans": [{"contrasts": [{"adjust_used": "holm", "ci_adjust_used": "bonferroni"}]}]}
    text = methods_paragraph(_spec("y ~ arm + (1 | g)", "holm"), data)
    assert "adjustment of p-values for multiplicity by statsmodels" in text
    assert "regression, its analysis-of-variance tables" not in text
    assert "studentized range" not in text and "multivariate t" not in text


def test_mvt_adjustment_names_the_multivariate_t():
    data = {"model": "lmm", "nobs": 40, "emmeans": [{"contrasts": [{"adjust_used": "mvt", "ci_adjust_used": "mvt"}]}]}
    text = methods_paragraph(_spec("y ~ arm + (1 | g)", "mvt"), data)
    assert "multivariate t distribution by SciPy" in text and "statsmodels" not in text
    assert "the multivariate t distribution of the contrasts (single-step)" in text
