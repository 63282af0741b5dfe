"""A small dense lme4-style linear mixed model, for testing the inference layer.

The likelihood is lme4's penalised least squares with dense q x q matrices (q = number of random
effects), and Kenward-Roger's clusters are dense, so this is only for small data (the reference
cases have at most a few hundred rows). It satisfies
:class:`mixgui.engine.covmodel.CovarianceModel` with lmerTest's parametrisation (``varpar`` =
lme4's theta, then sigma) and pbkrtest's linear parametrisation for Kenward-Roger, and it is a
cross-check of the real engine (``mixgui.engine.lmm.fit``): the two are written independently.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, optimize

from mixgui.engine.covmodel import ClusterPieces

LOG2PI = np.log(2 * np.pi)


def _block_Z(block) -> np.ndarray:
    """Full random-effects design of one block: columns (level, component), level varying slowest."""
    n, q = block.Z.shape
    L = block.n_levels
    Zf = np.zeros((n, L * q))
    idx = np.asarray(block.codes) * q
    for j in range(q):
        Zf[np.arange(n), idx + j] = block.Z[:, j]
    return Zf


def _tri_index(q: int) -> list:
    """Positions (row, col) of the lower triangle, column-major (lme4's theta order)."""
    return [(i, j) for j in range(q) for i in range(j, q)]


@dataclass(eq=False)
class DenseLmm:
    """A fitted dense LMM (see module docstring). Build it with :func:`fit_dense`."""

    y: np.ndarray
    X: np.ndarray
    blocks: list
    reml: bool
    theta: np.ndarray = None
    beta: np.ndarray = None
    sigma: float = None
    vcov: np.ndarray = None
    loglik: float = None
    varcorr: list = field(default_factory=list)

    # -- pieces -------------------------------------------------------------------------
    @property
    def varpar(self) -> np.ndarray:
        return np.r_[self.theta, self.sigma]

    @property
    def nobs(self) -> int:
        return len(self.y)

    def _factors(self, theta) -> list:
        out, k = [], 0
        for b in self.blocks:
            T = np.zeros((b.q, b.q))
            for (i, j) in _tri_index(b.q):
                T[i, j] = theta[k]
                k += 1
            out.append(T)
        return out

    def _lambda(self, theta) -> np.ndarray:
        """Relative covariance factor Lambda (block-diagonal, one kron(I_L, T) per block)."""
        return linalg.block_diag(*[np.kron(np.eye(b.n_levels), T)
                                   for b, T in zip(self.blocks, self._factors(theta))])

    def _solve_parts(self, theta):
        """log det(Lambda'Z'Z Lambda + I), X'Vt^-1 X, GLS beta and the penalised RSS (Vt = V / sigma^2).

        lme4's penalised least squares on the q x q system, so each evaluation is cheap; the
        identities log det Vt = log det(Lambda'Z'Z Lambda + I) and X'Vt^-1X = RX'RX hold exactly.
        """
        Lam = self._lambda(theta)
        A = Lam.T @ self._ZtZ @ Lam + np.eye(Lam.shape[0])
        Lz = np.linalg.cholesky(A)
        ld = 2 * np.sum(np.log(np.diag(Lz)))
        RZX = linalg.solve_triangular(Lz, Lam.T @ self._ZtX, lower=True)
        cu = linalg.solve_triangular(Lz, Lam.T @ self._Zty, lower=True)
        XtViX = self._XtX - RZX.T @ RZX
        beta = np.linalg.solve(XtViX, self._Xty - RZX.T @ cu)
        # pwrss from the residuals themselves (not y'y minus fitted squares): the Satterthwaite
        # Hessian takes second differences of the deviance with steps down to 1e-7, so the
        # deviance must be accurate to ~1e-13 (lme4 computes it this way too).
        u = linalg.solve_triangular(Lz, cu - RZX @ beta, lower=True, trans="T")
        r = self.y - self.X @ beta - self._Z @ (Lam @ u)
        pwrss = float(r @ r + u @ u)
        return ld, XtViX, beta, pwrss

    def profiled_deviance(self, theta) -> float:
        n, p = self.X.shape
        ld, XtViX, _, pwrss = self._solve_parts(theta)
        if self.reml:
            ldx = np.linalg.slogdet(XtViX)[1]
            return ld + ldx + (n - p) * (1 + LOG2PI + np.log(pwrss / (n - p)))
        return ld + n * (1 + LOG2PI + np.log(pwrss / n))

    # -- CovarianceModel ----------------------------------------------------------------
    def deviance_at(self, varpar) -> float:
        """-2 log-likelihood (REML criterion) at (theta, sigma), beta profiled out (lmerTest's devfun_vp)."""
        varpar = np.asarray(varpar, float)
        theta, s2 = varpar[:-1], varpar[-1] ** 2
        n, p = self.X.shape
        ld, XtViX, _, pwrss = self._solve_parts(theta)
        dev = ld + pwrss / s2 + n * np.log(2 * np.pi * s2)
        if self.reml:
            dev += np.linalg.slogdet(XtViX)[1] - p * np.log(2 * np.pi * s2)
        return float(dev)

    def vcov_at(self, varpar) -> np.ndarray:
        varpar = np.asarray(varpar, float)
        _, XtViX, _, _ = self._solve_parts(varpar[:-1])
        return varpar[-1] ** 2 * np.linalg.inv(XtViX)

    def kr_clusters(self):
        """Connected components of the grouping factors, with pbkrtest's linear parametrisation."""
        n = len(self.y)
        comp = _components(n, self.blocks)
        Gs = self.varcorr
        for rows in comp:
            V = self.sigma ** 2 * np.eye(len(rows))
            dV = []
            for b, G in zip(self.blocks, Gs):
                codes = np.asarray(b.codes)[rows]
                same = (codes[:, None] == codes[None, :]).astype(float)
                Z = b.Z[rows]
                V += same * (Z @ G @ Z.T)
                for (i, j) in _tri_index(b.q):
                    E = np.outer(Z[:, i], Z[:, j])
                    dV.append(same * (E if i == j else E + E.T))
            dV.append(np.eye(len(rows)))
            yield ClusterPieces(X=self.X[rows], V=V, dV=dV)


def _components(n, blocks) -> list:
    """Rows split into groups that share no level of any grouping factor (union-find)."""
    parent = list(range(n))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for b in blocks:
        first = {}
        for i, c in enumerate(np.asarray(b.codes)):
            if c in first:
                ra, rb = find(i), find(first[c])
                if ra != rb:
                    parent[ra] = rb
            else:
                first[c] = i
    roots = np.array([find(i) for i in range(n)])
    return [np.flatnonzero(roots == r) for r in np.unique(roots)]


def fit_dense(y, X, blocks, reml=True, start=None) -> DenseLmm:
    """Fit by minimising the profiled deviance over theta (diagonal elements >= 0)."""
    m = DenseLmm(np.asarray(y, float), np.asarray(X, float), list(blocks), reml)
    Z = np.hstack([_block_Z(b) for b in blocks])
    m._Z = Z
    m._ZtZ, m._ZtX, m._Zty = Z.T @ Z, Z.T @ m.X, Z.T @ m.y
    m._XtX, m._Xty, m._yty = m.X.T @ m.X, m.X.T @ m.y, float(m.y @ m.y)
    bounds, x0 = [], []
    for b in blocks:
        for (i, j) in _tri_index(b.q):
            bounds.append((0.0, None) if i == j else (None, None))
            x0.append(1.0 if i == j else 0.0)
    x0 = np.asarray(start if start is not None else x0, float)
    best = None
    # L-BFGS-B from lme4's start, restarted once from its end point to polish the optimum
    # (the df depend on the curvature there; 1e-7 in theta is plenty).
    for _ in range(2):
        res = optimize.minimize(m.profiled_deviance, x0, method="L-BFGS-B", bounds=bounds,
                                options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 5000})
        if best is None or res.fun <= best.fun:
            best = res
        x0 = best.x
    theta = best.x
    n, p = m.X.shape
    _, XtViX, beta, pwrss = m._solve_parts(theta)
    m.theta = theta
    m.beta = beta
    m.sigma = float(np.sqrt(pwrss / (n - p if reml else n)))
    m.vcov = m.sigma ** 2 * np.linalg.inv(XtViX)
    m.loglik = -0.5 * m.profiled_deviance(theta)
    m.varcorr = [m.sigma ** 2 * T @ T.T for T in m._factors(theta)]
    return m


def fit_design(design, reml=True) -> DenseLmm:
    """``fit_fn`` for :mod:`mixgui.engine.inference.lrt`: fit a Design (its y, X and blocks)."""
    return fit_dense(design.y, design.X, design.blocks, reml=reml)
