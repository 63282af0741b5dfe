"""A replicate whose fit cannot be made counts as a failed study, through the engine's own errors.

fit_one once caught TypeError as well, for a final factorisation that returned None; fit_lmm now
raises ModelError there, so only the engine's errors are caught and a real bug is not hidden.
"""
from types import SimpleNamespace

import numpy as np
import pytest

from mixgui.engine.covmodel import RandomBlock
from mixgui.engine.power.replicates import fit_one

N, G = 60, 12
CODES = np.repeat(np.arange(G), N // G)
TRT = (CODES % 2).astype(float)
NOISE = np.random.default_rng(0).normal(size=N)


def _scenario(X):
    block = RandomBlock("cluster", CODES, [str(i) for i in range(G)], np.ones((N, 1)), ["(Intercept)"])
    return SimpleNamespace(X=X, blocks=[block], column_names=[f"x{j}" for j in range(X.shape[1])],
                           L=np.eye(X.shape[1])[1])


@pytest.mark.parametrize("X, y", [
    (np.column_stack([np.ones(N), TRT, 2 * TRT]), NOISE),  # collinear fixed effects
    (np.column_stack([np.ones(N), TRT]), np.ones(N)),  # nothing to model
    (np.column_stack([np.ones(N), TRT]), 1 + 2 * TRT),  # the fixed effects reproduce y exactly
], ids=["collinear", "constant", "exact"])
def test_a_degenerate_replicate_is_a_failed_fit(X, y):
    out = fit_one(_scenario(X), y, None, "satterthwaite")
    assert out["failed"] is True and not out["singular"]
    assert np.isnan(out["estimate"]) and np.isnan(out["std_error"]) and np.isnan(out["df"])


def test_a_sound_replicate_is_tested():
    y = 1 + 0.8 * TRT + np.repeat(np.random.default_rng(1).normal(0, 1, G), N // G) + NOISE
    out = fit_one(_scenario(np.column_stack([np.ones(N), TRT])), y, None, "satterthwaite")
    assert out["failed"] is False and np.isfinite(out["estimate"]) and out["df"] > 0
