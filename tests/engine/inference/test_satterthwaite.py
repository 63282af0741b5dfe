"""Satterthwaite df (mixgui.engine.inference.satterthwaite): the F-test df, cancel, implausible df."""
from __future__ import annotations

import numpy as np
import pytest

from mixgui.engine.inference.core import Inference
from mixgui.engine.inference.satterthwaite import fstat_ddf
from mixgui.errors import Cancelled, Progress

from .cases import (
    fitted,
)


def test_fstat_ddf_special_cases():
    assert fstat_ddf([7.5]) == 7.5
    assert fstat_ddf([10.0, 10.0 + 1e-10]) == pytest.approx(10.0)
    assert fstat_ddf([1.5, 30.0]) == 2.0
    E = 10 / 8 + 20 / 18
    assert fstat_ddf([10.0, 20.0]) == pytest.approx(2 * E / (E - 2))


def test_satterthwaite_is_cancellable():
    design, fit = fitted("public", "sleepstudy_rs", "dense")
    prog = Progress()
    prog.cancel()
    with pytest.raises(Cancelled):
        Inference.build(fit, "satterthwaite", design.nobs, progress=prog)


def test_implausible_df_kept_but_flagged():
    """lmerTest does not clip the df; neither do we, but a df below 1 gets a df_approximation warning."""
    from mixgui.engine.inference.satterthwaite import Satterthwaite

    st = Satterthwaite.__new__(Satterthwaite)
    st.vcov, st.beta, st.nobs, st.warnings, st._flagged = np.eye(1), np.ones(1), 10, [], False
    st.jacobian, st.vcov_varpar = [np.eye(1) * 3.0], np.eye(1)  # df = 2 * 1 / 9
    assert st.df(np.ones(1)) == pytest.approx(2 / 9)
    assert [w.kind for w in st.warnings] == ["df_approximation"]
    st.df(np.ones(1))
    assert len(st.warnings) == 1  # said once
