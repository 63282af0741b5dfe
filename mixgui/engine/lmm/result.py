"""The fitted linear mixed model (:class:`LmmFit`) and the plain-words warnings about it."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from mixgui.engine.covmodel import ClusterPieces, RandomBlock
from mixgui.engine.lmm.curvature import varpar_derivatives
from mixgui.engine.lmm.kr import kr_batches
from mixgui.engine.modelfit import ModelFit
from mixgui.errors import FitWarning, ModelError

SINGULAR_TOL = 1e-4  # lme4's isSingular tolerance on the relative (theta) scale
KR_MAX_ROWS = 4000


@dataclass(eq=False)
class LmmFit(ModelFit):
    """A fitted linear mixed model, with lme4's numbers and the inference protocol.

    Satisfies :class:`mixgui.engine.covmodel.CovarianceModel`. All per-term lists
    (``theta`` slices, ``varcorr``, ``blups``, ``blup_sd``) follow ``blocks``, which holds the
    input terms in lme4's order (terms sorted by decreasing number of levels when lme4 does so).

    Attributes
    ----------
    beta, vcov : fixed effects and lme4's ``vcov`` (sigma^2 (R_X'R_X)^-1)
    sigma : residual standard deviation
    theta : lme4's relative covariance factors (lower triangles, column-major, per term)
    reml : bool
    loglik, deviance, aic, bic : as R's ``logLik``, ``-2 logLik``, ``AIC``, ``BIC``
    nobs : int
    n_groups : dict group -> number of levels, in lme4 order
    converged, singular : bool
    warnings : list of FitWarning
    varcorr : list of (q, q) covariance matrices in data units, one per term
    blups, blup_sd : lists of (L, q) conditional modes and conditional standard deviations
    fitted_marginal, fitted_conditional, residuals, resid_pearson : arrays (n,)
    blocks : list of RandomBlock (lme4 order)
    X : fixed-effects design; column_names : its column names
    varpar : theta then sigma (lmerTest's parametrisation for deviance_at / vcov_at)
    nevals : number of deviance evaluations; optimizer : which optimiser found the optimum
    """

    # the fields every fit has come from ModelFit; these are the linear model's own
    sigma: float
    reml: bool
    fitted_marginal: np.ndarray
    fitted_conditional: np.ndarray
    residuals: np.ndarray
    resid_pearson: np.ndarray
    varpar: np.ndarray
    nevals: int = 0
    optimizer: str = ""
    _problem: object = field(default=None, repr=False)
    _derivs: object = field(default=None, repr=False)

    @property
    def resid_standardised(self) -> np.ndarray:
        """Residuals divided by sigma (the same as ``resid_pearson`` for an unweighted model)."""
        return self.resid_pearson

    # -- CovarianceModel -------------------------------------------------------------------
    def _at(self, varpar):
        pb = self._problem
        varpar = np.asarray(varpar, dtype=float)
        f = pb.factor(pb.to_internal(varpar[:-1]))
        parts = pb.parts(f)
        if parts is None:
            raise ModelError("The covariance parameters given do not define a valid model.")
        return f, parts, varpar[-1] / pb.sy

    def deviance_at(self, varpar: np.ndarray) -> float:
        """Non-profiled deviance at (theta, sigma), as lmerTest's ``devfun_vp``.

        Parameters
        ----------
        varpar : array
            ``theta`` (lme4's relative factors) followed by the residual standard deviation.

        Returns
        -------
        float
            The REML criterion (``reml``) or the ML deviance, beta profiled out.
        """
        pb = self._problem
        _, (ldz, ldx, r2), s = self._at(varpar)
        s2 = s * s
        dev = ldz + r2 / s2 + pb.n * np.log(2 * np.pi * s2)
        if self.reml:
            dev += ldx - pb.p * np.log(2 * np.pi * s2)
        return float(dev + pb.offset(self.reml))

    def vcov_at(self, varpar: np.ndarray) -> np.ndarray:
        """sigma^2 (R_X'R_X)^-1 at (theta, sigma): the GLS covariance of beta, data units."""
        pb = self._problem
        f, _, s = self._at(varpar)
        return (s * pb.sy) ** 2 * _rx_inv(pb, f)

    def varpar_derivatives(self) -> dict | None:
        """Gradient and Hessian of :meth:`deviance_at`, Jacobian of :meth:`vcov_at`, at ``varpar``.

        From the analytic gradient (2 factorisations per theta, computed once and kept), for the
        Satterthwaite df and the variance-component intervals. None when not available (a
        variance on its boundary): then differentiate :meth:`deviance_at` numerically.

        Returns
        -------
        dict or None
            ``gradient`` (k,), ``hessian`` (k, k), ``vcov_jacobian`` (p * p, k).
        """
        if self._derivs is None:
            self._derivs = varpar_derivatives(self, _rx_inv) or False
        return self._derivs or None

    def kr_clusters(self) -> Iterator[ClusterPieces]:
        """Independent clusters with V and its derivatives in pbkrtest's linear parametrisation.

        Parameters are, per term in ``blocks`` order, the lower-triangle elements of its
        covariance matrix G (column-major, variances and covariances in data units), then the
        residual variance. ``dV`` for G's (a, b) element is Z (E_ab + E_ba) Z' on the cluster's
        rows (E_aa for a variance); for the residual variance it is the identity.
        """
        y = np.asarray(self.fitted_conditional) + np.asarray(self.residuals)  # the responses (observed information)
        return kr_batches(self.blocks, self.varcorr, self.sigma ** 2, self.X, cluster_codes(self.blocks, len(self.X)), y)


def _rx_inv(pb, f) -> np.ndarray:
    """(R_X'R_X)^-1 in original X units (without sigma^2)."""
    p, mz = pb.p, pb.mz
    if p == 0:
        return np.zeros((0, 0))
    Lx = f["R"][mz:mz + p, mz:mz + p]
    Li = np.linalg.inv(np.tril(Lx))
    inv = Li.T @ Li
    return inv / np.outer(pb.xscale, pb.xscale)


def cluster_codes(blocks, n: int) -> np.ndarray:
    """Row -> independent cluster: connected components of rows linked by a shared level.

    For one grouping factor these are its levels; for nested factors, the levels of the
    outermost one; crossed factors usually give a single cluster holding all rows.
    """
    rows, cols, off = [], [], n
    for b in blocks:
        rows.append(np.arange(n))
        cols.append(off + np.asarray(b.codes, dtype=np.int64))
        off += b.n_levels
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = sp.coo_matrix((np.ones(len(r)), (r, c)), shape=(off, off))
    _, labels = connected_components(graph, directed=False)
    return np.unique(labels[:n], return_inverse=True)[1]


def kr_clusters(blocks, varcorr, sigma2, X) -> Iterator[ClusterPieces]:
    """Generator of :class:`ClusterPieces` (see :meth:`LmmFit.kr_clusters`)."""
    n = X.shape[0]
    cc = cluster_codes(blocks, n)
    srt = np.argsort(cc, kind="stable")
    order = np.split(srt, np.flatnonzero(np.diff(cc[srt])) + 1)
    biggest = max(len(o) for o in order)
    if biggest > KR_MAX_ROWS:
        raise ModelError(
            f"Kenward-Roger needs the covariance matrix of {biggest} rows at once here (the grouping factors "
            "are crossed, so the rows do not split into independent clusters), which is too large; use the "
            "Satterthwaite method instead.")

    def gen():
        for rows in order:
            ni = len(rows)
            V = sigma2 * np.eye(ni)
            dV = []
            for blk, G in zip(blocks, varcorr):
                codes = np.asarray(blk.codes)[rows]
                mask = (codes[:, None] == codes[None, :]).astype(float)
                Z = np.asarray(blk.Z, dtype=float).reshape(len(blk.codes), -1)[rows]
                V += mask * (Z @ G @ Z.T)
                for b in range(blk.q):
                    for a in range(b, blk.q):
                        zz = np.outer(Z[:, a], Z[:, b])
                        dV.append(mask * (zz if a == b else zz + zz.T))
            dV.append(np.eye(ni))
            yield ClusterPieces(X=X[rows], V=V, dV=dV)

    return gen()


# -- warnings ------------------------------------------------------------------------------------
def _what(name: str) -> str:
    return "random intercept" if name == "(Intercept)" else f"random slope for {name}"


def singular_warnings(blocks: list[RandomBlock], thetas: list[np.ndarray]) -> list[FitWarning]:
    """One plain-words warning per term whose relative factor has a diagonal below 1e-4."""
    out = []
    for blk, T in zip(blocks, thetas):
        for j in np.flatnonzero(np.diag(T) < SINGULAR_TOL):
            name = blk.names[j]
            if blk.q == 1:
                term = f"(1 | {blk.group})" if name == "(Intercept)" else f"(0 + {name} | {blk.group})"
                msg = (f"The variance of the {_what(name)} in {blk.group} is estimated as zero (a singular fit). "
                       f"The model is simpler than it looks: remove the term {term}.")
            elif np.sqrt(np.sum(T[j] ** 2)) < SINGULAR_TOL:
                remedy = ("remove the slope, or make it uncorrelated with ||." if name != "(Intercept)" else
                          "remove the intercept with 0 +, or make the terms uncorrelated with ||.")
                msg = (f"The variance of the {_what(name)} in {blk.group} is estimated as zero (a singular fit). "
                       f"The model is simpler than it looks: {remedy}")
            else:
                G = T @ T.T
                sd = np.sqrt(np.diag(G))
                with np.errstate(invalid="ignore", divide="ignore"):
                    corr = G[j, :j] / (sd[j] * sd[:j])
                k = int(np.nanargmax(np.abs(corr))) if j > 0 else 0
                if j > 0 and abs(corr[k]) > 0.99:
                    msg = (f"The {_what(blk.names[k])} and the {_what(name)} in {blk.group} are perfectly "
                           f"correlated (correlation {corr[k]:+.2f}, a singular fit). The model is simpler than it "
                           "looks: make them uncorrelated with ||, or remove the slope.")
                else:
                    msg = (f"The random effects in {blk.group} are linearly dependent (the {_what(name)} is "
                           "explained by the others, a singular fit). The model is simpler than it looks: remove "
                           "a slope, or make the terms uncorrelated with ||.")
            out.append(FitWarning("singular", msg, "variance_components"))
    return out


def few_groups_warnings(blocks: list[RandomBlock]) -> list[FitWarning]:
    """Warn once per grouping factor with fewer than 5 levels, or fewer than 10 with a covariance matrix."""
    out, seen = [], {}
    for blk in blocks:
        seen.setdefault(blk.group, [blk.n_levels, 1])
        seen[blk.group][1] = max(seen[blk.group][1], blk.q)
    for group, (L, q) in seen.items():
        if L < 5:
            out.append(FitWarning("few_groups", (
                f"Only {L} groups in {group}: a variance estimated from fewer than 5 clusters is unreliable. "
                f"Consider {group} as a fixed effect instead, or report its variance with caution."),
                "variance_components"))
        elif q > 1 and L < 10:
            out.append(FitWarning("few_groups", (
                f"Only {L} groups in {group}: variance estimates from fewer than 10 clusters are imprecise, "
                "and a covariance matrix of random effects even more so. Consider a random intercept only, "
                "or report the variances with caution."), "variance_components"))
    return out


def convergence_warning(grad: float, predictor: str | None) -> FitWarning:
    eg = f" (e.g. {predictor})" if predictor else ""
    return FitWarning("convergence", (
        f"The fit did not converge (largest scaled gradient {grad:.2g}), so the estimates may be inaccurate. "
        f"Centre or rescale the predictors{eg}, or simplify the random effects."), "variance_components")
