"""Generalized linear mixed models as lme4's ``glmer`` (binomial, Poisson) and glmmTMB (NB2) fit them.

PIRLS inside a Laplace approximation for any random structure the linear engine handles;
adaptive Gauss-Hermite quadrature for one scalar random-effect term.
"""
from __future__ import annotations

from mixgui.engine.glmm.drop1 import drop1_lrt
from mixgui.engine.glmm.families import LINKS, Family
from mixgui.engine.glmm.fit import fit_glmm
from mixgui.engine.glmm.glm import GlmFit, fit_glm
from mixgui.engine.glmm.response import response_emmeans, response_trajectory
from mixgui.engine.glmm.result import GlmmFit
from mixgui.engine.glmm.summaries import null_model, r2_icc

__all__ = ["fit_glmm", "GlmmFit", "Family", "LINKS", "fit_glm", "GlmFit", "drop1_lrt", "response_emmeans",
           "response_trajectory", "r2_icc", "null_model"]
