"""Computed variables kept as recipes, so they follow the data when the data change.

A recipe says how a new column is made from others (``age_c`` = ``age`` minus its mean); it is
plain data (JSON via :meth:`Recipe.to_dict` / :func:`recipe_from_dict`), stored in the project,
replayed by :func:`apply_recipes` after every edit or re-import, and translated to R by the
report's script. A recipe never overwrites its own source column: recomputing it would then
transform an already transformed column (log of a log).

Means and SDs use every non-missing value of the column (not only the rows a later model uses).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from mixgui.data.dataset import missing_column_message
from mixgui.data.levels import level_label
from mixgui.errors import DataError


@dataclass(frozen=True)
class Recipe:
    """Base class: ``name`` is the new column, ``source`` the column it is computed from."""

    name: str
    source: str
    kind: ClassVar[str] = ""

    def compute(self, frame: pd.DataFrame) -> pd.Series:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:
        """One line for the variable list's tooltip and the methods paragraph."""
        return self.name

    def note(self) -> str | None:
        """A caution to show next to the variable (None when there is nothing to say)."""
        return None

    def columns_used(self) -> list:
        return [self.source]

    def to_dict(self) -> dict:
        d = {"kind": self.kind}
        d.update(asdict(self))
        return d

    # shared checks
    def _numeric(self, frame: pd.DataFrame) -> pd.Series:
        s = frame[self.source]
        if pd.api.types.is_bool_dtype(s):
            return s.astype(float)
        if not pd.api.types.is_numeric_dtype(s):
            conv = pd.to_numeric(s, errors="coerce")
            bad = s[conv.isna() & s.notna()]
            if len(bad):
                raise DataError(f'"{self.source}" is text ("{bad.iloc[0]}" in row {int(bad.index[0]) + 1}), so '
                                f'"{self.name}" cannot be computed; use a numeric column or recode it first')
            return conv
        return s.astype(float)


@dataclass(frozen=True)
class Center(Recipe):
    """Grand-mean centred: value minus the mean of the column."""

    kind: ClassVar[str] = "center"

    def compute(self, frame):
        x = self._numeric(frame)
        return x - x.mean()

    def describe(self):
        return f"{self.source} centred at its mean"


@dataclass(frozen=True)
class Standardize(Recipe):
    """z-score: (value - mean) / SD, with the n-1 SD as R's ``scale()``."""

    kind: ClassVar[str] = "standardize"

    def compute(self, frame):
        x = self._numeric(frame)
        sd = x.std(ddof=1)
        if not (sd > 0):
            raise DataError(f'"{self.source}" has the same value in every row (or fewer than two values), '
                            "so it cannot be standardised")
        return (x - x.mean()) / sd

    def describe(self):
        return f"{self.source} standardised (z-score)"


@dataclass(frozen=True)
class _ByCluster(Recipe):
    """A recipe computed within each level of a ``cluster`` column."""

    cluster: str = ""

    def columns_used(self):
        return [self.source, self.cluster]


@dataclass(frozen=True)
class ClusterMean(_ByCluster):
    """The mean of ``source`` within each level of ``cluster`` (a between-cluster predictor)."""

    kind: ClassVar[str] = "cluster_mean"

    def compute(self, frame):
        x = self._numeric(frame)
        g = frame[self.cluster]
        out = x.groupby(g, dropna=True, sort=False).transform("mean")
        return out.where(g.notna())

    def describe(self):
        return f"mean of {self.source} within {self.cluster}"


@dataclass(frozen=True)
class ClusterCenter(_ByCluster):
    """Within-cluster centred: value minus its cluster's mean (a within-cluster predictor)."""

    kind: ClassVar[str] = "cluster_center"

    def compute(self, frame):
        x = self._numeric(frame)
        return x - ClusterMean(self.name, self.source, self.cluster).compute(frame)

    def describe(self):
        return f"{self.source} centred within {self.cluster} (value minus its {self.cluster} mean)"


@dataclass(frozen=True)
class Log(Recipe):
    """Logarithm of ``source + offset``; base ``e``, ``10`` or ``2``."""

    base: str = "e"
    offset: float = 0.0
    kind: ClassVar[str] = "log"

    def compute(self, frame):
        x = self._numeric(frame) + float(self.offset)
        bad = x[x <= 0]
        if len(bad):
            where = f"{len(bad)} value{'s are' if len(bad) > 1 else ' is'} zero or negative " \
                    f"(the first {bad.iloc[0]:g} in row {int(bad.index[0]) + 1})"
            raise DataError(f'cannot take the log of "{self.source}"' + (f" + {self.offset:g}" if self.offset else "")
                            + f": {where}. Add a constant so every value is above 0, or use another transformation")
        fn = {"e": np.log, "10": np.log10, "2": np.log2}.get(str(self.base))
        if fn is None:
            raise DataError(f'log base "{self.base}" is not offered; use e, 10 or 2')
        return fn(x)

    def describe(self):
        b = {"e": "natural log", "10": "log10", "2": "log2"}.get(str(self.base), "log")
        return f"{b} of {self.source}" + (f" + {self.offset:g}" if self.offset else "")


