"""``build_graph``: a store in, the weighted account graph out. The one sequence of
graph stages, used by ``detect`` and by ``evaluate``'s baselines alike.

To add an evidence type (a new kind of shared entity): write a stage
``build_x(ws, events, settings) -> X`` that appends rows of a new ``etype`` to
``events``, list its working tables in :data:`linkage.graph.workspace.TABLES`,
call it here between ``events`` and ``projection``, hand its output to
:func:`project_pairs` and :class:`Projection`, and give the type a default
weight in :class:`~linkage.settings.DetectSettings`.
"""

from __future__ import annotations

import pandas as pd

from linkage.graph.clusters import build_prompt_clusters
from linkage.graph.coactivity import build_coactivity
from linkage.graph.events import build_events
from linkage.graph.ipintel import annotate_ip_kinds
from linkage.graph.project import Projection, project_pairs
from linkage.graph.templates import build_templates
from linkage.graph.workspace import Workspace
from linkage.progress import StageLog
from linkage.settings import DetectSettings

__all__ = ["GRAPH_STAGES", "build_graph"]

GRAPH_STAGES = ("events", "co-activity", "templates", "prompt clusters", "ip intel", "projection")
"""The graph stages, in the order :func:`build_graph` runs them."""


def build_graph(
    ws: Workspace,
    settings: DetectSettings,
    log: StageLog | None = None,
    known_legitimate: pd.DataFrame | None = None,
) -> Projection:
    """Run the graph stages on the store of ``ws``; each is timed in ``log``.
    ``known_legitimate`` (``etype, ekey``): infrastructure of campaigns investigators
    dismissed, weighed at ``dismissed_entity_weight`` (:func:`project_pairs`)."""
    log = log or StageLog()
    events = log.run("events", lambda: build_events(ws))
    coactivity = log.run("co-activity", lambda: build_coactivity(ws, events, settings))
    templates = log.run("templates", lambda: build_templates(ws, events))
    clusters = log.run(
        "prompt clusters", lambda: build_prompt_clusters(ws, events, settings, log.progress)
    )
    ip_kinds = log.run("ip intel", lambda: annotate_ip_kinds(ws, events))
    return log.run(
        "projection",
        lambda: project_pairs(
            ws,
            settings,
            events=events,
            coactivity=coactivity,
            templates=templates,
            prompt_clusters=clusters,
            ip_kinds=ip_kinds,
            known_legitimate=known_legitimate,
        ),
    )
