"""Tables of the optional results blocks: effect sizes, structure comparison, pooling comparison.

Each function takes the free-form sections by key and returns a (possibly empty) list of tables,
so :func:`mixgui.results.render.render_tables` can place them after the table they explain.
"""
from __future__ import annotations

from mixgui.results.tables import Column, Table

KR_NOTE = {
    "observed": "Kenward-Roger with the observed information (as SAS PROC MIXED DDFM=KR)",
    "expected": "Kenward-Roger with the expected information (as R's pbkrtest)",
}


def kr_footnote(info) -> str | None:
    """The fixed-effects table's note saying which Kenward-Roger was computed (None otherwise).

    ``info``: the result's :class:`~mixgui.results.result.ModelInfo`.
    """
    if info.df_method != "kenward-roger" or info.get("kr_information") not in KR_NOTE:
        return None
    text = KR_NOTE[info.kr_information]
    if info.get("kr_variant") == "linear":
        text += "; KR(LINEAR): the adjusted covariance leaves out the second-derivative term"
    return text + "."

COMPONENT_WORDS = {"fixed": "Fixed effects", "random": "Random effects", "residual": "Residual"}


def _contains(term: str, other: str) -> bool:
    return term != other and set(term.split(":")) < set(other.split(":"))


def f2_tables(d: dict) -> list:
    """Cohen's local f² per fixed term (``effect_sizes.f2``)."""
    rows = (d.get("effect_sizes") or {}).get("f2") or []
    if not rows:
        return []
    cols = [Column("term", "Term", "text"), Column("r2_full", "R² (full model)"),
            Column("r2_reduced", "R² (without the term)"), Column("f2", "f²")]
    notes = ["f² = (R² full − R² without the term) / (1 − R² full), with the marginal R² of Nakagawa & "
             "Schielzeth; the model is refitted without each term, same random part and method. "
             "Rough guide: 0.02 small, 0.15 medium, 0.35 large (Cohen)."]
    terms = [r["term"] for r in rows]
    inside = [t for t in terms if any(_contains(t, o) for o in terms)]
    if inside:
        notes.append(f"{', '.join(inside)}: removing a term that is part of an interaction left in the model only "
                     "re-parametrises it, so its f² is about 0; judge it by the interaction's f².")
    return [Table("effect_sizes_f2", "Effect size of each fixed term (Cohen's f²)", cols, rows, notes)]


def variance_tables(d: dict) -> list:
    """Shares of the variance, and the variance explained against the null model."""
    es = d.get("effect_sizes") or {}
    out = []
    if es.get("variance_proportions"):
        rows = [dict(r, component=COMPONENT_WORDS.get(r["component"], r["component"]),
                     group="" if r.get("group") in (None, "Residual") else r["group"])
                for r in es["variance_proportions"]]
        cols = [Column("component", "Part", "text"), Column("group", "Group", "text"),
                Column("variance", "Variance"), Column("proportion", "Share of total")]
        out.append(Table("effect_sizes_variance_proportions", "Share of the total variance", cols, rows,
                         ["Variance of the fixed-effect predictions, of each random effect (averaged over the "
                          "rows, slopes included) and of the residuals (Nakagawa & Schielzeth, with Johnson's "
                          "extension to random slopes); fixed plus random shares give the conditional R²."]))
    if es.get("variance_change"):
        rows = [dict(r, level="Residual (level 1)" if r["level"] == "Level 1" else r["level"])
                for r in es["variance_change"]]
        cols = [Column("level", "Level", "text"), Column("variance_null", "Variance (null model)"),
                Column("variance_full", "Variance (this model)"), Column("proportion_explained", "Explained")]
        out.append(Table("effect_sizes_variance_change", "Variance explained at each level", cols, rows,
                         ["Null model: intercept only, same random terms and method. Explained = 1 − variance "
                          "(this model) / variance (null model), per level (Raudenbush & Bryk); it can be negative "
                          "when predictors move variance from one level to another."]))
    return out


def pooling_tables(d: dict) -> list:
    """The grouping as a fixed factor (no pooling) beside the random effect (partial pooling)."""
    pc = d.get("pooling_comparison")
    if not pc:
        return []
    g = pc.get("group", "group")
    cols = [Column("group", g, "text"), Column("n", "n", "int"), Column("raw_mean", "Mean of its rows"),
            Column("no_pooling", "No pooling (fixed factor)"), Column("no_pooling_se", "SE"),
            Column("partial_pooling", "Partial pooling (random effect)"),
            Column("complete_pooling", "Complete pooling (grand mean)"),
            Column("pulled", "Share pulled to overall")]
    notes = [pc.get("explanation", "")]
    if pc.get("fixed_formula"):
        notes.append(f"No pooling: least squares of {pc['fixed_formula']}. Partial pooling: the mixed model's "
                     f"intercept plus the {g} BLUP.")
    notes += list(pc.get("notes") or [])
    return [Table("pooling_comparison", f"{g} as a fixed factor and as a random effect", cols,
                  pc.get("rows") or [], [n for n in notes if n])]


def structure_tables(d: dict, model_method: str | None = None) -> list:
    """Every residual covariance structure fitted on the same rows, the best ones marked.

    ``model_method`` (the model's REML or ML) adds a footnote when it is not the comparison's
    method: the row of the model's structure is then a refit, not the model's own numbers.
    """
    sc = d.get("structure_comparison")
    if not sc:
        return []
    rows = []
    for r in sc.get("rows") or []:
        best = [k.upper() for k in ("aic", "bic") if r.get("best_" + k)]
        marks = (["lowest " + " and ".join(best)] if best else []) + ([] if r.get("converged", True)
                                                                        else ["did not converge"])
        # "in the model" marks the model's structure, not the model's numbers: the row is its ML refit
        rows.append(dict(r, structure=r["structure"] + (" (in the model)" if r["structure"] == sc.get(
            "fitted_structure") else ""), best="; ".join(marks)))
    cols = [Column("structure", "Structure", "text"), Column("n_parameters", "Covariance parameters", "int"),
            Column("df", "Parameters (all)", "int"), Column("loglik", "Log-likelihood"), Column("aic", "AIC"),
            Column("bic", "BIC"), Column("best", "Best", "text")]
    method = sc.get("method")
    notes = [sc.get("recommendation", ""), sc.get("note", "")]
    if method:
        notes.append(f"All fits by {method}, same fixed effects and rows.")
    if method and model_method and model_method != method:
        notes.append(f"The model itself is fitted by {model_method}: the row of its structure is that structure "
                     f"refitted by {method} for the comparison, so its log-likelihood, AIC and BIC differ from "
                     f"the model's.")
    skipped = sc.get("skipped") or {}
    if skipped:
        notes.append("Not fitted: " + "; ".join(f"{k} ({v.rstrip('.')})" for k, v in skipped.items()) + ".")
    return [Table("structure_comparison", "Residual covariance structures compared", cols, rows,
                  [n for n in notes if n])]
