"""Effect sizes of mixed models and the comparison of no, partial and complete pooling."""
from __future__ import annotations

from mixgui.engine.effects.pooling import pooling_comparison
from mixgui.engine.effects.sizes import f2_table, r2_icc, variance_components, variance_explained, variance_proportions

__all__ = ['r2_icc', 'f2_table', 'variance_components', 'variance_explained', 'variance_proportions', 'pooling_comparison']
