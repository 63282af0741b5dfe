"""Turn a typed result into the tables the window and the reports show.

Tables are built from the :class:`~mixgui.results.result.FitResult` whose :meth:`to_dict` is the
results file, so what the window shows is exactly what ``mixgui fit --json`` writes.
"""
from __future__ import annotations

from mixgui.results import render_extra as extra
from mixgui.results.render_extra import kr_footnote
from mixgui.results.result import FitResult, Glance
from mixgui.results.tables import Column, Table

DF_LABEL = {"satterthwaite": "Satterthwaite", "kenward-roger": "Kenward-Roger", "residual": "residual",
            "between-within": "between-within (SAS DDFM=BW)",
            "none": "z (no small-sample df)"}


def _model_info(r: FitResult) -> Table:
    i = r.info
    rows = [{"what": "Formula", "value": i.get("formula", "")}]
    if i.model == "lm":
        g = r.glance or Glance(*[None] * 12)
        rows += [{"what": "Model", "value": "Linear regression (ordinary least squares)"},
                 {"what": "Observations", "value": str(i.nobs)},
                 {"what": "R² / adjusted R²", "value": f"{_n(g.r_squared)} / {_n(g.adj_r_squared)}"},
                 {"what": "Residual SD (σ)", "value": _n(g.sigma)},
                 {"what": "F test of the model", "value": f"F({g.df}, {g.df_residual}) = "
                                                         f"{_n(g.statistic)}, p {_p(g.p_value)}"},
                 {"what": "Log-likelihood / AIC / BIC", "value": f"{_n(g.loglik)} / {_n(g.aic)} / {_n(g.bic)}"}]
    else:
        kind = "Linear mixed model" if i.model == "lmm" else "Linear model with correlated residuals (GLS)"
        if i.model == "glmm":
            nagq = i.get("nagq") or 1
            how = "Laplace" if nagq == 1 else f"adaptive quadrature, {nagq} points"
            kind = f"Generalized linear mixed model: {i.get('family')}, {i.get('link')} link; {how}"
        groups = ", ".join(f"{v} {k}" for k, v in (i.get("n_groups") or {}).items())
        rows += [{"what": "Model", "value": f"{kind} ({i.method})"},
                 {"what": "Observations", "value": f"{i.nobs}" + (f"; groups: {groups}" if groups else "")},
                 {"what": "Degrees of freedom", "value": DF_LABEL.get(i.df_method, str(i.df_method))},
                 {"what": "Log-likelihood" + (" (REML)" if i.method == "REML" else ""), "value": _n(i.get("loglik"))},
                 {"what": "AIC / BIC", "value": f"{_n(i.get('aic'))} / {_n(i.get('bic'))}"},
                 {"what": "Converged", "value": "yes" if i.get("converged") else "NO"}]
        if i.get("singular"):
            rows.append({"what": "Singular fit", "value": "yes (a variance is zero or a correlation ±1)"})
    if i.get("fit_seconds") is not None:
        rows.append({"what": "Fit time", "value": f"{i.fit_seconds:.3g} s"})
    return Table("model", "Model", [Column("what", "", "text"), Column("value", "", "text")], rows)


def _n(v):
    from mixgui.results.tables import format_number
    return format_number(v)


def _p(v):
    from mixgui.results.tables import format_p
    s = format_p(v)
    return s if s.startswith("<") else "= " + s


#: what exp() of a coefficient is, by link
RATIO_WORDS = {"logit": "Odds ratio", "log": "Rate ratio"}
#: the scale of a generalized model's coefficients, by link
LINK_SCALE = {"logit": "log-odds", "probit": "probit", "cloglog": "complementary log-log", "log": "log rate"}


