"""A figure of a result: which view draws it and its data (arrays and labels, no drawing).

The data are computed in the worker by :func:`mixgui.pipeline.figures.compute_figures`; the
window (:mod:`mixgui.gui.plots`), the reports and ``mixgui fit --plots`` only draw them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

#: at most this many groups (clusters, subjects) are drawn in a per-group figure; more cannot be read
#: and would take the window minutes to draw
MAX_GROUPS_DRAWN = 200
#: at most this many points in a scatter (residual plots): more draw as a blot and take long to draw
MAX_POINTS_DRAWN = 10_000


@dataclass
class Figure:
    """A figure to draw: ``kind`` picks the view, ``data`` is its plot data, ``title`` names the tab.

    ``note`` says what was left out (e.g. "Showing 200 of 50,000 Subject groups ..."), shown under the plot.
    """

    key: str
    title: str
    kind: str
    data: dict
    options: dict = field(default_factory=dict)
    note: str = ""


def shown_note(shown: int, total: int, what: str, how: str) -> str:
    """The sentence under a figure that draws ``shown`` of ``total`` groups."""
    return f"Showing {shown:,} of {total:,} {what} ({how}); every group is in the tables and the fit."
