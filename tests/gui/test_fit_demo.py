"""Open the demo, press Fit, read the fixed-effects table the window shows and check its numbers."""
import numpy as np
import pytest
from PySide6.QtCore import Qt

from mixgui.results.tables import format_value, full_value

FIT_TIMEOUT_MS = 60_000


def _fit_by_click(qtbot, window):
    failures = []
    window.controller.failed.connect(lambda rev, message: failures.append(message))
    with qtbot.waitSignal(window.controller.finished, timeout=FIT_TIMEOUT_MS) as blocker:
        blocker.connect(window.controller.failed)  # a failed fit ends the wait at once
        qtbot.mouseClick(window.model_panel.fit_button, Qt.MouseButton.LeftButton)
    assert not failures, f"the fit failed: {failures[0]}"
    rev, result, _seconds = blocker.args
    assert window.results_panel.revision == rev
    return result


def _check_table_against_contract(window, result) -> dict:
    """Every cell of the shown fixed-effects table equals the FitResult's contract; returns term -> row."""
    model = window.results_panel.model("fixed_effects")
    assert model is not None, f"no fixed-effects table; shown: {window.results_panel.table_keys()}"
    rows = result.data["fixed_effects"]
    assert model.rowCount() == len(rows)
    table = model.table
    shown = {}
    for i, want in enumerate(rows):
        for j, col in enumerate(table.columns):
            index = model.index(i, j)
            raw = model.data(index, Qt.ItemDataRole.UserRole)
            text = model.data(index, Qt.ItemDataRole.DisplayRole)
            if col.kind == "ci":
                assert raw == (want["ci_lower"], want["ci_upper"])
            else:
                assert raw == want[col.key]
            assert text == format_value(raw, col.kind)
            if col.kind != "text":
                assert model.data(index, Qt.ItemDataRole.ToolTipRole) == full_value(raw)
                align = model.data(index, Qt.ItemDataRole.TextAlignmentRole)
                assert align & int(Qt.AlignmentFlag.AlignRight)
        shown[model.data(model.index(i, 0))] = {c.key: model.data(model.index(i, j), Qt.ItemDataRole.UserRole)
                                                for j, c in enumerate(table.columns)}
    return shown


def test_demo_ols_variant_matches_lstsq(make_window, qtbot, type_formula):
    window = make_window()
    assert window.open_example(fit=False)
    assert window.windowTitle() == "MixGUI — square_study: long"
    type_formula(window, "score ~ time * treatment + age")
    assert window.builder.random_box.cards == []  # the random effects went with the formula
    result = _fit_by_click(qtbot, window)
    shown = _check_table_against_contract(window, result)

    frame = window.dataset.frame
    treated = (frame["treatment"] == "treated").to_numpy(float)
    time = frame["time"].to_numpy(float)
    X = np.column_stack([np.ones(len(frame)), time, treated, frame["age"].to_numpy(float), time * treated])
    beta, *_ = np.linalg.lstsq(X, frame["score"].to_numpy(float), rcond=None)
    assert shown["time"]["estimate"] == pytest.approx(beta[1], rel=1e-9)
    assert shown["age"]["estimate"] == pytest.approx(beta[3], rel=1e-9)
    assert window.status.text().startswith("Ready · fitted in ")
    assert not window.results_panel.is_updating()


def test_demo_mixed_model_matches_engine(make_window, qtbot):
    from mixgui.analysis.formula import parse_formula
    from mixgui.engine.design import build_design
    from mixgui.engine.lmm import fit_lmm

    window = make_window()
    assert window.open_example(fit=False)
    spec = window.model_panel.spec()
    assert "(1 | clinic/patient)" in spec.formula
    result = _fit_by_click(qtbot, window)
    assert result.data["model"] == "lmm"
    shown = _check_table_against_contract(window, result)

    # the same model fitted through the engine directly, outside the window
    frame = window.dataset.frame
    design = build_design(parse_formula(spec.formula), frame, factors=spec.factors,
                          reference_levels=spec.reference_levels)
    fit = fit_lmm(design.y, design.X, design.blocks, reml=True, column_names=design.column_names)
    k = design.column_names.index("time")
    assert shown["time"]["estimate"] == pytest.approx(fit.beta[k], rel=1e-6)
    assert shown["time"]["std_error"] == pytest.approx(np.sqrt(fit.vcov[k, k]), rel=1e-6)
    assert {"model", "fixed_effects", "variance_components"} <= set(window.results_panel.table_keys())


def test_copy_puts_html_table_and_tsv_on_clipboard(make_window, qtbot, gated_run, qapp):
    window = make_window(run_fn=gated_run)
    window.open_example(fit=False)
    gated_run.release(0)
    with qtbot.waitSignal(window.controller.finished, timeout=10_000):
        window.fit()
    card = window.results_panel.card("fixed_effects")
    qtbot.mouseClick(card.copy_button, Qt.MouseButton.LeftButton)
    mime = qapp.clipboard().mimeData()
    assert "<table" in mime.html() and "call 0" in mime.html()
    assert mime.text().splitlines()[0] == "Term\tEstimate"
    assert mime.text().splitlines()[1] == "call 0\t1.000"


def test_warnings_sit_next_to_their_table(qtbot):
    from mixgui.analysis.spec import AnalysisSpec
    from mixgui.gui.widgets.results_panel import ResultsPanel
    from mixgui.results.result import FitResult, ModelInfo
    from mixgui.results.tables import Column, Table

    t = Table("variance_components", "Random effects", [Column("group", "Group", "text"), Column("variance", "Variance")],
              [{"group": "clinic", "variance": 0.0}], footnotes=["R² marginal 0.2"],
              warnings=["The variance of clinic is estimated as zero."])
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    panel.show_result(3, FitResult(AnalysisSpec(formula="y ~ 1"), ModelInfo("lm", "OLS", "residual", 0), tables=[t]))
    card = panel.card("variance_components")
    assert [w.text() for w in card.warning_labels] == ["⚠  The variance of clinic is estimated as zero."]
    assert panel.revision == 3 and panel.table_keys() == ["variance_components"]
