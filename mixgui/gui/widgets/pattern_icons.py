"""Small pictures of the repeated-measures covariance patterns (ID, DIAG, CS, CSH, AR1, ARH1, ANTE1, TOEP,
TOEPH, TOEP(k), UN and the spatial SP(POW/EXP/GAU)).

Each picture is a 4 x 4 matrix (four visits): a cell's colour says which parameter it holds, so equal
colours mean "the same number" and empty cells mean "zero". Drawn with QPainter (no image files,
so they stay crisp and follow the theme).
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap

from mixgui.analysis.options import SPATIAL, toep_lags

# Variances are blues, covariances oranges; darker = a different parameter of the same kind.
_VARIANCE = ["#2f6db5", "#4f8ad0", "#78a8e0", "#a7c6ec"]
_COVARIANCE = ["#c26a1b", "#dc8c45", "#eaae78", "#f3cfad", "#e39a5c", "#b85c10"]


def pattern_cells(structure: str, n: int = 4) -> list:
    """Which parameter each cell holds: ``cells[i][j]`` is ``("v", k)``, ``("c", k)`` or None (zero).

    ``k`` numbers the distinct parameters of that kind, so ``pattern_cells("CS")`` has one
    variance and one covariance, ``pattern_cells("UN")`` n variances and n(n-1)/2 covariances.
    Used to draw the icons and testable without a screen.
    """
    s = structure.upper()
    band = toep_lags(s)  # TOEP(k): correlations at lags 1..k-1, zero from lag k on
    own_variances = ("DIAG", "CSH", "ARH1", "UN", "ANTE1", "TOEPH")
    by_distance = ("AR1", "ARH1", "TOEP", "TOEPH") + SPATIAL
    cells = [[None] * n for _ in range(n)]
    pairs = {}
    for i in range(n):
        for j in range(n):
            d = abs(i - j)
            if i == j:
                cells[i][j] = ("v", i if s in own_variances else 0)
            elif s in ("CS", "CSH"):
                cells[i][j] = ("c", 0)
            elif s in by_distance or (band is not None and d < band):
                cells[i][j] = ("c", d - 1)  # one value per distance (AR1, SP: rho^d)
            elif s == "ANTE1":
                # a correlation per adjacent pair; farther pairs are products of those between them
                cells[i][j] = ("c", min(i, j) if d == 1 else n + d)
            elif s == "UN":
                key = (min(i, j), max(i, j))
                cells[i][j] = ("c", pairs.setdefault(key, len(pairs)))
    return cells


def pattern_pixmap(structure: str, size: int = 40, n: int = 4) -> QPixmap:
    """The pattern of ``structure`` drawn into a square pixmap of ``size`` logical pixels."""
    scale = 2.0  # drawn at 2x so it stays crisp on high-dpi screens
    pix = QPixmap(int(size * scale), int(size * scale))
    pix.setDevicePixelRatio(scale)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    pad, cell = 1.5, (size - 3.0) / n
    for i, row in enumerate(pattern_cells(structure, n)):
        for j, what in enumerate(row):
            r = QRectF(pad + j * cell, pad + i * cell, cell, cell).adjusted(0.6, 0.6, -0.6, -0.6)
            if what is None:
                p.fillRect(r, QColor("#f1f3f6"))
                continue
            kind, k = what
            palette = _VARIANCE if kind == "v" else _COVARIANCE
            colour = QColor(palette[k % len(palette)])
            if (structure.upper() in ("AR1", "ARH1") + SPATIAL) and kind == "c":
                colour.setAlphaF(max(0.25, 0.85 ** (k + 1) - 0.15 * k))  # correlation fades with distance
            p.fillRect(r, colour)
    p.setPen(QPen(QColor("#9aa5b1"), 1.0))
    p.drawRect(QRectF(pad, pad, cell * n, cell * n))
    p.end()
    return pix


def pattern_icon(structure: str, size: int = 40) -> QIcon:
    """The pattern as an icon (for combo-box items)."""
    return QIcon(pattern_pixmap(structure, size))
