"""Analysis ▸ Plan a study: power and sample size by simulation, explained in plain words.

The numbers come from :func:`mixgui.planning.plan` (Qt-free), run on a background thread by a
:class:`~mixgui.gui.workers.FitController` with a progress bar and Cancel. The window shows the
simulated power with its Monte Carlo limits, the closed-form power beside it, the design effect,
the smallest number of clusters reaching the target, warnings next to the numbers, and power
curves of both two-arm designs on one plot.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mixgui.errors import MixGUIError
from mixgui.gui.workers import FitController

DESIGN_LABELS = {
    "cluster_randomized": "Cluster trial (whole clusters)",
    "within_cluster": "Within clusters (half of each)",
    "longitudinal": "Longitudinal (visits)",
}
SERIES_STYLE = {"cluster_randomized": ("#1f77b4", "Cluster trial"),
                "within_cluster": ("#d62728", "Within clusters"),
                "longitudinal": ("#2ca02c", "Longitudinal")}

HELP = {
    "design": "How treatment is given: to whole clusters (wards, schools, practices), to half of the members "
              "of every cluster, or to half of the participants followed over several visits.",
    "clusters": "Number of clusters in the whole study, both arms together (a longitudinal study: "
                "participants). Half go to each arm.",
    "per_cluster": "Members measured in each cluster (a longitudinal study: visits per participant).",
    "icc": "Intraclass correlation: the share of the outcome's variation that lies between clusters. "
           "An ICC of 0.05 means 5 % of the variance is due to which cluster someone is in; two members of "
           "the same cluster are then correlated 0.05. Typical values in health care: 0.01 to 0.10.",
    "effect": "The difference between the arms you want to detect, in standard deviations of the outcome "
              "(Cohen's d): 0.2 is small, 0.5 medium, 0.8 large. For a longitudinal study: the difference "
              "at the last visit.",
    "slope_sd": "How much participants differ in their change per visit, in outcome SDs (0: everyone changes "
                "alike apart from treatment).",
    "dropout": "Share of the participants still in the study who are lost before each further visit.",
    "alpha": "Significance level of the test (usually 0.05).",
    "alternative": "Two-sided: an effect in either direction counts. One-sided: only an improvement "
                   "(a positive effect) is tested.",
    "target": "Power you aim for (usually 0.8 or 0.9): the program finds the fewest clusters that reach it.",
    "simulations": "Simulated studies: 1000 give power to within about 3 percentage points.",
    "seed": "Start of the random numbers: the same seed gives the same answer again.",
}


def _spin(lo, hi, value, decimals=None, step=None):
    w = QDoubleSpinBox() if decimals is not None else QSpinBox()
    if decimals is not None:
        w.setDecimals(decimals)
    w.setRange(lo, hi)
    w.setValue(value)
    if step is not None:
        w.setSingleStep(step)
    w.setKeyboardTracking(False)
    return w


class PowerDialog(QDialog):
    """The "Plan a study" window.

    Parameters
    ----------
    parent : QWidget, optional
    run_fn : callable, optional
        ``run_fn(raw_design, _, progress) -> dict``; tests may inject a slow fake.
    """

    def __init__(self, parent=None, run_fn=None, fit=None):
        super().__init__(parent)
        self.setWindowTitle("Plan a study")
        self.resize(1180, 760)
        self.result: dict | None = None
        self.fit = fit  # a fitted mixed model whose estimates can be the truth (simr's extend)
        if run_fn is None:
            from mixgui.planning import FittedTruth, plan

            def run_fn(raw, _unused, progress, fit=fit):
                truth = None
                if raw.get("from_analysis"):
                    truth = FittedTruth(fit, None, None, raw.get("per_cluster"))
                return plan(raw, None, progress, truth=truth)
        self.controller = FitController(run_fn, self)
        self.controller.finished.connect(self._finished)
        self.controller.failed.connect(self._failed)
        self.controller.cancelled.connect(self._cancelled)
        self.controller.progress.connect(self._progress)

        self.design = QComboBox()
        for key, label in DESIGN_LABELS.items():
            self.design.addItem(label, key)
        if fit is not None:
            self.design.addItem("From the analysis shown (its estimates)", "from_analysis")
        # Ranges are wider than valid on purpose: the engine says in words what is wrong.
        self.clusters = _spin(0, 100000, 20)
        self.per_cluster = _spin(0, 10000, 10)
        self.icc = _spin(0.0, 1.0, 0.05, 3, 0.01)
        self.effect = _spin(-10.0, 10.0, 0.5, 2, 0.05)
        self.slope_sd = _spin(0.0, 10.0, 0.0, 2, 0.05)
        self.dropout = _spin(0.0, 0.99, 0.0, 2, 0.05)
        self.alpha = _spin(0.001, 0.2, 0.05, 3, 0.01)
        self.alternative = QComboBox()
        self.alternative.addItem("Two-sided", "two.sided")
        self.alternative.addItem("One-sided (improvement only)", "one.sided")
        self.target = _spin(0.5, 0.99, 0.8, 2, 0.05)
        self.simulations = _spin(10, 1_000_000, 1000)
        self.seed = _spin(0, 2 ** 31 - 1, 1)
        self.curves = QCheckBox("Draw power curves for both designs")
        self.curves.setChecked(True)
        form = QFormLayout()
        rows = [("Design", self.design, "design"), ("Clusters (both arms)", self.clusters, "clusters"),
                ("Members per cluster", self.per_cluster, "per_cluster"), ("ICC", self.icc, "icc"),
                ("Effect size (SD units)", self.effect, "effect"), ("Slope SD", self.slope_sd, "slope_sd"),
                ("Dropout per visit", self.dropout, "dropout"), ("Significance level", self.alpha, "alpha"),
                ("Test", self.alternative, "alternative"), ("Target power", self.target, "target"),
                ("Simulated studies", self.simulations, "simulations"), ("Seed", self.seed, "seed")]
        self.labels = {}
        for text, widget, key in rows:
            widget.setToolTip(HELP[key])
            label = QLabel(text)
            label.setToolTip(HELP[key])
            self.labels[key] = label
            form.addRow(label, widget)
        form.addRow(self.curves)
        self.help = QLabel(HELP["icc"])
        self.help.setWordWrap(True)
        self.help.setObjectName("powerHelp")
        self.help.setStyleSheet("color: #555; font-size: 11px;")
        for _, widget, key in rows:
            widget.installEventFilter(self)
            widget.setProperty("help_key", key)

        self.run_button = QPushButton("Run")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.status = QLabel("")
        self.message = QLabel("")
        self.message.setObjectName("powerMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b3261e;")
        self.numbers = QLabel("Set the design and press Run.")
        self.numbers.setObjectName("powerNumbers")
        self.numbers.setWordWrap(True)
        self.numbers.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warnings = QLabel("")
        self.warnings.setObjectName("powerWarnings")
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("color: #8a5300;")

        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        left = QVBoxLayout()
        left.addLayout(form)
        left.addWidget(self.help)
        left.addLayout(buttons)
        left.addWidget(self.bar)
        left.addWidget(self.status)
        left.addWidget(self.message)
        left.addStretch(1)
        left_w = QWidget()
        left_w.setLayout(left)
        left_w.setFixedWidth(400)

        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("w")
        self.plot_clusters = self.plots.addPlot(row=0, col=0, title="Power against the number of clusters")
        self.plot_size = self.plots.addPlot(row=0, col=1, title="Power against cluster size")
        for p, xl in ((self.plot_clusters, "Number of clusters"), (self.plot_size, "Members per cluster (log scale)")):
            p.setLabel("bottom", xl)
            p.setLabel("left", "Power")
            p.setYRange(0, 1.02)
            p.showGrid(x=True, y=True, alpha=0.25)
        self.plot_clusters.addLegend(offset=(-10, -10))  # one legend: the same lines on both plots
        right = QVBoxLayout()
        right.addWidget(self.numbers)
        right.addWidget(self.warnings)
        right.addWidget(self.plots, 1)
        layout = QHBoxLayout(self)
        layout.addWidget(left_w)
        layout.addLayout(right, 1)
        self.design.currentIndexChanged.connect(self._design_changed)
        self._design_changed()

    # -- inputs ---------------------------------------------------------------------------
    def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
        key = obj.property("help_key") if hasattr(obj, "property") else None
        if key and event.type() == event.Type.FocusIn:
            self.help.setText(HELP[key])
        return super().eventFilter(obj, event)

    def _design_changed(self) -> None:
        fitted = self.design.currentData() == "from_analysis"
        for w in (self.icc, self.effect):
            w.setEnabled(not fitted)  # the fitted model's estimates are the truth
        if fitted:
            self.per_cluster.setValue(self._fitted_size())
        longitudinal = self.design.currentData() == "longitudinal"
        self.labels["per_cluster"].setText("Visits per participant" if longitudinal else "Members per cluster")
        self.labels["clusters"].setText("Participants (both arms)" if longitudinal else "Clusters (both arms)")
        for w in (self.slope_sd, self.dropout):
            w.setEnabled(longitudinal)
        if longitudinal and self.simulations.value() > 300:
            self.simulations.setValue(200)  # each replicate is a full fit: keep the wait reasonable

    def _fitted_size(self) -> int:
        n = len(self.fit.X)
        outer = [b for b in self.fit.blocks if ":" not in b.group]
        return int(round(n / outer[0].n_levels)) if outer else 10

    def raw_design(self) -> dict:
        """The window's inputs as a design file's contents."""
        kind = self.design.currentData()
        if kind == "from_analysis":
            raw = {"format": "mixgui-design", "from_analysis": "the analysis shown",
                   "clusters": [self.clusters.value()], "alpha": self.alpha.value(),
                   "alternative": self.alternative.currentData(), "simulations": self.simulations.value(),
                   "seed": self.seed.value(), "curves": self.curves.isChecked(),
                   "curve_simulations": min(self.simulations.value(), 100)}
            if self.per_cluster.value() != self._fitted_size():  # else: each cluster's rows as in the data
                raw["per_cluster"] = self.per_cluster.value()
            return raw
        raw = {"format": "mixgui-design", "design": kind, "clusters": self.clusters.value(),
               "per_cluster": self.per_cluster.value(), "icc": self.icc.value(), "effect": self.effect.value(),
               "sd": 1.0, "alpha": self.alpha.value(), "alternative": self.alternative.currentData(),
               "target_power": self.target.value(), "simulations": self.simulations.value(),
               "seed": self.seed.value(), "curves": self.curves.isChecked(),
               "curve_simulations": min(self.simulations.value(), 100 if kind == "longitudinal" else 400)}
        if kind == "longitudinal":
            raw.update(visits=raw.pop("per_cluster"), slope_sd=self.slope_sd.value(), dropout=self.dropout.value())
        return raw

    # -- running --------------------------------------------------------------------------
    def run(self) -> None:
        """Check the inputs, then simulate in the background."""
        from mixgui.engine.power import parse_design

        raw = self.raw_design()
        try:
            parse_design(raw)
        except MixGUIError as e:
            self.message.setText(str(e)[:1].upper() + str(e)[1:] + ".")
            return
        self.message.setText("")
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.bar.setValue(0)
        self.status.setText("Simulating…")
        self.controller.submit(raw, None)

    def cancel(self) -> None:
        self.controller.cancel()

    def _idle(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _progress(self, _rev, fraction, message) -> None:
        if fraction >= 0:
            self.bar.setValue(int(1000 * fraction))
        if message:
            self.status.setText(message)

    def _failed(self, _rev, message) -> None:
        self._idle()
        self.status.setText("")
        self.message.setText(message)

    def _cancelled(self, _rev) -> None:
        self._idle()
        self.bar.setValue(0)
        self.status.setText("Cancelled.")

    def _finished(self, _rev, result, seconds) -> None:
        self._idle()
        self.bar.setValue(1000)
        self.status.setText(f"Done in {seconds:.1f} s.")
        self.result = result
        self.numbers.setText(numbers_html(result))
        self.warnings.setText("<br>".join("⚠ " + w for w in result.get("warnings", [])))
        self._draw(result)

    def _draw(self, r: dict) -> None:
        target = r.get("target_power")
        for axis, plot in (("clusters", self.plot_clusters), ("per_cluster", self.plot_size)):
            plot.clear()
            curve = (r.get("curves") or {}).get(axis)
            if not curve:
                if axis == "per_cluster" and r.get("curves"):
                    plot.setTitle("Power against cluster size: for the two-arm designs")
                continue
            plot.setTitle("Power against the number of clusters" if axis == "clusters"
                          else "Power against cluster size")
            xs = curve["values"]
            # Cluster sizes from 2 to 100 are drawn on a log scale, where the plateau of a cluster trial
            # shows; done by hand because pyqtgraph's log mode does not move error bars or lines.
            log = axis == "per_cluster"
            labels = [str(v) for v in xs]
            if log:
                xs = [float(np.log10(v)) for v in xs]
                plot.getAxis("bottom").setTicks([list(zip(xs, labels))])
            for s in curve["series"]:
                color, name = SERIES_STYLE.get(s["design"], ("#444", s["design"]))
                plot.plot(xs, s["power"], pen=pg.mkPen(color, width=2), symbol="o", symbolSize=6,
                          symbolBrush=color, name=f"{name}, simulated")
                lo = [p - q for p, q in zip(s["power"], s["power_lower"])]
                hi = [q - p for p, q in zip(s["power"], s["power_upper"])]
                plot.addItem(pg.ErrorBarItem(x=np.array(xs, float), y=np.array(s["power"], float),
                                             bottom=np.array(lo), top=np.array(hi), beam=0.0,
                                             pen=pg.mkPen(color)))
                if all(a is not None for a in s["analytic_power"]):
                    plot.plot(xs, s["analytic_power"], pen=pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine),
                              name=f"{name}, formula")
            if target:
                plot.addItem(pg.InfiniteLine(pos=target, angle=0, pen=pg.mkPen("#888", style=Qt.PenStyle.DotLine)))
            mark = r["clusters"] if axis == "clusters" else float(np.log10(r["per_cluster"]))
            plot.addItem(pg.InfiniteLine(pos=mark, angle=90, pen=pg.mkPen("#bbb", style=Qt.PenStyle.DashLine)))
            plot.setYRange(0, 1.02)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.controller.shutdown()
        super().closeEvent(event)

    def done(self, code) -> None:
        self.controller.shutdown()
        super().done(code)


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f} %"


def numbers_html(r: dict) -> str:
    """The results as a short HTML paragraph for the window."""
    lines = [f"<b>Power: {_pct(r['power'])}</b> (95 % Monte Carlo limits {_pct(r['power_lower'])} to "
             f"{_pct(r['power_upper'])}, Wilson; {r['simulations']} simulated studies, seed {r['seed']})"]
    if r.get("analytic_power") is not None:
        lines.append(f"Power by formula (noncentral t): {_pct(r['analytic_power'])}")
    lines.append(f"Design effect 1 + (m − 1) ICC = {r['design_effect']:.2f}; effective sample size "
                 f"{r['effective_sample_size']:.0f} of {r['clusters'] * r['per_cluster']} observations")
    lines.append(f"Failed or singular fits: {r['fit_failures']} of {r['simulations']}")
    if "clusters_needed" in r:
        need, formula = r["clusters_needed"], r.get("clusters_needed_analytic")
        who = "participants" if r["design"] == "longitudinal" else "clusters"
        by_formula = f"formula: {formula}" if formula is not None else "no formula with dropout"
        lines.append(f"Fewest {who} for {_pct(r['target_power'])} power: "
                     + (f"<b>{need}</b> (simulated; {by_formula})" if need is not None
                        else "not reached within the search"))
    return "<br>".join(lines)


def open_power_dialog(parent, session=None) -> PowerDialog:
    """Open the window (non-modal) and keep it on ``parent`` as ``power_dialog``.

    With a ``session`` whose analysis shown is a fitted linear mixed model, the window offers to
    plan from that fit.
    """
    fit = None
    kept = session.kept_result() if session is not None else None
    cand = kept.result.fit if kept is not None and kept.result is not None else None
    if cand is not None and getattr(cand, "varcorr", None) is not None and getattr(cand, "blocks", None):
        fit = cand
    dlg = PowerDialog(parent, fit=fit)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    if parent is not None:
        parent.power_dialog = dlg
    dlg.open()
    return dlg
