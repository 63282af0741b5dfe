"""pyqtgraph views over the Qt-free plot data of :mod:`mixgui.pipeline.plotdata` (computed in the worker).

No statistics here: each view takes a plot-data dict and draws it. Points carry their data-row
index, so hovering shows the row and clicking emits ``rowClicked(row)`` for the data grid.
"""
from __future__ import annotations

import math

import numpy as np
import numpy.ma  # noqa: F401 - numpy imports it on first use (np.unique); 0.1 s once, better at start-up
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from shiboken6 import isValid

# Okabe & Ito's colour-blind-safe palette
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
ACCENT = PALETTE[0]
GREY = "#888888"
#: a band (e.g. the QQ envelope) is drawn through at most this many of its points: it is smooth, and
#: pyqtgraph's fill between two 10,000-point curves took a quarter of a second
MAX_BAND_POINTS = 400


class Scatter(pg.ScatterPlotItem):
    """A scatter whose points share one symbol, size, pen and brush looks that style up once.

    pyqtgraph finds each point's picture in its symbol atlas one point at a time (in Python); with
    10,000 points that was ~0.1 s of every residual plot. Points of mixed styles (or hovered ones)
    go the usual way.
    """

    def updateSpots(self, dataSet=None):  # noqa: N802, N803 - pyqtgraph's names
        data = self.data if dataSet is None else dataSet
        if self.opts["pxMode"] and self.opts["useCache"] and len(data) > 64:
            idx = np.flatnonzero(data["sourceRect"]["w"] == 0)
            if len(idx) > 64 and not data["hovered"][idx].any() and _uniform(data, idx):
                style = tuple(col[0] for col in self._style(["symbol", "size", "pen", "brush"], data=data,
                                                            idx=idx[:1]))
                data["sourceRect"][idx] = self.fragmentAtlas[[style]][0]
                self._maybeRebuildAtlas()
                self._updateMaxSpotSizes(data=data)
                self.invalidate()
                return
        super().updateSpots(dataSet)


def _uniform(data, idx) -> bool:
    """True when the points ``idx`` share one symbol, pen, brush (the same objects) and size."""
    if any(len(set(map(id, data[key][idx]))) != 1 for key in ("symbol", "pen", "brush")):
        return False
    size = data["size"][idx]
    return bool(np.all(size == size[0]))


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


