"""The design build reports progress and answers Cancel before the fit starts.

A 5,000,000-row table took ~26 s to turn into a design without a single progress report, so
Cancel waited for all of it. The build now reports between its steps and between chunks of rows
(``CHUNK_ROWS``; made small here so that a small table has several chunks).
"""
import numpy as np
import pandas as pd
import pytest

import mixgui.data.levels as levels_mod
import mixgui.engine.design as design_mod
import mixgui.pipeline.contract as contract
from mixgui.analysis.formula import parse_formula
from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.engine.design import build_design
from mixgui.errors import Cancelled, Progress
from mixgui.pipeline.run import run


@pytest.fixture
def frame():
    rng = np.random.default_rng(5)
    n = 1200
    subject = rng.integers(0, 60, n)
    f = pd.DataFrame({"subject": [f"S{k}" for k in subject], "x": rng.normal(size=n),
                      "arm": rng.choice(["drug", "placebo"], n), "site": rng.integers(1, 5, n)})
    f["y"] = 1 + 0.5 * f["x"] + rng.normal(0, 1, 60)[subject] + rng.normal(size=n)
    f.loc[[3, 50], "x"] = np.nan
    return f


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(levels_mod, "CHUNK_ROWS", 100)
    monkeypatch.setattr(design_mod, "CHUNK_ROWS", 100)


FORMULA = "y ~ x * arm + (1 + x | subject) + (1 | site)"


def test_chunked_build_gives_the_same_design(frame, small_chunks):
    f = parse_formula(FORMULA)
    reports = []
    chunked = build_design(f, frame, reference_levels={"arm": "placebo"},
                           progress=Progress(lambda fr, m: reports.append((fr, m))))
    levels_mod.CHUNK_ROWS = design_mod.CHUNK_ROWS = 10 ** 9  # one chunk, no progress
    whole = build_design(f, frame, reference_levels={"arm": "placebo"})
    np.testing.assert_array_equal(chunked.X, whole.X)
    np.testing.assert_array_equal(chunked.y, whole.y)
    assert chunked.column_names == whole.column_names == [
        "(Intercept)", "x", "armdrug", "x:armdrug"]
    pd.testing.assert_frame_equal(chunked.frame, whole.frame)
    for a, b in zip(chunked.blocks, whole.blocks):
        assert a.group == b.group and a.levels == b.levels and a.names == b.names
        np.testing.assert_array_equal(a.codes, b.codes)
        np.testing.assert_array_equal(a.Z, b.Z)
    assert [b.group for b in chunked.blocks] == ["subject", "site"]
    # several reports per column of 1,198 rows, every one inside the design's share of the bar
    assert sum(m == "coding subject" for _, m in reports) >= 12
    assert all(0 <= fr < 0.05 for fr, _ in reports)
    rdx, names, _ = chunked.full_indicator_matrix()
    rdx2, names2, _ = whole.full_indicator_matrix()
    np.testing.assert_array_equal(rdx, rdx2)
    assert names == names2


def test_cancel_at_the_first_report_stops_the_design_before_the_fit(frame, small_chunks, monkeypatch):
    fitted = []
    real = contract.mixed_contract
    monkeypatch.setattr(contract, "mixed_contract", lambda *a, **k: fitted.append(1) or real(*a, **k))
    progress = Progress()
    reports = []

    def press_cancel(fraction, message):
        reports.append((fraction, message))
        progress.cancel()  # the user presses Cancel at the first report
    progress._callback = press_cancel
    spec = AnalysisSpec(formula=FORMULA)
    with pytest.raises(Cancelled):
        run(spec, Dataset(frame, name="trial"), progress)
    assert len(reports) == 1 and reports[0][0] < 0.05  # the first report came from the design build
    assert fitted == []  # ... and the fit never started
    # without Cancel the same run fits (the patched contract is called once)
    run(spec, Dataset(frame, name="trial"), Progress(), figures=False)
    assert fitted == [1]


@pytest.mark.parametrize("at", [1, 5, 14, 20, 30])
def test_cancel_at_any_report_of_the_build_raises(frame, small_chunks, at):
    count = [0]
    progress = Progress()

    def tick(fraction, message):
        count[0] += 1
        if count[0] == at:
            progress.cancel()
    progress._callback = tick
    with pytest.raises(Cancelled):
        build_design(parse_formula(FORMULA), frame, progress=progress)
    assert count[0] == at  # stopped at the very next report
