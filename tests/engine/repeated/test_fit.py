"""Repeated-measures engine against nlme (gls, lme), plus its own consistency checks.

References live in tests/reference/repeated: orthodont_{cs,csh,ar1,arh1,toep,un}.json are the
project's shared nlme::gls cases; ref_*.json come from make_repeated_refs.R (missing visits, DIAG,
ID, ML, random intercept / slope with AR1 or ID residuals), and so do infer_*.json (emmeans'
Satterthwaite df for gls; lmerTest and pbkrtest for the random-slope model).

Tolerances, and why:
- loglik, AIC, BIC 1e-3 absolute: nlme stops its optimiser at a relative change near 1e-8 of a
  criterion of several hundred, so its loglik can sit ~1e-5 below the optimum; 1e-3 still
  catches any wrong constant or parameter count (those are >= 0.1).
- estimates 1e-4 relative: the GLS estimate moves by O(1e-5) relative for the parameter errors nlme
  leaves (DIAG's varIdent stops 2.5e-5 from the optimum in sigma); a wrong structure moves it by 1e-2.
- standard errors 2e-3, covariance matrices 5e-3 relative: variance parameters are less precisely
  determined by nlme's stopping rule than beta (flat likelihood), and these are the conformance
  tolerances of the project.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from mixgui.engine.covmodel import RandomBlock
from mixgui.engine.repeated.fit import compare_structures, fit_repeated
from mixgui.engine.repeated.structures import STRUCTURES, make_structure
from mixgui.errors import Cancelled, ModelError, Progress

from .cases import (
    HERE,
    LABELS,
    TOL_COV,
    TOL_EST,
    TOL_LL,
    TOL_SE,
    check_against,
    fit_case,
    orthodont,
)

# -- the shared nlme::gls references ---------------------------------------------------------

@pytest.mark.parametrize("name", ["cs", "csh", "ar1", "arh1", "toep", "un"])
def test_orthodont_structures_match_nlme(name):
    ref = json.loads((HERE / f"orthodont_{name}.json").read_text())
    fit = fit_case(name.upper())
    check_against(fit, ref)
    assert fit.nobs == ref["nobs"] and fit.n_subjects == 27
    if ref["rho"] is not None:
        assert fit.parameters["rho"] == pytest.approx(ref["rho"], rel=2e-3)
    cp = ref["covariance_parameters"]
    if name == "toep":  # nlme's corARMA(p = 3) coefficients are AR coefficients; compare the lags
        C = np.array(ref["marginal_covariance"])
        for k in (1, 2, 3):
            assert fit.parameters[f"rho_lag{k}"] == pytest.approx(C[0, k] / C[0, 0], rel=TOL_COV)
    if name in ("csh", "arh1", "un"):  # varIdent's standard-deviation ratios
        for lab in LABELS[1:]:
            ratio = np.sqrt(fit.parameters[f"var_{lab}"] / fit.parameters["var_8"])
            assert ratio == pytest.approx(cp[f"varStruct.{lab}"], rel=TOL_COV)
    if name == "un":  # corSymm's correlations, in nlme's order (1,2), (1,3), (1,4), (2,3), ...
        want = [cp[f"corStruct{k}"] for k in range(1, 7)]
        got = [fit.parameters[f"corr_{LABELS[i]}_{LABELS[j]}"] for i in range(4) for j in range(i + 1, 4)]
        assert got == pytest.approx(want, rel=TOL_COV)


# -- references from make_repeated_refs.R -----------------------------------------------------

EXTRA = sorted(p.stem[4:] for p in HERE.glob("ref_*.json"))


@pytest.mark.parametrize("case", EXTRA)
def test_extra_references_match_nlme(case):
    ref = json.loads((HERE / f"ref_{case}.json").read_text())
    re = "ri" if "_ri_" in f"_{case}" else "rs" if "_rs_" in f"_{case}" else None
    reml = ref["method"] == "REML"
    fit = fit_case(ref["structure"], missing=case.startswith("miss"), reml=reml, re=re)
    # nlme rescales ML standard errors by sqrt(N / (N - p)); we do not (SAS, mmrm, lme4), so
    # our ML standard errors are scaled as nlme before the comparison
    N, p = ref["nobs"], len(ref["fixed_effects"])
    check_against(fit, ref, se_factor=1.0 if reml else np.sqrt(N / (N - p)))
    assert fit.vcov_scale == 1.0
    assert fit.n_parameters + p == ref["df"]
    if re:
        q = len(ref["G"])
        G = np.array(ref["G"])
        assert fit.kr_par[: q * (q + 1) // 2] == pytest.approx(G[np.tril_indices(q)], rel=TOL_COV, abs=1e-6)
        assert fit.varcorr[0] == pytest.approx(G, rel=TOL_COV, abs=1e-6)
        assert fit.n_groups == {"Subject": 27} and fit.blocks[0].group == "Subject"
        blup, sd = fit.blups[0], fit.blup_sd[0]
        assert blup.shape == sd.shape == (27, q)
        assert [str(v) for v in fit.blocks[0].levels] == ref["blups"]["levels"]
        assert blup == pytest.approx(np.array(ref["blups"]["values"]), abs=5e-3 * np.abs(blup).max())
        assert np.all(sd > 0)
        assert fit.fitted_conditional != pytest.approx(fit.fitted_marginal)
    # R's fitted() and residuals(type = "pearson"): conditional for lme, marginal for gls
    assert fit.fitted[:12] == pytest.approx(ref["fitted_head"], rel=TOL_EST)
    assert fit.resid_pearson[:12] == pytest.approx(ref["pearson_head"], rel=TOL_COV, abs=1e-4)
    assert fit.residuals == pytest.approx(fit.residuals_marginal - (fit.fitted_conditional - fit.fitted_marginal))


def test_missing_visit_is_a_gap_not_a_shift():
    """AR1 on positions: renumbering the visits consecutively within subject changes the fit."""
    d, X, subject, position, levels = orthodont(missing=True)
    ref = json.loads((HERE / "ref_miss_ar1.json").read_text())
    good = fit_repeated(d.distance.to_numpy(), X, subject, position, 4, "AR1")
    shifted = d.groupby("Subject").cumcount().to_numpy()
    bad = fit_repeated(d.distance.to_numpy(), X, subject, shifted, 4, "AR1")
    assert good.loglik == pytest.approx(ref["loglik"], abs=TOL_LL)
    assert abs(bad.loglik - ref["loglik"]) > 0.1


# -- the CovarianceModel protocol ---------------------------------------------------------------


# -- an independent dense computation of the likelihood ----------------------------------------


# -- structures -----------------------------------------------------------------------------------


# -- errors ---------------------------------------------------------------------------------------

def test_duplicate_index_names_subject_and_value():
    d, X, subject, position, levels = orthodont()
    position = position.copy()
    position[1] = position[0]  # M01 has two rows at age 8
    with pytest.raises(ModelError, match=r"M01.*index value 8"):
        fit_repeated(d.distance.to_numpy(), X, subject, position, 4, "AR1", position_labels=LABELS,
                     subject_labels=levels)


def test_structure_needs_two_positions():
    d, X, subject, position, levels = orthodont()
    rows = position == 0
    for s in ("AR1", "CS", "UN", "TOEP"):
        with pytest.raises(ModelError, match="at least 2 index positions"):
            fit_repeated(d.distance.to_numpy()[rows], X[rows][:, [0, 4]], subject[rows], position[rows], 1, s)
    fit = fit_repeated(d.distance.to_numpy()[rows], X[rows][:, [0, 4]], subject[rows], position[rows], 1, "ID")
    assert fit.converged


def test_unstructured_needs_enough_subjects():
    d, X, subject, position, levels = orthodont()
    rows = subject < 9  # 9 subjects, UN on 4 positions has 10 parameters
    with pytest.raises(ModelError, match="only 9 subjects"):
        fit_repeated(d.distance.to_numpy()[rows], X[rows][:, :4], subject[rows], position[rows], 4, "UN")


def test_unstructured_needs_each_pair_observed():
    d, X, subject, position, levels = orthodont()
    rows = ~((position == 3) & (subject > 0))  # age 14 seen together with age 8 in one subject only
    with pytest.raises(ModelError, match="8 and 14 observed together"):
        fit_repeated(d.distance.to_numpy()[rows], X[rows], subject[rows], position[rows], 4, "UN",
                     position_labels=LABELS)


def test_toeplitz_needs_every_lag():
    d, X, subject, position, levels = orthodont()
    rows = (position == 0) | (subject % 2 == 0) & (position < 3)  # no pair 3 visits apart
    with pytest.raises(ModelError, match="lag 3"):
        fit_repeated(d.distance.to_numpy()[rows], X[rows][:, [0, 1, 2, 4]], subject[rows], position[rows], 4, "TOEP")


def test_missing_subject_and_unknown_structure():
    d, X, subject, position, levels = orthodont()
    with pytest.raises(ModelError, match="subject column"):
        fit_repeated(d.distance.to_numpy(), X, None, position, 4, "AR1")
    with pytest.raises(ModelError, match="Unknown repeated structure"):
        fit_repeated(d.distance.to_numpy(), X, subject, position, 4, "AR2")


def test_random_effects_must_be_nested_in_subject():
    d, X, subject, position, levels = orthodont()
    sex = (d.Sex == "Female").to_numpy().astype(int)
    block = RandomBlock("Sex", sex, ["Male", "Female"], np.ones((len(d), 1)), ["(Intercept)"])
    with pytest.raises(ModelError, match="not nested in the repeated subject"):
        fit_repeated(d.distance.to_numpy(), X[:, :4], subject, position, 4, "AR1", blocks=[block],
                     subject_labels=levels)


def test_progress_can_cancel():
    progress = Progress()
    progress.cancel()
    with pytest.raises(Cancelled):
        fit_case("UN", progress=progress)


# -- structure comparison -----------------------------------------------------------------------

def test_compare_structures():
    d, X, subject, position, levels = orthodont()
    rows = compare_structures(d.distance.to_numpy(), X, subject, position, 4, position_labels=LABELS)
    assert [r["structure"] for r in rows] == list(STRUCTURES)
    pool = [r for r in rows if r["converged"] and not r["boundary"]]
    for key in ("aic", "bic"):
        best = [r for r in rows if r["best_" + key]]
        assert len(best) == 1 and best[0][key] == min(r[key] for r in pool)
    ref = json.loads((HERE / "ml_comparison.json").read_text())["rows"]["TOEP"]  # the comparison fits by ML
    toep = next(r for r in rows if r["structure"] == "TOEP")
    assert toep["aic"] == pytest.approx(ref["aic"], abs=TOL_LL)
    assert rows.recommendation.startswith(next(r["structure"] for r in rows if r["best_aic"]))
    assert toep["df"] == 9 and toep["n_parameters"] == 4
    assert "ML fits" in rows.note and "REML" in rows.note and rows.fits["UN"].structure == "UN"
    assert not rows.fits["UN"].reml
    reml = compare_structures(d.distance.to_numpy(), X, subject, position, 4, structures=["TOEP"], reml=True,
                              position_labels=LABELS)
    ref = json.loads((HERE / "orthodont_toep.json").read_text())
    assert reml[0]["aic"] == pytest.approx(ref["aic"], abs=TOL_LL) and "REML criteria" in reml.note


def test_compare_structures_skips_what_the_data_cannot_support():
    d, X, subject, position, levels = orthodont()
    rows = position == 0
    out = compare_structures(d.distance.to_numpy()[rows], X[rows][:, [0, 4]], subject[rows], position[rows], 1)
    assert [r["structure"] for r in out] == ["ID", "DIAG"]
    assert set(out.skipped) == {"CS", "CSH", "AR1", "ARH1", "TOEP", "UN", "ANTE1", "TOEPH", "SP(POW)",
                                "SP(EXP)", "SP(GAU)"}


# -- small-sample inference through the protocol -------------------------------------------------

def _inference():
    from mixgui.engine.inference import KenwardRoger, Satterthwaite
    return Satterthwaite, KenwardRoger


def test_random_slope_inference_matches_lmertest_and_pbkrtest():
    """ID residuals + (agen | Subject) is an lme4 model: lmerTest and pbkrtest give the reference.

    Tolerances: df 1e-3 relative (lme4 and we stop at slightly different points of a flat
    likelihood; differences are ~2e-5), KR covariance 1e-4 relative.
    """
    Satterthwaite, KenwardRoger = _inference()
    ref = json.loads((HERE / "infer_lmer.json").read_text())
    fit = fit_case("ID", missing=True, re="rs")
    assert fit.loglik == pytest.approx(ref["loglik"], abs=TOL_LL)
    E = np.eye(5)
    sat, kr = Satterthwaite(fit), KenwardRoger(fit)
    assert [sat.df(e) for e in E] == pytest.approx(ref["df_satterthwaite"], rel=1e-3)
    assert [kr.df(e) for e in E] == pytest.approx(ref["df_kr"], rel=1e-3)
    assert kr.vcov == pytest.approx(np.array(ref["vcov_kr"]), rel=1e-4)


# emmeans' gls Satterthwaite differentiates vcov numerically around nlme's apVar; against it we
# allow 2e-3 where that is accurate (CS, AR1, TOEP: the differences are < 5e-4) and 1e-2 for ARH1;
# CSH (apVar off by up to 4%) and UN (emmeans only has its "appx" method) are checked by the
# invariance test below instead.
EMM_TOL = {"CS": 2e-3, "AR1": 2e-3, "TOEP": 2e-3, "ARH1": 1e-2}
L_AGE = np.array([[1, 0, 0, 0, .5], [1, 1, 0, 0, .5], [1, 0, 1, 0, .5], [1, 0, 0, 1, .5]])
L_SEX = np.array([[1, .25, .25, .25, 0], [1, .25, .25, .25, 1]])


@pytest.mark.parametrize("structure", sorted(EMM_TOL))
def test_satterthwaite_matches_emmeans_for_gls(structure):
    Satterthwaite, _ = _inference()
    ref = json.loads((HERE / "infer_gls.json").read_text())[structure]
    fit = fit_case(structure)
    sat = Satterthwaite(fit)
    assert ref["agef"]["method"].endswith(": satterthwaite")
    assert [sat.df(r) for r in L_AGE] == pytest.approx(ref["agef"]["df"], rel=EMM_TOL[structure])
    assert [sat.df(r) for r in L_SEX] == pytest.approx(ref["Sex"]["df"], rel=EMM_TOL[structure])
    assert np.sqrt([r @ fit.vcov @ r for r in L_AGE]) == pytest.approx(ref["agef"]["se"], rel=TOL_SE)


@pytest.mark.parametrize("structure", ["CSH", "ARH1", "UN", "AR1+RI"])
def test_satterthwaite_is_invariant_to_the_parametrisation(structure):
    """df from ``varpar`` (theta, sigma) equal df computed in the natural ``kr_par`` units."""
    Satterthwaite, _ = _inference()
    structure, _, re = structure.partition("+")
    fit = fit_case(structure, missing=bool(re), re="ri" if re else None)
    m, x0 = fit._model, fit.kr_par
    k = len(x0)
    h = 3e-4 * np.abs(x0)
    H = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            H[i, j] = (m.evaluate_natural(x0 + ei + ej).f - m.evaluate_natural(x0 + ei - ej).f
                       - m.evaluate_natural(x0 - ei + ej).f + m.evaluate_natural(x0 - ei - ej).f) / (4 * h[i] * h[j])
    A = 2 * np.linalg.inv(H)
    J = [(np.linalg.inv(m.evaluate_natural(x0 + e).A) - np.linalg.inv(m.evaluate_natural(x0 - e).A)) / (2 * e[i])
         for i, e in enumerate(np.eye(k) * h)]
    sat = Satterthwaite(fit)
    for r in L_AGE:
        g = np.array([r @ Ji @ r for Ji in J])
        assert sat.df(r) == pytest.approx(2 * (r @ fit.vcov @ r) ** 2 / (g @ A @ g), rel=1e-4)


@pytest.mark.parametrize("structure", ["CS", "CSH", "AR1", "ARH1", "TOEP", "UN"])
def test_kenward_roger_runs_on_every_structure(structure):
    """No R reference for gls (SAS has one); check what must hold.

    With a covariance linear in varpar (CS, TOEP, UN) the adjustment only inflates. With rho
    (CSH, AR1, ARH1) the second-derivative term of Kenward & Roger (1997) can shrink it, as in SAS.
    """
    _, KenwardRoger = _inference()
    fit = fit_case(structure)
    kr = KenwardRoger(fit)
    if make_structure(structure, 4).linear:
        assert np.all(np.linalg.eigvalsh(kr.vcov - fit.vcov) > -1e-10)
    assert np.sqrt(np.diag(kr.vcov)) == pytest.approx(fit.std_errors, rel=0.15)
    assert all(5 < kr.df(r) < fit.nobs for r in L_AGE)