class PlotView(pg.PlotWidget):
    """A plot with a white background, labelled axes and clickable points."""

    rowClicked = Signal(int)

    def __init__(self, title: str = "", xlabel: str = "", ylabel: str = "", parent=None):
        super().__init__(parent=parent, background="w")
        self.configure(title, xlabel, ylabel)

    def configure(self, title: str, xlabel: str, ylabel: str) -> None:
        """Set the title and axis labels and the look every plot shares (a spare view gets them here)."""
        self.setTitle(title, color="#222", size="11pt")
        # pyqtgraph gives the title a fixed 30 px row, which clips an 11 pt title on export
        self.getPlotItem().titleLabel.setMaximumHeight(40)
        self.getPlotItem().layout.setRowFixedHeight(0, 40)
        self.setLabel("bottom", xlabel)
        self.setLabel("left", ylabel)
        self.showGrid(x=True, y=True, alpha=0.15)
        self.getPlotItem().getViewBox().setDefaultPadding(0.04)
        # room around the plot so the title and axis labels survive export at any size
        self.getPlotItem().layout.setContentsMargins(12, 16, 16, 8)
        self.legend = None
        self.scatters: list = []

    def add_points(self, x, y, rows=None, tips=None, colour_=ACCENT, size=7, name=None) -> pg.ScatterPlotItem:
        """Scatter points; ``rows`` are data-row indices (for clicks), ``tips`` hover texts."""
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        data = np.asarray(rows) if rows is not None else None
        if name:
            self.add_legend()  # pyqtgraph lists only items added after the legend exists
        item = Scatter(x=x, y=y, data=data, size=size, pen=pg.mkPen(None),
                                  brush=pg.mkBrush(colour_ + "b0"), hoverable=True, name=name,
                                  hoverBrush=pg.mkBrush("#222"),
                                  tip=(lambda x, y, data, tips=tips: _tip(x, y, data, tips)))
        item.sigClicked.connect(self._clicked)
        self.addItem(item)
        self.scatters.append(item)
        return item

    def add_line(self, x, y, colour_=GREY, width=1.5, style=Qt.SolidLine, name=None,
                 connect: str = "all") -> pg.PlotDataItem:
        """A line through (x, y); ``connect="finite"`` breaks it at NaN (many lines as one item)."""
        if name:
            self.add_legend()
        item = pg.PlotDataItem(np.asarray(x, float), np.asarray(y, float),
                               pen=pg.mkPen(colour_, width=width, style=style), name=name, connect=connect)
        self.addItem(item)
        return item

    def add_band(self, x, lower, upper, colour_=ACCENT) -> None:
        """A shaded band between ``lower`` and ``upper`` (a smooth band: drawn through at most
        :data:`MAX_BAND_POINTS` of its points, first and last kept)."""
        x, lower, upper = (np.asarray(a, float) for a in (x, lower, upper))
        if len(x) > MAX_BAND_POINTS:
            keep = np.unique(np.linspace(0, len(x) - 1, MAX_BAND_POINTS).round().astype(int))
            x, lower, upper = x[keep], lower[keep], upper[keep]
        lo = pg.PlotDataItem(x, lower, pen=pg.mkPen(None))
        hi = pg.PlotDataItem(x, upper, pen=pg.mkPen(None))
        self.addItem(pg.FillBetweenItem(lo, hi, brush=pg.mkBrush(colour_ + "33")))

    def add_legend(self) -> None:
        if self.legend is None:
            # a translucent white box: the legend stays readable over lines drawn beneath it
            self.legend = self.addLegend(offset=(10, 10), labelTextColor="#222", pen=pg.mkPen("#c8c8c8"),
                                         brush=pg.mkBrush(255, 255, 255, 215))

    def n_points(self) -> int:
        """How many points the scatters hold (for tests)."""
        return sum(len(s.data) for s in self.scatters)

    def _clicked(self, _item, points, *args) -> None:
        for p in points:
            if p.data() is not None:
                self.rowClicked.emit(int(p.data()))
                break


def _tip(x, y, data, tips) -> str:
    text = f"x = {x:.4g}\ny = {y:.4g}"
    if data is not None:
        text = f"row {int(data) + 1}\n" + text
        if tips is not None:
            text = f"{tips[int(data)]}\n" + text
    return text


_spare: list = []  # at most one PlotView made ahead, while the window had nothing else to do


def new_view(title: str = "", xlabel: str = "", ylabel: str = "") -> PlotView:
    """A PlotView with this title and axis labels: the spare one made ahead if there is one.

    Making a pyqtgraph plot costs about 50 ms under the app's style sheet (its menus hold dozens of
    styled widgets); taking a spare made in an idle moment halves the wait when a plot tab is drawn.
    """
    while _spare:
        view = _spare.pop()
        if isValid(view):
            view.configure(title, xlabel, ylabel)
            return view
    return PlotView(title, xlabel, ylabel)


def make_spare() -> None:
    """Make one PlotView ahead (call it when the window is idle); does nothing if one is waiting."""
    if not any(isValid(v) for v in _spare):
        _spare[:] = [PlotView()]


def residual_plot(diag: dict, rows=None, tips=None, title: str = "Residuals vs fitted") -> PlotView:
    """Residuals against fitted values with a zero line."""
    v = new_view(title, "Fitted value", "Residual")
    v.add_points(diag["fitted"], diag["residuals"], rows if rows is not None else np.arange(len(diag["fitted"])), tips)
    f = np.asarray(diag["fitted"], float)
    if len(f):
        v.add_line([np.nanmin(f), np.nanmax(f)], [0, 0], GREY, style=Qt.DashLine)
    return v