def _fixed(r: FitResult) -> Table:
    i = r.info
    rows = [dict(f.raw(), ci=(f.ci_lower, f.ci_upper), exp_ci=(f.get("exp_lower"), f.get("exp_upper")))
            for f in r.fixed_effects]
    stat = "z" if i.df_method == "none" else "t"
    cols = [Column("term", "Term", "text"), Column("estimate", "Estimate"), Column("std_error", "SE")]
    if i.df_method != "none":
        cols.append(Column("df", "df", "df"))
    cols += [Column("z_value" if i.model == "glmm" else "t_value", stat), Column("p_value", "p", "p"),
             Column("ci", "95% CI", "ci")]
    notes = []
    ratio = RATIO_WORDS.get(i.get("link")) if i.model == "glmm" else None
    if ratio and any(f.get("exp_estimate") is not None for f in r.fixed_effects):
        cols += [Column("exp_estimate", ratio), Column("exp_ci", f"95% CI ({ratio.lower()})", "ci")]
        notes.append(f"Estimates are on the link scale ({LINK_SCALE[i.link]}); the {ratio.lower()} is exp(estimate), "
                     "its interval the exponentiated Wald interval.")
    elif i.model == "glmm":
        notes.append(f"Estimates are on the link scale ({LINK_SCALE.get(i.get('link'), i.get('link'))}).")
    if i.model != "lm":
        notes.append(f"df and p-values: {DF_LABEL.get(i.df_method, i.df_method)}.")
        kr = kr_footnote(i)
        if kr:
            notes.append(kr)
    return Table("fixed_effects", "Fixed effects", cols, rows, notes)


def _variances(r: FitResult) -> Table:
    rows = []
    for v in r.variance_components or []:
        ci = (v.get("sdcor_lower"), v.get("sdcor_upper"))
        if v.var2 is None:
            rows.append({"group": v.group, "term": v.var1 or "", "variance": v.vcov, "sd": v.sdcor,
                         "corr": None, "ci": ci})
        else:
            rows.append({"group": v.group, "term": f"{v.var1} ~ {v.var2}", "variance": v.vcov,
                         "sd": None, "corr": v.sdcor, "ci": ci})
    cols = [Column("group", "Group", "text"), Column("term", "Term", "text"), Column("variance", "Variance"),
            Column("sd", "SD"), Column("corr", "Correlation")]
    notes = []
    if any(v.get("sdcor_lower") is not None for v in r.variance_components or []):
        cols.append(Column("ci", "95% CI (SD or corr.)", "ci"))
        notes.append("Intervals: Wald on the log-SD and Fisher-z scales; R's profile intervals "
                     "(confint) can differ for components near zero, which get no interval here.")
    r2 = r.r_squared
    if r2 is not None and r2.get("r2_marginal") is not None:
        notes.append(f"R² marginal {_n(r2.r2_marginal)}, conditional {_n(r2.get('r2_conditional'))}; "
                     f"ICC (adjusted) {_n(r2.get('icc_adjusted'))} (Nakagawa & Schielzeth).")
    return Table("variance_components", "Random effects", cols, rows, notes)


def _anova(r: FitResult) -> Table | None:
    if r.info.model == "lm":
        rows = [a.raw() for a in r.anova_type1 or []]
        cols = [Column("term", "Term", "text"), Column("df", "df", "df"), Column("sum_sq", "Sum Sq"),
                Column("mean_sq", "Mean Sq"), Column("f", "F"), Column("p", "p", "p")]
        return Table("anova", "Analysis of variance (type I, sequential)", cols, rows)
    rows = [a.raw() for a in r.anova or []]
    if not rows:
        return None
    cols = [Column("term", "Term", "text"), Column("num_df", "num df", "df"), Column("den_df", "den df", "df"),
            Column("f_value", "F"), Column("p_value", "p", "p")]
    return Table("anova", f"Type III tests ({DF_LABEL.get(r.info.df_method, r.info.df_method)})", cols, rows)


def _lm_anovas(r: FitResult) -> list:
    if r.info.model != "lm":
        return _mixed_anovas(r)
    cols = [Column("term", "Term", "text"), Column("df", "df", "df"), Column("sum_sq", "Sum Sq"),
            Column("mean_sq", "Mean Sq"), Column("f", "F"), Column("p", "p", "p")]
    out = []
    if r.anova_type2:
        out.append(Table("anova_type2", "Analysis of variance (type II)", cols, [a.raw() for a in r.anova_type2],
                         ["Each term after all terms that do not contain it (as car::Anova type 2)."]))
    if r.anova_type3:
        out.append(Table("anova_type3", "Analysis of variance (type III)", cols, [a.raw() for a in r.anova_type3],
                         ["Each term after all others, SAS/SPSS hypotheses (as car::Anova type 3 with "
                          "sum-to-zero contrasts); the sequential table above depends on term order, this one does not."]))
    return out


