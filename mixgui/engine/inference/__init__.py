"""Tests of fixed effects (Satterthwaite, Kenward-Roger, residual, z), type III tables, likelihood-ratio tests."""
from __future__ import annotations

from mixgui.engine.inference.anova3 import anova_table, type3_hypotheses
from mixgui.engine.inference.core import Inference, fixed_effects_table
from mixgui.engine.inference.fixed import FixedTests, fixed_effect_tests
from mixgui.engine.inference.kenward_roger import KenwardRoger
from mixgui.engine.inference.lrt import compare_models, lm_loglik, ml_refit_needed, random_effect_tests
from mixgui.engine.inference.satterthwaite import Satterthwaite

__all__ = ['Inference', 'fixed_effects_table', 'fixed_effect_tests', 'FixedTests', 'anova_table', 'type3_hypotheses', 'random_effect_tests', 'compare_models', 'lm_loglik', 'ml_refit_needed', 'Satterthwaite', 'KenwardRoger']
