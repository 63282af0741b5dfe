"""Residual covariance structures for repeated measures: parameters <-> T x T matrices.

Each structure is described twice, because fitting and inference want different things:

* the *fitting* parametrisation ``theta`` is unconstrained (log standard-deviation ratios,
  transformed correlations, partial autocorrelations, a Cholesky factor), so every iterate of
  the optimiser gives a positive definite matrix.  It describes the matrix up to scale,
  ``W(theta)`` with ``W[0, 0] == 1``; the scale sigma^2 is profiled out exactly as nlme does.
* the *natural* parametrisation (SAS's covariance parameters) is the absolute covariance in data
  units: variances, covariances, correlations.  It is what Kenward-Roger differentiates; wherever
  SAS's parametrisation is linear (ID, DIAG, CS, TOEP, UN) we use the linear one, so second
  derivatives vanish and Kenward-Roger matches SAS and pbkrtest.  (Satterthwaite works on theta
  and sigma, where every numerical-derivative step stays positive definite.)

All matrix builders accept complex arguments so derivatives can be taken by complex step
(exact to rounding), which is why they avoid ``abs``, ``**`` with real exponents and in-place
real arrays.
"""
from __future__ import annotations

import numpy as np

from mixgui.errors import ModelError

STRUCTURES = ("ID", "DIAG", "CS", "CSH", "AR1", "ARH1", "ANTE1", "TOEP", "TOEPH", "UN",
              "SP(POW)", "SP(EXP)", "SP(GAU)")  # and banded TOEP(k), k >= 1
SPATIAL = ("SP(POW)", "SP(EXP)", "SP(GAU)")

# Largest |correlation| the starting values may take; the optimiser can go further.
_START_CLIP = 0.9


def _lags(T: int) -> np.ndarray:
    i = np.arange(T)
    return np.abs(i[:, None] - i[None, :])


def _powers(rho, T: int):
    """rho**k for k = 0..T-1 by repeated products (complex-step safe for negative rho)."""
    out = [rho * 0 + 1]
    for _ in range(1, T):
        out.append(out[-1] * rho)
    return np.array(out)


def pacf_to_acf(pacf):
    """Autocorrelations r_1..r_m of a stationary AR(m) process from its partial autocorrelations.

    Durbin-Levinson recursion run backwards; every pacf vector in (-1, 1)^m gives a positive
    definite Toeplitz correlation matrix and every such matrix has one pacf vector, so this is a
    one-to-one unconstrained description of the homogeneous Toeplitz (TOEP) correlations.
    """
    pacf = np.asarray(pacf)
    m = len(pacf)
    r = [pacf[0] * 0 + 1]  # r_0
    phi = []  # AR coefficients of order k-1
    for k in range(1, m + 1):
        a = pacf[k - 1]
        pred = sum(phi[j] * r[k - 1 - j] for j in range(k - 1)) if phi else 0 * a
        resid = 1 - sum(phi[j] * r[j + 1] for j in range(k - 1)) if phi else 1 + 0 * a
        r.append(a * resid + pred)
        phi = [phi[j] - a * phi[k - 2 - j] for j in range(k - 1)] + [a]
    return np.array(r[1:])


def acf_to_pacf(acf):
    """Partial autocorrelations from autocorrelations r_1..r_m (forward Durbin-Levinson)."""
    acf = np.asarray(acf, dtype=float)
    r = np.concatenate([[1.0], acf])
    phi = np.zeros(0)
    out = []
    for k in range(1, len(acf) + 1):
        num = r[k] - np.dot(phi, r[k - 1:0:-1]) if k > 1 else r[1]
        den = 1 - np.dot(phi, r[1:k]) if k > 1 else 1.0
        a = num / den
        out.append(a)
        phi = np.concatenate([phi - a * phi[::-1], [a]])
    return np.array(out)


def _cs_rho(x, T: int):
    """Map R -> (-1/(T-1), 1), the correlations that keep a T x T CS matrix positive definite."""
    e = np.exp(x)
    return (e - 1) / (e + T - 1)


def _cs_rho_inv(rho: float, T: int) -> float:
    return float(np.log((1 + rho * (T - 1)) / (1 - rho)))


def _corr_from_cov(S: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.clip(np.diag(S), 1e-12, None))
    return S / np.outer(d, d)


