"""Ordinary least-squares regression with R's numbers, its ANOVA tables and residual checks."""
from __future__ import annotations

from mixgui.engine.ols.checks import anova_type2, anova_type3, residual_diagnostics
from mixgui.engine.ols.fit import OlsFit, fit_ols, normal_qq, to_contract

__all__ = ['fit_ols', 'to_contract', 'normal_qq', 'OlsFit', 'anova_type2', 'anova_type3', 'residual_diagnostics']
