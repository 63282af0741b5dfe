"""A study design to plan: its settings, checked, with a plain message for every bad value.

The design file's names are the contract (``format: "mixgui-design"``): ``design``, ``clusters``,
``per_cluster``, ``icc``, ``effect``, ``sd``, ``alpha``, ``simulations``, ``seed``; for longitudinal
studies ``visits``, ``slope_sd``, ``dropout``; ``from_analysis`` for a fitted analysis as the truth.
Further keys of ours: ``alternative``, ``df_method``, ``target_power``, ``curves``,
``curve_simulations``, ``workers``, ``term``, ``along``.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, replace

from mixgui.errors import FitWarning, SpecError

DESIGNS = ("cluster_randomized", "within_cluster", "longitudinal")
MAX_SIMULATIONS = 100_000
MAX_CLUSTERS = 100_000
MAX_PER_CLUSTER = 10_000
KNOWN_KEYS = ("format", "version", "design", "clusters", "per_cluster", "icc", "effect", "sd", "alpha",
              "simulations", "seed", "visits", "slope_sd", "dropout", "from_analysis", "alternative",
              "df_method", "target_power", "curves", "curve_simulations", "workers", "term", "along")
ALTERNATIVES = ("two.sided", "one.sided")
DF_METHODS = ("satterthwaite", "kenward-roger")
HOPELESS_PER_ARM = 6  # fewer clusters per arm than this: the between-cluster variance rests on too few


@dataclass(frozen=True)
class Design:
    """One study design (all effects and SDs in the outcome's units, ``effect`` in SD units).

    Attributes
    ----------
    design : str
        ``cluster_randomized``, ``within_cluster`` or ``longitudinal``; ``from_analysis`` when a fitted
        analysis is the truth.
    clusters : int
        Clusters in all (both arms); participants for a longitudinal study.
    per_cluster : int
        Members per cluster (longitudinal: the number of visits).
    icc : float
        Share of the total variance that lies between clusters (longitudinal: at the first visit).
    effect : float
        Difference between arms in units of ``sd`` (longitudinal: at the last visit).
    """

    design: str = "cluster_randomized"
    clusters: int = 20
    per_cluster: int = 10
    icc: float = 0.05
    effect: float = 0.5
    sd: float = 1.0
    alpha: float = 0.05
    simulations: int = 1000
    seed: int | None = None
    slope_sd: float = 0.0
    dropout: tuple = ()
    alternative: str = "two.sided"
    df_method: str = "satterthwaite"
    target_power: float = 0.8
    curves: bool = False
    curve_simulations: int = 300
    workers: int | None = None
    from_analysis: str | None = None
    cluster_list: tuple = ()
    term: str | None = None
    along: str | None = None

    @property
    def visits(self) -> int:
        return self.per_cluster

    @property
    def per_arm(self) -> tuple:
        """Clusters in the control and the treated arm (the control arm gets the odd one)."""
        return self.clusters - self.clusters // 2, self.clusters // 2

    def with_size(self, clusters: int | None = None, per_cluster: int | None = None,
                  design: str | None = None) -> Design:
        """The same design with another number of clusters, cluster size or kind of design."""
        return replace(self, clusters=self.clusters if clusters is None else int(clusters),
                       per_cluster=self.per_cluster if per_cluster is None else int(per_cluster),
                       design=self.design if design is None else design)


def _nearest(key: str, known) -> str:
    close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.5)
    return f'; did you mean "{close[0]}"?' if close else f"; known settings: {', '.join(known)}"


def _number(d: dict, key: str, default, kind=float):
    if key not in d or d[key] is None:
        return default
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise SpecError(f'"{key}" must be a number, not {v!r}')
    if not math.isfinite(v):
        raise SpecError(f'"{key}" must be a finite number, not {v!r}')
    if kind is int:
        if v != int(v):
            raise SpecError(f'"{key}" must be a whole number, not {v!r}')
        return int(v)
    return float(v)


def _choice(d: dict, key: str, default: str, allowed) -> str:
    v = d.get(key, default)
    v = default if v is None else str(v).lower().replace("_", "-") if key == "df_method" else str(v)
    if v not in allowed:
        raise SpecError(f'"{key}" must be one of {", ".join(allowed)}, not "{v}"{_nearest(v, allowed)}')
    return v


def parse_design(d: dict) -> Design:
    """Read and check a design file's contents.

    Parameters
    ----------
    d : dict
        The parsed JSON (``format: "mixgui-design"``).

    Returns
    -------
    Design

    Raises
    ------
    SpecError
        An unknown key (the nearest known one named) or a value out of range, with what to do.
    """
    if not isinstance(d, dict):
        raise SpecError("a design file must hold one JSON object, like "
                        '{"design": "cluster_randomized", "clusters": 16, ...}')
    for k in d:
        if k not in KNOWN_KEYS:
            raise SpecError(f'unknown setting "{k}" in the design{_nearest(k, KNOWN_KEYS)}')
    fmt = d.get("format", "mixgui-design")
    if fmt != "mixgui-design":
        raise SpecError(f'this is not a design file (format "{fmt}"); a design file has "format": "mixgui-design"')
    from_analysis = d.get("from_analysis")
    if from_analysis is not None and not isinstance(from_analysis, str):
        raise SpecError('"from_analysis" must be the path of an analysis file, like "trial.json"')
    kind = "from_analysis" if from_analysis else _choice(d, "design", "cluster_randomized", DESIGNS)
    cluster_list: tuple = ()
    raw_clusters = d.get("clusters", 20)
    if isinstance(raw_clusters, list):
        if kind != "from_analysis":
            raise SpecError('"clusters" must be one whole number (a list only goes with "from_analysis")')
        if not raw_clusters:
            raise SpecError('"clusters" is an empty list; give the numbers of clusters to try, like [10, 20, 30]')
        cluster_list = tuple(_number({"clusters": c}, "clusters", 0, int) for c in raw_clusters)
        clusters = cluster_list[0]
    else:
        clusters = _number(d, "clusters", 20, int)
    visits = _number(d, "visits", None, int)
    per_cluster = _number(d, "per_cluster", visits if visits is not None and kind == "longitudinal" else 10, int)
    if kind == "longitudinal":
        per_cluster = visits if visits is not None else _number(d, "per_cluster", 4, int)
    dropout = d.get("dropout", 0.0)
    dropout = tuple(dropout) if isinstance(dropout, list) else (dropout,)
    dropout = tuple(_number({"dropout": p}, "dropout", 0.0) for p in dropout)
    design = Design(
        design=kind, clusters=clusters, per_cluster=per_cluster,
        icc=_number(d, "icc", 0.05), effect=_number(d, "effect", 0.5), sd=_number(d, "sd", 1.0),
        alpha=_number(d, "alpha", 0.05), simulations=_number(d, "simulations", 1000, int),
        seed=_number(d, "seed", None, int), slope_sd=_number(d, "slope_sd", 0.0), dropout=dropout,
        alternative=_choice(d, "alternative", "two.sided", ALTERNATIVES),
        df_method=_choice(d, "df_method", "satterthwaite", DF_METHODS),
        target_power=_number(d, "target_power", 0.8), curves=bool(d.get("curves", False)),
        curve_simulations=_number(d, "curve_simulations", 300, int), workers=_number(d, "workers", None, int),
        from_analysis=from_analysis, cluster_list=cluster_list,
        term=None if d.get("term") is None else str(d["term"]),
        along=None if d.get("along") is None else str(d["along"]))
    check_design(design)
    return design


def check_design(x: Design) -> None:
    """Raise :class:`SpecError` with a plain message when a setting is out of range."""
    if not 0.0 <= x.icc < 1.0:
        raise SpecError(f"the ICC must be at least 0 and below 1 (it is {x.icc:g}); "
                        "0.05 means 5 % of the outcome's variance lies between clusters")
    if not x.sd > 0:
        raise SpecError(f'"sd" (the outcome\'s total standard deviation) must be above 0, not {x.sd:g}')
    if not 0.0 < x.alpha < 0.5:
        raise SpecError(f'"alpha" (the significance level) must lie between 0 and 0.5, like 0.05, not {x.alpha:g}')
    if not 0.0 < x.target_power < 1.0:
        raise SpecError(f'"target_power" must lie between 0 and 1, like 0.8, not {x.target_power:g}')
    if x.alternative == "one.sided" and x.effect < 0:
        raise SpecError(f"a one-sided test looks for an effect above 0, but the effect is {x.effect:g}; "
                        "give the effect as a positive number (the expected improvement) or test two-sided")
    for what, n in (("simulations", x.simulations), ("curve_simulations", x.curve_simulations)):
        if n < 10:
            raise SpecError(f'"{what}" must be at least 10 (1000 is usual), not {n}')
        if n > MAX_SIMULATIONS:
            raise SpecError(f'"{what}" is {n}, more than the {MAX_SIMULATIONS:,} allowed; '
                            "10,000 simulations already give power to within 1 percentage point")
    if x.workers is not None and x.workers < 1:
        raise SpecError(f'"workers" must be at least 1, not {x.workers}')
    if x.slope_sd < 0:
        raise SpecError(f'"slope_sd" is a standard deviation and cannot be negative ({x.slope_sd:g})')
    for p in x.dropout:
        if not 0.0 <= p < 1.0:
            raise SpecError(f'"dropout" is the share lost at each visit and must lie in [0, 1), not {p:g}')
    if x.clusters > MAX_CLUSTERS or x.per_cluster > MAX_PER_CLUSTER:
        raise SpecError(f"at most {MAX_CLUSTERS:,} clusters of at most {MAX_PER_CLUSTER:,} members can be simulated")
    if x.design == "from_analysis":
        for c in x.cluster_list or (x.clusters,):
            if c < 2:
                raise SpecError(f"a simulated study needs at least 2 clusters, not {c}")
        return
    if x.per_cluster < 1:
        raise SpecError(f"each cluster needs at least one member (per_cluster is {x.per_cluster}); "
                        "give the number of members per cluster, like 10")
    if x.design == "cluster_randomized":
        if x.clusters // 2 < 2:
            raise SpecError(f"with {x.clusters} clusters there are fewer than 2 clusters per arm, so the "
                            "treatment effect cannot be tested; plan at least 4 clusters (12 or more is usual)")
        if x.per_cluster < 2:
            raise SpecError("with one member per cluster, cluster and residual variation cannot be told apart; "
                            "plan at least 2 members per cluster (or analyse without clusters)")
    elif x.design == "within_cluster":
        if x.clusters < 2:
            raise SpecError(f"a within-cluster design needs at least 2 clusters, not {x.clusters}")
        if x.per_cluster < 2:
            raise SpecError("a within-cluster design needs at least 2 members per cluster (one per arm)")
    else:
        if x.clusters // 2 < 2:
            raise SpecError(f"with {x.clusters} participants there are fewer than 2 per arm; plan at least 4")
        if x.per_cluster < 2:
            raise SpecError(f"a longitudinal study needs at least 2 visits, not {x.per_cluster}")
        if x.slope_sd > 0 and x.per_cluster < 3:
            raise SpecError("random slopes need at least 3 visits; add visits or set slope_sd to 0")
        if x.dropout and len(x.dropout) not in (1, x.per_cluster - 1):
            raise SpecError(f'"dropout" gives {len(x.dropout)} values; give one (the same at every visit) '
                            f"or one per visit after the first ({x.per_cluster - 1})")


def dropout_per_visit(x: Design) -> list:
    """Share of those still in the study lost before each visit after the first."""
    if not x.dropout:
        return [0.0] * (x.per_cluster - 1)
    if len(x.dropout) == 1:
        return [x.dropout[0]] * (x.per_cluster - 1)
    return list(x.dropout)


def design_warnings(x: Design) -> list:
    """Warnings about the design itself (before any simulation)."""
    out = []
    if x.design in ("cluster_randomized", "longitudinal") and x.per_arm[1] < HOPELESS_PER_ARM:
        who = "clusters" if x.design == "cluster_randomized" else "participants"
        out.append(FitWarning(
            "hopeless_design",
            f"Only {x.per_arm[1]} {who} per arm: the variation between {who} is estimated from very few, "
            "so tests are unreliable and power is low whatever the number of members; plan at least "
            f"{HOPELESS_PER_ARM} {who} per arm.", "power"))
    return out