def scale_location_plot(diag: dict, rows=None) -> PlotView:
    v = new_view("Scale-location", "Fitted value", "√|standardised residual|")
    v.add_points(diag["fitted"], diag["scale_location"], rows if rows is not None else np.arange(len(diag["fitted"])))
    return v


def qq_plot(qq: dict, title: str = "Normal QQ plot of standardised residuals", rows=None) -> PlotView:
    """Sample against normal quantiles with R's qqline and a 95 % envelope.

    ``rows``: the data row of each sorted point (default: its position among the residuals).
    """
    v = new_view(title, "Normal quantile", "Sample quantile")
    t = qq["theoretical"]
    if len(t):
        v.add_band(t, qq["lower"], qq["upper"])
        a, b = qq["line"]
        v.add_line([t[0], t[-1]], [a + b * t[0], a + b * t[-1]], GREY, style=Qt.DashLine)
    v.add_points(t, qq["sample"], qq["order"] if rows is None else rows)
    return v


def histogram_plot(diag: dict) -> PlotView:
    v = new_view("Histogram of residuals", "Residual", "Count")
    h = diag["histogram"]
    if len(h["counts"]):
        v.addItem(pg.BarGraphItem(x0=h["edges"][:-1], x1=h["edges"][1:], height=h["counts"],
                                  brush=pg.mkBrush(ACCENT + "99"), pen=pg.mkPen("w")))
    return v


def by_group_plot(data: dict, group_name: str = "group") -> PlotView:
    """Residuals by cluster as a strip plot, clusters sorted by median.

    All strips are one scatter item and all median marks one line item (pairs of points): a few
    hundred items per plot made drawing slow.
    """
    v = new_view(f"Residuals by {group_name}", group_name, "Residual")
    size = 5 if len(data["values"]) <= 30 else 3
    values = [np.asarray(vals, float) for vals in data["values"]]
    if values:
        x = np.concatenate([i + (np.random.default_rng(i).random(len(vals)) - 0.5) * 0.3
                            for i, vals in enumerate(values)])
        v.add_points(x, np.concatenate(values), None, colour_=colour(0), size=size)
        k = np.arange(len(values), dtype=float)
        med = np.asarray(data["medians"], float)
        v.addItem(pg.PlotDataItem(np.column_stack([k - 0.3, k + 0.3]).ravel(), np.repeat(med, 2), connect="pairs",
                                  pen=pg.mkPen("#222", width=2)))
    _category_axis(v, data["levels"])
    return v


def _category_axis(v: PlotView, labels, axis="bottom") -> None:
    """Category labels in two levels: a few always (~6), more (up to ~15 across, ~30 up) when the axis
    is long enough for them; pyqtgraph draws the second level only if all the text fills less than
    90 % of the axis, so a short axis (a small plot pane) never shows labels on top of each other."""
    n = len(labels)
    step = max(1, math.ceil(n / (15 if axis == "bottom" else 30)))
    coarse = step * max(1, math.ceil(math.ceil(n / step) / 6))  # a multiple of step: at most ~6 labels
    v.getAxis(axis).setStyle(textFillLimits=[(0, 0.9)])
    v.getAxis(axis).setTicks([[(i, str(labels[i])) for i in range(0, n, coarse)],
                              [(i, str(labels[i])) for i in range(0, n, step) if i % coarse]])


def caterpillar_plot(c: dict) -> PlotView:
    """BLUPs with 95 % intervals, sorted, one row per cluster."""
    v = new_view(f"Random effects: {c['term']} by {c['group']}",
                 c.get("x_label", "Conditional mode (BLUP) with 95 % interval"), c["group"])
    y = np.arange(len(c["levels"]))
    err = pg.ErrorBarItem(x=np.asarray(c["estimate"]), y=y, left=np.asarray(c["estimate"] - c["lower"]),
                          right=np.asarray(c["upper"] - c["estimate"]), pen=pg.mkPen(GREY, width=1.2))
    v.addItem(err)
    v.add_points(c["estimate"], y, None, tips=None)
    v.add_line([0, 0], [-0.5, len(y) - 0.5], "#222", style=Qt.DashLine)
    _category_axis(v, c["levels"], "left")
    return v


