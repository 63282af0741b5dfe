"""Power by simulation: chunks of replicates run in worker processes, gathered with Monte Carlo limits.

Work is cut into chunks of :data:`~mixgui.engine.power.replicates.CHUNK` replicates, each with its own
seed, so the answer does not depend on how many workers ran it. Balanced random-intercept designs
are fitted in closed form in this process (a thousand replicates take well under a second); designs
that need a full fit per replicate go to a pool of worker processes.
"""
from __future__ import annotations

import math
import multiprocessing
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field

import numpy as np

from mixgui.engine.power.analytic import analytic_power, design_effect, effective_sample_size, wilson_interval
from mixgui.engine.power.designs import Design, design_warnings
from mixgui.engine.power.replicates import CHUNK, TestSettings, run_chunk
from mixgui.engine.power.scenario import Scenario, build_scenario
from mixgui.errors import Cancelled, FitWarning, Progress

FAILURE_SHARE = 0.05   # more failed fits than this: warn
SINGULAR_SHARE = 0.25  # more singular fits than this: say the test is then conservative


@dataclass
class PowerResult:
    """Simulated power of one design, with what explains it.

    ``power_lower``/``power_upper`` are 95 % Wilson score limits for the Monte Carlo error;
    ``fit_failures`` counts replicates whose fit failed, did not converge or was singular.
    """

    design: str
    clusters: int
    per_cluster: int
    power: float
    power_lower: float
    power_upper: float
    simulations: int
    rejections: int
    fit_failures: int
    failed_fits: int
    singular_fits: int
    analytic_power: float | None
    design_effect: float
    effective_sample_size: float
    median_df: float
    seed: int
    seconds: float
    monte_carlo_interval: str = "wilson"
    warnings: list = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["warnings"] = [w.message for w in self.warnings]
        return d


def default_workers() -> int:
    """Worker processes to use: the machine's cores (at most 4); 1 in a frozen app without fork."""
    if getattr(sys, "frozen", False):
        return 1
    return max(1, min(os.cpu_count() or 1, 4))


