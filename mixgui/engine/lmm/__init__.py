"""Linear mixed models fitted as lme4 does, and what is computed from the fit alone."""
from __future__ import annotations

from mixgui.engine.lmm.fit import fit_lmm
from mixgui.engine.lmm.intervals import variance_component_cis
from mixgui.engine.lmm.result import LmmFit

__all__ = ['fit_lmm', 'LmmFit', 'variance_component_cis']
