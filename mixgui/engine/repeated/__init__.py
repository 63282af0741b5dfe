"""Repeated measures: residual covariance structures within subject (nlme::gls, SAS REPEATED)."""
from __future__ import annotations

from mixgui.engine.repeated.fit import RepeatedFit, compare_structures, fit_repeated
from mixgui.engine.repeated.structures import STRUCTURES, Structure, make_structure

__all__ = ['fit_repeated', 'compare_structures', 'RepeatedFit', 'STRUCTURES', 'Structure', 'make_structure']
