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

The weight W is the covariance of the covariance-parameter estimates: ``information="expected"``
uses 2 IE2^-1 (pbkrtest); ``"observed"`` uses the inverse observed information 2 H^-1, H the Hessian
of -2 l_REML in the natural parameters (SAS PROC MIXED DDFM=KR),

    H_kl = -tr(P dV_k P dV_l) + tr(P d2V_kl) + 2 e' dV_k P dV_l e - e' d2V_kl e,   e = P y = V^-1 (y - X beta)

with P = V^-1 - V^-1 X Phi X' V^-1.  ``linear=True`` drops the R_kl term from Lambda (SAS's
KR(LINEAR)); the df do not involve R_kl, so only the adjusted covariance changes.

With the observed information, a random-effects G estimated with a perfect correlation is
handled as SAS's TYPE=FA0 does it: the FA parameters without the zero one
(:mod:`mixgui.engine.inference.kr_boundary`).

Everything is summed over the independent clusters the model hands out
(:meth:`CovarianceModel.kr_clusters`), so no n x n matrix is formed when clusters are small.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from mixgui.engine.inference.kr_boundary import fa_map, transform
from mixgui.errors import FitWarning

IE2_COND_TOL = 1e-10  # pbkrtest's cut, applied to IE2 in correlation form: below it, a generalised inverse
INFORMATION = ("observed", "expected")


class _Sums:
    """Sums over clusters of the Kenward-Roger pieces (and of the observed-information terms)."""

    def __init__(self, p: int, m: int, observed: bool):
        self.XVX = np.zeros((p, p))
        self.P = np.zeros((m, p, p))
        self.Q = np.zeros((m, m, p, p))
        self.R = np.zeros((m, m, p, p))
        self.K = np.zeros((m, m))
        self.observed = observed
        self.trVd2 = np.zeros((m, m))   # sum tr(V^-1 d2V_kl)
        self.ed2e = np.zeros((m, m))    # sum e' d2V_kl e
        self.ada = np.zeros((m, m))     # sum e' dV_k V^-1 dV_l e
        self.b = np.zeros((m, p))       # sum X' V^-1 dV_k e
        self.trVd = np.zeros(m)         # sum tr(V^-1 dV_k)  (a reparametrisation's second derivatives)
        self.edVe = np.zeros(m)         # sum e' dV_k e
        self.Xr = []                    # (X, r) pieces whose e needs beta: kept only when observed

    def add_batched(self, X, V, dV, d2V, y, beta):
        """Clusters of equal size: X (G, n, p), V (G, n, n), dV (G, m, n, n)."""
        Vi = np.linalg.inv(V)
        T = Vi @ X
        H = Vi[:, None] @ dV
        U = dV @ T[:, None]
        ViU = Vi[:, None] @ U
        self.XVX += np.einsum("gip,giq->pq", X, T, optimize=True)
        self.P -= np.einsum("gip,gkiq->kpq", T, U, optimize=True)
        self.Q += np.einsum("gkip,gliq->klpq", U, ViU, optimize=True)
        self.K += np.einsum("gkij,glji->kl", H, H, optimize=True)
        e = None
        if self.observed:
            e = (Vi @ (y - X @ beta)[:, :, None])[:, :, 0]
            a = np.einsum("gkij,gj->gki", dV, e, optimize=True)
            self.ada += np.einsum("gki,gij,glj->kl", a, Vi, a, optimize=True)
            self.b += np.einsum("gip,gki->kp", T, a, optimize=True)
            self.trVd += np.einsum("gkii->k", H)
            self.edVe += np.einsum("gi,gki->k", e, a)
        for (k, j), d2 in (d2V or {}).items():
            d2 = np.asarray(d2, float)
            d2 = d2 if d2.ndim == 3 else np.broadcast_to(d2, V.shape)
            self._add_R(k, j, np.einsum("gip,gij,gjq->pq", T, d2, T, optimize=True))
            if self.observed:
                self._add_obs(k, j, float(np.einsum("gij,gji->", Vi, d2, optimize=True)),
                              float(np.einsum("gi,gij,gj->", e, d2, e, optimize=True)))

    def add_shared(self, X, V, dV, d2V, y, beta):
        """G subjects sharing V and dV: X (G, n, p), V (n, n), dV (m, n, n).

        Sums over subjects collapse into the moment tensor S = sum_g X_g (x) X_g, so the cost
        does not grow with (number of subjects) x (number of parameters)^2.
        """
        G = X.shape[0]
        Vi = np.linalg.inv(V)
        n, p = X.shape[1], X.shape[2]
        Xf = X.reshape(G, n * p)
        S = (Xf.T @ Xf).reshape(n, p, n, p)   # one BLAS product instead of a per-subject einsum
        M = Vi @ dV @ Vi                      # (m, n, n): V^-1 dV_k V^-1
        self.XVX += np.einsum("ipjq,ij->pq", S, Vi, optimize=True)
        self.P -= np.einsum("ipjq,kij->kpq", S, M, optimize=True)
        H = Vi[None] @ dV                     # V^-1 dV_k
        QM = np.einsum("kia,lab->klib", H, M, optimize=True)  # V^-1 dV_k V^-1 dV_l V^-1
        self.Q += np.einsum("ipjq,klij->klpq", S, QM, optimize=True)
        self.K += G * np.einsum("kij,lji->kl", H, H, optimize=True)
        e = None
        if self.observed:
            r = y - X @ beta                  # (G, n)
            e = r @ Vi                        # V symmetric
            E2 = e.T @ e                      # sum_g e_g e_g'
            B = (Xf.T @ e).reshape(n, p, n)    # sum_g X_g[i, p] e_g[l]
            dVVdV = np.einsum("kia,lab->klib", dV, H, optimize=True)  # dV_k V^-1 dV_l
            self.ada += np.einsum("ij,klij->kl", E2, dVVdV, optimize=True)
            self.b += np.einsum("ipl,kil->kp", B, H, optimize=True)
            self.trVd += G * np.einsum("kii->k", H)
            self.edVe += np.einsum("ij,kij->k", E2, dV)
        for (k, j), d2 in (d2V or {}).items():
            d2 = np.asarray(d2, float)
            self._add_R(k, j, np.einsum("ipjq,ij->pq", S, Vi @ d2 @ Vi, optimize=True))
            if self.observed:
                self._add_obs(k, j, G * float(np.sum(Vi * d2)), float(np.sum(E2 * d2)))

    def _add_R(self, k, j, r):
        self.R[k, j] += r
        if k != j:
            self.R[j, k] += r.T

    def _add_obs(self, k, j, tr, quad):
        for a, b in ((k, j), (j, k)) if k != j else ((k, j),):
            self.trVd2[a, b] += tr
            self.ed2e[a, b] += quad