class Structure:
    """One residual structure on T positions (base class; see the subclasses).

    Attributes
    ----------
    name : str                 SAS / SPSS name
    T : int                    number of positions
    n_theta : int              length of the unconstrained fitting vector (scale excluded)
    linear : bool              covariance linear in the natural parameters (no second derivatives)
    min_positions : int        positions needed (2 when there is a correlation)
    heterogeneous : bool       one variance per position
    """

    name = ""
    linear = True
    min_positions = 1
    heterogeneous = False
    correlated = True

    def __init__(self, T: int, labels=None):
        self.T = int(T)
        self.labels = [str(v) for v in (labels if labels is not None else range(self.T))]

    # -- fitting parametrisation ---------------------------------------------------------
    n_theta = 0

    def matrix(self, theta) -> np.ndarray:
        """Scale-free T x T matrix W(theta), W[0, 0] == 1 (complex-step safe)."""
        raise NotImplementedError

    def start(self, S: np.ndarray) -> np.ndarray:
        """Starting theta from a moment estimate S of the T x T residual covariance."""
        raise NotImplementedError

    def theta_names(self) -> list:
        """Names of the elements of theta (for ``RepeatedFit.varpar_names``)."""
        return []

    # -- natural parametrisation ---------------------------------------------------------
    def natural_names(self) -> list:
        raise NotImplementedError

    def natural_from_cov(self, C: np.ndarray) -> np.ndarray:
        """Natural parameters of an (exactly structured) covariance matrix C."""
        raise NotImplementedError

    def cov_from_natural(self, v) -> np.ndarray:
        """Absolute T x T covariance from natural parameters (complex-step safe)."""
        raise NotImplementedError

    def report(self, C: np.ndarray) -> dict:
        """Named parameters for the results ('sigma2'/'var_<label>', 'rho', ...)."""
        raise NotImplementedError

    # shared helpers -----------------------------------------------------------------------
    def _ratios(self, x):
        """Variance ratios (1, exp(2 x_1), ...) relative to the first position, as varIdent."""
        return np.concatenate([np.ones(1, dtype=np.result_type(x, float)), np.exp(2 * x)])

    def _ratio_start(self, S):
        d = np.clip(np.diag(S), 1e-8 * max(S[0, 0], 1e-300), None)
        return 0.5 * np.log(d[1:] / d[0])

    def _var_names(self):
        return [f"var_{lab}" for lab in self.labels]

    def _ratio_names(self):
        return [f"log_sd_ratio_{lab}" for lab in self.labels[1:]]

    @property
    def n_natural(self) -> int:
        return self.n_theta + 1


class ID(Structure):
    name, correlated = "ID", False

    def matrix(self, theta):
        return np.eye(self.T, dtype=np.result_type(theta, float))

    def start(self, S):
        return np.zeros(0)

    def natural_names(self):
        return ["sigma2"]

    def natural_from_cov(self, C):
        return np.array([C[0, 0]])

    def cov_from_natural(self, v):
        return v[0] * np.eye(self.T)

    def report(self, C):
        return {"sigma2": float(C[0, 0])}


class DIAG(Structure):
    name, heterogeneous, correlated = "DIAG", True, False

    @property
    def n_theta(self):
        return self.T - 1

    def matrix(self, theta):
        return np.diag(self._ratios(theta))

    def start(self, S):
        return self._ratio_start(S)

    def theta_names(self):
        return self._ratio_names()

    def natural_names(self):
        return self._var_names()

    def natural_from_cov(self, C):
        return np.diag(C).copy()

    def cov_from_natural(self, v):
        return np.diag(v)

    def report(self, C):
        return dict(zip(self._var_names(), map(float, np.diag(C))))


class CS(Structure):
    """Compound symmetry (nlme corCompSymm): sigma^2 [(1 - rho) I + rho J].

    Natural parameters as SAS: the common covariance and the residual, C = cov J + resid I.
    """

    name, min_positions, n_theta = "CS", 2, 1

    def matrix(self, theta):
        rho = _cs_rho(theta[0], self.T)
        return (1 - rho) * np.eye(self.T) + rho * np.ones((self.T, self.T))

    def start(self, S):
        R = _corr_from_cov(S)
        off = R[~np.eye(self.T, dtype=bool)]
        rho = float(np.clip(np.mean(off) if off.size else 0.0, -0.5 / (self.T - 1), _START_CLIP))
        return np.array([_cs_rho_inv(rho, self.T)])

    def theta_names(self):
        return ["rho_transformed"]

    def natural_names(self):
        return ["cs_cov", "residual"]

    def natural_from_cov(self, C):
        off = C[~np.eye(self.T, dtype=bool)].mean()
        return np.array([off, np.diag(C).mean() - off])

    def cov_from_natural(self, v):
        return v[0] * np.ones((self.T, self.T)) + v[1] * np.eye(self.T)

    def report(self, C):
        return {"sigma2": float(C[0, 0]), "rho": float(C[0, 1] / C[0, 0])}


