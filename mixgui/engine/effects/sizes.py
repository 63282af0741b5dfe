"""Effect sizes of a linear mixed model: R2, ICC, variance proportions, f2, variance explained.

Variance decomposition as ``performance::r2_nakagawa`` / ``performance::icc`` (through
``insight::get_variance``) compute it for a Gaussian model:

- fixed:    var(X beta), with the n - 1 denominator (R's ``var``);
- random:   per block, the mean over rows of z_i' Sigma z_i (Johnson 2014's extension of
            Nakagawa & Schielzeth 2013 to random slopes), z_i the block's columns; as insight
            does, a random slope whose column is not also a fixed-effect column is left out,
            a block with one level per observation is not counted, and only the first block of
            a grouping factor counts (so ``(x || g)`` contributes its intercept variance only;
            ``all_blocks=True`` counts them all);
- residual: sigma^2.

``R2_marginal = fixed / total``, ``R2_conditional = (fixed + random) / total``,
``ICC_adjusted = random / (random + residual)``, ``ICC_unadjusted = random / total``. When a
relative standard deviation (the diagonal of lme4's Cholesky factor theta) is below 1e-5 the fit
is singular and, as performance does, the random variance is not used: the conditional R2 and the
ICCs are NaN and the marginal R2 is ``fixed / (fixed + residual)``.

Inputs are plain arrays and the fitted model's attributes, so the functions work for any fitter.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from mixgui.engine.design import rebuild_design

SINGULAR_TOL = 1e-5  # insight's .is_singular tolerance on theta's diagonal


def _rel_chol_diag(G, sigma2) -> np.ndarray:
    """Diagonal of the lower Cholesky factor of G / sigma^2 (lme4's theta diagonal), PSD-safe."""
    A = np.asarray(G, float) / sigma2
    q = A.shape[0]
    Lc = np.zeros((q, q))
    for j in range(q):
        d = A[j, j] - Lc[j, :j] @ Lc[j, :j]
        Lc[j, j] = np.sqrt(d) if d > 0 else 0.0
        for i in range(j + 1, q):
            Lc[i, j] = (A[i, j] - Lc[i, :j] @ Lc[j, :j]) / Lc[j, j] if Lc[j, j] > 0 else 0.0
    return np.diag(Lc)


def variance_components(X, beta, blocks, varcorr, sigma, column_names=None, all_blocks=False) -> dict:
    """Fixed, random (per block) and residual variances of the Nakagawa-Johnson decomposition.

    Parameters
    ----------
    X : ndarray (n, p)
    beta : ndarray (p,)
    blocks : list of RandomBlock
    varcorr : list of ndarray (q, q)
        Covariance of each block's random effects (data units).
    sigma : float
        Residual standard deviation.
    column_names : list of str, optional
        Names of X's columns; random slopes not among them are left out (insight's rule).
    all_blocks : bool
        insight counts one block per grouping factor, the first (it looks the covariance matrices
        up by the names of ``ranef``, which merges the blocks of one factor), so the slope blocks of
        ``(x || g)`` are left out of the random variance. False (default) reproduces
        performance's numbers; True counts every block, as Johnson (2014) intends.

    Returns
    -------
    dict
        ``var_fixed, var_random, var_residual, singular``; ``blocks``: a list of
        ``{group, names, variance}`` (each block's contribution to ``var_random``); ``intercepts``:
        group -> random intercept variance (insight's ``var.intercept``).
    """
    X = np.asarray(X, float)
    n = X.shape[0]
    fitted = X @ np.asarray(beta, float)
    var_fixed = float(np.var(fitted, ddof=1)) if n > 1 else 0.0
    sigma2 = float(sigma) ** 2
    known = set(column_names or []) | {"(Intercept)"}
    parts, singular, seen = [], False, set()
    for b, G in zip(blocks, varcorr):
        G = np.asarray(G, float)
        if sigma2 > 0 and np.any(np.abs(_rel_chol_diag(G, sigma2)) < SINGULAR_TOL):
            singular = True
        if b.n_levels == n:
            continue  # an observation-level effect is residual variation (insight's obs.terms)
        if b.group in seen and not all_blocks:
            continue
        seen.add(b.group)
        keep = [j for j, nm in enumerate(b.names) if column_names is None or nm in known]
        Z = np.asarray(b.Z, float)[:, keep]
        S = G[np.ix_(keep, keep)]
        v = float(np.mean(np.sum((Z @ S) * Z, axis=1))) if keep else 0.0
        parts.append({"group": b.group, "names": [b.names[j] for j in keep], "variance": v})
    intercepts = {b.group: float(np.asarray(G)[0, 0]) for b, G in zip(blocks, varcorr)
                  if b.names and b.names[0] == "(Intercept)"}
    return {"var_fixed": var_fixed, "var_random": float(sum(p["variance"] for p in parts)),
            "var_residual": sigma2, "singular": singular, "blocks": parts, "intercepts": intercepts}


def r2_nakagawa(components: dict) -> dict:
    """Marginal and conditional R2 from :func:`variance_components`.

    Returns
    -------
    dict
        ``r2_marginal, r2_conditional`` (conditional NaN for a singular fit).
    """
    f, r, e = components["var_fixed"], components["var_random"], components["var_residual"]
    if components["singular"]:
        return {"r2_marginal": f / (f + e), "r2_conditional": float("nan")}
    total = f + r + e
    return {"r2_marginal": f / total, "r2_conditional": (f + r) / total}


def icc(components: dict) -> dict:
    """Adjusted and unadjusted ICC (``performance::icc``), NaN for a singular fit.

    Returns
    -------
    dict
        ``icc_adjusted, icc_unadjusted``.
    """
    f, r, e = components["var_fixed"], components["var_random"], components["var_residual"]
    if components["singular"]:
        return {"icc_adjusted": float("nan"), "icc_unadjusted": float("nan")}
    return {"icc_adjusted": r / (r + e), "icc_unadjusted": r / (f + r + e)}


def r2_icc(design, fit) -> dict:
    """The results file's ``r2_marginal, r2_conditional, icc_adjusted`` (and ``icc_unadjusted``).

    Parameters
    ----------
    design : Design
        For ``X``, ``blocks`` and ``column_names``.
    fit : fitted model with ``beta``, ``varcorr`` (per block, ``design.blocks`` order) and ``sigma``.
    """
    c = variance_components(design.X, fit.beta, design.blocks, fit.varcorr, fit.sigma, design.column_names)
    return {**r2_nakagawa(c), **icc(c)}


def variance_proportions(components: dict) -> list:
    """Share of the total variance of each part: fixed effects, each random block, residual.

    Returns
    -------
    list of dict
        ``component`` ("fixed", "random", "residual"), ``group`` (None, the grouping factor,
        "Residual"), ``variance``, ``proportion`` (of fixed + random + residual).
    """
    rows = [{"component": "fixed", "group": None, "variance": components["var_fixed"]}]
    rows += [{"component": "random", "group": b["group"], "variance": b["variance"]} for b in components["blocks"]]
    rows.append({"component": "residual", "group": "Residual", "variance": components["var_residual"]})
    total = sum(r["variance"] for r in rows)
    for r in rows:
        r["proportion"] = r["variance"] / total if total > 0 else float("nan")
    return rows


def cohens_f2(r2_full: float, r2_reduced: float) -> float:
    """Cohen's local f2 = (R2_full - R2_reduced) / (1 - R2_full) (Selya et al. 2012).

    MixGUI uses the marginal R2 of Nakagawa & Schielzeth for both models, so f2 is the fixed
    term's share of variance over what the full model leaves unexplained by its fixed part; each
    model's own variance estimates enter its R2.
    """
    return (r2_full - r2_reduced) / (1 - r2_full)


def f2_table(design, fit, fit_fn) -> list:
    """Local f2 of each fixed term: the model refitted without the term, same random part.

    Parameters
    ----------
    design : Design
    fit : fitted model (``beta``, ``sigma``, ``varcorr``, ``reml``)
    fit_fn : callable (Design, reml) -> fitted model
        The fitter (taken as a parameter so this module does not import it).

    Returns
    -------
    list of dict
        ``term, r2_full, r2_reduced, f2``.
    """
    full = r2_nakagawa(variance_components(design.X, fit.beta, design.blocks, fit.varcorr, fit.sigma,
                                           design.column_names))["r2_marginal"]
    rows = []
    for i, term in enumerate(design.terms):
        terms = tuple(t for j, t in enumerate(design.formula.terms) if j != i)
        red_design = rebuild_design(design, replace(design.formula, terms=terms))
        red = fit_fn(red_design, getattr(fit, "reml", True))
        r2r = r2_nakagawa(variance_components(red_design.X, red.beta, red_design.blocks, red.varcorr,
                                              red.sigma, red_design.column_names))["r2_marginal"]
        rows.append({"term": term, "r2_full": full, "r2_reduced": r2r, "f2": cohens_f2(full, r2r)})
    return rows


def variance_change(full: dict, null: dict) -> list:
    """Proportional reduction of each variance against the intercept-only (null) model.

    ``1 - var_full / var_null`` for the residual and for each random intercept variance (the
    "proportion of variance explained" at each level of multilevel textbooks, e.g. Raudenbush &
    Bryk; ``performance::r2_nakagawa(by_group = TRUE)``). Both arguments are outputs of
    :func:`variance_components`; the null model is ``y ~ 1`` with the same random terms.

    Returns
    -------
    list of dict
        ``level`` ("Level 1" for the residual, else the group), ``variance_null``,
        ``variance_full``, ``proportion_explained``.
    """
    rows = [{"level": "Level 1", "variance_null": null["var_residual"], "variance_full": full["var_residual"]}]
    nulls = null["intercepts"]
    for g, v in full["intercepts"].items():
        if g in nulls:
            rows.append({"level": g, "variance_null": nulls[g], "variance_full": v})
    for r in rows:
        r["proportion_explained"] = 1 - r["variance_full"] / r["variance_null"] if r["variance_null"] > 0 \
            else float("nan")
    return rows


def variance_explained(design, fit, fit_fn) -> list:
    """:func:`variance_change` of a fit against its null model ``y ~ 1`` + the same random terms.

    The null model is fitted with the same method (REML or ML) as ``fit``.
    """
    null_design = rebuild_design(design, replace(design.formula, terms=(), intercept=True))
    null = fit_fn(null_design, getattr(fit, "reml", True))
    full_c = variance_components(design.X, fit.beta, design.blocks, fit.varcorr, fit.sigma, design.column_names)
    null_c = variance_components(null_design.X, null.beta, null_design.blocks, null.varcorr, null.sigma,
                                 null_design.column_names)
    return variance_change(full_c, null_c)
