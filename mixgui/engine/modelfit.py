"""What every fitted mixed model reports, whatever its outcome's family.

:class:`ModelFit` holds the fields the linear (:class:`~mixgui.engine.lmm.result.LmmFit`) and the
generalized (:class:`~mixgui.engine.glmm.result.GlmmFit`) fits share, so the results, tables and
figures read one set of names, and :func:`information_criteria` gives both their AIC and BIC.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(eq=False)
class ModelFit:
    """The fields shared by every fitted mixed model.

    Attributes
    ----------
    beta, vcov : ndarray
        Fixed effects and their covariance matrix.
    theta : ndarray
        lme4's relative covariance factors (lower triangles, column-major, per term).
    varcorr : list of ndarray
        Covariance matrix of each random-effects term, in data units.
    loglik, deviance, aic, bic : float
        As R's ``logLik``, ``-2 logLik``, ``AIC`` and ``BIC``.
    nobs : int
    n_groups : dict
        Grouping -> number of levels, in lme4's order.
    converged, singular : bool
    warnings : list of FitWarning
    blups, blup_sd : list of ndarray (L, q)
        Conditional modes and their conditional standard deviations, one array per term.
    blocks : list of RandomBlock
        The random-effects terms in lme4's order (the lists above follow it).
    X : ndarray
        The fixed-effects design; ``column_names`` its column names.
    column_names : list of str
    """

    beta: np.ndarray
    vcov: np.ndarray
    theta: np.ndarray
    varcorr: list
    loglik: float
    deviance: float
    aic: float
    bic: float
    nobs: int
    n_groups: dict
    converged: bool
    singular: bool
    warnings: list
    blups: list
    blup_sd: list
    blocks: list
    X: np.ndarray
    column_names: list


def information_criteria(deviance: float, n_parameters: int, nobs: int) -> dict:
    """``aic`` and ``bic`` of a fit from its deviance (-2 log-likelihood), as R computes them.

    Parameters
    ----------
    deviance : float
    n_parameters : int
        Fixed effects plus covariance parameters (plus sigma or a dispersion, where estimated).
    nobs : int

    Returns
    -------
    dict
        ``{"aic": ..., "bic": ...}``, ready to pass to the fit's constructor.
    """
    return {"aic": deviance + 2 * n_parameters, "bic": deviance + np.log(nobs) * n_parameters}
