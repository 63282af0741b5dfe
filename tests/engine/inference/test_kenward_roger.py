"""Kenward-Roger (mixgui.engine.inference.kenward_roger): cluster sums, the second-derivative term, REML only."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mixgui.engine.inference.core import Inference
from mixgui.engine.inference.kenward_roger import KenwardRoger
from mixgui.errors import ModelError

from .cases import (
    fitted,
)


def test_kr_clusters_split_equals_one_block():
    """Kenward-Roger summed over independent clusters equals the one-big-cluster computation."""
    design, fit = fitted("public", "sleepstudy_rs", "dense")
    split = KenwardRoger(fit)
    pieces = list(fit.kr_clusters())
    from scipy.linalg import block_diag

    from mixgui.engine.covmodel import ClusterPieces
    assert len(pieces) == 18  # one per subject
    whole = ClusterPieces(X=np.vstack([c.X for c in pieces]), V=block_diag(*[c.V for c in pieces]),
                          dV=[block_diag(*[c.dV[k] for c in pieces]) for k in range(len(pieces[0].dV))])
    one = KenwardRoger(type("M", (), {"beta": fit.beta, "kr_clusters": lambda self: iter([whole])})())
    assert split.vcov == pytest.approx(one.vcov, rel=1e-10)
    L = np.array([[0.0, 1.0]])
    assert split.df(L) == pytest.approx(one.df(L), rel=1e-10)


def test_kr_second_derivative_term():
    """R_kl enters Lambda with weight -1/4: a d2V equal to 4 Q-like pieces changes vcov as predicted."""
    design, fit = fitted("public", "sleepstudy_ri", "dense")
    base = KenwardRoger(fit)
    pieces = list(fit.kr_clusters())
    m = len(pieces[0].dV)
    with_d2 = [replace(c, d2V={(0, 0): c.dV[0]}) for c in pieces]
    kr = KenwardRoger(type("M", (), {"beta": fit.beta, "kr_clusters": lambda self: iter(with_d2)})())
    # R_00 = X'V^-1 dV_0 V^-1 X = -P_0, so Lambda gains Phi (W_00 P_0 / 4) Phi
    extra = base.phi @ (base.W[0, 0] * base.P[0] / 4) @ base.phi
    assert kr.vcov == pytest.approx(base.vcov + 2 * extra, rel=1e-10)
    assert m == 2


def test_kenward_roger_needs_reml():
    design, fit = fitted("public", "sleepstudy_ri_ml", "dense")
    with pytest.raises(ModelError, match="REML"):
        Inference.build(fit, "kenward-roger", design.nobs)
