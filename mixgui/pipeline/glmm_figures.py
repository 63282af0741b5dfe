"""The figures of a generalized linear mixed model: predicted probability (or rate) over time per arm.

Computed in the worker from the fit (:func:`mixgui.engine.glmm.response_trajectory`, as
``emmeans(m, ~ arm | time, at = list(time = grid), type = "response")``); the window, the reports and
``mixgui fit --plots`` only draw them. The linear model's explanatory pictures (fitted lines on the
outcome's scale, pooling of cluster means, the variance shares with a residual variance, shrinkage
of raw cluster estimates) assume a normal outcome and are not drawn for these models.
"""
from __future__ import annotations

import logging

import numpy as np

from mixgui.engine.glmm import response_trajectory
from mixgui.errors import MixGUIError
from mixgui.results.figures import Figure

log = logging.getLogger(__name__)

#: the link scale of the coefficients and the random effects, in words (caterpillar axis)
LINK_SCALE = {"logit": "log-odds", "probit": "probit", "cloglog": "complementary log-log", "log": "log rate"}
#: observed proportions / means are drawn per distinct time value only when there are at most this many
MAX_OBSERVED_TIMES = 30


def caterpillar_label(link: str) -> str:
    """The caterpillar's value axis for a generalized model: the random effects are on the link scale."""
    return f"Conditional mode (BLUP), link scale ({LINK_SCALE.get(link, link)}), with 95 % interval"


def _observed(design, fit, x: str, group: str | None, labels: list) -> dict | None:
    """Observed proportion (successes over trials) or mean count per arm at each distinct time.

    Left out with an offset (the curve is at the offset of the covariate's mean, the data are not)
    and when time takes more than :data:`MAX_OBSERVED_TIMES` values.
    """
    if design.formula.offsets:
        return None
    xv = design.frame[x].to_numpy(float)
    times = np.unique(xv)
    if len(times) > MAX_OBSERVED_TIMES:
        return None
    w = np.asarray(fit.n_trials, float)
    yw = np.asarray(fit.y, float) * w  # successes (binomial) or counts (weights 1)
    arms = design.frame[group].astype(str).to_numpy() if group else np.array([""] * len(xv))
    out = {}
    for lab in labels:
        key = "" if lab is None else str(lab)
        ts, vals, ns = [], [], []
        for t in times:
            m = (arms == key) & (xv == t)
            if m.any():
                ts.append(float(t))
                vals.append(float(yw[m].sum() / w[m].sum()))
                ns.append(int(w[m].sum()))
        out[key] = {"x": np.array(ts), "value": np.array(vals), "n": np.array(ns)}
    return out


def response_trajectory_figure(design, fit, x: str, group: str | None) -> Figure:
    """Predicted probability (binomial) or rate (counts) along ``x`` per level of ``group``, with bands.

    Returns a ``kind="response_trajectory"`` figure, or an ``"unavailable"`` one saying why.
    """
    try:
        tr = response_trajectory(design, fit, x, group)
    except (MixGUIError, np.linalg.LinAlgError, ValueError, KeyError) as e:
        log.info("response trajectory left out: %s", e)  # a plot is never worth a failed result
        return Figure("response_trajectory", "Predicted over time", "unavailable",
                      {"text": f"The predicted {'probability' if fit.family == 'binomial' else 'rate'} over {x} "
                               f"could not be computed for this model ({e})."})
    what = tr["scale"]  # "probability" or "rate"
    y = design.formula.response
    xs = np.asarray(tr["x_values"], float)
    lines = {}
    for line in tr["lines"]:
        lab = line["label"] if line["label"] is not None else y
        lines[str(lab)] = {"x": xs, "estimate": np.asarray(line["fit"], float),
                           "lower": np.asarray(line["lower"], float), "upper": np.asarray(line["upper"], float)}
    observed = _observed(design, fit, x, group, [ln["label"] for ln in tr["lines"]])
    held = [c for c in (tr.get("covariates") or {}) if c != x]
    note = ("Population level (random effects at 0) with pointwise 95 % confidence bands, transformed back from "
            f"the link scale (as emmeans(m, ~ {group + ' | ' if group else ''}{x}, type = \"response\"))"
            + (f"; {', '.join(held)} at {'its' if len(held) == 1 else 'their'} mean (a 0/1 covariate averaged over "
               "both values)" if held else "")
            + ("; points: the observed " + ("proportion" if what == "probability" else "mean count")
               + " at each value" if observed else "") + ".")
    title = f"Predicted {what} over {x}" + (f" by {group}" if group else "")
    if what == "probability":
        ylab = f"Predicted probability of {y}"
    else:  # the offset enters at that of the exposure's mean (emmeans): a count at the mean exposure
        exposure = ", ".join(v for _, v in design.formula.offsets)
        ylab = f"Predicted mean count of {y}" + (f" at the mean {exposure}" if exposure else "")
    return Figure("response_trajectory", title, "response_trajectory",
                  {"lines": lines, "observed": observed, "scale": what, "x_label": x, "y_label": ylab}, {}, note)
