"""Draw and analyse one chunk of replicates: the unit of work handed to a worker process.

Each chunk has its own seed (the run's seed plus the chunk's number), so a run gives the same
answer whatever the number of workers. A replicate is analysed as the user would analyse the real
study: a REML fit (closed form for balanced random-intercept designs, otherwise
:func:`mixgui.engine.lmm.fit_lmm`) and a t test of the treatment with Satterthwaite or
Kenward-Roger df from :class:`mixgui.engine.inference.Inference`.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

from mixgui.engine.covmodel import RandomBlock
from mixgui.engine.inference import Inference
from mixgui.engine.lmm import fit_lmm
from mixgui.engine.power.balanced import balanced_fits
from mixgui.engine.power.scenario import Scenario
from mixgui.errors import MixGUIError

CHUNK = 50  # replicates per chunk: small enough for a responsive progress bar and Cancel


@dataclass(frozen=True)
class TestSettings:
    """How each replicate is tested."""

    alpha: float = 0.05
    alternative: str = "two.sided"
    df_method: str = "satterthwaite"


def chunk_rng(seed: int, tag: tuple, chunk: int) -> np.random.Generator:
    """The generator of one chunk: fixed by the seed, the run's tag and the chunk's number."""
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(*tag, chunk)))


def p_values(t, df, alternative: str) -> np.ndarray:
    """p-values of t statistics (one-sided: the treatment is better, t > 0)."""
    t, df = np.asarray(t, float), np.asarray(df, float)
    if alternative == "one.sided":
        return stats.t.sf(t, df)
    return 2.0 * stats.t.sf(np.abs(t), df)


def _subset_blocks(blocks, rows):
    """The blocks restricted to the kept rows, levels renumbered (nobody is left without a visit)."""
    out = []
    for b in blocks:
        codes = np.asarray(b.codes)[rows]
        used, new = np.unique(codes, return_inverse=True)
        out.append(RandomBlock(b.group, new, [b.levels[i] for i in used], np.asarray(b.Z)[rows], b.names))
    return out


def fit_one(sc: Scenario, y: np.ndarray, rows: np.ndarray | None, df_method: str) -> dict:
    """Fit one replicate with the engine and test the scenario's contrast.

    Returns
    -------
    dict
        ``estimate, std_error, df, failed, singular`` (a failed fit has NaN numbers).
    """
    X, blocks = sc.X, sc.blocks
    if rows is not None:
        X, y, blocks = X[rows], y[rows], _subset_blocks(blocks, rows)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            fit = fit_lmm(y, X, blocks, reml=True, column_names=sc.column_names)
            inf = Inference.build(fit, df_method)
            r = inf.ttest(sc.L)
    except (MixGUIError, np.linalg.LinAlgError, ValueError, FloatingPointError):
        # e.g. fit_lmm's ModelError when the final factorisation fails on a degenerate replicate:
        # such a study had no analysis, which is what a failed fit means here.
        return {"estimate": np.nan, "std_error": np.nan, "df": np.nan, "failed": True, "singular": False}
    # A fit that ran but did not pass the convergence check is counted as a failure; its test is
    # still used, as the analyst of the real study would see it (with lme4's warning).
    failed = not fit.converged or not np.isfinite(r["t_value"])
    return {"estimate": r["estimate"], "std_error": r["std_error"], "df": r["df"], "failed": failed,
            "singular": bool(fit.singular)}


def run_chunk(sc: Scenario, test: TestSettings, seed: int, tag: tuple, chunk: int, size: int,
              progress=None) -> dict:
    """Draw ``size`` replicates and test each.

    Parameters
    ----------
    sc : Scenario
    test : TestSettings
    seed : int
    tag : tuple of int
        Distinguishes the runs of one request (curve points, search steps).
    chunk : int
        The chunk's number (part of its seed).
    size : int
    progress : Progress, optional
        In this process only: told after each full fit, so Cancel is quick.

    Returns
    -------
    dict of ndarray (size,)
        ``reject, failed, singular, estimate, df``.
    """
    rng = chunk_rng(seed, tag, chunk)
    Y = sc.simulate(rng, size)
    keep = sc.kept_rows(rng, size)
    if sc.kind in ("between", "within") and keep is None:
        r = balanced_fits(sc.kind, Y, sc.clusters, sc.per_cluster, sc.n_control, sc.x_within)
        est, se, df, singular = r["estimate"], r["std_error"], r["df"], r["singular"]
        failed = np.zeros(size, bool)
        if test.df_method != "satterthwaite":
            # Kenward-Roger equals the exact test in the interior; on the boundary fit in full.
            for i in np.flatnonzero(singular):
                o = fit_one(sc, Y[i], None, test.df_method)
                est[i], se[i], df[i], failed[i] = o["estimate"], o["std_error"], o["df"], o["failed"]
    else:
        out = []
        for i in range(size):
            if progress is not None:
                progress.step(None, "")
            out.append(fit_one(sc, Y[i], None if keep is None else keep[i], test.df_method))
        est = np.array([o["estimate"] for o in out])
        se = np.array([o["std_error"] for o in out])
        df = np.array([o["df"] for o in out])
        failed = np.array([o["failed"] for o in out])
        singular = np.array([o["singular"] for o in out])
    with np.errstate(divide="ignore", invalid="ignore"):
        t = est / se
        p = p_values(t, df, test.alternative)
    # An analysis that gave no test (NaN) counts as "not significant": the denominator is every
    # simulated study, as the planner will experience them.
    reject = np.where(np.isfinite(p), p < test.alpha, False)
    return {"reject": reject, "failed": failed, "singular": np.asarray(singular, bool) & ~failed,
            "estimate": est, "df": df}
