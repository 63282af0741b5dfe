"""The results pane shows the model's equations with the fitted numbers; both copy buttons work and say so."""
from PySide6.QtCore import Qt

FIT_TIMEOUT_MS = 60_000


def test_equations_of_the_demo_model_are_shown_and_copied(make_window, qtbot, qapp):
    window = make_window()
    assert window.open_example(fit=False)
    with qtbot.waitSignal(window.controller.finished, timeout=FIT_TIMEOUT_MS) as blocker:
        window.fit()
    result = blocker.args[1]
    card = window.results_panel.card("equations")
    assert card is not None
    text = card.body.text()
    assert "<sub>ijk</sub>" in text and "Level 2" in text  # patients (j) within clinics (k)
    time_estimate = next(r["estimate"] for r in result.data["fixed_effects"] if r["term"] == "time")
    assert f"{time_estimate:.3f}" in text
    qtbot.mouseClick(card.latex_button, Qt.MouseButton.LeftButton)
    assert qapp.clipboard().text().startswith("\\begin{aligned}")
    assert card.latex_button.text() == "Copied ✓"
    qtbot.waitUntil(lambda: card.latex_button.text() == "Copy LaTeX", timeout=3000)
    qtbot.mouseClick(card.text_button, Qt.MouseButton.LeftButton)
    assert qapp.clipboard().text() == result.data["equations"]["plain"]
    assert "table" not in "".join(window.results_panel.table_keys())  # the card is not a table
