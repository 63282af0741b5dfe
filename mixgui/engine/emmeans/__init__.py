"""Estimated marginal means and contrasts as R's emmeans computes them; trajectories for plots."""
from __future__ import annotations

from mixgui.engine.emmeans.contrasts import ADJUSTMENTS, adjust_pvalues, poly_coefficients
from mixgui.engine.emmeans.means import emmeans, is_estimable, reference_grid
from mixgui.engine.emmeans.trajectories import cluster_trajectories, population_trajectory

__all__ = ['emmeans', 'reference_grid', 'is_estimable', 'ADJUSTMENTS', 'adjust_pvalues', 'poly_coefficients', 'population_trajectory', 'cluster_trajectories']
