"""Plot views: the right number of points, clicks report data rows, exports are real files."""
import pandas as pd
import pytest

from mixgui.analysis.spec import AnalysisSpec
from mixgui.data.dataset import Dataset
from mixgui.pipeline.run import run

SLEEP = pd.read_csv(__import__("pathlib").Path(__file__).resolve().parents[1] / "reference" / "cli" / "sleepstudy.csv")


@pytest.fixture(scope="module")
def result():
    spec = AnalysisSpec.from_dict({"data": {"path": "x.csv"}, "formula": "Reaction ~ Days + (Days | Subject)"})
    return run(spec, Dataset(SLEEP.copy(), name="sleepstudy"))


def test_panel_has_each_figure_with_right_point_counts(qtbot, result):
    from mixgui.gui.plots.panel import PlotPanel

    panel = PlotPanel()
    qtbot.addWidget(panel)
    panel.show_result(result)
    by_key = {t.figure.key: t for t in panel.tabs}
    assert {"residuals", "qq", "scale_location", "by_group", "caterpillar_0_0", "caterpillar_0_1",
            "shrinkage"} <= set(by_key)
    assert by_key["residuals"].view.n_points() == 180
    assert by_key["qq"].view.n_points() == 180
    assert by_key["caterpillar_0_1"].view.n_points() == 18
    # shrinkage: no-pooling points, mixed-model points, and the population point
    assert by_key["shrinkage"].view.n_points() == 18 + 18 + 1


def test_click_on_a_point_reports_its_data_row(qtbot, result):
    from mixgui.gui.plots.panel import PlotPanel

    panel = PlotPanel()
    qtbot.addWidget(panel)
    panel.show_result(result)
    view = panel.tabs[0].view
    scatter = view.scatters[0]
    point = scatter.points()[7]
    with qtbot.waitSignal(panel.rowClicked) as sig:
        scatter.sigClicked.emit(scatter, [point], None)
    assert sig.args == [7]


def test_exported_png_and_svg_are_not_blank(qtbot, result, tmp_path):
    from PySide6.QtGui import QImage

    from mixgui.gui.plots.panel import PlotPanel

    panel = PlotPanel()
    qtbot.addWidget(panel)
    panel.resize(800, 600)
    panel.show_result(result)
    tab = panel.tabs[0]
    tab.save("png", str(tmp_path / "r.png"))
    tab.save("svg", str(tmp_path / "r.svg"))
    img = QImage(str(tmp_path / "r.png"))
    assert img.width() == 1800  # 6 inches at 300 dpi
    colours = {img.pixel(x, y) for x in range(0, img.width(), 23) for y in range(0, img.height(), 23)}
    assert len(colours) > 3  # not a blank page
    svg = (tmp_path / "r.svg").read_text()
    assert svg.count("<path") + svg.count("<circle") + svg.count("<polyline") > 10