def _pairs(v: PlotView, x, y) -> None:
    """Segments (x[0], y[0])-(x[1], y[1]), (x[2], y[2])-(x[3], y[3]) ... as one grey line item."""
    if len(x):
        v.addItem(pg.PlotDataItem(np.asarray(x, float), np.asarray(y, float), connect="pairs", pen=pg.mkPen(GREY)))


def shrinkage_plot(s: dict, i: int = 0, j: int | None = None) -> PlotView:
    """No-pooling estimates → mixed-model estimates; arrows toward the population value.

    With one coefficient (``j`` None) the clusters are rows; with two, a scatter of coefficient i
    against coefficient j. Point size grows with cluster size.
    """
    names = s["names"]
    size = 5 + 10 * np.sqrt(s["n"] / max(1, np.max(s["n"])))
    if j is None:
        v = new_view(f"Shrinkage of {names[i]} by {s['group']}", names[i], s["group"])
        # clusters sorted by their own estimate, so the pull toward the population line reads at a glance
        order = np.argsort(np.where(np.isfinite(s["no_pooling"][:, i]), s["no_pooling"][:, i], np.inf), kind="stable")
        y = np.arange(len(s["levels"]))
        a, b = s["no_pooling"][order, i], s["partial_pooling"][order, i]
        ok = np.isfinite(a)
        _pairs(v, np.column_stack([a[ok], b[ok]]).ravel(), np.repeat(y[ok], 2))
        v.add_points(a, y, None, colour_=colour(1), size=7, name="own data only (no pooling)")
        v.add_points(b, y, None, colour_=colour(0), size=7, name="mixed model (partial pooling)")
        v.add_line([s["population"][i]] * 2, [-0.5, len(y) - 0.5], "#222", style=Qt.DashLine, name="population")
        _category_axis(v, [s["levels"][k] for k in order], "left")
    else:
        v = new_view(f"Shrinkage by {s['group']}", names[i], names[j])
        a, b = s["no_pooling"], s["partial_pooling"]
        ok = np.all(np.isfinite(a[:, [i, j]]), axis=1)
        _pairs(v, np.column_stack([a[ok, i], b[ok, i]]).ravel(), np.column_stack([a[ok, j], b[ok, j]]).ravel())
        for pts, c_, name in ((s["no_pooling"], colour(1), "own data only (no pooling)"),
                              (s["partial_pooling"], colour(0), "mixed model (partial pooling)")):
            item = v.add_points(pts[:, i], pts[:, j], None, colour_=c_, name=name)
            item.setSize(size)
        v.add_points([s["population"][i]], [s["population"][j]], None, colour_="#000000", size=12, name="population")
    v.add_legend()
    return v


def trajectory_plot(obs: dict, x_label: str, y_label: str, population: dict | None = None) -> PlotView:
    """Observed trajectories per subject (thin lines) with population fits and confidence bands.

    Subjects of one colour are one line item (broken between subjects) and one scatter item.
    """
    v = new_view("Trajectories", x_label, y_label)
    by_colour: dict = {}
    for k, c in enumerate(obs["colour"]):
        by_colour.setdefault(c, []).append(k)
    for c, ks in by_colour.items():
        x = np.concatenate([np.append(np.asarray(obs["x"][k], float), np.nan) for k in ks])
        y = np.concatenate([np.append(np.asarray(obs["y"][k], float), np.nan) for k in ks])
        v.addItem(pg.PlotDataItem(x, y, connect="finite",
                                  pen=pg.mkPen((colour(c) + "55") if c is not None else "#88888855", width=1)))
        rows = np.concatenate([np.asarray(obs["rows"][k]) for k in ks])
        xs = np.concatenate([np.asarray(obs["x"][k], float) for k in ks])
        ys = np.concatenate([np.asarray(obs["y"][k], float) for k in ks])
        v.add_points(xs, ys, rows, colour_=colour(c) if c is not None else GREY, size=4)
    if population:
        for g, (lab, curve) in enumerate(population.items()):
            v.add_band(curve["x"], curve["lower"], curve["upper"], colour(g))
            v.add_line(curve["x"], curve["estimate"], colour(g), width=3, name=str(lab))
        v.add_legend()
    return v