class Runner:
    """Runs chunks in this process or in a lazily started pool of worker processes.

    Use as a context manager so the pool is shut down (and pending chunks dropped) on exit.
    """

    def __init__(self, workers: int | None = None):
        self.workers = default_workers() if workers is None else max(1, int(workers))
        self._pool = None
        self._broken = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self, stop: bool = False) -> None:
        """Shut the pool down; ``stop`` also ends chunks still running (after Cancel or an error)."""
        if self._pool is not None:
            procs = list((getattr(self._pool, "_processes", None) or {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            if stop:
                for proc in procs:  # our own workers: a cancelled run must not keep the cores busy
                    proc.terminate()
            self._pool = None

    def _executor(self):
        if self._pool is None:
            # spawn: a clean interpreter per worker; forking a process that runs Qt threads is unsafe
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def _in_pool(self, sc, test, seed, tag, sizes, parts, tick) -> None:
        pool = self._executor()
        futures = {pool.submit(run_chunk, sc, test, seed, tag, i, s): i for i, s in enumerate(sizes)}
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for f in done:
                    parts[futures[f]] = f.result()
                tick(sum(p is not None for p in parts))
        except BaseException:
            for f in pending:
                f.cancel()
            self.close(stop=True)
            raise

    def run(self, sc: Scenario, test: TestSettings, seed: int, tag: tuple, n: int,
            progress: Progress | None = None, span=(0.0, 1.0), message: str = "Simulating") -> dict:
        """``n`` replicates of ``sc``: the chunks' arrays joined, in chunk order."""
        # Full fits take ~0.1 s each: smaller chunks keep the progress bar moving. The size depends on
        # the scenario only, never on the workers, so the seeds (one per chunk) stay the same.
        size = CHUNK if sc.kind != "general" else max(1, CHUNK // 5)
        sizes = [size] * (n // size) + ([n % size] if n % size else [])
        parts: list = [None] * len(sizes)

        def tick(done):
            if progress is not None:
                frac = span[0] + (span[1] - span[0]) * done / max(len(sizes), 1)
                progress.step(frac, f"{message}: {min(done * size, n)} of {n} studies")

        tick(0)
        parallel = self.workers > 1 and sc.kind == "general" and len(sizes) > 1 and not self._broken
        if parallel:
            try:
                self._in_pool(sc, test, seed, tag, sizes, parts, tick)
            except BrokenProcessPool:
                # Workers could not start (e.g. a script without a __main__ guard): finish here.
                self._broken = True
                self.close()
        for i, s in enumerate(sizes):
            if parts[i] is None:
                parts[i] = run_chunk(sc, test, seed, tag, i, s, progress)
                tick(sum(p is not None for p in parts))
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def resolve_seed(seed: int | None) -> int:
    """The run's seed: the one given, or a fresh one (reported so the run can be repeated)."""
    if seed is not None:
        return int(seed)
    return int(np.random.SeedSequence().entropy % (2 ** 31))


def summarise(x: Design, arrays: dict, seed: int, seconds: float, sc: Scenario | None = None) -> PowerResult:
    """Power, its Monte Carlo limits and the counts from the replicates' arrays."""
    n = len(arrays["reject"])
    k = int(arrays["reject"].sum())
    lo, hi = wilson_interval(k, n)
    failed, singular = int(arrays["failed"].sum()), int(arrays["singular"].sum())
    df = arrays["df"][np.isfinite(arrays["df"])]
    warnings = design_warnings(x)
    if failed > FAILURE_SHARE * n:
        warnings.append(FitWarning(
            "fit_failures", f"{failed} of {n} simulated studies ({100 * failed / n:.0f} %) could not be fitted "
            "or did not converge: the model is too rich for this design; add clusters or members, or simplify "
            "the random effects.", "power"))
    if singular > SINGULAR_SHARE * n:
        warnings.append(FitWarning(
            "singular_fits", f"In {100 * singular / n:.0f} % of the simulated studies the variance between "
            "clusters was estimated as zero (a singular fit), which makes the test conservative; with a small "
            "ICC this is expected. More clusters make it rarer.", "power"))
    nobs = sc.nobs if sc is not None else x.clusters * x.per_cluster
    per = nobs / x.clusters
    return PowerResult(
        design=x.design, clusters=x.clusters, per_cluster=x.per_cluster, power=k / n, power_lower=lo,
        power_upper=hi, simulations=n, rejections=k, fit_failures=failed + singular, failed_fits=failed,
        singular_fits=singular, analytic_power=analytic_power(x) if x.design != "from_analysis" else None,
        design_effect=design_effect(per, x.icc), effective_sample_size=effective_sample_size(x.clusters, per, x.icc),
        median_df=float(np.median(df)) if df.size else math.nan, seed=seed, seconds=seconds, warnings=warnings)


def simulate_power(x: Design, progress: Progress | None = None, runner: Runner | None = None,
                   scenario: Scenario | None = None, tag: tuple = (0,), simulations: int | None = None,
                   span=(0.0, 1.0)) -> PowerResult:
    """Simulate the design ``simulations`` times, fit and test each replicate, and count rejections.

    Parameters
    ----------
    x : Design
    progress : Progress, optional
        Told after every chunk; cancelling raises :class:`~mixgui.errors.Cancelled`.
    runner : Runner, optional
        Reused across calls (one pool for a whole curve); a private one otherwise.
    scenario : Scenario, optional
        The truth to draw from (default: built from ``x``; a fitted analysis gives its own).
    tag : tuple of int
        Separates the random streams of the runs of one request.
    simulations : int, optional
        Overrides ``x.simulations``.
    span : (float, float)
        Part of the progress bar this run fills.

    Returns
    -------
    PowerResult
    """
    t0 = time.perf_counter()
    sc = scenario if scenario is not None else build_scenario(x)
    seed = resolve_seed(x.seed)
    n = int(simulations or x.simulations)
    test = TestSettings(x.alpha, x.alternative, x.df_method)
    own = runner is None
    runner = runner if runner is not None else Runner(x.workers)
    try:
        arrays = runner.run(sc, test, seed, tag, n, progress, span)
    finally:
        if own:
            runner.close()
    return summarise(x, arrays, seed, time.perf_counter() - t0, sc)


__all__ = ["PowerResult", "Runner", "simulate_power", "summarise", "resolve_seed", "Cancelled"]
