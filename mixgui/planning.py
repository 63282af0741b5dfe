"""Study planning end to end: a design file in, the power results out (``mixgui power DESIGN.json``).

The statistics live in :mod:`mixgui.engine.power`; this module reads the design file, turns a
fitted analysis (``from_analysis``) into the truth to simulate from (its estimates, with more or
fewer clusters, as simr's ``extend``), and assembles the results dictionary.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from mixgui.engine.covmodel import RandomBlock
from mixgui.engine.power import (
    Design,
    Runner,
    Scenario,
    analytic_power,
    build_scenario,
    clusters_needed,
    parse_design,
    power_curves,
    simulate_power,
)
from mixgui.engine.power.simulate import resolve_seed
from mixgui.errors import Progress, SpecError


def read_design_file(path) -> tuple:
    """Read a design file: (raw dict, folder it lives in)."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise SpecError(f"design file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"cannot read design file {path}: {e}") from None
    except json.JSONDecodeError as e:
        raise SpecError(f"design file {path} is not valid JSON (line {e.lineno}: {e.msg})") from None
    return raw, path.parent


class FittedTruth:
    """A fitted mixed model as the truth, extendable to any number of clusters along one grouping.

    Parameters
    ----------
    fit : LmmFit
    along : str, optional
        Grouping factor whose clusters are added or removed (default: the only one).
    term : str, optional
        Fixed-effect column to test (default: the first one after the intercept, as simr).
    per_cluster : int, optional
        Rows per new cluster (a cluster's rows repeated or cut); default: as in the data.
    """

    def __init__(self, fit, along=None, term=None, per_cluster=None):
        self.fit = fit
        groups = list(dict.fromkeys(b.group for b in fit.blocks))
        if along is None:
            outer = [g for g in groups if ":" not in g]
            if len(outer) != 1:
                raise SpecError(f'the analysis has several grouping factors ({", ".join(groups)}); say which one '
                                'gets more or fewer clusters with "along"')
            along = outer[0]
        if along not in groups:
            close = difflib.get_close_matches(along, groups, n=1)
            hint = f'; did you mean "{close[0]}"?' if close else f"; the groupings are {', '.join(groups)}"
            raise SpecError(f'"along" names "{along}", which is not a grouping factor of the analysis{hint}')
        self.along = along
        names = list(fit.column_names)
        if term is None:
            rest = [n for n in names if n != "(Intercept)"]
            if not rest:
                raise SpecError("the analysis has no fixed effect besides the intercept to test")
            term = rest[0]
        if term not in names:
            close = difflib.get_close_matches(term, names, n=1)
            hint = f'; did you mean "{close[0]}"?' if close else f"; the coefficients are {', '.join(names)}"
            raise SpecError(f'"term" names "{term}", which is not a coefficient of the analysis{hint}')
        self.term = term
        blk = next(b for b in fit.blocks if b.group == along)
        self.codes = np.asarray(blk.codes)
        self.n_levels = blk.n_levels
        self.rows_of = [np.flatnonzero(self.codes == j) for j in range(self.n_levels)]
        self.per_cluster = per_cluster
        k = [i for i, b in enumerate(fit.blocks) if b.group == along][0]
        tau2 = float(fit.varcorr[k][0, 0]) if fit.blocks[k].names[0] == "(Intercept)" else 0.0
        self.icc = tau2 / (tau2 + fit.sigma ** 2)

    def mean_size(self) -> int:
        return int(round(len(self.codes) / self.n_levels))

    def scenario(self, clusters: int) -> Scenario:
        """The fitted truth with ``clusters`` clusters, the j-th a copy of the data's (j mod L)-th."""
        fit = self.fit
        rows, new = [], []
        for j in range(clusters):
            r = self.rows_of[j % self.n_levels]
            if self.per_cluster:
                r = np.resize(r, self.per_cluster)  # repeated or cut to the asked size
            rows.append(r)
            new.append(np.full(len(r), j))
        rows, new = np.concatenate(rows), np.concatenate(new)
        blocks = []
        for b in fit.blocks:
            old = np.asarray(b.codes)[rows]
            if b.group == self.along:
                key = new
            elif b.group.endswith(":" + self.along):  # nested inside the cluster: new clusters, new levels
                key = new * b.n_levels + old
            else:  # crossed with the clusters: the same levels
                key = old
            used, codes = np.unique(key, return_inverse=True)
            blocks.append(RandomBlock(b.group, codes, [str(u) for u in used], np.asarray(b.Z)[rows], b.names))
        L = np.zeros(len(fit.beta))
        L[list(fit.column_names).index(self.term)] = 1.0
        return Scenario("general", np.asarray(fit.X)[rows], list(fit.column_names), blocks,
                        [np.asarray(v) for v in fit.varcorr], float(fit.sigma), np.asarray(fit.beta), L,
                        self.term, clusters, int(round(len(rows) / clusters)))


