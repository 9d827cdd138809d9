"""Realistic platform traffic with coordinated Hydra campaigns, for demos, tests and evaluation."""

from linkage.simulate.run import SimulationResult, simulate
from linkage.simulate.scenario import SCENARIOS, CampaignSpec, Scenario, load_scenario

__all__ = ["SCENARIOS", "CampaignSpec", "Scenario", "SimulationResult", "load_scenario", "simulate"]