def _weight(M: np.ndarray, warnings: list, what: str) -> tuple:
    """2 M^-1 through M's correlation form (pinv when singular), and its smallest eigenvalue.

    The entries carry the units of y to the power -4 (the parameters are variances), so the
    singularity test is made on the correlation form: pbkrtest's absolute cut on IE2 itself warned
    for a regular fit with y in large units. At ordinary scales the inverse is the same.
    """
    d = np.sqrt(np.abs(np.diag(M)))
    d = np.where(d > 0, d, 1.0)
    C = M / np.outer(d, d)
    ev = np.linalg.eigvalsh(C)
    cond = np.min(np.abs(ev))
    if cond > IE2_COND_TOL and ev.min() > 0:
        W = 2 * np.linalg.inv(C) / np.outer(d, d)
    else:
        W = 2 * np.linalg.pinv(C) / np.outer(d, d)
        warnings.append(FitWarning(
            "df_approximation",
            f"The {what} information matrix of the variance parameters is singular or not positive definite "
            "(a variance estimated at zero or a redundant parameter), so the Kenward-Roger adjustment uses a "
            "generalised inverse and is approximate. Simplify the covariance structure if the fit is "
            "singular.", "fixed_effects"))
    return (W + W.T) / 2, cond


def _information(sums, phi) -> tuple:
    """IE2 and, with the observed information, the Hessian H of -2 l_REML (else None)."""
    P, Q, R = sums.P, sums.Q, sums.R
    PhiP = phi @ P  # (m, p, p): Phi P_k
    IE2 = sums.K - 2 * np.einsum("pq,klqp->kl", phi, Q) + np.einsum("kpq,lqp->kl", PhiP, PhiP)
    IE2 = (IE2 + IE2.T) / 2
    if not sums.observed:
        return IE2, None
    trPd2 = sums.trVd2 - np.einsum("pq,klqp->kl", phi, R)
    ePe = sums.ada - sums.b @ phi @ sums.b.T
    Hm = -IE2 + trPd2 + 2 * ePe - sums.ed2e
    return IE2, (Hm + Hm.T) / 2


