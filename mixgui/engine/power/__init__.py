"""Study planning: power and sample size of clustered and longitudinal designs by simulation."""
from __future__ import annotations

from mixgui.engine.power.analytic import (
    analytic_power,
    design_effect,
    effective_sample_size,
    smallest_clusters_analytic,
    wilson_interval,
)
from mixgui.engine.power.designs import DESIGNS, MAX_SIMULATIONS, Design, check_design, parse_design
from mixgui.engine.power.plan import clusters_needed, power_curves
from mixgui.engine.power.scenario import Scenario, build_scenario
from mixgui.engine.power.simulate import PowerResult, Runner, simulate_power

__all__ = ["analytic_power", "design_effect", "effective_sample_size", "smallest_clusters_analytic",
           "wilson_interval", "DESIGNS", "MAX_SIMULATIONS", "Design", "check_design", "parse_design",
           "clusters_needed", "power_curves", "Scenario", "build_scenario", "PowerResult", "Runner", "simulate_power"]
