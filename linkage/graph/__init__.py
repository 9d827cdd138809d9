"""The evidence graph: account-entity events, IP intelligence, prompt templates, projection."""

from linkage.graph.events import build_events
from linkage.graph.ipintel import annotate_ip_kinds
from linkage.graph.project import project_pairs
from linkage.graph.templates import build_templates

__all__ = ["annotate_ip_kinds", "build_events", "build_templates", "project_pairs"]
