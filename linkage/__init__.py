"""linkage: find coordinated swarms of fraudulent accounts on AI API platforms."""

from linkage.errors import ContractError, LinkageError, ScenarioError
from linkage.simulate import SCENARIOS, Scenario, SimulationResult, load_scenario, simulate

__version__ = "0.1.0"

__all__ = [
    "SCENARIOS",
    "ContractError",
    "LinkageError",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "__version__",
    "load_scenario",
    "simulate",
]