class _HetCorr(Structure):
    """Shared code of CSH and ARH1: D^(1/2) R(rho) D^(1/2) with one correlation parameter."""

    heterogeneous, linear, min_positions = True, False, 2

    @property
    def n_theta(self):
        return self.T

    def _corr(self, rho):
        raise NotImplementedError

    def _rho(self, x):
        raise NotImplementedError

    def _rho_inv(self, rho):
        raise NotImplementedError

    def _rho_start(self, R):
        raise NotImplementedError

    def matrix(self, theta):
        sd = np.sqrt(self._ratios(theta[:-1]))
        return self._corr(self._rho(theta[-1])) * sd[:, None] * sd[None, :]

    def start(self, S):
        return np.concatenate([self._ratio_start(S), [self._rho_inv(self._rho_start(_corr_from_cov(S)))]])

    def theta_names(self):
        return self._ratio_names() + ["rho_transformed"]

    def natural_names(self):
        return self._var_names() + ["rho"]

    def natural_from_cov(self, C):
        d = np.sqrt(np.diag(C))
        return np.concatenate([np.diag(C), [self._rho_from_corr(C / np.outer(d, d))]])

    def cov_from_natural(self, v):
        sd = np.sqrt(v[:-1])
        return self._corr(v[-1]) * sd[:, None] * sd[None, :]

    def report(self, C):
        d = np.sqrt(np.diag(C))
        out = dict(zip(self._var_names(), map(float, np.diag(C))))
        out["rho"] = float(self._rho_from_corr(C / np.outer(d, d)))
        return out


class CSH(_HetCorr):
    name = "CSH"

    def _corr(self, rho):
        return (1 - rho) * np.eye(self.T) + rho * np.ones((self.T, self.T))

    def _rho(self, x):
        return _cs_rho(x, self.T)

    def _rho_inv(self, rho):
        return _cs_rho_inv(rho, self.T)

    def _rho_start(self, R):
        off = R[~np.eye(self.T, dtype=bool)]
        return float(np.clip(np.mean(off), -0.5 / (self.T - 1), _START_CLIP))

    def _rho_from_corr(self, R):
        return R[0, 1]


class ARH1(_HetCorr):
    name = "ARH1"

    def _corr(self, rho):
        return _powers(rho, self.T)[_lags(self.T)]

    def _rho(self, x):
        return np.tanh(x)

    def _rho_inv(self, rho):
        return float(np.arctanh(rho))

    def _rho_start(self, R):
        return float(np.clip(np.mean(np.diag(R, 1)), -_START_CLIP, _START_CLIP))

    def _rho_from_corr(self, R):
        return R[0, 1]


class AR1(Structure):
    """First-order autoregressive over positions (nlme corAR1 on the position index)."""

    name, linear, min_positions, n_theta = "AR1", False, 2, 1

    def matrix(self, theta):
        return _powers(np.tanh(theta[0]), self.T)[_lags(self.T)]

    def start(self, S):
        rho = np.clip(np.mean(np.diag(_corr_from_cov(S), 1)), -_START_CLIP, _START_CLIP)
        return np.array([np.arctanh(rho)])

    def theta_names(self):
        return ["atanh_rho"]

    def natural_names(self):
        return ["sigma2", "rho"]

    def natural_from_cov(self, C):
        return np.array([C[0, 0], C[0, 1] / C[0, 0]])

    def cov_from_natural(self, v):
        return v[0] * _powers(v[1], self.T)[_lags(self.T)]

    def report(self, C):
        return {"sigma2": float(C[0, 0]), "rho": float(C[0, 1] / C[0, 0])}


