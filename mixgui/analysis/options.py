"""Every analysis option once: its allowed values, the label a user reads and a one-line help.

The analysis file's reader (:mod:`mixgui.analysis.spec`), the engine's checks and the option
panels of the window all take their choices from here, so a new value is added in one place.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Choice:
    """One allowed value of an option: the value written in the file, its label and its help."""

    value: str
    label: str
    help: str = ""


METHODS = (
    Choice("REML", "REML", "Restricted maximum likelihood: unbiased variance estimates; use it for the final model."),
    Choice("ML", "ML", "Maximum likelihood: use it to compare models that differ in their fixed effects."),
)

DF_METHODS = (
    Choice("satterthwaite", "Satterthwaite", "Small-sample df from the curvature of the likelihood (lmerTest's default)."),
    Choice("kenward-roger", "Kenward-Roger", "Adjusted standard errors and df; the usual choice in trials (SAS DDFM=KR)."),
    Choice("between-within", "Between-within", "SAS DDFM=BW: between-subject and within-subject residual df."),
    Choice("residual", "Residual (n − p)", "n minus the number of fixed coefficients, as for ordinary regression."),
    Choice("none", "None (z tests)", "Normal reference distribution, as for very large samples."),
)

# SAS / SPSS names. TOEP(k) is the banded Toeplitz with k lags; SP(...) are spatial structures
# over a continuous time (the distances between the index values).
STRUCTURES = (
    Choice("ID", "Identity (ID)", "One variance, no correlation: measurements of a subject are independent."),
    Choice("DIAG", "Diagonal (DIAG)", "A separate variance at each time, no correlation."),
    Choice("CS", "Compound symmetry (CS)", "One variance and one correlation shared by every pair of times."),
    Choice("CSH", "Heterogeneous CS (CSH)", "A variance for each time and one correlation shared by every pair."),
    Choice("AR1", "Autoregressive AR(1)", "One variance; the correlation falls with the distance between times (ρ, ρ², ρ³ …)."),
    Choice("ARH1", "Heterogeneous AR(1) (ARH1)", "A variance for each time; the correlation falls with distance as in AR(1)."),
    Choice("ANTE1", "Antedependence ANTE(1)", "A variance for each time and a correlation for each pair of adjacent times; farther pairs multiply them."),
    Choice("TOEP", "Toeplitz (TOEP)", "One variance; a separate correlation for each distance between times."),
    Choice("TOEPH", "Heterogeneous Toeplitz (TOEPH)", "A variance for each time; a separate correlation for each distance."),
    Choice("UN", "Unstructured (UN)", "Every variance and every correlation free: the most flexible, needs many subjects."),
    Choice("SP(POW)", "Spatial power SP(POW)", "For unequally spaced times: the correlation is ρ to the power of the time between two measurements."),
    Choice("SP(EXP)", "Spatial exponential SP(EXP)", "For unequally spaced times: the correlation is exp(−d/range) for times d apart."),
    Choice("SP(GAU)", "Spatial Gaussian SP(GAU)", "For unequally spaced times: the correlation is exp(−(d/range)²) for times d apart."),
)
SPATIAL = ("SP(POW)", "SP(EXP)", "SP(GAU)")
_TOEP_K = re.compile(r"^TOEP\((\d+)\)$")

CONTRASTS = (
    Choice("pairwise", "Pairwise", "Every level against every other."),
    Choice("consec", "Consecutive", "Each level against the one before."),
    Choice("trt.vs.ctrl", "Each vs control", "Each level against the first (control) level."),
    Choice("poly", "Polynomial trend", "Linear, quadratic … trends over ordered levels."),
    Choice("custom", "Custom weights", "Your own comparison, one weight per level."),
)
CONTRAST_METHODS = ("pairwise", "consec", "trt.vs.ctrl", "poly", "custom")
ADJUSTMENTS = (
    Choice("tukey", "Tukey", "All pairwise comparisons (studentized range)."),
    Choice("holm", "Holm", "Step-down Bonferroni; valid for any set of contrasts."),
    Choice("bonferroni", "Bonferroni", "p times the number of contrasts; conservative."),
    Choice("sidak", "Šidák", "1 - (1 - p)^m; slightly less conservative than Bonferroni."),
    Choice("dunnettx", "Dunnett (approx.)", "Treatment versus control, emmeans' fast approximation."),
    Choice("mvt", "Multivariate t", "Exact simultaneous adjustment from the joint t distribution of the contrasts."),
    Choice("fdr", "False discovery rate (BH)", "Benjamini-Hochberg: controls the share of false positives."),
    Choice("hommel", "Hommel", "Step-up closed testing; more powerful than Holm."),
    Choice("none", "None", "Unadjusted p-values."),
)
ADJUSTMENT_ALIASES = {"bh": "fdr", "benjamini-hochberg": "fdr", "dunnett": "dunnettx", "bonf": "bonferroni"}

FAMILIES = (
    Choice("gaussian", "Continuous (linear)", "A continuous outcome with normal residuals."),
    Choice("binomial", "Binary (logistic)", "Yes/no outcomes, or successes out of a number of trials."),
    Choice("poisson", "Count (Poisson)", "Counts whose variance equals their mean."),
    Choice("negative_binomial", "Count (negative binomial)", "Counts more variable than Poisson allows."),
)
LINKS = {"gaussian": ("identity",), "binomial": ("logit", "probit", "cloglog"),
         "poisson": ("log",), "negative_binomial": ("log",)}
LINK_CHOICES = (
    Choice("identity", "Identity", "The mean itself is linear in the predictors (the linear model)."),
    Choice("logit", "Logit (odds ratios)", "Log odds; exponentiated estimates are odds ratios (logistic regression)."),
    Choice("probit", "Probit", "The normal quantile of the probability (a latent normal variable crosses a threshold)."),
    Choice("cloglog", "Complementary log-log",
           "log(−log(1 − p)): for rare events, or an event in an interval of time; estimates are hazard ratios."),
    Choice("log", "Log (rate ratios)", "Log of the mean count; exponentiated estimates are rate ratios."),
)
KR_INFORMATION = (
    Choice("observed", "Observed (SAS)", "The Hessian of the REML criterion, as SAS PROC MIXED DDFM=KR."),
    Choice("expected", "Expected (pbkrtest)", "The expected information, as R's pbkrtest."),
)
KR_VARIANT_CHOICES = (
    Choice("linear", "KR(LINEAR), as SAS",
           "SAS's DDFM=KR(LINEAR): the second derivatives of the covariance are left out of the adjustment."),
)
KR_VARIANTS = tuple(c.value for c in KR_VARIANT_CHOICES)
VCOV_TYPES = (
    Choice("model", "Model-based", "Standard errors from the fitted covariance model."),
    Choice("empirical", "Empirical (sandwich)", "Robust to a wrong covariance structure (SAS EMPIRICAL, CR0)."),
)
ANOVA_TYPES = (
    Choice("1", "Type I", "Sequential: each term after the terms before it in the formula (SAS HTYPE=1)."),
    Choice("2", "Type II", "Each term after every term that does not contain it (SAS HTYPE=2)."),
    Choice("3", "Type III", "Each term after all the others (SAS's and SPSS's default)."),
)

# Help of each option as a whole (the choices above carry each value's own help), in the user's words.
OPTION_HELP = {
    "family": "The kind of outcome: a continuous measurement (linear mixed model), a yes/no outcome (logistic), "
              "or a count (Poisson, or negative binomial when the counts vary more than Poisson allows).",
    "link": "How the mean of the outcome is tied to the predictors; the estimates are on this scale.",
    "trials": "For successes out of n (e.g. 3 of 5 lesions healed): the column holding n; the outcome is then "
              "the number of successes. Leave at 'none' for a yes/no outcome.",
    "nagq": "Points of adaptive Gauss-Hermite quadrature (lme4's nAGQ). 1 = Laplace approximation; more points "
            "are more accurate and slower, and need a model whose only random effect is one random intercept.",
    "offset": "For counts over different exposures (days at risk, person-years): log of the exposure is added "
              "with a coefficient fixed at 1, so the model describes rates (R's offset(log(exposure))).",
    "kr_information": "The information matrix in the Kenward-Roger adjustment: observed (SAS PROC MIXED) or "
                      "expected (R's pbkrtest). Automatic: observed with a repeated-measures structure, "
                      "expected otherwise, so SAS and lmerTest users each get their own numbers.",
    "kr_variant": KR_VARIANT_CHOICES[0].help,
    "vcov": "How the standard errors of the fixed effects are computed: from the model, or empirical (sandwich) "
            "estimates that stay valid when the covariance structure is wrong (needs many subjects).",
    "weights": "A column of weights: each row's residual variance is divided by its weight (SAS WEIGHT), e.g. "
               "the number of measurements a mean is made of.",
    "anova_types": "Tests of each term. Type I adds terms in order, Type II tests each term after the others that "
                   "do not contain it, Type III after all the others. Mixed models always give Type III, "
                   "regressions Type I; tick the others to add them.",
    "emmeans_type": "Means of a yes/no or count outcome as probabilities or rates (emmeans' type = \"response\"), "
                    "and their comparisons as odds or rate ratios; unticked, on the model's (log-odds, log) scale.",
    "predictions": "A table of each row's predicted value, with and without the random effects, its 95% limits "
                   "and residuals (SAS OUTP= and OUTPM=).",
}
EMMEANS_TYPES = ("link", "response")

# Measurement levels (data.levels) that make a variable a factor in the builder.
CATEGORICAL_LEVELS = ("nominal", "ordinal", "identifier")


def values(choices) -> tuple:
    """The allowed values of an option given as a tuple of :class:`Choice` (or plain strings)."""
    return tuple(c.value if isinstance(c, Choice) else c for c in choices)


def label(choices, value: str) -> str:
    """The user's label of ``value`` (the value itself when it has none)."""
    for c in choices:
        if isinstance(c, Choice) and c.value == value:
            return c.label
    return value


def normalise_structure(name: str) -> str | None:
    """The canonical name of a residual structure (``"toep(2)"`` -> ``"TOEP(2)"``), or None if unknown."""
    s = re.sub(r"\s+", "", str(name)).upper()
    s = {"AR(1)": "AR1", "ARH(1)": "ARH1", "ANTE(1)": "ANTE1", "VC": "DIAG", "SP(POWER)": "SP(POW)"}.get(s, s)
    if s in values(STRUCTURES):
        return s
    m = _TOEP_K.match(s)
    if m and int(m.group(1)) >= 1:
        return f"TOEP({int(m.group(1))})"
    return None


def toep_lags(structure: str) -> int | None:
    """k of a banded ``TOEP(k)``, None for any other structure."""
    m = _TOEP_K.match(structure)
    return int(m.group(1)) if m else None


def nearest(word: str, known) -> str | None:
    """The known word closest to a misspelt one (None when nothing is close)."""
    known = list(known)
    lower = {k.lower(): k for k in known}
    hit = difflib.get_close_matches(str(word).lower(), list(lower), n=1, cutoff=0.6)
    return lower[hit[0]] if hit else None
