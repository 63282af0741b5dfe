"""Power curves over the number and the size of clusters, and the smallest number of clusters that will do.

Curves show both designs of a two-arm trial (clusters randomised whole vs members randomised within
clusters) on one plot, so the planner sees that a cluster trial depends on the number of clusters far
more than on their size. The search for the smallest number of clusters starts from the closed-form
answer (bisection on the noncentral t) and confirms it by simulation, stepping one cluster per arm
at a time; without a closed form it brackets and bisects on simulated power.
"""
from __future__ import annotations

from collections.abc import Callable

from mixgui.engine.power.analytic import analytic_power, smallest_clusters_analytic
from mixgui.engine.power.designs import Design
from mixgui.engine.power.scenario import Scenario, build_scenario
from mixgui.engine.power.simulate import Runner, simulate_power
from mixgui.errors import Progress

CLUSTER_GRID = (4, 6, 8, 10, 12, 16, 20, 24, 30, 40, 50, 60, 80, 100, 150, 200, 300, 400)
SIZE_GRID = (2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 75, 100, 200)
MAX_SEARCH_STEPS = 12


def _grid(values, current: int, upper: int, points: int) -> list:
    vals = sorted({v for v in values if v <= upper} | {current})
    if len(vals) > points:  # thin evenly, keeping the ends and the current value
        step = (len(vals) - 1) / (points - 1)
        keep = {vals[round(i * step)] for i in range(points)} | {current}
        vals = sorted(keep)
    return vals


def curve_designs(x: Design) -> list:
    """The designs drawn on one plot: both two-arm designs, or the design itself."""
    if x.design in ("cluster_randomized", "within_cluster"):
        return ["cluster_randomized", "within_cluster"]
    return [x.design]


def power_curves(x: Design, progress: Progress | None = None, runner: Runner | None = None,
                 make_scenario: Callable[[Design], Scenario] = build_scenario, span=(0.0, 1.0),
                 axes=("clusters", "per_cluster")) -> dict:
    """Simulated (and closed-form) power against the number of clusters and against cluster size.

    Parameters
    ----------
    x : Design
        Its seed must be set (every point gets its own stream from it).
    progress, runner : optional
    make_scenario : callable
        Design -> Scenario (a fitted analysis supplies its own).
    span : (float, float)
        Part of the progress bar the curves fill.
    axes : tuple of str
        ``clusters`` and/or ``per_cluster``.

    Returns
    -------
    dict
        ``{axis: {"values": [...], "series": [{"design", "power", "power_lower", "power_upper",
        "analytic_power"}]}}``.
    """
    general = x.design in ("longitudinal", "from_analysis")
    points = 6 if general else 9
    step = 1 if x.design == "within_cluster" else 2
    low_c = 2 if x.design == "within_cluster" else 4
    grids = {
        "clusters": [v for v in _grid(CLUSTER_GRID, x.clusters, max(2 * x.clusters, 24), points) if v >= low_c
                     and v % step == 0 or v == x.clusters],
        # far enough to show that bigger clusters stop helping a cluster trial
        "per_cluster": _grid(SIZE_GRID, x.per_cluster, max(5 * x.per_cluster, 100), points),
    }
    if x.design == "longitudinal":
        grids["per_cluster"] = [v for v in grids["per_cluster"] if v >= (3 if x.slope_sd > 0 else 2)][:points]
    if x.design == "from_analysis" and x.cluster_list:
        grids["clusters"] = sorted(set(x.cluster_list))
    designs = curve_designs(x)
    jobs = [(a, d, v) for a in axes if a in grids for d in designs for v in grids[a]]
    out = {a: {"values": grids[a], "series": [{"design": d, "power": [], "power_lower": [], "power_upper": [],
                                               "analytic_power": []} for d in designs]} for a in axes if a in grids}
    width = (span[1] - span[0]) / max(len(jobs), 1)
    own = runner is None
    runner = runner if runner is not None else Runner(x.workers)
    try:
        for i, (axis, d, v) in enumerate(jobs):
            y = x.with_size(**{axis: v}, design=d)
            r = simulate_power(y, progress, runner, make_scenario(y), tag=(1, i), simulations=x.curve_simulations,
                               span=(span[0] + i * width, span[0] + (i + 1) * width))
            s = out[axis]["series"][designs.index(d)]
            s["power"].append(r.power)
            s["power_lower"].append(r.power_lower)
            s["power_upper"].append(r.power_upper)
            s["analytic_power"].append(analytic_power(y) if d != "from_analysis" else None)
    finally:
        if own:
            runner.close()
    return out


def clusters_needed(x: Design, progress: Progress | None = None, runner: Runner | None = None,
                    make_scenario: Callable[[Design], Scenario] = build_scenario, span=(0.0, 1.0),
                    limit: int = 2000) -> dict:
    """The smallest number of clusters whose simulated power reaches ``x.target_power``.

    Returns
    -------
    dict
        ``target_power``, ``clusters_needed`` (None when even ``limit`` clusters fall short),
        ``clusters_needed_analytic`` and ``steps`` (each simulated size with its power and limits).
    """
    target = x.target_power
    step = 1 if x.design == "within_cluster" else 2
    lowest = 2 if x.design == "within_cluster" else 4
    analytic = smallest_clusters_analytic(x, target) if x.design != "from_analysis" else None
    cache: dict = {}
    steps: list = []
    own = runner is None
    runner = runner if runner is not None else Runner(x.workers)
    width = (span[1] - span[0]) / MAX_SEARCH_STEPS

    def power(J: int) -> float:
        if J not in cache:
            k = len(cache)
            y = x.with_size(clusters=J)
            sc = make_scenario(y)
            # Full fits per replicate are slow: search with the curves' (smaller) number of studies.
            n = x.simulations if sc.kind != "general" else min(x.simulations, x.curve_simulations)
            r = simulate_power(y, progress, runner, sc, tag=(2, J), simulations=n,
                               span=(span[0] + k * width, span[0] + (k + 1) * width))
            cache[J] = r.power
            steps.append({"clusters": J, "power": r.power, "power_lower": r.power_lower,
                          "power_upper": r.power_upper})
        return cache[J]

    def snap(J: float) -> int:
        J = max(lowest, int(J))
        return J + (J % step)

    try:
        found = None
        if analytic is not None:
            # Start at the closed-form answer (the no-dropout one is a lower bound with dropout).
            J = snap(analytic)
            if power(J) >= target:
                while J - step >= lowest and len(cache) < MAX_SEARCH_STEPS and power(J - step) >= target:
                    J -= step
                found = J
            else:
                while J < limit and len(cache) < MAX_SEARCH_STEPS:
                    J += step
                    if power(J) >= target:
                        found = J
                        break
        else:
            nodrop = smallest_clusters_analytic(Design(**{**x.__dict__, "dropout": ()}), target) \
                if x.design == "longitudinal" else None
            lo = snap(nodrop - step) if nodrop else lowest  # power(lo) < target assumed
            hi = snap(max(x.clusters, lo + step))
            while power(hi) < target and hi < limit:
                lo, hi = hi, snap(min(limit, 2 * hi))
            if power(hi) >= target:
                while hi - lo > step and len(cache) < MAX_SEARCH_STEPS:
                    mid = snap((lo + hi) / 2)
                    if mid >= hi or mid <= lo:
                        break
                    if power(mid) >= target:
                        hi = mid
                    else:
                        lo = mid
                found = hi
    finally:
        if own:
            runner.close()
    return {"target_power": target, "clusters_needed": found, "clusters_needed_analytic": analytic,
            "steps": sorted(steps, key=lambda s: s["clusters"])}
