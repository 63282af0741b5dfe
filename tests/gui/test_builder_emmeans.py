"""Marginal means from the builder: several factors, and "A at each level of B" (by).

The trial's main question is "Arm at each week" (or Arm x week); the builder used to offer one
factor only. Here the user picks the factors in the Marginal means drop-downs, clicks Add, and
the fitted results carry the by-grouped means and contrasts with their confidence limits.
"""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QModelIndex, QPoint, Qt  # noqa: E402

from mixgui.data.readers import read_table  # noqa: E402
from mixgui.gui.widgets.builder import ModelBuilder  # noqa: E402
from mixgui.gui.widgets.builder_roles import columns_mime  # noqa: E402
from mixgui.pipeline.run import run  # noqa: E402

REF = Path(__file__).resolve().parents[1] / "reference"


def drop(model, columns):
    mime = columns_mime(columns, "variables")
    assert model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, -1, QModelIndex())


def click(qtbot, button):
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=QPoint(min(8, button.width() // 2), button.height() // 2))


@pytest.fixture
def builder(qtbot):
    b = ModelBuilder()
    qtbot.addWidget(b)
    b.set_dataset(read_table(REF / "lmm" / "orthodont.csv"))
    b.resize(460, 1100)
    b.show()
    drop(b.roles["outcome"].model, ["distance"])
    drop(b.roles["factors"].model, ["age", "Sex"])
    b.terms_box.select_terms([("age",), ("Sex",)])
    click(qtbot, b.terms_box.interaction_button)
    drop(b.random_box.add_model, ["Subject"])
    return b


def test_means_of_a_factor_at_each_level_of_another(builder, qtbot):
    em = builder.emmeans_box
    em.factor_combo.setCurrentText("Sex")
    em.by_combo.setCurrentText("age")
    assert em.add_button.isEnabled()
    with qtbot.waitSignal(em.addRequested) as sig:
        click(qtbot, em.add_button)
    assert sig.args == [("Sex",), ("age",)]
    spec = builder.spec()
    assert [(e.specs, e.by) for e in spec.emmeans] == [(("Sex",), ("age",))]
    assert em.requests.item(0).text() == "Sex at each level of age"
    block = run(spec, builder.dataset()).data["emmeans"][0]
    assert block["by"] == "age"
    rows = block["contrasts"][0]["rows"]
    assert [r["by"] for r in rows] == [{"age": a} for a in ("8", "10", "12", "14")]
    for r in rows:  # 95 % limits around each difference
        assert r["lower"] < r["estimate"] < r["upper"]
    # within each age the two sexes are compared without averaging over age: no interaction note
    kinds = [w.kind for w in run(spec, builder.dataset()).warnings]
    assert "averaged_over_interaction" not in kinds


def test_means_of_two_factors_and_a_clash_is_refused(builder, qtbot):
    em = builder.emmeans_box
    em.factor_combo.setCurrentText("age")
    em.and_combo.setCurrentText("Sex")
    click(qtbot, em.add_button)
    assert [(e.specs, e.by) for e in builder.spec().emmeans] == [(("age", "Sex"), ())]
    assert em.requests.item(0).text() == "age × Sex"
    # the same factor as means and as "at each level of" makes no sense: Add is disabled and says why
    em.and_combo.setCurrentText(em.NONE)
    em.by_combo.setCurrentText("age")
    assert not em.add_button.isEnabled() and "cannot be both" in em.add_button.toolTip()


def test_means_averaged_over_an_interacting_factor_get_a_plain_note(builder, qtbot):
    em = builder.emmeans_box
    em.factor_combo.setCurrentText("Sex")
    click(qtbot, em.add_button)
    result = run(builder.spec(), builder.dataset())
    notes = [w for w in result.warnings if w.kind == "averaged_over_interaction"]
    assert len(notes) == 1 and notes[0].table == "emmeans_0"  # the first (only) request's table
    assert "averaged over the levels of age" in notes[0].message and 'under "by"' in notes[0].message
