"""The analytic gradient of the profiled deviance (mixgui.engine.lmm.grad) against finite differences.

For each model the deviance and gradient are evaluated at the optimiser's start and at two points
away from it (none is the optimum, so the gradient is far from zero). The reference
is a central difference of ``Problem.deviance`` with step 1e-5 (internal units, O(h^2) error ~1e-9
relative); the tolerance 1e-5 relative to the largest component (plus 1e-6 absolute) covers that
and the rounding of the deviance (~1e-12 of its value, divided by the step).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from mixgui.engine.lmm.blocks import Problem
from mixgui.engine.lmm.fit import lme4_order
from mixgui.engine.lmm.grad import deviance_and_gradient

from .cases import REF, case_design


def _problem(name):
    y, X, _, blocks = case_design(name)
    blocks = lme4_order(list(blocks))
    sizes = [b.q * (b.q + 1) // 2 for b in blocks]
    ends = np.cumsum(sizes)
    slices = [slice(int(e - s), int(e)) for s, e in zip(sizes, ends)]
    return Problem(np.asarray(y, float), np.asarray(X, float), blocks, slices)


def _central(pb, th, reml, h=1e-5):
    g = np.zeros(len(th))
    for k in range(len(th)):
        e = np.zeros(len(th))
        e[k] = h
        g[k] = (pb.deviance(th + e, reml) - pb.deviance(th - e, reml)) / (2 * h)
    return g


@pytest.mark.parametrize("name", ["sleepstudy_rs", "sleepstudy_ri_ml", "sleepstudy_uncorr", "pastes_nested",
                                  "penicillin_crossed", "crossed_slope_subj", "q3_slopes"])
def test_gradient_equals_finite_differences(name):
    reml = json.loads((REF / f"{name}.json").read_text())["reml"]
    pb = _problem(name)
    s = pb.start()
    rng = np.random.default_rng(3)
    checked = 0
    for th in (s, s * 1.3 + 0.05, s * 0.7 + 0.1 * rng.random(len(s))):
        dev, grad = deviance_and_gradient(pb, th, reml)
        assert dev == pytest.approx(pb.deviance(th, reml), rel=1e-12)
        if grad is None:
            continue
        fd = _central(pb, th, reml)
        ok = ~np.isnan(grad)
        scale = max(np.max(np.abs(fd)), 1.0)
        assert np.all(np.abs(grad[ok] - fd[ok]) <= 1e-5 * scale + 1e-6), (name, grad, fd)
        checked += int(ok.sum())
    assert checked > 0, f"{name}: no analytic gradient entry was checked"

