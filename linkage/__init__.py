"""linkage: find coordinated swarms of fraudulent accounts on AI API platforms.

The public API: simulate traffic, ingest a data directory, detect campaigns,
score new accounts against them, evaluate against labels and export the ban list.
Everything else is internal.
"""

from linkage._version import __version__
from linkage.detect import DetectionResult, detect
from linkage.errors import ContractError, LinkageError, ScenarioError
from linkage.evaluate import evaluate
from linkage.export import banlist, write_banlist, write_scores
from linkage.ingest import IngestSummary, ingest, open_store
from linkage.investigate import Investigation, NotFoundError, Subgraph, open_result, to_networkx
from linkage.score import Scorer, ScoreRun, score_new
from linkage.settings import DetectSettings
from linkage.simulate import SCENARIOS, Scenario, SimulationResult, load_scenario, simulate

__all__ = [
    "SCENARIOS",
    "ContractError",
    "DetectSettings",
    "DetectionResult",
    "IngestSummary",
    "Investigation",
    "LinkageError",
    "NotFoundError",
    "Scenario",
    "ScenarioError",
    "ScoreRun",
    "Scorer",
    "SimulationResult",
    "Subgraph",
    "__version__",
    "banlist",
    "detect",
    "evaluate",
    "ingest",
    "load_scenario",
    "open_result",
    "open_store",
    "score_new",
    "simulate",
    "to_networkx",
    "write_banlist",
    "write_scores",
]
