"""The repeated-measures panel: group factor, spatial time, banded Toeplitz, and each structure's pattern."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt

from mixgui.analysis.options import STRUCTURES
from mixgui.analysis.spec import Repeated
from mixgui.data.readers import read_table
from mixgui.gui.widgets.builder import ModelBuilder
from mixgui.gui.widgets.builder_roles import columns_mime
from mixgui.gui.widgets.pattern_icons import pattern_cells

REF = Path(__file__).resolve().parents[1] / "reference"


@pytest.fixture
def builder(qtbot):
    b = ModelBuilder()
    qtbot.addWidget(b)
    b.set_dataset(read_table(REF / "cli/orthodont_long.csv"))
    b.resize(460, 1100)
    _drop(b.roles["outcome"].model, ["distance"])
    _drop(b.roles["factors"].model, ["Sex"])
    _drop(b.repeated_box.slots["subject"][0], ["Subject"])
    _drop(b.repeated_box.slots["index"][0], ["age"])
    return b


def _drop(model, columns):
    mime = columns_mime(columns, "variables")
    assert model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, -1, QModelIndex())


def test_a_group_factor_gives_each_level_its_own_covariance(builder):
    _drop(builder.repeated_box.slots["group"][0], ["Sex"])
    assert builder.spec().repeated == Repeated("UN", "Subject", "age", "Sex")
    builder.repeated_box.slots["group"][1].deleteRequested.emit(["Sex"])
    assert builder.spec().repeated.group is None


def test_spatial_structure_asks_for_a_time_and_points_out_a_factor(builder, choose):
    box = builder.repeated_box
    choose(box.structure_combo, "SP(POW)")
    assert builder.spec().repeated.structure == "SP(POW)"
    assert box.labels["index"].text() == "Time" and box.index_problem.isHidden()  # age is numeric
    _drop(box.slots["index"][0], ["Sex"])
    assert not box.index_problem.isHidden() and "continuous" in box.index_problem.text()
    choose(box.structure_combo, "AR1")
    assert box.labels["index"].text() == "Index" and box.index_problem.isHidden()


def test_banded_toeplitz_is_chosen_with_its_number_of_bands(builder, choose):
    box = builder.repeated_box
    assert box.bands.isHidden()
    choose(box.structure_combo, "TOEP")
    assert not box.bands.isHidden() and builder.spec().repeated.structure == "TOEP"
    box.bands.setValue(2)
    box.bands.editingFinished.emit()
    assert builder.spec().repeated.structure == "TOEP(2)"
    assert box.structure_combo.currentData() == "TOEP" and box.bands.value() == 2


@pytest.mark.parametrize("structure, variances, covariances", [
    ("ANTE1", 4, None), ("TOEPH", 4, 3), ("SP(POW)", 1, 3), ("TOEP(2)", 1, 1), ("UN", 4, 6), ("CS", 1, 1)])
def test_each_structure_has_its_own_pattern(structure, variances, covariances):
    cells = pattern_cells(structure)
    diag = {cells[i][i][1] for i in range(4)}
    off = {cells[i][j] for i in range(4) for j in range(4) if i != j and cells[i][j] is not None}
    assert len(diag) == variances
    if covariances is not None:
        assert len(off) == covariances
    if structure == "TOEP(2)":
        assert cells[0][2] is None and cells[0][3] is None  # zero beyond the band


def test_every_structure_offered_has_a_picture(qapp):
    from mixgui.gui.widgets.pattern_icons import pattern_pixmap
    for c in STRUCTURES:
        assert not pattern_pixmap(c.value, 20).isNull()
