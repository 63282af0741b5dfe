"""More residual structures with SAS's meaning: TOEPH, banded TOEP(k), ANTE(1) and the spatial
SP(POW), SP(EXP), SP(GAU) over a continuous time (or Euclidean distance between points).

Same two descriptions as :mod:`mixgui.engine.repeated.structures`: an unconstrained fitting ``theta``
for a scale-free matrix with W[0, 0] == 1, and SAS's natural parameters for Kenward-Roger and the
covariance-parameter table.  Builders are complex-step safe.
"""
from __future__ import annotations

import re

import numpy as np

from mixgui.engine.repeated.structures import (
    _START_CLIP,
    Structure,
    _corr_from_cov,
    _lags,
    acf_to_pacf,
    pacf_to_acf,
)


class TOEPH(Structure):
    """Heterogeneous Toeplitz: a variance per position, one correlation per lag (pacf-parametrised).

    Natural parameters as SAS: var_<pos>..., rho_lag1..rho_lag{T-1} (nonlinear).
    """

    name, heterogeneous, linear, min_positions = "TOEPH", True, False, 2

    @property
    def n_theta(self):
        return 2 * (self.T - 1)

    def _corr(self, r):
        return np.concatenate([np.ones(1, dtype=np.result_type(r, float)), r])[_lags(self.T)]

    def matrix(self, theta):
        sd = np.sqrt(self._ratios(theta[:self.T - 1]))
        return self._corr(pacf_to_acf(np.tanh(theta[self.T - 1:]))) * sd[:, None] * sd[None, :]

    def start(self, S):
        R = _corr_from_cov(S)
        acf = np.array([np.mean(np.diag(R, k)) for k in range(1, self.T)])
        pacf = np.zeros(self.T - 1)
        for _ in range(60):
            p = acf_to_pacf(acf)
            if np.all(np.abs(p) < _START_CLIP):
                pacf = p
                break
            acf = 0.8 * acf
        return np.concatenate([self._ratio_start(S), np.arctanh(pacf)])

    def theta_names(self):
        return self._ratio_names() + [f"atanh_pacf{k}" for k in range(1, self.T)]

    def natural_names(self):
        return self._var_names() + [f"rho_lag{k}" for k in range(1, self.T)]

    def natural_from_cov(self, C):
        R = _corr_from_cov(C)
        return np.concatenate([np.diag(C), [np.mean(np.diag(R, k)) for k in range(1, self.T)]])

    def cov_from_natural(self, v):
        sd = np.sqrt(v[:self.T])
        return self._corr(v[self.T:]) * sd[:, None] * sd[None, :]

    def report(self, C):
        out = dict(zip(self._var_names(), map(float, np.diag(C))))
        R = _corr_from_cov(C)
        for k in range(1, self.T):
            out[f"rho_lag{k}"] = float(np.mean(np.diag(R, k)))
        return out


class TOEPK(Structure):
    """Banded Toeplitz TOEP(k): one variance, correlations at lags 1..k-1, zero from lag k on.

    The correlations are fitted as tanh of theta; where they give a matrix that is not positive
    definite the likelihood is infinite and the optimiser steps back.  Natural parameters as SAS:
    the covariance at lags 0..k-1 (linear).
    """

    min_positions = 1

    def __init__(self, T: int, labels=None, k: int = 1):
        super().__init__(T, labels)
        self.k = max(1, min(int(k), self.T))
        self.name = f"TOEP({int(k)})"
        self.correlated = self.k > 1

    @property
    def n_theta(self):
        return self.k - 1

    def _band(self, vals):
        lags = _lags(self.T)
        full = np.concatenate([vals, np.zeros(self.T - self.k, dtype=np.result_type(vals, float))])
        return full[lags]

    def matrix(self, theta):
        r = np.tanh(theta)
        return self._band(np.concatenate([np.ones(1, dtype=np.result_type(r, float)), r]))

    def start(self, S):
        R = _corr_from_cov(S)
        r = np.array([np.mean(np.diag(R, j)) for j in range(1, self.k)])
        for _ in range(60):  # shrink until the banded matrix is positive definite
            if np.linalg.eigvalsh(self._band(np.concatenate([[1.0], r]))).min() > 1e-3:
                break
            r = 0.8 * r
        return np.arctanh(np.clip(r, -_START_CLIP, _START_CLIP))

    def theta_names(self):
        return [f"atanh_rho_lag{j}" for j in range(1, self.k)]

    def natural_names(self):
        return [f"cov_lag{j}" for j in range(self.k)]

    def natural_from_cov(self, C):
        return np.array([np.mean(np.diag(C, j)) for j in range(self.k)])

    def cov_from_natural(self, v):
        return self._band(np.asarray(v))

    def report(self, C):
        out = {"sigma2": float(C[0, 0])}
        for j in range(1, self.k):
            out[f"rho_lag{j}"] = float(np.mean(np.diag(C, j)) / C[0, 0])
        return out


