"""Penalised iteratively reweighted least squares and the Laplace / adaptive Gauss-Hermite deviance.

The formulation is lme4's (Bates et al. 2015; ``glmer``): b = Lambda_theta u with u ~ N(0, I);
for given theta (and fixed effects) the conditional mode of u maximises
``log f(y | u) - |u|^2 / 2`` and is found by PIRLS (Fisher scoring with step halving). The
Laplace deviance is

    -2 log f(y | u^) + |u^|^2 + log |Lambda' Z' W Z Lambda + I|,

with the full log density (normalising constants included, as ``family$aic``), so
``loglik = -deviance / 2`` is the number ``logLik()`` prints. For one scalar random-effect term
the groups are independent and adaptive Gauss-Hermite quadrature around each group's mode
replaces the Laplace step (lme4's ``nAGQ``).
"""
from __future__ import annotations

import numpy as np
from numpy.polynomial.hermite_e import hermegauss

MAX_PIRLS = 60
MAX_HALVINGS = 20


def gh_rule(k: int):
    """Nodes and weights for integrating against the standard normal density (lme4's ``GHrule``)."""
    z, w = hermegauss(k)
    return z, w / np.sqrt(2.0 * np.pi)


class Model:
    """One GLMM on one data set: everything a deviance evaluation needs.

    Parameters
    ----------
    y : ndarray (n,)        outcome (binomial: proportion of successes)
    X : ndarray (n, p)
    system : LevelBlocks or SparseGeneral
    family : Family
    n_trials : ndarray (n,) prior weights (binomial trials; 1 otherwise)
    offset : ndarray (n,)
    """

    def __init__(self, y, X, system, family, n_trials, offset):
        self.y, self.X, self.sys, self.fam = y, X, system, family
        self.nt, self.off = n_trials, offset
        self.n, self.p = X.shape
        self.u = np.zeros(system.q)
        self.nevals = 0
        self.const = family.log_const(y, n_trials)

    # -- pieces ---------------------------------------------------------------------------------
    def _eta(self, u, fixed):
        return fixed + self.sys.zl(u)

    def pdev(self, u, fixed, nbt):
        """Penalised deviance -2 log f(y | u) + |u|^2 and the linear predictor."""
        eta = self._eta(u, fixed)
        mu = self.fam.linkinv(eta)
        ll = self.fam.loglik(self.y, mu, self.nt, eta, nbt, self.const)
        return -2.0 * float(np.sum(ll)) + float(u @ u), eta, mu

    def pirls(self, theta, fixed, nbt, u0=None):
        """Conditional modes of u for fixed theta and fixed part ``fixed`` (= offset + X beta).

        Returns (u, eta, mu, penalised deviance). Starts from ``u0`` (the last mode by default:
        successive evaluations of an optimiser are close) and falls back to zero if that start
        is far worse.
        """
        self.sys.set_theta(theta)
        u = self.u.copy() if u0 is None else u0.copy()
        pd, eta, mu = self.pdev(u, fixed, nbt)
        if u0 is None and u.any():
            pz = self.pdev(np.zeros_like(u), fixed, nbt)
            if pz[0] < pd:
                u = np.zeros_like(u)
                pd, eta, mu = pz
        for _ in range(MAX_PIRLS):
            w, d = self.fam.weights(eta, mu, self.nt, nbt)
            # working residual on the linear-predictor scale, plus the current Z Lambda u
            r = (eta - fixed) + (self.y - mu) / d
            fac = self.sys.factor(w)
            unew = fac.solve(self.sys.zlt(w * r))
            step = unew - u
            for _h in range(MAX_HALVINGS):
                pn, en, mn = self.pdev(u + step, fixed, nbt)
                if pn <= pd + 1e-10 * (1.0 + abs(pd)):
                    break
                step = step / 2.0
            else:
                break
            u = u + step
            done = abs(pd - pn) < 1e-11 * (1.0 + abs(pn)) and np.max(np.abs(step), initial=0) < 1e-8
            pd, eta, mu = pn, en, mn
            if done:
                break
        self.u = u
        return u, eta, mu, pd

    def laplace(self, theta, beta, nbt=None):
        """Laplace deviance at (theta, beta); nbt is the negative binomial theta (else None)."""
        self.nevals += 1
        fixed = self.off + self.X @ beta
        u, eta, mu, pd = self.pirls(theta, fixed, nbt)
        wh = self.fam.hessian_weights(self.y, eta, mu, self.nt, nbt)
        return pd + self.sys.factor(wh).logdet

    @property
    def has_gradient(self) -> bool:
        """Exact gradient available: one scalar random term and a canonical link (logit, Poisson log)."""
        canonical = (self.fam.name, self.fam.link) in (("binomial", "logit"), ("poisson", "log"))
        return canonical and getattr(self.sys, "scalar", False) and len(self.sys.blocks) == 1

    def laplace_grad(self, theta, beta):
        """Laplace deviance and its exact gradient in (theta, beta) (see :attr:`has_gradient`).

        F = P(u^) + sum_l log A_l with P = -2 sum l_i + |u|^2, A_l = 1 + t^2 s_l, s_l = sum w_i z_i^2.
        At the mode dP/du = 0, so P contributes its partial derivatives only; log A depends on u^
        through the weights, and du^/dphi = -(2 A)^-1 dg/dphi from the mode equation
        g_l = dP/du_l = 0 (for canonical links the observed and Fisher weights coincide).
        """
        self.nevals += 1
        fixed = self.off + self.X @ beta
        u, eta, mu, pd = self.pirls(theta, fixed, None)
        sy, X = self.sys, self.X
        t, codes, z, L = sy.T[0, 0], sy.codes, sy.Z[:, 0], sy.nl
        if self.fam.name == "binomial":
            lp, w = self.nt * (self.y - mu), self.nt * mu * (1.0 - mu)
            wp = w * (1.0 - 2.0 * mu)
        else:
            lp, w, wp = self.y - mu, mu, mu
        s = np.bincount(codes, weights=w * z * z, minlength=L)
        A = 1.0 + t * t * s
        F = pd + float(np.sum(np.log(A)))
        ul = u[codes]
        c = t * t * z * z * wp / A[codes]  # d log|A| / d eta_i
        r = np.bincount(codes, weights=c * t * z, minlength=L) / (2.0 * A)  # (d logA / du) / (2A)
        g_beta = X.T @ (-2.0 * lp + c - r[codes] * 2.0 * t * w * z)
        dg_t = np.bincount(codes, weights=-2.0 * lp * z, minlength=L) + 2.0 * t * s * u
        g_t = (float(np.sum(-2.0 * lp * z * ul)) + float(np.sum(2.0 * t * s / A)) + float(np.sum(c * z * ul))
               - float(np.sum(r * dg_t)))
        return F, np.array([g_t]), g_beta

    def agq(self, theta, beta, nagq, nbt=None):
        """Adaptive Gauss-Hermite deviance for one scalar random-effect term (lme4's nAGQ > 1).

        Per group g with mode u_g and curvature sd_g = 1 / sqrt(M_gg):
        -2 log( sd_g sum_k w_k exp(-(D_g(u_g + z_k sd_g) - D_g(u_g)) / 2 + z_k^2 / 2) ) + D_g(u_g),
        D_g(u) = -2 log f(y_g | u) + u^2; with one node this is the Laplace deviance.
        """
        self.nevals += 1
        fixed = self.off + self.X @ beta
        u, eta, mu, _ = self.pirls(theta, fixed, nbt)
        sy = self.sys
        w = self.fam.hessian_weights(self.y, eta, mu, self.nt, nbt)
        A = sy.factor(w).A[:, 0, 0]
        sd = 1.0 / np.sqrt(A)
        t = sy.T[0, 0]
        z, wt = gh_rule(nagq)
        codes, zc = sy.codes, sy.Z[:, 0]

        def group_dev(ug):
            e = fixed + zc * t * ug[codes]
            m = self.fam.linkinv(e)
            ll = self.fam.loglik(self.y, m, self.nt, e, nbt, self.const)
            return -2.0 * np.bincount(codes, weights=ll, minlength=sy.nl) + ug * ug

        d0 = group_dev(u)
        terms = []
        for zk, wk in zip(z, wt):
            dk = group_dev(u + zk * sd)
            terms.append(np.log(wk) - (dk - d0) / 2.0 + zk * zk / 2.0)
        terms = np.array(terms)
        mx = terms.max(axis=0)
        lse = mx + np.log(np.exp(terms - mx).sum(axis=0))
        return float(np.sum(d0 - 2.0 * (np.log(sd) + lse)))

    # -- the joint (u, beta) iteration of lme4's nAGQ = 0 stage --------------------------------
    def pirls_joint(self, theta, beta0, nbt):
        """Modes of (u, beta) together for fixed theta: PIRLS with beta in the linear system.

        Returns (beta, Schur complement X'WX - X'WZL M^-1 ZL'WX, Laplace deviance).
        """
        self.sys.set_theta(theta)
        beta, u = beta0.copy(), self.u.copy()
        X = self.X
        fixed = self.off + X @ beta
        pd, eta, mu = self.pdev(u, fixed, nbt)
        S = None
        for _ in range(MAX_PIRLS):
            w, d = self.fam.weights(eta, mu, self.nt, nbt)
            r = (eta - self.off) + (self.y - mu) / d
            fac = self.sys.factor(w)
            B = self.sys.zlt(w[:, None] * X)
            MiB = fac.solve(B)
            rb = self.sys.zlt(w * r)
            Mib = fac.solve(rb)
            S = X.T @ (w[:, None] * X) - B.T @ MiB
            bnew = np.linalg.solve(S, X.T @ (w * r) - B.T @ Mib)
            unew = Mib - MiB @ bnew
            du, db = unew - u, bnew - beta
            for _h in range(MAX_HALVINGS):
                fx = self.off + X @ (beta + db)
                pn, en, mn = self.pdev(u + du, fx, nbt)
                if pn <= pd + 1e-10 * (1.0 + abs(pd)):
                    break
                du, db = du / 2.0, db / 2.0
            else:
                break
            u, beta = u + du, beta + db
            done = abs(pd - pn) < 1e-11 * (1.0 + abs(pn))
            pd, eta, mu = pn, en, mn
            if done:
                break
        self.u = u
        wh = self.fam.hessian_weights(self.y, eta, mu, self.nt, nbt)
        return beta, S, pd + self.sys.factor(wh).logdet
