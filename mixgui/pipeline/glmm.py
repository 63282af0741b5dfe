"""Assemble the results contract of a generalized linear mixed model (``"model": "glmm"``).

``run()`` calls :func:`glmm_design` instead of ``build_design`` and :func:`glmm_contract` instead of
the linear contract when ``spec.family != "gaussian"``. Names follow
``spec/analysis-and-results.md`` (additions of the second round).
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from scipy import stats

from mixgui.engine.design import Design, build_design, rebuild_design
from mixgui.engine.glmm import drop1_lrt, fit_glm, fit_glmm
from mixgui.engine.glmm.outcome import binary_codes, check_outcome
from mixgui.engine.glmm.response import link_emmeans, response_emmeans
from mixgui.engine.glmm.summaries import overdispersion, r2_icc
from mixgui.engine.inference.lrt import _pvalues, _reductions, n_cov_params
from mixgui.errors import DataError, FitWarning, ModelError, SpecError
from mixgui.pipeline.additional import SubProgress
from mixgui.pipeline.contract import Assembled, blup_dict, request_warnings
from mixgui.pipeline.contract import variance_rows as linear_variance_rows

Z95 = float(stats.norm.ppf(0.975))
FAMILY_WORDS = {"binomial": "binary (logistic)", "poisson": "Poisson", "negative_binomial": "negative binomial"}


def glmm_design(spec, formula, dataset) -> Design:
    """The design of a generalized model: a two-level outcome coded 0/1 (second level = success).

    Raises
    ------
    SpecError, DataError
        A model R would refuse or a setting that cannot apply, named with what to do.
    """
    if spec.anova_types:
        # F tables (types I, II, III) are sums-of-squares tests of linear models; a generalized model's
        # terms are tested by likelihood ratio (fixed_effect_tests, as R's drop1), never silently otherwise
        raise SpecError(f'"anova_types" (F tests of type {", ".join(map(str, spec.anova_types))}) applies to linear '
                        f"models; a {FAMILY_WORDS[spec.family]} model's fixed terms are tested by likelihood ratio "
                        '(the "Likelihood-ratio tests of fixed terms" table, as R\'s drop1); remove "anova_types"')
    if spec.repeated is not None:
        raise SpecError("a repeated-measures (residual covariance) structure cannot be combined with a "
                        f'{FAMILY_WORDS[spec.family]} outcome; remove "repeated" and use a random term such as (1 | patient)')
    if not formula.random:
        raise SpecError(f"a {FAMILY_WORDS[spec.family]} model needs at least one random term here, such as "
                        "(1 | patient); add one to the formula")
    if spec.trials is not None and spec.family != "binomial":
        raise SpecError('"trials" applies to a binomial outcome only; remove it or set "family": "binomial"')
    frame = dataset.frame
    extra = []
    y_name = formula.response
    dataset.require(y_name, "outcome")
    if spec.family == "binomial" and spec.trials is None:
        frame = frame.copy()
        frame[y_name] = binary_codes(frame[y_name], y_name)[0]
    if spec.trials is not None:
        dataset.require(spec.trials, "trials column")
        extra = [spec.trials]
    return build_design(formula, frame, factors=spec.factors, reference_levels=spec.reference_levels,
                        extra_columns=extra, where=dataset.name)


def _trials(spec, design, dataset):
    if spec.trials is None:
        return None
    import pandas as pd
    col = pd.to_numeric(dataset.frame[spec.trials], errors="coerce").to_numpy(float)[design.rows]
    if not np.all(np.isfinite(col)):
        raise DataError(f'the trials column "{spec.trials}" holds values that are not numbers; recode them')
    return col


def _glmm_fitter(spec, nt, progress):
    """``fit_fn(design, reml)`` for the likelihood-ratio tests: a GLM when no random term is left."""
    def fitter(design, reml):
        y, n = check_outcome(design.y, spec.family, design.formula.response, nt, spec.trials or "")
        off = design.offset if design.offset is not None else np.zeros(len(y))
        if not design.blocks:
            from mixgui.engine.glmm.families import Family
            return fit_glm(y, design.X, Family(spec.family, spec.link_name), n, off)
        return fit_glmm(y, design.X, design.blocks, spec.family, spec.link_name, n, off, spec.nagq,
                        design.column_names, progress)
    return fitter


def glmm_random_effect_tests(design, fit, fitter) -> list:
    """Likelihood-ratio test of each random term (and slope), the reduced model refitted (a GLM when
    no random term is left), p-values from the boundary mixture as for linear models."""
    rows = []
    k_full = n_cov_params(design.blocks)
    for label, random in _reductions(design.formula):
        red_design = rebuild_design(design, replace(design.formula, random=tuple(random)))
        red = fitter(red_design, False)
        k = k_full - n_cov_params(red_design.blocks)
        stat = max(0.0, 2 * (fit.loglik - red.loglik))
        p, naive = _pvalues(stat, k)
        rows.append({"term": label, "statistic": stat, "df": k, "p_value": p, "p_value_naive": naive,
                     "loglik_full": float(fit.loglik), "loglik_reduced": float(red.loglik)})
    return rows


def fixed_effect_tests(design, fit, progress) -> tuple[list, list]:
    """Likelihood-ratio test of each fixed term that may be dropped (R's ``drop1(m, test = "Chisq")``).

    Returns the rows of ``fixed_effect_tests`` (term, df, chisq, p_value, aic) and the warnings: a
    reduced model that did not converge makes its chi-square uncertain, and says so.
    """
    rows, warnings = [], []
    try:
        tests = drop1_lrt(design, fit, progress)
    except (ModelError, np.linalg.LinAlgError) as e:  # the tests are extra: the model's own results stay
        return [], [FitWarning("fixed_effect_tests", f"The likelihood-ratio tests of the fixed terms could not be "
                               f"computed ({e}); the z tests of the fixed effects are unaffected.", "fixed_effects")]
    for r in tests:
        rows.append({"term": r["term"], "df": r["df"], "chisq": r["statistic"], "p_value": r["p_value"],
                     "aic": r["aic"]})
        if not r["converged"]:
            warnings.append(FitWarning(
                "convergence", f"The model without {r['term']} did not converge cleanly, so its likelihood-ratio "
                "test is approximate. Centre and scale continuous predictors, or simplify the random part.",
                "fixed_effect_tests"))
    return rows, warnings


def fixed_rows(fit) -> list:
    """Fixed effects with z tests, Wald limits and, for log / logit links, exp() of each."""
    rows = []
    se = fit.std_errors
    for name, b, s in zip(fit.column_names, fit.beta, se):
        z = b / s if s > 0 else float("nan")
        row = {"term": name, "estimate": float(b), "std_error": float(s), "z_value": float(z),
               "p_value": float(2 * stats.norm.sf(abs(z))), "ci_lower": float(b - Z95 * s), "ci_upper": float(b + Z95 * s)}
        if fit.link in ("log", "logit"):
            row.update(exp_estimate=math.exp(min(b, 700)), exp_lower=math.exp(min(b - Z95 * s, 700)),
                       exp_upper=math.exp(min(b + Z95 * s, 700)))
        rows.append(row)
    return rows


def variance_rows(fit) -> list:
    """``as.data.frame(VarCorr(m))`` of a glmer fit: the linear model's rows without the Residual row."""
    return linear_variance_rows(fit.blocks, fit.varcorr, float("nan"))[:-1]


def glmm_contract(spec, design: Design, dataset, progress) -> Assembled:
    """Fit the generalized model of ``spec`` on ``design`` (no small-sample inference: z tests)."""
    nt = _trials(spec, design, dataset)
    y, n = check_outcome(design.y, spec.family, design.formula.response, nt, spec.trials or "")
    off = design.offset if design.offset is not None else np.zeros(len(y))
    fit = fit_glmm(y, design.X, design.blocks, spec.family, spec.link_name, n, off, spec.nagq,
                   design.column_names, progress)
    progress.step(0.6, "fitted; computing tests")
    warnings: list = []
    data = {"model": "glmm", "family": spec.family, "link": fit.link, "nagq": fit.nagq, "method": "ML",
            "df_method": "none", "nobs": fit.nobs, "n_groups": dict(fit.n_groups), "converged": fit.converged,
            "singular": fit.singular, "loglik": fit.loglik, "aic": fit.aic, "bic": fit.bic,
            "deviance": fit.deviance, "fixed_effects": fixed_rows(fit), "variance_components": variance_rows(fit),
            "blups": blup_dict(fit.blocks, fit.blups, fit.blup_sd)}
    if spec.trials:
        data["trials"] = spec.trials
    if fit.nb_theta is not None:
        data["dispersion"] = fit.nb_theta
    r2 = r2_icc(fit, progress=progress)  # counts: fits the null model (all random terms) itself
    data.update({k: r2[k] for k in ("r2_marginal", "r2_conditional", "icc_adjusted", "icc_unadjusted") if k in r2})
    if spec.family == "poisson":
        od = overdispersion(fit)
        data["overdispersion"] = od
        if od["ratio"] > 1.5 and od["p_value"] < 0.05:
            warnings.append(FitWarning(
                "overdispersion", f"The counts vary more than a Poisson model allows (dispersion ratio "
                f"{od['ratio']:.2f}, p {_fmt_p(od['p_value'])}), so standard errors are too small and p-values too "
                "optimistic. Use the negative binomial family, or add an observation-level random effect "
                "(1 | row id).", "model"))
    data["quantile_residuals"] = np.asarray(fit.residuals).tolist()
    # one refit per droppable term, always computed (R users read drop1 first); on large data each
    # refit takes as long as the fit, so the bar moves per term and Cancel stops any refit
    progress.step(0.62, "likelihood-ratio tests of the fixed terms")
    data["fixed_effect_tests"], w = fixed_effect_tests(design, fit, SubProgress(progress, 0.62, 0.7))
    warnings += w
    if spec.random_effect_tests:
        progress.step(0.7, "likelihood-ratio tests of the random effects")
        data["random_effect_tests"] = glmm_random_effect_tests(design, fit, _glmm_fitter(spec, nt, progress))
    if spec.emmeans:
        progress.step(0.9, "marginal means")
        blocks = []
        for i, req in enumerate(spec.emmeans):
            # emmeans' reference grid: two-valued covariates at both values, the offset at the covariate's mean
            out = (response_emmeans if req.type == "response" else link_emmeans)(design, fit, req)
            warnings += request_warnings(out, i)
            blocks.append(out)
        data["emmeans"] = blocks
    return Assembled(data, fit, None, warnings)


def _fmt_p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"
