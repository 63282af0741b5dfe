"""A residual structure with its own parameters in each level of a group factor (SAS ``GROUP=``).

The positions are widened: level k of the group uses positions k T .. k T + T - 1, so the T K x T K
matrix is block diagonal with one block per level, and a subject (whose rows all lie in one level,
or, when the group varies within a subject, in several levels that are then independent, as in
SAS) sees only its own blocks. Every other part of the engine (the pattern sums, the gradient, the
Kenward-Roger pieces) works unchanged on the widened grid.

Fitting parameters: each level's structure theta, then the log SD ratio of each level after the
first to the first (the scale sigma^2 is profiled, as for one structure). Natural parameters: each
level's own (SAS's table lists them level by level).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from mixgui.engine.repeated.structures import Structure, make_structure
from mixgui.errors import ModelError


class Grouped(Structure):
    """K copies of one structure, one per group level, on the widened positions.

    Parameters
    ----------
    name : str
        The structure (any :func:`make_structure` name).
    T : int
        Positions of one level.
    levels : list of str
        The group's levels, in the order of the widened positions.
    labels : list of str, optional
        Labels of the T positions.
    coordinates : array, optional
        As :func:`make_structure` (spatial structures).
    """

    def __init__(self, name: str, T: int, levels, labels=None, coordinates=None):
        self.inner = [make_structure(name, T, labels, coordinates) for _ in levels]
        first = self.inner[0]
        super().__init__(T * len(levels), [f"{lev}: {lab}" for lev in levels for lab in first.labels])
        self.levels = [str(v) for v in levels]
        self.name = first.name
        self.linear = first.linear
        self.min_positions = first.min_positions
        self.heterogeneous = first.heterogeneous
        self.correlated = first.correlated
        self.k = getattr(first, "k", None)
        self.T_level = int(T)
        self.level_labels = list(first.labels)
        self.n_theta = len(levels) * first.n_theta + len(levels) - 1

    def _blocks(self):
        return [slice(k * self.T_level, (k + 1) * self.T_level) for k in range(len(self.levels))]

    def _split(self, theta):
        n = self.inner[0].n_theta
        K = len(self.levels)
        return [theta[k * n:(k + 1) * n] for k in range(K)], theta[K * n:]

    def matrix(self, theta):
        parts, ratios = self._split(theta)
        out = np.zeros((self.T, self.T), dtype=np.result_type(theta, float))
        scale = self._ratios(ratios)
        for s, st, th, c in zip(self._blocks(), self.inner, parts, scale):
            out[s, s] = c * st.matrix(th)
        return out

    def start(self, S):
        parts, sd = [], []
        for s, st in zip(self._blocks(), self.inner):
            Sk = S[s, s]
            parts.append(st.start(Sk))
            sd.append(max(float(Sk[0, 0]), 1e-12))
        return np.concatenate(parts + [0.5 * np.log(np.array(sd[1:]) / sd[0])])

    def theta_names(self):
        names = [f"{lev}:{n}" for lev, st in zip(self.levels, self.inner) for n in st.theta_names()]
        return names + [f"log_sd_ratio_group_{lev}" for lev in self.levels[1:]]

    def natural_names(self):
        return [f"{lev}:{n}" for lev, st in zip(self.levels, self.inner) for n in st.natural_names()]

    @property
    def n_natural(self) -> int:
        return sum(st.n_natural for st in self.inner)

    def natural_from_cov(self, C):
        return np.concatenate([st.natural_from_cov(C[s, s]) for s, st in zip(self._blocks(), self.inner)])

    def cov_from_natural(self, v):
        out, k = None, 0
        for s, st in zip(self._blocks(), self.inner):
            block = st.cov_from_natural(v[k:k + st.n_natural])
            if out is None:
                out = np.zeros((self.T, self.T), dtype=np.result_type(block, float))
            out[s, s] = block
            k += st.n_natural
        return out

    def report(self, C):
        return {f"{n} ({lev})": v for lev, s, st in zip(self.levels, self._blocks(), self.inner)
                for n, v in st.report(C[s, s]).items()}

    def per_level(self, R, M) -> list:
        """``[{"level", "parameters", "marginal_covariance"}]``: parameters from the residual
        matrix R, the covariance of a complete subject from M (both widened, T K x T K)."""
        return [{"level": lev, "parameters": st.report(R[s, s]), "marginal_covariance": np.asarray(M[s, s]).tolist()}
                for lev, s, st in zip(self.levels, self._blocks(), self.inner)]


def check_groups(grid, struct: Grouped, check) -> None:
    """Run ``check`` (:func:`mixgui.engine.repeated.model.check_structure`) level by level.

    Raises
    ------
    ModelError
        A level with fewer than two subjects, or a level whose data cannot support the structure.
    """
    T = struct.T_level
    for k, (lev, st) in enumerate(zip(struct.levels, struct.inner)):
        s = slice(k * T, (k + 1) * T)
        who = grid.present[:, s].any(axis=1)
        n = int(who.sum())
        if n < 2:
            raise ModelError(f'The group level "{lev}" has {"no subject" if n == 0 else "a single subject"}, so its '
                             "own covariance parameters cannot be estimated; merge it with another level, or "
                             "remove the group.")
        present = grid.present[who][:, s]
        sub = dataclasses.replace(grid, y=grid.y[who][:, s], X=grid.X[who][:, s], present=present,
                                  rows=grid.rows[who][:, s], blocks=[], nobs=int(present.sum()))
        try:
            check(sub, st, struct.level_labels)
        except ModelError as e:
            raise ModelError(f'In the group level "{lev}": {e}') from None
