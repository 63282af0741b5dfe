"""The truth a power simulation draws from: fixed design, true coefficients, variances, who drops out.

A :class:`Scenario` is built once per design and reused for every replicate: the design matrix,
the random-effects blocks and the tested contrast never change; only the outcome (and, with
dropout, which rows are kept) is drawn anew.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mixgui.engine.covmodel import RandomBlock
from mixgui.engine.power.designs import Design, dropout_per_visit


@dataclass
class Scenario:
    """Everything needed to draw and analyse replicates of one design.

    Attributes
    ----------
    kind : str
        ``between`` (balanced cluster-randomised), ``within`` (balanced within-cluster) or
        ``general`` (anything else: fitted with :func:`mixgui.engine.lmm.fit_lmm` per replicate).
    X : ndarray (n, p)
    column_names : list of str
    blocks : list of RandomBlock
    covs : list of ndarray
        True covariance matrix (q x q) of each block's random effects.
    sigma : float
        True residual standard deviation.
    beta : ndarray (p,)
        True coefficients.
    L : ndarray (p,)
        The tested contrast (a unit vector on the treatment column).
    test_name : str
        Name of the tested column.
    clusters, per_cluster : int
        Rows are cluster by cluster, ``per_cluster`` each, for the balanced kinds.
    n_control : int
        Clusters in the control arm (``between``); they come first.
    x_within : ndarray (per_cluster,)
        Treatment indicator inside every cluster (``within``).
    visit, subject : ndarray (n,) or None
        For dropout: each row's visit (0 first) and participant.
    dropout : list of float
        Share lost before each visit after the first.
    """

    kind: str
    X: np.ndarray
    column_names: list
    blocks: list
    covs: list
    sigma: float
    beta: np.ndarray
    L: np.ndarray
    test_name: str
    clusters: int = 0
    per_cluster: int = 0
    n_control: int = 0
    x_within: np.ndarray | None = None
    visit: np.ndarray | None = None
    subject: np.ndarray | None = None
    dropout: list = field(default_factory=list)

    @property
    def nobs(self) -> int:
        return self.X.shape[0]

    def _roots(self):
        # A symmetric square root (not Cholesky) so that a zero variance is allowed.
        out = []
        for G in self.covs:
            w, U = np.linalg.eigh(np.atleast_2d(G))
            out.append(U * np.sqrt(np.clip(w, 0.0, None)))
        return out

    def simulate(self, rng: np.random.Generator, k: int) -> np.ndarray:
        """``k`` outcome vectors drawn from the truth: (k, n)."""
        n = self.nobs
        Y = np.broadcast_to(self.X @ self.beta, (k, n)).copy()
        for blk, root in zip(self.blocks, self._roots()):
            b = rng.standard_normal((k, blk.n_levels, blk.q)) @ root.T  # (k, L, q)
            Y += np.einsum("nq,knq->kn", blk.Z, b[:, blk.codes, :])
        Y += self.sigma * rng.standard_normal((k, n))
        return Y

    def kept_rows(self, rng: np.random.Generator, k: int) -> np.ndarray | None:
        """Rows kept in each replicate under monotone dropout (k, n), or None without dropout."""
        if self.visit is None or not any(p > 0 for p in self.dropout):
            return None
        n_sub = int(self.subject.max()) + 1
        last = np.full((k, n_sub), len(self.dropout))
        still = np.ones((k, n_sub), bool)
        for v, p in enumerate(self.dropout, start=1):
            lost = still & (rng.random((k, n_sub)) < p)
            last[lost] = v - 1
            still &= ~lost
        return self.visit[None, :] <= last[:, self.subject]


def _intercept_block(clusters: int, per_cluster: int) -> RandomBlock:
    codes = np.repeat(np.arange(clusters), per_cluster)
    return RandomBlock("cluster", codes, [f"c{j + 1}" for j in range(clusters)],
                       np.ones((clusters * per_cluster, 1)), ["(Intercept)"])


def build_scenario(x: Design) -> Scenario:
    """The scenario of a cluster-randomised, within-cluster or longitudinal design.

    Variances: between clusters ``icc * sd^2``, residual ``(1 - icc) * sd^2``; the treatment effect
    is ``effect * sd`` (longitudinal: the difference at the last visit, so the treatment x time
    coefficient is ``effect * sd / (visits - 1)`` per visit).
    """
    tau2, sig2 = x.icc * x.sd ** 2, (1.0 - x.icc) * x.sd ** 2
    J, m = x.clusters, x.per_cluster
    n = J * m
    if x.design == "cluster_randomized":
        J0 = x.per_arm[0]
        trt = np.repeat((np.arange(J) >= J0).astype(float), m)
        X = np.column_stack([np.ones(n), trt])
        return Scenario("between", X, ["(Intercept)", "treatment"], [_intercept_block(J, m)],
                        [np.array([[tau2]])], float(np.sqrt(sig2)), np.array([0.0, x.effect * x.sd]),
                        np.array([0.0, 1.0]), "treatment", J, m, n_control=J0)
    if x.design == "within_cluster":
        xw = (np.arange(m) >= m - m // 2).astype(float)
        X = np.column_stack([np.ones(n), np.tile(xw, J)])
        return Scenario("within", X, ["(Intercept)", "treatment"], [_intercept_block(J, m)],
                        [np.array([[tau2]])], float(np.sqrt(sig2)), np.array([0.0, x.effect * x.sd]),
                        np.array([0.0, 1.0]), "treatment", J, m, x_within=xw)
    # longitudinal: participants randomised half to each arm, seen at visits 0, 1, ..., T - 1
    J0 = x.per_arm[0]
    t = np.tile(np.arange(m, dtype=float), J)
    trt = np.repeat((np.arange(J) >= J0).astype(float), m)
    X = np.column_stack([np.ones(n), trt, t, trt * t])
    codes = np.repeat(np.arange(J), m)
    levels = [f"p{j + 1}" for j in range(J)]
    slope2 = (x.slope_sd * x.sd) ** 2
    if slope2 > 0:
        blocks = [RandomBlock("participant", codes, levels, np.column_stack([np.ones(n), t]),
                              ["(Intercept)", "time"])]
        covs = [np.diag([tau2, slope2])]
    else:
        blocks = [RandomBlock("participant", codes, levels, np.ones((n, 1)), ["(Intercept)"])]
        covs = [np.array([[tau2]])]
    beta = np.array([0.0, 0.0, 0.0, x.effect * x.sd / (m - 1)])
    return Scenario("general", X, ["(Intercept)", "treatment", "time", "treatment:time"], blocks, covs,
                    float(np.sqrt(sig2)), beta, np.array([0.0, 0.0, 0.0, 1.0]), "treatment:time", J, m,
                    n_control=J0, visit=t.astype(int), subject=codes, dropout=dropout_per_visit(x))