def fitted_truth(raw: dict, folder: Path, progress: Progress | None = None) -> FittedTruth:
    """Fit the analysis a design names and return it as the truth to simulate from."""
    from mixgui.analysis.spec import load_spec
    from mixgui.data.readers import read_table
    from mixgui.pipeline.run import check_columns, run

    path = Path(raw["from_analysis"])
    if not path.is_absolute():
        path = folder / path
    spec, data_path = load_spec(path)
    dataset = read_table(data_path, spec.data.sheet)
    check_columns(spec, dataset.columns, dataset.name)
    result = run(spec, dataset, progress)
    fit = result.fit
    if spec.repeated is not None or not hasattr(fit, "varcorr") or not getattr(fit, "blocks", None):
        raise SpecError("from_analysis needs a linear mixed model with random effects (no repeated-measures "
                        "structure, no generalized model); choose such an analysis")
    per = raw.get("per_cluster")
    return FittedTruth(fit, raw.get("along"), raw.get("term"), int(per) if per else None)


def plan(raw: dict, folder: Path | None = None, progress: Progress | None = None,
         truth: FittedTruth | None = None) -> dict:
    """Run a design file's study planning: power, curves, smallest number of clusters.

    Parameters
    ----------
    raw : dict
        The design file's contents.
    folder : Path, optional
        Where relative ``from_analysis`` paths are resolved.
    progress : Progress, optional
    truth : FittedTruth, optional
        For ``from_analysis``: a model already fitted (the window's analysis) instead of the file's.

    Returns
    -------
    dict
        The results (``power``, ``power_lower``, ``power_upper``, ``simulations``, ``design_effect``,
        ``effective_sample_size``, ``analytic_power``, ``fit_failures``, ...).
    """
    x = parse_design(raw)
    x = replace(x, seed=resolve_seed(x.seed))
    make = build_scenario
    extra: dict = {}
    if x.design == "from_analysis":
        truth = truth if truth is not None else fitted_truth(raw, folder or Path.cwd(), progress)
        x = replace(x, icc=truth.icc, per_cluster=truth.per_cluster or truth.mean_size())

        def make(d: Design) -> Scenario:
            return truth.scenario(d.clusters)
        extra = {"from_analysis": raw["from_analysis"], "along": truth.along}
        test_name = truth.term
    else:
        test_name = build_scenario(x).test_name
    search = x.design != "from_analysis" and analytic_power(x) is not None or "target_power" in raw
    want_curves = x.curves or len(set(x.cluster_list)) > 1
    spans = _spans(1.0, 1.0 if search else 0.0, 1.5 if want_curves else 0.0)
    with Runner(x.workers) as runner:
        r = simulate_power(x, progress, runner, make(x), span=spans[0])
        out = {"format": "mixgui-power", "version": 1, **r.to_dict(), "test": test_name, "alpha": x.alpha,
               "alternative": x.alternative, "df_method": x.df_method, "icc": x.icc, "effect": x.effect, **extra}
        out["warning_details"] = [{"kind": w.kind, "table": w.table, "message": w.message} for w in r.warnings]
        if search:
            out.update(clusters_needed(x, progress, runner, make, span=spans[1]))
        if want_curves:
            # Against cluster size only for the two-arm designs: more visits of a longitudinal study change
            # its follow-up and its dropout too, so that curve would not answer a sizing question.
            axes = ("clusters",) if x.design in ("from_analysis", "longitudinal") else ("clusters", "per_cluster")
            out["curves"] = power_curves(x, progress, runner, make, span=spans[2], axes=axes)
    return out


def _spans(*weights) -> list:
    total = sum(weights)
    out, start = [], 0.0
    for w in weights:
        out.append((start / total, (start + w) / total))
        start += w
    return out


def plan_file(path, progress: Progress | None = None) -> dict:
    """:func:`plan` for a design file on disk."""
    raw, folder = read_design_file(path)
    return plan(raw, folder, progress)
