"""The methods paragraph every report starts with: what was fitted, how, and with which software.

Written as a clinician would put it in a paper, so it can be pasted into a manuscript and
edited; the formula and the software versions make it exact.
"""
from __future__ import annotations

import platform
from importlib import metadata

from mixgui import __version__
from mixgui.analysis.formula import term_label
from mixgui.errors import MixGUIError

STRUCTURE_WORDS = {
    "ID": "independent residuals with one common variance (ID)",
    "DIAG": "independent residuals with a separate variance at each occasion (DIAG)",
    "CS": "compound symmetry (CS: one common correlation between any two occasions)",
    "CSH": "heterogeneous compound symmetry (CSH: one common correlation, a variance per occasion)",
    "AR1": "a first-order autoregressive structure (AR1: correlation rho^k between occasions k positions apart)",
    "ARH1": "a heterogeneous first-order autoregressive structure (ARH1: AR1 with a variance per occasion)",
    "TOEP": "a Toeplitz structure (TOEP: one correlation per distance between occasions)",
    "UN": "an unstructured covariance matrix (UN: every variance and covariance estimated freely)",
}
DF_WORDS = {
    "satterthwaite": "Satterthwaite's approximation",
    "kenward-roger": "the Kenward-Roger approximation (with its adjusted covariance matrix of the fixed effects)",
    "residual": "the residual degrees of freedom (n minus the number of fixed-effect coefficients)",
    "none": "the normal distribution (z tests, no small-sample correction)",
}
ADJUST_WORDS = {"tukey": "Tukey's method", "holm": "Holm's method", "bonferroni": "the Bonferroni correction",
                "sidak": "the Šidák correction", "dunnettx": "emmeans' approximation to Dunnett's method",
                "mvt": "the multivariate t distribution of the contrasts (single-step)",
                "fdr": "the Benjamini-Hochberg false discovery rate", "hommel": "Hommel's method",
                "none": "no adjustment for multiplicity"}
# which library computes each p-value adjustment (mixgui.engine.emmeans.adjust)
ADJUST_LIBRARY = {"holm": "statsmodels", "bonferroni": "statsmodels", "sidak": "statsmodels", "fdr": "statsmodels",
                  "hommel": "statsmodels", "tukey": "mixgui", "dunnettx": "mixgui", "mvt": "scipy"}
CONTRAST_WORDS = {"pairwise": "all pairwise comparisons", "consec": "comparisons of consecutive levels",
                  "trt.vs.ctrl": "comparisons with the control level", "poly": "orthogonal polynomial contrasts",
                  "custom": "a custom contrast"}