def _mixed_anovas(r: FitResult) -> list:
    """Type I and II tables of a mixed model (rows as ``anova``), with what each tests."""
    cols = [Column("term", "Term", "text"), Column("num_df", "num df", "df"), Column("den_df", "den df", "df"),
            Column("f_value", "F"), Column("p_value", "p", "p")]
    metric = "X'V^-1X, as nlme and SAS" if r.repeated is not None else "X'X, as lmerTest"
    notes = {1: f"Each term after the terms before it in the formula (hypotheses from {metric}).",
             2: f"Each term after all terms that do not contain it (hypotheses from {metric})."}
    out = []
    for k in (1, 2):
        rows = getattr(r, f"anova_type{k}")
        if rows:
            out.append(Table(f"anova_type{k}", f"Type {'I' * k} tests", cols, [row.raw() for row in rows],
                             [notes[k]]))
    return out


def _diagnostics(r: FitResult) -> Table | None:
    g = r.diagnostics
    if g is None:
        return None
    verdicts = r.diagnostic_notes or {}
    rows = [{"test": "Durbin-Watson (independence)", "stat": g.durbin_watson, "p": None,
             "verdict": verdicts.get("durbin_watson", "")},
            {"test": "Breusch-Pagan (constant variance)", "stat": g.breusch_pagan, "p": g.breusch_pagan_p,
             "verdict": verdicts.get("breusch_pagan", "")},
            {"test": "Shapiro-Wilk (normal residuals)", "stat": g.shapiro_wilk, "p": g.shapiro_wilk_p,
             "verdict": verdicts.get("shapiro_wilk", "")}]
    return Table("diagnostics", "Assumption checks", [Column("test", "Check", "text"), Column("stat", "Statistic"),
                                                       Column("p", "p", "p"), Column("verdict", "What it says", "text")],
                 rows, ["Each check is a test with its own power: read it together with the residual plots below."])


def _fixed_tests(r: FitResult) -> Table | None:
    tests = r.fixed_effect_tests
    if not tests:
        return None
    cols = [Column("term", "Removed", "text"), Column("df", "df", "df"), Column("chisq", "LR χ²"),
            Column("p_value", "p", "p"), Column("aic", "AIC without it")]
    notes = ["The model refitted without each term (maximum likelihood, as R's drop1(m, test = \"Chisq\")); "
             "χ² = 2 × the drop in log-likelihood on the term's df. A term inside a higher-order term "
             "(a main effect in an interaction) is not tested alone."]
    return Table("fixed_effect_tests", "Likelihood-ratio tests of fixed terms", cols, [t.raw() for t in tests], notes)


def _re_tests(r: FitResult) -> Table | None:
    tests = r.random_effect_tests
    if not tests:
        return None
    rows = [t.raw() for t in tests]
    cols = [Column("term", "Removed", "text"), Column("statistic", "LR χ²"), Column("df", "df", "df"),
            Column("p_value", "p (boundary)", "p"), Column("p_value_naive", "p (naive χ²)", "p")]
    notes = ["ML fits with and without the term; p (boundary) uses the 50:50 mixture of χ²(k−1) and χ²(k), "
             "because a variance cannot be below zero; the naive χ² p-value is conservative."]
    boot = next((t for t in tests if t.get("bootstrap_replicates")), None)
    if boot is not None:
        cols.append(Column("p_value_bootstrap", "p (bootstrap)", "p"))
        n = boot.bootstrap_replicates
        notes.append(f"bootstrap p from {n} parametric-bootstrap replicates (responses simulated from the model "
                     f"without the term, both models refitted; seed {boot.get('bootstrap_seed')}): the share of "
                     f"replicates whose χ² is at least the observed one, counted as (1 + count) / (1 + {n}), so it "
                     f"cannot be below {1 / (1 + n):.2g}.")
    return Table("random_effect_tests", "Likelihood-ratio tests of random effects", cols, rows, notes)


def _repeated(r: FitResult) -> list:
    rep = r.repeated
    if rep is None:
        return []
    params = [{"name": k, "value": v} for k, v in (rep.parameters or {}).items()]
    t1 = Table("repeated", f"Residual covariance: {rep.structure}",
               [Column("name", "Parameter", "text"), Column("value", "Estimate")], params)
    corr = rep.correlation or []
    labels = rep.positions or [str(i + 1) for i in range(len(corr))]
    rows = [{"pos": lab, **{f"c{j}": v for j, v in enumerate(row)}} for lab, row in zip(labels, corr)]
    t2 = Table("repeated_correlation", f"Implied correlations over {rep.index}",
               [Column("pos", "", "text")] + [Column(f"c{j}", lab) for j, lab in enumerate(labels)], rows)
    return [t1, t2]