@dataclass(frozen=True)
class Recode(Recipe):
    """New labels for levels: ``mapping`` old label -> new label (None: missing). Others keep theirs."""

    mapping: dict = field(default_factory=dict)
    kind: ClassVar[str] = "recode"

    def compute(self, frame):
        s = frame[self.source]
        mapping = {str(k): v for k, v in self.mapping.items()}

        def one(v):
            if v is None or (isinstance(v, float) and math.isnan(v)):
                return np.nan
            key = level_label(v)
            if key in mapping:
                new = mapping[key]
                return np.nan if new is None or new == "" else str(new)
            return key
        return s.astype(object).map(one)

    def describe(self):
        parts = ", ".join(f"{k} → {'missing' if v in (None, '') else v}" for k, v in self.mapping.items())
        return f"{self.source} recoded ({parts})"


@dataclass(frozen=True)
class Dichotomize(Recipe):
    """1 when ``source >= cutoff``, else 0 (or ``high``/``low`` labels); ``cutoff`` "median" splits at the median."""

    cutoff: float | str = "median"
    low: str | None = None
    high: str | None = None
    kind: ClassVar[str] = "dichotomize"

    def threshold(self, x: pd.Series) -> float:
        if isinstance(self.cutoff, str):
            if self.cutoff.lower() != "median":
                raise DataError(f'cut-off "{self.cutoff}" is not a number; give a number or "median"')
            return float(x.median())
        return float(self.cutoff)

    def compute(self, frame):
        x = self._numeric(frame)
        t = self.threshold(x)
        out = (x >= t).astype(float).where(x.notna())
        if self.low is not None or self.high is not None:
            labels = {0.0: self.low if self.low is not None else f"< {t:g}",
                      1.0: self.high if self.high is not None else f"≥ {t:g}"}
            return out.map(labels, na_action="ignore").astype(object)
        return out

    def describe(self):
        cut = "its median" if isinstance(self.cutoff, str) else f"{self.cutoff:g}"
        return f"{self.source} split at {cut} (1 = at or above)"

    def note(self):
        return (f'Splitting "{self.source}" into two groups throws information away: a median split costs about '
                "as much power as discarding a third of the observations, and it hides any gradual relationship "
                "(Cohen, 1983; MacCallum et al., 2002). Keep the continuous variable in the model unless the "
                "cut-off itself has clinical meaning.")


RECIPES = {c.kind: c for c in (Center, Standardize, ClusterMean, ClusterCenter, Log, Recode, Dichotomize)}


def recipe_from_dict(d: dict) -> Recipe:
    """Rebuild a recipe from :meth:`Recipe.to_dict` output."""
    d = dict(d)
    kind = d.pop("kind", None)
    cls = RECIPES.get(kind)
    if cls is None:
        raise DataError(f'unknown computed variable kind "{kind}"; update MixGUI to open this project')
    known = set(cls.__dataclass_fields__)
    return cls(**{k: v for k, v in d.items() if k in known})


def apply_recipes(frame: pd.DataFrame, recipes) -> pd.DataFrame:
    """Recompute every recipe, in order, on a copy of ``frame``.

    Later recipes may use columns made by earlier ones. Columns a recipe made before are
    overwritten, so calling this again after the data changed brings them up to date.

    Raises
    ------
    DataError
        A recipe names a missing column, would overwrite its own source, shares its name with
        another recipe, or cannot be computed (log of zero, text where numbers are needed).
    """
    out = frame.copy()
    made: set = set()
    for r in recipes:
        if not r.name or not str(r.name).strip():
            raise DataError(f"a computed variable ({r.describe()}) has no name; give it one")
        if r.name in r.columns_used():
            raise DataError(f'the computed variable "{r.name}" would overwrite the column it is made from; '
                            f"give it its own name (e.g. {r.source}_c)")
        for col in r.columns_used():
            if col not in out.columns:
                raise DataError(missing_column_message(col, [str(c) for c in out.columns], "the data",
                                                       f'column for "{r.name}"'))
        if r.name in made:
            raise DataError(f'two computed variables are called "{r.name}"; rename one')
        values = r.compute(out)
        out[r.name] = values.to_numpy() if isinstance(values, pd.Series) else values
        made.add(r.name)
    return out


def notes(recipes) -> list:
    """The cautions of the recipes that have one (e.g. dichotomising)."""
    return [n for n in (r.note() for r in recipes) if n]
