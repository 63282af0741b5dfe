"""Render a result's figures to PNG without a window (reports, ``mixgui fit --plots``)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _app():
    """The running QApplication, or an offscreen one for headless use."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication([])
    return app


def render_pngs(result, width_px: int = 900, height_px: int = 600, dpi: int = 200) -> dict:
    """PNG bytes of every figure of ``result``, keyed by figure key (in tab order).

    Each view is laid out at ``width_px`` x ``height_px`` (so text and markers have their on-screen
    proportions) and exported at ``dpi`` for a 6-inch-wide figure.
    """
    from PySide6.QtCore import Qt

    from mixgui.gui.plots.panel import make_view
    from mixgui.gui.plots.views import export_png
    from mixgui.pipeline.figures import compute_figures

    app = _app()
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        # computed with the result (mixgui.pipeline.run); a result made without them gets them here
        for fig in result.figures or compute_figures(result):
            if fig.kind == "unavailable":
                continue
            view = make_view(fig)
            view.resize(width_px, height_px)
            # lay the scene out at that size before exporting (an unshown view keeps its default size)
            view.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
            view.show()
            app.processEvents()
            path = Path(tmp) / f"{fig.key}.png"
            export_png(view, path, dpi=dpi)
            out[fig.key] = (fig.title, path.read_bytes())
            view.close()
            view.deleteLater()
    return out


def write_pngs(result, folder) -> list:
    """Write every figure as ``folder/<key>.png``; returns the paths."""
    from mixgui.fileio import atomic_write_bytes

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for key, (_title, png) in render_pngs(result).items():
        p = folder / f"{key}.png"
        atomic_write_bytes(p, png)
        paths.append(p)
    return paths