def _emmeans(r: FitResult) -> list:
    out = []
    for i, block in enumerate(r.section("emmeans") or []):
        specs = block.get("specs")
        name = specs if isinstance(specs, str) else " × ".join(specs or [])
        by = block.get("by")
        by = [by] if isinstance(by, str) else list(by or [])
        title = f"Estimated marginal means: {name}" + (f" at each level of {' × '.join(by)}" if by else "")
        means = block.get("emmeans", [])
        if by and all(isinstance(m.get("levels"), dict) for m in means):
            # "Sex at each level of agef": one column per factor, the "by" factor first, as emmeans prints
            shown = [*by, *(v for v in means[0]["levels"] if v not in by)] if means else by
            level_cols = [Column(f"level_{v}", v, "text") for v in shown]
            rows = [dict(m, ci=(m.get("lower"), m.get("upper")),
                         **{f"level_{v}": m["levels"].get(v) for v in shown}) for m in means]
        else:
            level_cols = [Column("level", name, "text")]
            rows = [dict(m, ci=(m.get("lower"), m.get("upper"))) for m in means]
        z = block.get("df_method") == "none"  # generalized models: z tests, no df
        mean_col = Column("emmean", "Mean")
        if block.get("type") == "response":
            mean_col = Column("response", "Probability" if r.info.get("family") == "binomial" else "Rate")
        cols = level_cols + [mean_col, Column("std_error", "SE")]
        cols += [] if z else [Column("df", "df", "df")]
        cols.append(Column("ci", "95% CI", "ci"))
        out.append(Table(f"emmeans_{i}", title, cols, rows,
                         [f"Means on the link scale ({LINK_SCALE.get(r.info.get('link'), '')})."]
                         if r.info.model == "glmm" and block.get("type") != "response" else []))
        for k, c in enumerate(block.get("contrasts") or []):
            by_col = [Column("by_text", "At", "text")] if block.get("by") else []
            est = Column("ratio", c["scale"].capitalize()) if c.get("scale") else Column("estimate", "Estimate")
            ccols = by_col + [Column("contrast", "Contrast", "text"), est,
                              Column("std_error", "SE")] + ([] if z else [Column("df", "df", "df")]) + [
                              Column("ci", "95% CI", "ci"), Column("t_value", "z" if z else "t"),  # z: the t of df = Inf
                              Column("p_value", "p", "p")]
            notes = [f"p-values adjusted: {c.get('adjust')}"
                     + (f" (family of {c['family_size']})" if c.get("family_size") else "") + "."]
            if c.get("ci_message"):
                notes.append(c["ci_message"] + ".")
            if c.get("note"):
                notes.append(c["note"])
            crows = [dict(r, ci=(r.get("lower"), r.get("upper")),
                          by_text=", ".join(f"{v} {x}" for v, x in (r.get("by") or {}).items()))
                     for r in c.get("rows") or []]
            out.append(Table(f"contrasts_{i}_{k}", f"Contrasts ({c.get('method')}): {name}"
                             + (f" at each level of {' × '.join(by)}" if by else ""), ccols, crows, notes))
    return out


def render_tables(r: FitResult) -> list:
    """All tables for one result, in reading order, each with the warnings that concern it.

    Optional blocks come right after the table they belong to: f² after the fixed effects, the
    variance shares and the pooling comparison after the random effects, the structure
    comparison after the residual covariance.
    """
    d = {key: s.data for key, s in r.sections.items()}  # the free-form sections the extra tables read
    tables = [_model_info(r), _fixed(r), *extra.f2_tables(d)]
    if r.variance_components:
        tables.append(_variances(r))
    tables += extra.variance_tables(d) + extra.pooling_tables(d)
    tables += _repeated(r) + extra.structure_tables(d, r.info.method)
    for t in (_anova(r), *_lm_anovas(r), _fixed_tests(r), _re_tests(r), _diagnostics(r)):
        if t is not None:
            tables.append(t)
    tables += _emmeans(r)
    by_key = {t.key: t for t in tables}
    for w in r.warnings:
        key = w.table if w.table in by_key else ("emmeans_0" if w.table.startswith("emmeans") and "emmeans_0" in by_key
                                                  else "model")
        by_key[key].warnings.append(w.message)
    return tables


def result_html(d: dict, tables: list) -> str:
    """The whole result as one HTML fragment (results panel, HTML report)."""
    return "\n".join(t.to_html() for t in tables)