def software_versions() -> dict:
    """Versions of MixGUI, Python and the numerical libraries behind the numbers."""
    out = {"MixGUI": __version__, "Python": platform.python_version()}
    for pkg in ("numpy", "scipy", "statsmodels", "pandas"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _adjustments_used(spec, data: dict) -> set:
    """The p-value adjustments actually applied (a single contrast is never adjusted)."""
    blocks = [c for e in (data.get("emmeans") or []) for c in (e.get("contrasts") or [])]
    if blocks:
        return {c.get("adjust_used") or "none" for c in blocks} | {c.get("ci_adjust_used") or "none" for c in blocks}
    return {c.adjust for e in spec.emmeans for c in e.contrasts}


def computing_sentence(spec, data: dict, model: str) -> str:
    """Name exactly the packages that computed this analysis's numbers, with their versions.

    Ordinary regression (coefficients, ANOVA tables, Breusch-Pagan, Durbin-Watson) is statsmodels';
    mixed and repeated-measures models and the studentized range are MixGUI's own; SciPy gives
    distributions, Shapiro-Wilk and the multivariate t; statsmodels adjusts p-values by Holm,
    Bonferroni, Sidak, FDR and Hommel.
    """
    v = software_versions()
    adjust = _adjustments_used(spec, data)
    parts = []
    if model == "lm":
        parts.append(f"the regression, its analysis-of-variance tables and the Breusch-Pagan and Durbin-Watson "
                     f"tests by statsmodels {v['statsmodels']}")
    else:
        parts.append("the model fit, its degrees of freedom and tests by MixGUI's own mixed-model engine (checked "
                     "against R's lme4, lmerTest and pbkrtest)")
    if model != "lm" and any(ADJUST_LIBRARY.get(a) == "statsmodels" for a in adjust):
        parts.append(f"the adjustment of p-values for multiplicity by statsmodels {v['statsmodels']}")
    if adjust & {"tukey", "dunnettx"}:
        parts.append("the studentized range (Tukey) by MixGUI's own quadrature")
    scipy_for = ["the t, F and χ² distributions"]
    if model == "lm":
        scipy_for.append("the Shapiro-Wilk test")
    if "mvt" in adjust:
        scipy_for.append("the multivariate t distribution")
    parts.append(f"{_and(scipy_for)} by SciPy {v['scipy']}")
    parts.append(f"the linear algebra by NumPy {v['numpy']}")
    if model == "lm" and any(ADJUST_LIBRARY.get(a) == "statsmodels" for a in adjust):
        parts.insert(1, "the adjustment of p-values for multiplicity by statsmodels")
    return f"Numbers were computed in MixGUI {v['MixGUI']} (Python {v['Python']}): {_and(parts)}."


def _and(items: list) -> str:
    items = [str(i) for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _fixed_words(formula) -> str:
    words = _and([term_label(t) if len(t) == 1 else f"the {' × '.join(t)} interaction" for t in formula.terms])
    words = words or "an intercept only"
    if not formula.intercept:
        words += " (without an intercept)"
    return words


def _random_words(formula) -> str:
    out = []
    for r in formula.random:
        groups = [":".join(g) for g in r.groups]
        what = []
        if r.intercept:
            what.append("a random intercept")
        if r.terms:
            what.append("random slopes for " + _and([term_label(t) for t in r.terms]))
        corr = ""
        if r.intercept and r.terms:
            corr = " (correlated)" if r.correlated else " (uncorrelated)"
        if len(groups) > 1 and all(r.groups[i] == r.groups[-1][: i + 1] for i in range(len(r.groups))):
            where = f"for {groups[0]} and for {r.groups[-1][-1]} nested within {groups[0]}"
        else:
            where = "for " + _and(groups)
        out.append(f"{_and(what)}{corr} {where}")
    return "; ".join(out)


def methods_paragraph(spec, data: dict | None = None, notes=()) -> str:
    """One paragraph describing the analysis.

    Parameters
    ----------
    spec : AnalysisSpec
    data : dict, optional
        The results contract (numbers of observations and groups, the df method actually used).
    notes : sequence of str
        Extra sentences (e.g. how computed variables were made).
    """
    data = data or {}
    try:
        formula = spec.parsed
    except MixGUIError:
        formula = None
    n = data.get("nobs")
    groups = data.get("n_groups") or {}
    counts = f"{n} observations" if n is not None else "the observations"
    if groups:
        counts += " (" + ", ".join(f"{v} levels of {k}" for k, v in groups.items()) + ")"
    response = formula.response if formula else "the outcome"
    s = []
    model = data.get("model") or ("lm" if formula and not formula.random and spec.repeated is None else "lmm")
    fixed = _fixed_words(formula) if formula else "the terms of the formula"
    if model == "lm":
        s.append(f"{response} was analysed with ordinary least-squares linear regression on {counts}, "
                 f"with {fixed} as predictors.")
        s.append("Coefficients were tested with t tests on the residual degrees of freedom; the analysis of "
                 "variance uses sequential (type I) sums of squares.")
    elif model == "glmm":
        fam = {"binomial": "binomial", "poisson": "Poisson", "negative_binomial": "negative binomial (NB2)"}
        how = ("the Laplace approximation" if spec.nagq == 1 else
               f"adaptive Gauss-Hermite quadrature with {spec.nagq} points")
        tool = "glmmTMB's" if spec.family == "negative_binomial" else "lme4's glmer"
        s.append(f"A generalized linear mixed model ({fam.get(spec.family, spec.family)} family, "
                 f"{spec.link_name} link) was fitted to {response} by maximum likelihood with {how} "
                 f"(as {tool} computes it) on {counts}, with fixed effects for {fixed}.")
        if formula and formula.random:
            s.append(f"Random effects: {_random_words(formula)}.")
        s.append("Fixed effects were tested with Wald z tests using standard errors from the Hessian of the "
                 "likelihood; confidence intervals are Wald intervals"
                 + (", exponentiated to odds or rate ratios." if spec.link_name in ("log", "logit") else "."))
        s.append("Each fixed term not contained in a higher-order term was tested with a likelihood-ratio test "
                 "of the model with and without it (as R's drop1(m, test = \"Chisq\")).")
        if spec.random_effect_tests and formula and formula.random:
            s.append("Each random term was tested with a likelihood-ratio test of fits with and without it (a "
                     "generalized linear model when none is left); p-values use the 50:50 mixture of χ² "
                     "distributions because a variance cannot be negative.")
    else:
        kind = "A linear mixed model" if (formula and formula.random) else "A linear model with correlated residuals"
        how = ("restricted maximum likelihood (REML)" if spec.method == "REML" else "maximum likelihood (ML)")
        s.append(f"{kind} was fitted to {response} by {how} on {counts}, with fixed effects for {fixed}.")
        if formula and formula.random:
            s.append(f"Random effects: {_random_words(formula)}.")
        if spec.repeated is not None:
            rep = spec.repeated
            s.append(f"Residuals of the same {rep.subject} were allowed to correlate over {rep.index} with "
                     f"{STRUCTURE_WORDS.get(rep.structure, rep.structure)}; occasions are the distinct values of "
                     f"{rep.index}, so a missed visit is a gap, not a shift.")
        dfm = data.get("df_method") or spec.df_method
        s.append(f"Degrees of freedom and p-values of the fixed effects and the type III F tests used "
                 f"{DF_WORDS.get(dfm, dfm)}.")
        if spec.random_effect_tests and formula and formula.random:
            s.append("Each random term was tested with a likelihood-ratio test of ML fits with and without it; "
                     "p-values use the 50:50 mixture of χ² distributions because a variance cannot be negative.")
            if spec.bootstrap:
                s.append(f"Parametric-bootstrap p-values of these tests were computed from {spec.bootstrap} "
                         "data sets simulated from the model without the term and refitted.")
        if "effect_sizes" in data:
            s.append("Effect sizes: Cohen's local f² of each fixed term from the marginal R² (Nakagawa & "
                     "Schielzeth) of the model with and without the term, the proportions of fixed, random and "
                     "residual variance, and the change of each variance component against the intercept-only "
                     "model.")
        if "structure_comparison" in data:
            # the comparison is always by ML; the reported model keeps its own method
            s.append("Residual covariance structures were compared by AIC and BIC of maximum-likelihood (ML) fits "
                     "with the same fixed effects to the same observations; the model reported here was fitted by "
                     f"{spec.method} with the {spec.repeated.structure} structure (REML is the usual choice for "
                     "the final model, because its variance estimates are not biased downward).")
        if "pooling_comparison" in data:
            s.append(f"The estimates for each {spec.pooling} were compared between the model with {spec.pooling} "
                     "as a fixed factor (no pooling) and the mixed model (partial pooling).")
    if spec.reference_levels:
        s.append("Categorical predictors used treatment coding with "
                 + _and([f"{lv} as the reference level of {v}" for v, lv in spec.reference_levels.items()])
                 + "; other factors used their first level in sorted order.")
    else:
        s.append("Categorical predictors used treatment coding with the first level (in sorted order) as reference.")
    for req in spec.emmeans:
        what = " × ".join(req.specs) + (f" within each level of {' × '.join(req.by)}" if req.by else "")
        s.append(f"Estimated marginal means were computed for {what}.")
        for c in req.contrasts:
            label = CONTRAST_WORDS.get(c.method, c.method) + (f" ({c.name})" if c.name else "")
            s.append(f"They were compared by {label}, with {ADJUST_WORDS.get(c.adjust, c.adjust)}.")
        if req.contrasts:
            s.append("The 95 % confidence limits of the contrasts were adjusted as their p-values (with Bonferroni's "
                     "limits for Holm, FDR and Hommel p-values, which have no matching intervals), as emmeans' "
                     "confint does.")
    s.extend(notes)
    s.append(computing_sentence(spec, data, model))
    s.append(f"The model formula in lme4 notation was {data.get('formula') or spec.formula}; an equivalent R script "
             "is appended.")
    return " ".join(s)