def emmeans_plot(levels, estimate, lower, upper, title="Estimated marginal means", x_label="", y_label="",
                 groups=None) -> PlotView:
    """Means with intervals per level; with ``groups`` (one label per row) an interaction plot."""
    v = new_view(title, x_label, y_label)
    levels = list(levels)
    est, lo, hi = (np.asarray(a, float) for a in (estimate, lower, upper))
    if groups is None:
        groups = [""] * len(levels)
    xcats = list(dict.fromkeys(levels))
    for g, name in enumerate(dict.fromkeys(groups)):
        idx = [k for k, gg in enumerate(groups) if gg == name]
        x = np.array([xcats.index(levels[k]) for k in idx], float) + (g - (len(set(groups)) - 1) / 2) * 0.08
        v.addItem(pg.ErrorBarItem(x=x, y=est[idx], top=hi[idx] - est[idx], bottom=est[idx] - lo[idx],
                                  beam=0.1, pen=pg.mkPen(colour(g), width=1.5)))
        if len(set(groups)) > 1:  # an interaction plot joins each group's means; lone levels stand apart
            v.add_line(x, est[idx], colour(g), width=2, name=str(name) if name else None)
        v.add_points(x, est[idx], None, colour_=colour(g), size=9)
    _category_axis(v, xcats)
    if len(set(groups)) > 1:
        v.add_legend()
    return v


def heatmap_plot(matrix, labels, title="Implied correlations") -> PlotView:
    """A correlation matrix as a heat map (blue negative, white 0, orange positive) with values."""
    m = np.asarray(matrix, float)
    v = new_view(title)
    img = pg.ImageItem(m.T)
    img.setLookupTable(pg.ColorMap([-1.0, 0.0, 1.0], ["#0072B2", "#FFFFFF", "#E69F00"]).getLookupTable(-1, 1, 256))
    img.setLevels([-1, 1])
    v.addItem(img)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            t = pg.TextItem(f"{m[i, j]:.2f}", color="#222", anchor=(0.5, 0.5))
            t.setPos(j + 0.5, i + 0.5)
            v.addItem(t)
    ticks = [(k + 0.5, str(lab)) for k, lab in enumerate(labels)]
    v.getAxis("bottom").setTicks([ticks])
    v.getAxis("left").setTicks([ticks])
    v.getViewBox().invertY(True)
    v.getViewBox().setAspectLocked(True)
    return v


def export_png(view: PlotView, path, dpi: int = 300, inches: float = 6.0) -> None:
    """Write the view as PNG at ``dpi`` for a figure ``inches`` wide.

    The whole scene is exported (not only the plot item), so the title above the plot is kept.
    """
    from pyqtgraph.exporters import ImageExporter

    ex = ImageExporter(view.scene())
    ex.parameters()["width"] = int(dpi * inches)
    ex.parameters()["antialias"] = True
    ex.export(str(path))


def export_svg(view: PlotView, path) -> None:
    """Write the view as SVG through Qt's own SVG painter.

    pyqtgraph's SVGExporter post-processes Qt's SVG text and fails on the path syntax of recent
    Qt versions; painting the scene into a QSvgGenerator gives the same vector drawing directly.
    """
    from PySide6.QtCore import QRectF, QSize
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    rect = view.getPlotItem().sceneBoundingRect()
    gen = QSvgGenerator()
    gen.setFileName(str(path))
    gen.setSize(QSize(int(rect.width()), int(rect.height())))
    gen.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
    gen.setTitle(view.getPlotItem().titleLabel.text or "MixGUI plot")
    painter = QPainter(gen)
    try:
        painter.setRenderHint(QPainter.Antialiasing)
        view.scene().render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
    finally:
        painter.end()
