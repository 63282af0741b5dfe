"""Repeated measures: residual covariance structures within subject (nlme::gls, SAS REPEATED)."""
from __future__ import annotations

from mixgui.engine.repeated.fit import fit_repeated, compare_structures, RepeatedFit
from mixgui.engine.repeated.structures import STRUCTURES, Structure, make_structure

__all__ = ['fit_repeated', 'compare_structures', 'RepeatedFit', 'STRUCTURES', 'Structure', 'make_structure']
