"""The lazy data model: a million rows open at once, arrive in batches, read the right cells."""
import time

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt

from mixgui.gui.models.data_model import DataFrameModel, format_cell

N = 1_000_000
BATCH = 1000


@pytest.fixture(scope="module")
def big_frame():
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({
        "dep var": rng.normal(size=N),                       # awkward names, as users write them
        "facto r": np.where(np.arange(N) % 3 == 0, "a", "b"),
        "id": np.arange(N, dtype=np.int64),
        "maybe": pd.array(np.where(np.arange(N) % 5 == 0, None, 1), dtype="Int64"),
    })
    frame.loc[N - 2, "dep var"] = np.nan
    return frame


def test_million_rows_open_instantly_and_grow_in_batches(big_frame):
    t0 = time.perf_counter()
    model = DataFrameModel(big_frame, batch_size=BATCH)
    assert time.perf_counter() - t0 < 1.0
    assert model.rowCount() == BATCH and model.total_rows == N
    assert model.columnCount() == 4
    assert model.headerData(0, Qt.Orientation.Horizontal) == "dep var"
    assert model._arrays == [None] * 4  # nothing converted before it is shown
    assert model.canFetchMore()
    model.fetchMore()
    assert model.rowCount() == 2 * BATCH
    model.fetch_to(N - 1)
    assert model.rowCount() == N and not model.canFetchMore()


def test_far_rows_read_the_right_values(big_frame):
    model = DataFrameModel(big_frame, batch_size=BATCH)
    model.fetch_to(N - 1)
    t0 = time.perf_counter()
    idx = model.index(N - 1, 2)
    assert model.data(idx) == str(N - 1)
    assert model.data(idx, Qt.ItemDataRole.UserRole) == N - 1
    assert model.data(model.index(N - 1, 1)) == ("a" if (N - 1) % 3 == 0 else "b")
    want = big_frame["dep var"].iat[N - 1]
    assert model.data(model.index(N - 1, 0), Qt.ItemDataRole.UserRole) == want
    assert model.data(model.index(N - 1, 0)) == format_cell(want)
    missing = model.index(N - 2, 0)
    assert model.data(missing) == ""
    assert model.data(missing, Qt.ItemDataRole.BackgroundRole) is not None  # grey
    assert model.data(model.index(N - 5, 3)) == ""  # missing in a nullable integer column
    assert model.data(model.index(N - 4, 3)) == "1"
    assert time.perf_counter() - t0 < 1.0
    # numbers right-aligned, text left
    assert model.data(model.index(0, 0), Qt.ItemDataRole.TextAlignmentRole) & int(Qt.AlignmentFlag.AlignRight)
    assert model.data(model.index(0, 1), Qt.ItemDataRole.TextAlignmentRole) & int(Qt.AlignmentFlag.AlignLeft)
    assert model.column_array(0) is model.column_array(0)  # made once, then cached


def test_scrolling_the_view_to_the_bottom_fetches_batches(big_frame, qtbot):
    from mixgui.gui.widgets.data_grid import DataGrid

    grid = DataGrid(batch_size=BATCH)
    qtbot.addWidget(grid)
    grid.resize(600, 400)
    grid.show()
    t0 = time.perf_counter()
    grid.set_frame(big_frame)
    assert time.perf_counter() - t0 < 1.0
    model = grid.data_model()
    assert model.rowCount() == BATCH
    counts = []
    bar = grid.verticalScrollBar()
    last_max = 0
    for _ in range(3):
        n = model.rowCount()
        # the view lays out the new rows a moment later; then the bar's range grows
        qtbot.waitUntil(lambda m=last_max: bar.maximum() > m, timeout=2000)
        last_max = bar.maximum()
        bar.setValue(bar.maximum())  # at the bottom the view asks the model for more
        qtbot.waitUntil(lambda n=n: model.rowCount() > n, timeout=2000)
        counts.append(model.rowCount())
    assert counts == [2 * BATCH, 3 * BATCH, 4 * BATCH]


def test_demo_sheet_in_the_window(make_window):
    window = make_window()
    window.open_example(fit=False)
    model = window.data_grid.data_model()
    assert model.total_rows == 256 and model.rowCount() == 256
    assert window.data_summary_label.text() == "256 rows · 7 columns"
    assert model.data(model.index(0, 0)) == "C1"
