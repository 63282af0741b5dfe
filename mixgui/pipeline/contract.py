"""Assemble the results contract (``spec/analysis-and-results.md``) from engine objects.

Each ``*_contract`` function returns an :class:`Assembled`: the results file's keys in order and
the engine objects behind them; :func:`mixgui.pipeline.run` types them as a
:class:`~mixgui.results.result.FitResult`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from mixgui.engine import effects, ols
from mixgui.engine import inference as inf
from mixgui.engine.design import Design
from mixgui.engine.emmeans.means import emmeans
from mixgui.engine.inference.anova12 import anova_table_of_type
from mixgui.engine.inference.lrt import random_effect_tests
from mixgui.engine.lmm.fit import fit_lmm
from mixgui.engine.lmm.intervals import variance_component_cis
from mixgui.engine.repeated.fit import fit_repeated, group_sections
from mixgui.errors import DataError, FitWarning, ModelError
from mixgui.pipeline import additional
from mixgui.pipeline import repeated as repeated_sections


@dataclass
class Assembled:
    """One model's part of the results file (``data``, keys in file order), its engine objects and
    the warnings of this step (the design's and the fit's are added by :func:`mixgui.pipeline.run`)."""

    data: dict
    fit: object
    inference: object = None
    warnings: list = field(default_factory=list)

def ols_contract(spec, design: Design) -> Assembled:
    """Ordinary regression: fit, its tests, the ANOVA tables asked for and marginal means."""
    fit = ols.fit_ols(design)
    data = {"model": "lm", "method": "OLS", "df_method": "residual", "nobs": design.nobs}
    data.update(ols.to_contract(fit))
    if 2 in spec.anova_types:
        data["anova_type2"] = ols.anova_type2(fit)
    if 3 in spec.anova_types:
        # SAS/SPSS's type III hypotheses: what users comparing with those packages expect
        data["anova_type3"] = ols.anova_type3(fit, coding="sas")
    warnings = additional.not_applicable(spec, decomposable=False, has_random=False)
    if spec.emmeans:
        df_res = float(fit.df_residual)
        data["emmeans"], w = _emmeans_blocks(spec, design, fit.beta, fit.vcov, lambda L: df_res, "residual")
        warnings += w
    return Assembled(data, fit, None, warnings)


def fit_mixed(spec, design: Design, dataset=None, progress=None, reml=None):
    """Fit the mixed or repeated-measures model of ``spec`` on ``design``."""
    reml = (spec.method == "REML") if reml is None else reml
    if spec.repeated is not None:
        subject, position, labels, coords = repeated_sections.position_codes(design, dataset, spec.repeated)
        return fit_repeated(design.y, design.X, subject, position, len(labels), spec.repeated.structure,
                            reml=reml, blocks=design.blocks, position_labels=labels,
                            column_names=design.column_names, progress=progress, coordinates=coords,
                            weights=repeated_sections.weights(spec, design), **repeated_sections.group_codes(spec, design))
    return fit_lmm(design.y, design.X, design.blocks, reml=reml, column_names=design.column_names, progress=progress)


def variance_rows(blocks, varcorr, sigma) -> list:
    """``as.data.frame(VarCorr(m))``: variances then correlations per block, residual last."""
    rows = []
    for b, G in zip(blocks, varcorr):
        G = np.atleast_2d(G)
        sd = np.sqrt(np.clip(np.diag(G), 0, None))
        for i, n in enumerate(b.names):
            rows.append({"group": b.group, "var1": n, "var2": None, "vcov": float(G[i, i]), "sdcor": float(sd[i])})
        for i in range(len(b.names)):
            for j in range(i + 1, len(b.names)):
                corr = G[i, j] / (sd[i] * sd[j]) if sd[i] > 0 and sd[j] > 0 else float("nan")
                rows.append({"group": b.group, "var1": b.names[i], "var2": b.names[j],
                             "vcov": float(G[i, j]), "sdcor": float(corr)})
    rows.append({"group": "Residual", "var1": None, "var2": None, "vcov": float(sigma ** 2), "sdcor": float(sigma)})
    return rows


def blup_dict(blocks, blups, blup_sd) -> dict:
    out: dict = {}
    for b, u, s in zip(blocks, blups, blup_sd):
        d = out.setdefault(b.group, {"levels": list(b.levels)})
        for k, n in enumerate(b.names):
            d[n] = np.asarray(u)[:, k].tolist()
            d["se_" + n] = np.asarray(s)[:, k].tolist()
    return out


def mixed_contract(spec, design: Design, dataset, progress) -> Assembled:
    """Mixed model (random terms and/or a repeated structure): fit, inference, tables' data."""
    fit = fit_mixed(spec, design, dataset, progress)
    progress.step(0.6, "fitted; computing tests")
    adjust = None
    if spec.repeated is not None:
        def adjust(inference):
            repeated_sections.apply_vcov(spec, fit, inference)
    tests = inf.fixed_effect_tests(fit, design, spec.df_method, design.nobs,
                                   kr_information=repeated_sections.kr_information(spec),
                                   kr_variant=spec.kr_variant, adjust=adjust)
    inference, warnings = tests.inference, list(tests.warnings)
    has_random = bool(design.blocks)
    data = {"model": "lmm" if has_random else "gls", "method": spec.method, "df_method": inference.method,
            "nobs": design.nobs,
            "n_groups": {b.group: b.n_levels for b in design.blocks} if has_random else {},
            "converged": bool(fit.converged), "singular": bool(getattr(fit, "singular", False)),
            "loglik": fit.loglik, "aic": fit.aic, "bic": fit.bic, "deviance": fit.deviance}
    data.update(repeated_sections.settings_echo(spec, tests.asked))
    data["fixed_effects"], data["anova"] = tests.fixed_effects, tests.anova
    for kind in (k for k in (1, 2) if k in spec.anova_types):  # type III is "anova" itself
        data[f"anova_type{kind}"] = anova_table_of_type(design, inference, kind, spec.repeated is not None, fit.vcov)
    if has_random:
        data["variance_components"] = variance_rows(design.blocks, fit.varcorr, fit.sigma)
        if spec.repeated is None:
            for row, ci in zip(data["variance_components"], variance_component_cis(fit)):
                row.update(ci)
        data["blups"] = blup_dict(design.blocks, fit.blups, fit.blup_sd)
    if spec.repeated is not None:
        data["repeated"] = {"structure": spec.repeated.structure, "subject": spec.repeated.subject,
                            "index": spec.repeated.index, "parameters": dict(fit.parameters),
                            "marginal_covariance": np.asarray(fit.marginal_covariance).tolist(),
                            "correlation": np.asarray(fit.correlation).tolist(),
                            "positions": list(getattr(fit, "position_labels", []) or [])}
        data["n_groups"][spec.repeated.subject] = int(getattr(fit, "n_subjects", 0))
        if spec.repeated.group:
            data["repeated"]["groups"] = group_sections(fit)
        repeated_sections.add_sections(spec, design, fit, inference, data, warnings)
    if has_random and spec.repeated is None:
        data.update(effects.r2_icc(design, fit))
    decomposable = has_random and spec.repeated is None
    if spec.random_effect_tests and decomposable:
        progress.step(0.7, "likelihood-ratio tests of the random effects")
        # the bootstrap reports 0..1 of its own work: shown as this stretch of the whole run
        part = additional.SubProgress(progress, 0.7, 0.8)
        seed = additional.DEFAULT_SEED if spec.bootstrap_seed is None else spec.bootstrap_seed
        rows = random_effect_tests(design, _lmm_fitter(part), nboot=spec.bootstrap, progress=part, seed=seed)
        data["random_effect_tests"] = additional.bootstrap_fields(rows, seed)
    warnings += additional.not_applicable(spec, decomposable, has_random)
    if spec.compare_structures and spec.repeated is not None:
        progress.step(0.8, "comparing residual covariance structures")
        data["structure_comparison"] = additional.structure_comparison(
            spec, design, repeated_sections.position_codes(design, dataset, spec.repeated), progress)
    if spec.effect_sizes and decomposable:
        progress.step(0.83, "effect sizes (refitting without each fixed term)")
        try:
            data["effect_sizes"] = additional.effect_sizes(design, fit, _lmm_fitter(progress))
        except (ModelError, DataError, np.linalg.LinAlgError) as e:
            warnings.append(FitWarning("not_computed", f"Effect sizes could not be computed: {_sentence(e)}",
                                       "model"))
    if spec.pooling and has_random:
        progress.step(0.87, "pooling comparison")
        try:
            data["pooling_comparison"] = additional.pooling(design, fit, spec.pooling)
        except (ModelError, DataError) as e:
            warnings.append(FitWarning("not_computed", f"The pooling comparison was left out: {_sentence(e)}",
                                       "model"))
    if spec.emmeans:
        progress.step(0.9, "marginal means")
        data["emmeans"], w = _emmeans_blocks(spec, design, fit.beta, inference.vcov, inference.df,
                                             inference.method)
        warnings += w
    return Assembled(data, fit, inference, warnings)


def _sentence(e) -> str:
    return str(e).rstrip().rstrip(".") + "."


def _lmm_fitter(progress):
    def fitter(design, reml):
        return fit_lmm(design.y, design.X, design.blocks, reml=reml, column_names=design.column_names,
                       progress=progress)
    return fitter


def _emmeans_blocks(spec, design, beta, vcov, df_fn, df_method):
    blocks, warnings = [], []
    for i, req in enumerate(spec.emmeans):
        out = emmeans(design, beta, vcov, df_fn, req)
        warnings += request_warnings(out, i)
        out["df_method"] = df_method
        blocks.append(out)
    return blocks, warnings


def request_warnings(out: dict, i: int) -> list:
    """The warnings of marginal-means request ``i`` (taken out of ``out``), each tied to its own table.

    Every request is a table of its own (``emmeans_0``, ``emmeans_1`` ...): a note must sit next to
    the means it concerns, not under the first table.
    """
    found = out.pop("warnings", []) if isinstance(out, dict) else []
    return [replace(w, table=f"emmeans_{i}") if w.table == "emmeans" else w for w in found]