class ANTE1(Structure):
    """First-order antedependence: variance per position, correlation rho_i between positions i and
    i+1; farther pairs multiply the correlations in between (SAS ANTE(1)).

    Natural parameters: var_<pos>..., rho_<pos>_<next>... (nonlinear).
    """

    name, heterogeneous, linear, min_positions = "ANTE1", True, False, 2

    @property
    def n_theta(self):
        return 2 * (self.T - 1)

    def _corr(self, rho):
        # log-free cumulative products, so negative correlations stay complex-step safe
        T = self.T
        rows = []
        for i in range(T):
            row = []
            for j in range(T):
                a, b = min(i, j), max(i, j)
                val = rho[0] * 0 + 1
                for m in range(a, b):
                    val = val * rho[m]
                row.append(val)
            rows.append(row)
        return np.array(rows)

    def matrix(self, theta):
        sd = np.sqrt(self._ratios(theta[:self.T - 1]))
        return self._corr(np.tanh(theta[self.T - 1:])) * sd[:, None] * sd[None, :]

    def start(self, S):
        r = np.clip(np.diag(_corr_from_cov(S), 1), -_START_CLIP, _START_CLIP)
        return np.concatenate([self._ratio_start(S), np.arctanh(r)])

    def _pair_names(self):
        return [f"rho_{self.labels[i]}_{self.labels[i + 1]}" for i in range(self.T - 1)]

    def theta_names(self):
        return self._ratio_names() + ["atanh_" + n for n in self._pair_names()]

    def natural_names(self):
        return self._var_names() + self._pair_names()

    def natural_from_cov(self, C):
        return np.concatenate([np.diag(C), np.diag(_corr_from_cov(C), 1)])

    def cov_from_natural(self, v):
        sd = np.sqrt(v[:self.T])
        return self._corr(v[self.T:]) * sd[:, None] * sd[None, :]

    def report(self, C):
        out = dict(zip(self._var_names(), map(float, np.diag(C))))
        out.update(zip(self._pair_names(), map(float, np.diag(_corr_from_cov(C), 1))))
        return out


class Spatial(Structure):
    """SP(POW), SP(EXP), SP(GAU): one variance, correlation a function of the distance d between
    the positions' coordinates (a continuous time, or points: Euclidean distance).

    SP(POW) rho^d (= nlme corCAR1), SP(EXP) exp(-d / range) (= corExp), SP(GAU)
    exp(-(d / range)^2) (= corGaus).  Natural parameters as SAS: sigma2, then rho or range.
    """

    linear, min_positions, n_theta = False, 2, 1

    def __init__(self, T: int, labels=None, kind: str = "POW", coordinates=None):
        super().__init__(T, labels)
        self.kind = kind
        self.name = f"SP({kind})"
        if coordinates is None:
            coordinates = np.arange(self.T, dtype=float)
        c = np.asarray(coordinates, dtype=float).reshape(self.T, -1)
        self.coordinates = c
        self.distance = np.sqrt(((c[:, None, :] - c[None, :, :]) ** 2).sum(axis=2))
        pos = self.distance[self.distance > 0]
        self._dscale = float(np.median(pos)) if pos.size else 1.0

    def _corr(self, p):
        d = self.distance
        if self.kind == "POW":
            return np.exp(d * np.log(p))  # rho^d for a real (non-integer) distance
        if self.kind == "EXP":
            return np.exp(-d / p)
        return np.exp(-(d / p) * (d / p))

    def _param(self, x):
        if self.kind == "POW":
            return 1 / (1 + np.exp(-x))        # rho in (0, 1): rho^d needs a positive rho
        return self._dscale * np.exp(x)        # range > 0, in units of the typical distance

    def matrix(self, theta):
        return self._corr(self._param(theta[0]))

    def start(self, S):
        R = _corr_from_cov(S)
        d = self.distance
        mask = d > 0
        r = np.clip(np.mean(R[mask]) if mask.any() else 0.3, 0.05, _START_CLIP)
        dm = float(np.mean(d[mask])) if mask.any() else 1.0
        if self.kind == "POW":
            rho = r ** (1 / dm)
            return np.array([np.log(rho / (1 - rho))])
        rng = dm / -np.log(r) if self.kind == "EXP" else dm / np.sqrt(-np.log(r))
        return np.array([np.log(rng / self._dscale)])

    def theta_names(self):
        return ["logit_rho" if self.kind == "POW" else "log_range"]

    def _pname(self):
        return "rho" if self.kind == "POW" else "range"

    def natural_names(self):
        return ["sigma2", self._pname()]

    def _p_from_corr(self, C):
        d = self.distance
        i, j = np.unravel_index(np.argmin(np.where(d > 0, d, np.inf)), d.shape)
        r, dd = C[i, j] / np.sqrt(C[i, i] * C[j, j]), d[i, j]
        if self.kind == "POW":
            return float(r ** (1 / dd))
        return float(dd / -np.log(r)) if self.kind == "EXP" else float(dd / np.sqrt(-np.log(r)))

    def natural_from_cov(self, C):
        return np.array([C[0, 0], self._p_from_corr(C)])

    def cov_from_natural(self, v):
        return v[0] * self._corr(v[1])

    def report(self, C):
        return {"sigma2": float(C[0, 0]), self._pname(): self._p_from_corr(C)}


def canonical(name: str) -> str:
    """SAS's spelling of a structure name (``"ante(1)"`` -> ``"ANTE1"``, ``"toep(2)"`` -> ``"TOEP(2)"``)."""
    key = re.sub(r"\s+", "", str(name)).upper()
    return {"ANTE(1)": "ANTE1", "AR(1)": "AR1", "ARH(1)": "ARH1", "SP(POWER)": "SP(POW)"}.get(key, key)


def make_more(key: str, T: int, labels=None, coordinates=None):
    """One of this module's structures for the canonical ``key``, or None."""
    m = re.match(r"^TOEP\((\d+)\)$", key)
    if m and int(m.group(1)) >= 1:
        return TOEPK(T, labels, int(m.group(1)))
    if key in ("SP(POW)", "SP(EXP)", "SP(GAU)"):
        return Spatial(T, labels, key[3:6], coordinates)
    return {"ANTE1": ANTE1, "TOEPH": TOEPH}.get(key, lambda *a: None)(T, labels)


def is_supported(name: str) -> bool:
    """True when :func:`mixgui.engine.repeated.structures.make_structure` knows ``name``."""
    from mixgui.engine.repeated.structures import STRUCTURES
    key = canonical(name)
    return key in STRUCTURES or make_more(key, 2) is not None