class KenwardRoger:
    """Kenward-Roger pieces of a fitted model (REML), computed once, reused for every contrast.

    Parameters
    ----------
    model : CovarianceModel
        Needs ``beta`` and ``kr_clusters()`` (pieces with ``y`` for the observed information).
    information : str
        ``"expected"`` (pbkrtest) or ``"observed"`` (SAS PROC MIXED).
    linear : bool
        SAS's KR(LINEAR): leave out the second-derivative term R_kl of the adjusted covariance.

    Attributes
    ----------
    phi : ndarray (p, p)      unadjusted covariance (X'V^-1X)^-1
    vcov : ndarray (p, p)     adjusted covariance Phi_A
    P : list of ndarray       P_k
    W : ndarray               covariance of the covariance parameters (2 IE2^-1 or 2 H^-1), in the
                              FA parameters of a rank-deficient G when ``boundary`` is set
    hessian : ndarray or None H (observed information) in the natural parameters, else None
    boundary : tuple or None  (J, H) of :func:`kr_boundary.fa_map` when used
    information, linear       as given
    warnings : list of FitWarning
    """

    def __init__(self, model, information: str = "expected", linear: bool = False):
        if information not in INFORMATION:
            raise ValueError(f"unknown Kenward-Roger information {information!r}")
        self.beta = np.asarray(model.beta, float)
        self.information, self.linear = information, bool(linear)
        self.warnings: list = []
        observed = information == "observed"
        sums = None
        for c in model.kr_clusters():
            X = np.asarray(c.X, float)
            V = np.asarray(c.V, float)
            dV = np.asarray(c.dV, float)
            y = None if c.y is None else np.asarray(c.y, float)
            if observed and y is None:
                raise ValueError("the observed information needs the responses, which this model does not hand out")
            shared = X.ndim == 3 and V.ndim == 2
            if X.ndim == 2:  # one cluster
                X, V, dV = X[None], V[None], dV[None]
                y = None if y is None else y[None]
            if sums is None:
                sums = _Sums(X.shape[2], dV.shape[0] if shared else dV.shape[1], observed)
            (sums.add_shared if shared else sums.add_batched)(X, V, dV, c.d2V, y, self.beta)
        if sums is None:
            raise ValueError("the model gave no clusters for Kenward-Roger")
        phi = np.linalg.inv(sums.XVX)
        IE2, Hm = _information(sums, phi)
        self.hessian = Hm  # natural parameters (kr_names), for the covariance-parameter table
        boundary = fa_map(model, IE2.shape[0]) if observed else None
        if boundary is not None:
            # a random-effects G with a perfect correlation: SAS's FA0 parameters without the
            # zero one (see kr_boundary); the observed weight in the natural ones counts a
            # direction off the semi-definite boundary and gives other df than Satterthwaite
            sums = transform(sums, *boundary)
            IE2, Hm = _information(sums, phi)
        self.boundary = boundary
        P, Q, R = sums.P, sums.Q, sums.R
        if observed:
            W, cond = _weight(Hm, self.warnings, "observed")
        else:
            W, cond = _weight(IE2, self.warnings, "expected")
        UU = np.einsum("kl,klpq->pq", W, Q) - np.einsum("kl,kpa,ab,lbq->pq", W, P, phi, P, optimize=True)
        if not self.linear:
            UU -= np.einsum("kl,klpq->pq", W, R) / 4
        Lam = phi @ UU @ phi
        self.phi = phi
        self.vcov = phi + 2 * (Lam + Lam.T) / 2
        self.P = P
        self.W = W
        self.ie2 = IE2
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