class TOEP(Structure):
    """Homogeneous Toeplitz: one correlation per lag, fitted through partial autocorrelations.

    Natural parameters as SAS: the covariance at each lag 0..T-1 (linear).
    """

    name, min_positions = "TOEP", 2

    @property
    def n_theta(self):
        return self.T - 1

    def matrix(self, theta):
        r = pacf_to_acf(np.tanh(theta))
        return np.concatenate([np.ones(1, dtype=r.dtype), r])[_lags(self.T)]

    def start(self, S):
        R = _corr_from_cov(S)
        acf = np.array([np.mean(np.diag(R, k)) for k in range(1, self.T)])
        for _ in range(60):  # shrink towards 0 until the lag correlations are positive definite
            pacf = acf_to_pacf(acf)
            if np.all(np.abs(pacf) < _START_CLIP):
                break
            acf = 0.8 * acf
        else:
            pacf = np.zeros(self.T - 1)
        return np.arctanh(pacf)

    def theta_names(self):
        return [f"atanh_pacf{k}" for k in range(1, self.T)]

    def natural_names(self):
        return [f"cov_lag{k}" for k in range(self.T)]

    def natural_from_cov(self, C):
        return np.array([np.mean(np.diag(C, k)) for k in range(self.T)])

    def cov_from_natural(self, v):
        return np.asarray(v)[_lags(self.T)]

    def report(self, C):
        out = {"sigma2": float(C[0, 0])}
        for k in range(1, self.T):
            out[f"rho_lag{k}"] = float(np.mean(np.diag(C, k)) / C[0, 0])
        return out


class UN(Structure):
    """Unstructured: W = L L' with L lower triangular, L[0, 0] = 1, log diagonal elsewhere.

    Natural parameters as SAS: the covariances UN(i, j), i >= j, row by row (linear).
    """

    name, min_positions = "UN", 2

    @property
    def n_theta(self):
        return self.T * (self.T + 1) // 2 - 1

    def _tril(self):
        return np.tril_indices(self.T)

    def matrix(self, theta):
        rows, cols = self._tril()
        vals = np.concatenate([np.zeros(1, dtype=np.result_type(theta, float)), theta])
        diag = rows == cols
        vals[diag] = np.exp(vals[diag])
        L = np.zeros((self.T, self.T), dtype=vals.dtype)
        L[rows, cols] = vals
        return L @ L.T

    def start(self, S):
        w, Q = np.linalg.eigh((S + S.T) / 2)
        w = np.clip(w, 1e-3 * max(w.max(), 1e-300), None)
        S = (Q * w) @ Q.T
        L = np.linalg.cholesky(S / S[0, 0])
        rows, cols = self._tril()
        vals = L[rows, cols]
        vals = np.where(rows == cols, np.log(np.where(rows == cols, vals, 1.0)), vals)
        return vals[1:]

    def theta_names(self):
        rows, cols = self._tril()
        return [f"{'log_chol' if i == j else 'chol'}_{self.labels[i]}_{self.labels[j]}"
                for i, j in zip(rows[1:], cols[1:])]

    def natural_names(self):
        rows, cols = self._tril()
        return [f"cov_{self.labels[i]}_{self.labels[j]}" for i, j in zip(rows, cols)]

    def natural_from_cov(self, C):
        return C[self._tril()].copy()

    def cov_from_natural(self, v):
        rows, cols = self._tril()
        C = np.zeros((self.T, self.T), dtype=np.result_type(v, float))
        C[rows, cols] = v
        C[cols, rows] = v
        return C

    def report(self, C):
        out = dict(zip(self._var_names(), map(float, np.diag(C))))
        R = _corr_from_cov(C)
        for i in range(self.T):
            for j in range(i + 1, self.T):
                out[f"corr_{self.labels[i]}_{self.labels[j]}"] = float(R[i, j])
        return out


_CLASSES = {c.name: c for c in (ID, DIAG, CS, CSH, AR1, ARH1, TOEP, UN)}


def make_structure(name: str, T: int, labels=None, coordinates=None) -> Structure:
    """The structure called ``name`` (SAS / SPSS spelling, any case) on ``T`` positions.

    ``coordinates`` (T, d): where each position lies, for the spatial structures (default 0..T-1).
    """
    from mixgui.engine.repeated import structures_more as more
    key = more.canonical(name)
    found = more.make_more(key, T, labels, coordinates)
    if found is not None:
        return found
    if key not in _CLASSES:
        raise ModelError(f'Unknown repeated structure "{name}"; choose one of {", ".join(STRUCTURES)} or TOEP(k).')
    return _CLASSES[key](T, labels)
