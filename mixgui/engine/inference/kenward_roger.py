"""Kenward-Roger adjusted covariance, F statistic and denominator df.

Kenward & Roger (1997), *Small sample inference for fixed effects from restricted maximum
likelihood*, Biometrics 53, 983-997, as implemented by pbkrtest (``vcovAdj``, ``KRmodcomp``,
``Lb_ddf``; Halekoh & Hojsgaard 2014, JSS 59(9)).

With V the marginal covariance, dV_k its derivatives in the covariance parameters (pbkrtest uses
the linear parametrisation: the elements of each random-effects covariance matrix and the
residual variance) and Phi = (X'V^-1X)^-1:

    P_k     = -X' V^-1 dV_k V^-1 X
    Q_kl    =  X' V^-1 dV_k V^-1 dV_l V^-1 X
    R_kl    =  X' V^-1 d2V_kl V^-1 X                    (zero for a linear parametrisation)
    IE2[kl] =  tr(V^-1 dV_k V^-1 dV_l) - 2 tr(Phi Q_kl) + tr(Phi P_k Phi P_l)
    W       =  2 IE2^-1
    Lambda  =  Phi [sum_kl W_kl (Q_kl - P_k Phi P_l - R_kl / 4)] Phi
    Phi_A   =  Phi + 2 Lambda

Everything is summed over the independent clusters the model hands out
(:meth:`CovarianceModel.kr_clusters`), so no n x n matrix is formed when clusters are small.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from mixgui.errors import FitWarning

IE2_COND_TOL = 1e-10  # pbkrtest's cut, applied to IE2 in correlation form: below it, a generalised inverse


class KenwardRoger:
    """Kenward-Roger pieces of a fitted model (REML), computed once, reused for every contrast.

    Parameters
    ----------
    model : CovarianceModel
        Needs ``beta`` and ``kr_clusters()``.

    Attributes
    ----------
    phi : ndarray (p, p)      unadjusted covariance (X'V^-1X)^-1
    vcov : ndarray (p, p)     adjusted covariance Phi_A
    P : list of ndarray       P_k
    W : ndarray               2 IE2^-1
    warnings : list of FitWarning
    """

    def __init__(self, model):
        self.beta = np.asarray(model.beta, float)
        self.warnings: list = []
        XVX = None
        P = Q = R = K = None
        for c in model.kr_clusters():
            # A piece is one cluster (X: n x p) or a batch of equal-size clusters (X: G x n x p).
            X = np.asarray(c.X, float)
            batched = X.ndim == 3
            V = np.asarray(c.V, float)
            dV = np.asarray(c.dV, float)
            if not batched:
                X, V, dV = X[None], V[None], dV[None]
            m = dV.shape[1]
            if XVX is None:
                p = X.shape[2]
                XVX = np.zeros((p, p))
                P = np.zeros((m, p, p))
                Q = np.zeros((m, m, p, p))
                R = np.zeros((m, m, p, p))
                K = np.zeros((m, m))
            Vi = np.linalg.inv(V)                     # (G, n, n); clusters are small
            T = Vi @ X                                # V^-1 X
            H = Vi[:, None] @ dV                      # V^-1 dV_k
            U = dV @ T[:, None]                       # dV_k V^-1 X
            ViU = Vi[:, None] @ U                     # V^-1 dV_k V^-1 X
            XVX += np.einsum("gip,giq->pq", X, T, optimize=True)
            P -= np.einsum("gip,gkiq->kpq", T, U, optimize=True)
            Q += np.einsum("gkip,gliq->klpq", U, ViU, optimize=True)
            K += np.einsum("gkij,glji->kl", H, H, optimize=True)
            for (k, j), d2 in (c.d2V or {}).items():
                d2 = np.asarray(d2, float)
                r = np.einsum("gip,gij,gjq->pq", T, d2 if batched else d2[None], T, optimize=True)
                R[k, j] += r
                if k != j:
                    R[j, k] += r.T
        if XVX is None:
            raise ValueError("the model gave no clusters for Kenward-Roger")
        phi = np.linalg.inv(XVX)
        m = P.shape[0]
        PhiP = phi @ P  # (m, p, p): Phi P_k
        IE2 = np.empty((m, m))
        for k in range(m):
            for j in range(m):
                IE2[k, j] = K[k, j] - 2 * np.sum(phi * Q[k, j]) + np.sum(PhiP[k] * PhiP[j].T)
        IE2 = (IE2 + IE2.T) / 2
        # The entries of IE2 carry the units of y to the power -4 (the parameters are variances), so the
        # singularity test is made on its correlation form: pbkrtest's absolute cut on IE2 itself warned
        # for a regular fit with y in large units. At ordinary scales the inverse is the same.
        d = np.sqrt(np.abs(np.diag(IE2)))
        d = np.where(d > 0, d, 1.0)
        C = IE2 / np.outer(d, d)
        cond = np.min(np.abs(np.linalg.eigvalsh(C)))
        if cond > IE2_COND_TOL:
            W = 2 * np.linalg.inv(C) / np.outer(d, d)
        else:
            W = 2 * np.linalg.pinv(C) / np.outer(d, d)
            self.warnings.append(FitWarning(
                "df_approximation",
                "The information matrix of the variance parameters is singular (a variance estimated at "
                "zero or a redundant parameter), so the Kenward-Roger adjustment uses a generalised inverse "
                "and is approximate. Simplify the random effects if the fit is singular.", "fixed_effects"))
        W = (W + W.T) / 2
        UU = np.zeros_like(phi)
        for k in range(m):
            for j in range(m):
                UU += W[k, j] * (Q[k, j] - P[k] @ phi @ P[j] - R[k, j] / 4)
        Lam = phi @ UU @ phi
        self.phi = phi
        self.vcov = phi + 2 * (Lam + Lam.T) / 2
        self.P = P
        self.W = W
        self.ie2_condition = cond

    # -------------------------------------------------------------------------------------
    def _A1A2(self, L, V0):
        """A1, A2 of Kenward & Roger (1997), section 4, for hypothesis rows L and covariance V0."""
        Theta = L.T @ np.linalg.solve(L @ V0 @ L.T, L)
        u = np.einsum("ab,kbc,cd->kad", Theta @ V0, self.P, V0)  # Theta Phi P_k Phi
        tr = np.einsum("kaa->k", u)
        A1 = float(tr @ self.W @ tr)
        uu = np.einsum("kab,lba->kl", u, u)  # tr(u_k u_l)
        A2 = float(np.sum(self.W * uu))
        return A1, A2

    @staticmethod
    def _ddf(A1, A2, q):
        """Denominator df and F scaling (pbkrtest's ``.KR_adjust``).

        numpy scalars, so a degenerate case (A2 = 0: the hypothesis does not involve the variance
        parameters) gives inf / NaN as in R rather than an exception.
        """
        A1, A2, q = np.float64(A1), np.float64(A2), np.float64(q)
        B = (A1 + 6 * A2) / (2 * q)
        g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
        den = 3 * q + 2 * (1 - g)
        c1, c2, c3 = g / den, (q - g) / den, (q + 2 - g) / den
        V0 = 1 + c1 * B
        V1 = 1 - c2 * B
        V2 = 1 - c3 * B
        V0 = 0.0 if abs(V0) < 1e-10 else V0
        x = 1 - A2 / q
        ratio = 1.0 if (abs(x) < 1e-14 and abs(V1) < 1e-14) else x / V1
        rho = ratio ** 2 * V0 / V2 / q
        df2 = 4 + (q + 2) / (q * rho - 1)
        scale = 1.0 if abs(df2 - 2) < 0.01 else df2 * (1 - A2 / q) / (df2 - 2)
        return float(df2), float(scale)

    def df(self, L) -> float:
        """Kenward-Roger df of a contrast (pbkrtest's ``Lb_ddf``, q = number of rows)."""
        L = np.atleast_2d(np.asarray(L, float))
        A1, A2 = self._A1A2(L, self.phi)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return self._ddf(A1, A2, L.shape[0])[0]

    def ftest(self, L, beta=None) -> tuple:
        """Scaled F test of ``L beta = 0`` (pbkrtest's ``KRmodcomp``, as lmerTest's anova uses it).

        Returns
        -------
        (F, num_df, den_df, p_value)
            ``F`` is the scaled statistic, ``num_df`` the rank of ``L``.
        """
        L = np.atleast_2d(np.asarray(L, float))
        if L.shape[0] == 0:
            return (np.nan, 0, np.nan, np.nan)
        beta = self.beta if beta is None else np.asarray(beta, float)
        q = int(np.linalg.matrix_rank(L))
        if q < L.shape[0]:
            # pbkrtest turns L into a restricted model and back, i.e. a full-rank basis of the
            # same row space; the KR statistic and df do not depend on the basis.
            L = np.linalg.svd(L)[2][:q]
        A1, A2 = self._A1A2(L, self.phi)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ddf, scale = self._ddf(A1, A2, q)
        Lb = L @ beta
        wald = float(Lb @ np.linalg.solve(L @ self.vcov @ L.T, Lb))
        F = scale * wald / q
        return (F, q, ddf, float(stats.f.sf(F, q, ddf)))
