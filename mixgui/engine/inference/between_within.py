"""SAS PROC MIXED's between-within degrees of freedom (DDFM=BETWITHIN), for repeated measures.

The residual df are split into a between-subject part, S - rank(X_between), and a within-subject
part, N - S - rank(X_within) (S subjects, N observations); a column of X that changes within some
subject is a within-subject column and gets the within df, the others (the intercept, treatment
arm, baseline covariates) the between df, as SAS does.  A contrast or F test gets the smallest df of
the columns it involves (as mmrm does).  SAS partitions the within df further when several
within-subject class effects interact with the subject; that refinement is not made here.
"""
from __future__ import annotations

import numpy as np
from scipy import stats


class BetweenWithin:
    """Between-within df for a model that exposes ``bw_layout()`` -> (within flags (p,), S, N)."""

    def __init__(self, model):
        within, S, N = model.bw_layout()
        self.within = np.asarray(within, bool)
        Xw = np.asarray(model.X, float)
        rank_b = np.linalg.matrix_rank(Xw[:, ~self.within]) if (~self.within).any() else 0
        rank_w = np.linalg.matrix_rank(Xw) - rank_b
        self.df_between = float(max(S - rank_b, 1))
        self.df_within = float(max(N - S - rank_w, 1))
        self.column_df = np.where(self.within, self.df_within, self.df_between)
        self.vcov = np.asarray(model.vcov, float)

    def df(self, L) -> float:
        L = np.atleast_2d(np.asarray(L, float))
        used = np.any(np.abs(L) > 1e-12, axis=0)
        return float(self.column_df[used].min()) if used.any() else self.df_within

    def ftest(self, L, beta) -> tuple:
        L = np.atleast_2d(np.asarray(L, float))
        d, P = np.linalg.eigh(L @ self.vcov @ L.T)
        pos = d > max(np.sqrt(np.finfo(float).eps) * d.max(), 0)
        q = int(pos.sum())
        if q == 0:
            return (np.nan, 0, np.nan, np.nan)
        z = (P[:, pos].T @ L @ beta) / np.sqrt(d[pos])
        F = float(z @ z / q)
        ddf = self.df(L)
        return (F, q, ddf, float(stats.f.sf(F, q, ddf)))
