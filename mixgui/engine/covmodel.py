"""The shared language between the model fitters and the inference code.

A fitter (``lmm`` for lme4-style random effects, ``repeated`` for residual covariance
structures) returns an object that satisfies :class:`CovarianceModel`; inference
(Satterthwaite, Kenward-Roger, type III tests, marginal means) works on that protocol only,
so every kind of model gets the same small-sample machinery.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass
class RandomBlock:
    """One random-effects term after expansion, as lme4's ``reTrms`` has it.

    ``(Days | Subject)`` is one block with two columns; ``(Days || Subject)`` is two blocks
    (``(1 | Subject)`` and ``(0 + Days | Subject)``) with the same ``group``; ``(1 | a/b)`` is two
    blocks, ``a`` and ``b:a``.

    Attributes
    ----------
    group : str
        Name of the grouping factor as R prints it (``"Subject"``, ``"cask:batch"``).
    codes : ndarray of int, shape (n,)
        Level index 0..L-1 of each row.
    levels : list of str
        Level labels, in R's order (sorted).
    Z : ndarray, shape (n, q)
        The term's raw model-matrix columns (e.g. ``[1, Days]``), before multiplying by indicators.
    names : list of str
        Column names of ``Z`` (``"(Intercept)"``, ``"Days"``).
    """

    group: str
    codes: np.ndarray
    levels: list
    Z: np.ndarray
    names: list

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    @property
    def q(self) -> int:
        return self.Z.shape[1]


@dataclass
class ClusterPieces:
    """One independent block of observations, for Kenward-Roger.

    ``V`` is the marginal covariance of the block's responses at the estimate (data units,
    residual variance included); ``dV[k]`` its derivative with respect to covariance
    parameter k of the model's Kenward-Roger parametrisation; ``d2V[(k, l)]`` second
    derivatives (absent keys are zero: a linear parametrisation, as pbkrtest uses for lme4).
    ``y`` the block's responses (needed for the observed information, SAS's choice).
    A piece may be a batch: ``X`` (G, n, p) with ``V`` (G, n, n), or ``V`` (n, n) and ``dV``
    (m, n, n) shared by all G blocks (subjects with the same visits and no random effects).
    """

    X: np.ndarray
    V: np.ndarray
    dV: list
    d2V: dict = field(default_factory=dict)
    y: np.ndarray | None = None


class CovarianceModel(Protocol):
    """What inference needs from a fitted model with covariance parameters.

    Attributes
    ----------
    X : ndarray (n, p)    fixed-effects design, full column rank (aliased columns dropped)
    beta : ndarray (p,)
    vcov : ndarray (p, p)  covariance of beta at the estimate
    reml : bool
    varpar : ndarray       covariance parameters at the estimate, in the parametrisation
                           that ``deviance_at`` / ``vcov_at`` take (lme4 models: theta then sigma,
                           as lmerTest)
    """

    X: np.ndarray
    beta: np.ndarray
    vcov: np.ndarray
    reml: bool
    varpar: np.ndarray

    def deviance_at(self, varpar: np.ndarray) -> float:
        """-2 log-likelihood (REML criterion when ``reml``) at ``varpar``, beta profiled out."""

    def vcov_at(self, varpar: np.ndarray) -> np.ndarray:
        """Covariance of the GLS estimate of beta, (X' V^-1 X)^-1, at ``varpar``."""

    def kr_clusters(self) -> Iterable[ClusterPieces]:
        """Independent blocks with V and its derivatives, for Kenward-Roger."""
