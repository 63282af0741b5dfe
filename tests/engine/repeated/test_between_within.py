"""Between-within df (SAS DDFM=BW): between-subject columns get S - rank(X_between), columns that
change within a subject get N - S - rank(X_within); a contrast the smallest df of its columns."""
from __future__ import annotations

import numpy as np
import pytest

from mixgui.engine.inference.core import Inference  # noqa: E402

from .cases import fit_case  # noqa: E402


@pytest.mark.parametrize("missing", [False, True])
def test_between_within_df(missing):
    fit = fit_case("UN", missing=missing)  # columns: intercept, agef10, agef12, agef14 (within), Sex (between)
    inf = Inference.build(fit, "between-within")
    S, N = fit.n_subjects, fit.nobs
    assert list(fit.bw_layout()[0]) == [False, True, True, True, False]
    between, within = S - 2, N - S - 3
    rows = [inf.ttest(np.eye(5)[j]) for j in range(5)]
    assert [r["df"] for r in rows] == [between, within, within, within, between]
    F, q, ddf, p = inf.ftest(np.eye(5)[1:4])
    assert q == 3 and ddf == within
    assert inf.df(np.array([0, 1, 0, 0, 1.0])) == min(between, within)
