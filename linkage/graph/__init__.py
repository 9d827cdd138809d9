"""The evidence graph: a workspace on the store, account-entity events, prompt
templates and clusters, IP intelligence, and the weighted projection onto account
pairs. :func:`build_graph` runs them in order."""

from linkage.graph.build import GRAPH_STAGES, build_graph
from linkage.graph.clusters import PromptClusters, build_prompt_clusters
from linkage.graph.events import Events, build_events
from linkage.graph.ipintel import IpKinds, annotate_ip_kinds
from linkage.graph.project import (
    Corroboration,
    EdgeList,
    Projection,
    edge_list,
    project_pairs,
)
from linkage.graph.templates import Templates, build_templates
from linkage.graph.workspace import TABLES, Workspace, WorkTable

__all__ = [
    "GRAPH_STAGES",
    "TABLES",
    "Corroboration",
    "EdgeList",
    "Events",
    "IpKinds",
    "Projection",
    "PromptClusters",
    "Templates",
    "WorkTable",
    "Workspace",
    "annotate_ip_kinds",
    "build_events",
    "build_graph",
    "build_prompt_clusters",
    "build_templates",
    "edge_list",
    "project_pairs",
]
