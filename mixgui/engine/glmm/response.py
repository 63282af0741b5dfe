"""Marginal means of a GLMM on the response scale: tables and the curves over time per arm.

Both follow R's ``emmeans(m, ..., type = "response")`` for a ``glmer`` fit: the means are
population-level (random effects at 0), computed on the link scale over emmeans' reference grid
(factors averaged with equal weights, covariates at their means, numeric predictors with two values
kept at both and averaged, emmeans' ``cov.keep = "2"``; an ``offset()`` at the offset of the
covariate's mean), with z intervals (``df = Inf``), then back-transformed: the mean g^-1(eta), its
standard error by the delta method |d mu / d eta| SE(eta), the limits g^-1 of the link-scale limits
(so they stay inside (0, 1) or above 0). Contrasts of log / logit means become rate / odds ratios
with limits adjusted as the p-values are (Tukey's studentized range for pairwise comparisons, as
``confint(pairs(emm, adjust = "tukey"))``).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

from mixgui.engine.emmeans.means import emmeans
from mixgui.engine.emmeans.trajectories import N_POINTS, population_trajectory
from mixgui.engine.glmm.families import Family

__all__ = ["two_valued_at", "offset_at", "link_emmeans", "response_emmeans", "response_scale",
           "response_trajectory"]

SCALE_WORDS = {"logit": "probability", "probit": "probability", "cloglog": "probability", "log": "rate"}


def _z_df(L_row) -> float:
    return float("inf")


def two_valued_at(design, skip=()) -> dict:
    """Numeric predictors with exactly two values (0/1 indicators) kept at both (emmeans' ``cov.keep = "2"``)."""
    at = {}
    for v in design.numeric_means:
        if v in skip:
            continue
        vals = np.unique(design.frame[v].to_numpy(float))
        if len(vals) == 2:
            at[v] = [float(x) for x in vals]
    return at


def offset_at(design, at: dict | None = None) -> float:
    """The offset at the reference grid: each ``offset(x)`` / ``offset(log(x))`` of x's mean over the
    rows used (or of ``at[x]`` when given as one number), as emmeans evaluates offsets; 0 without one."""
    total = 0.0
    at = at or {}
    for fn, v in getattr(design.formula, "offsets", ()):
        val = at.get(v)
        if val is None or np.ndim(val) != 0:
            val = float(np.mean(design.frame[v].to_numpy(float)))
        total += float(np.log(val)) if fn == "log" else float(val)
    return total


def _shift(block: dict, off: float) -> dict:
    """Add the grid's offset to the link-scale means (contrasts cancel it)."""
    if off == 0.0:
        return block
    for r in block["emmeans"]:
        for k in ("emmean", "lower", "upper"):
            if r.get(k) is not None:
                r[k] = r[k] + off
    return block


def link_emmeans(design, fit, request, level: float = 0.95, at: dict | None = None) -> dict:
    """emmeans' table of a fitted GLMM on the link scale (log-odds, log rate): z tests (``df = Inf``),
    the offset of the reference grid added to the means, as ``emmeans(m, ...)`` gives them.

    Parameters and the returned block as :func:`response_emmeans`, with ``type: "link"``: mean rows
    with ``emmean`` and contrast rows with ``estimate`` on the link scale.
    """
    grid_at = {**two_valued_at(design, skip=tuple(request.specs) + tuple(request.by)), **(at or {})}
    out = emmeans(design, fit.beta, fit.vcov, _z_df, request, level=level, at=grid_at)
    out["df_method"] = "none"
    out["type"] = "link"
    return _shift(out, offset_at(design, grid_at))


def response_emmeans(design, fit, request, level: float = 0.95, at: dict | None = None) -> dict:
    """emmeans' ``type = "response"`` table of a fitted GLMM: means, and ratios for contrasts.

    Parameters
    ----------
    design : Design
        The design ``fit`` was fitted on.
    fit : GlmmFit
    request : EmmeansRequest
        Means over ``specs`` (within ``by``) and the contrasts with their p-value adjustments.
    level : float
        Confidence level of the means' and the contrasts' limits.
    at : dict, optional
        Covariate values, as :func:`mixgui.engine.emmeans.means.reference_grid`.

    Returns
    -------
    dict
        The block of :func:`mixgui.engine.emmeans.means.emmeans` with ``type: "response"``: mean rows
        with ``response``, ``std_error``, ``lower``, ``upper`` (and ``emmean_link``,
        ``std_error_link``); contrast rows with ``ratio`` (odds or rate ratio), ``std_error``,
        ``p_value``, ``lower``, ``upper`` adjusted as the p-values (``log_ratio``, ``std_error_link``);
        ``warnings`` (FitWarning list) as emmeans gives them.
    """
    out = link_emmeans(design, fit, request, level, at)
    warnings = out.pop("warnings", [])
    res = response_scale(out, fit.family, fit.link, level)
    res["warnings"] = warnings
    return res


def response_trajectory(design, fit, x: str, group: str | None = None, over_values=None, level: float = 0.95,
                        at: dict | None = None, n_points: int = N_POINTS) -> dict:
    """Predicted probability (or rate) along ``x`` (e.g. time), one line per level of ``group`` (e.g. arm).

    The population-level curve (random effects at 0) with pointwise ``level`` bands: z limits on the
    link scale transformed back, as ``emmeans(m, ~ group | x, at = list(x = values), type = "response")``.

    Parameters
    ----------
    design : Design
        The design ``fit`` was fitted on.
    fit : GlmmFit
    x : str
        A covariate (the curve is drawn at ``over_values``, default ``n_points`` evenly spaced over
        its observed range) or a factor (its levels) of the fixed part.
    group : str, optional
        A factor of the fixed part: one line per level.
    over_values : sequence, optional
    level : float
    at : dict, optional
        Other covariates held at given values (default: their means; two-valued ones averaged over both).
    n_points : int

    Returns
    -------
    dict
        As :func:`mixgui.engine.emmeans.trajectories.population_trajectory` (``x_values``,
        ``x_labels``, ``lines`` ...) with ``scale`` (``"probability"`` or ``"rate"``), ``family``,
        ``link``, and in each line ``fit``, ``se``, ``lower``, ``upper`` on the response scale (ndarrays,
        NaN where not estimable) and ``fit_link``, ``se_link``, ``lower_link``, ``upper_link``.
    """
    skip = (x,) + ((group,) if group else ())
    grid_at = {**two_valued_at(design, skip=skip), **(at or {})}
    traj = population_trajectory(design, fit.beta, fit.vcov, _z_df, x, over_values, group, level, grid_at, n_points)
    fam = Family(fit.family, fit.link)
    off = offset_at(design, grid_at)
    for line in traj["lines"]:
        eta = np.asarray(line["fit"], float) + off
        se = np.asarray(line["se"], float)
        lo, hi = np.asarray(line["lower"], float) + off, np.asarray(line["upper"], float) + off
        line.update(fit_link=eta, se_link=se, lower_link=lo, upper_link=hi,
                    fit=fam.linkinv(eta), se=se * fam.mu_eta(eta), lower=fam.linkinv(lo), upper=fam.linkinv(hi))
        for k in ("fit", "se", "lower", "upper"):  # linkinv clips: keep "not estimable" visible
            line[k] = np.where(np.isfinite(eta), line[k], np.nan)
    traj.update(scale=SCALE_WORDS[fit.link], family=fit.family, link=fit.link)
    return traj


def response_scale(block: dict, family: str, link: str, level: float = 0.95) -> dict:
    """An emmeans block on the link scale -> ``type: "response"`` (means and ratios).

    Means: ``response = g^-1(emmean)``, SE by the delta method, limits back-transformed (emmeans).
    Contrasts of log / logit means are ratios ``exp(estimate)`` (rate or odds ratios) with SE
    ``ratio * SE`` and limits ``exp(limits)``; the test is the link-scale z test (unchanged p).
    """
    fam = Family(family, link)
    z = stats.norm.ppf(0.5 + level / 2)
    out = dict(block, type="response")
    rows = []
    for r in block.get("emmeans", []):
        r = dict(r)
        e, se = r.get("emmean"), r.get("std_error")
        if e is not None and se is not None:
            lo, hi = r.get("lower"), r.get("upper")
            if lo is None or hi is None or not np.isfinite(r.get("df") or np.inf):
                lo, hi = e - z * se, e + z * se
            r.update(response=float(fam.linkinv(np.array([e]))[0]),
                     std_error=float(se * fam.mu_eta(np.array([e]))[0]),
                     lower=float(fam.linkinv(np.array([lo]))[0]), upper=float(fam.linkinv(np.array([hi]))[0]),
                     emmean_link=e, std_error_link=se)
            r.pop("emmean", None)
        rows.append(r)
    out["emmeans"] = rows
    cons = []
    for c in block.get("contrasts", []):
        c = dict(c)
        if link in ("log", "logit"):
            crow = []
            for r in c.get("rows", []):
                r = dict(r)
                e, se = r.get("estimate"), r.get("std_error")
                if e is not None and se is not None:
                    # limits adjusted as the p-values are come with the rows (emmeans' confint); without
                    # them only unadjusted z limits are right, and only when no adjustment was asked
                    lo, hi = r.get("lower"), r.get("upper")
                    if lo is None and c.get("adjust_used", c.get("adjust")) == "none":
                        lo, hi = e - z * se, e + z * se
                    r["contrast"] = str(r.get("contrast", "")).replace(" - ", " / ")
                    r.update(ratio=math.exp(e), std_error=math.exp(e) * se,
                             lower=None if lo is None else math.exp(lo), upper=None if hi is None else math.exp(hi),
                             log_ratio=e, std_error_link=se)
                crow.append(r)
            c["rows"] = crow
            c["scale"] = "odds ratio" if link == "logit" else "rate ratio"
        cons.append(c)
    out["contrasts"] = cons
    return out
