"""Leiden per connected component, on any backend (setting ``leiden_scope``
``component``).

CPM never joins nodes of different components into one community (Leiden's
communities are connected), so the components of the evidence graph
(:func:`linkage.backend.components.connected_components`) can be partitioned apart:
each by :func:`linkage.detect.leiden.leiden` with the settings
:func:`~linkage.detect.leiden.find_communities` uses (refinement of oversized
communities, consolidation and separation included), its edges in ``(src, dst)``
order, through :meth:`Backend.map_by <linkage.backend.Backend.map_by>` keyed by
component (on Spark: on the executors). The labels are then made canonical as
``leiden`` makes them (largest first, ties by smallest node), in SQL: nothing comes
back to the driver per component.

Not the same partition as one Leiden run over the whole graph (``leiden_scope``
``graph``): the whole-graph run draws igraph's random numbers for all components in
one stream, so a component's partition there depends on the others; here it depends
on the component alone. Where Leiden's result turns on the draw, the two differ
(docs/SPARK.md measures it).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from linkage.backend import Backend
from linkage.detect.leiden import leiden
from linkage.settings import DetectSettings

__all__ = ["leiden_by_component"]

_LABELS = pa.schema([("node", pa.int64()), ("comp", pa.int64()), ("label", pa.int64())])


def leiden_by_component(
    backend: Backend,
    edges: str,
    components: str,
    out: str,
    settings: DetectSettings,
    initial: str | None = None,
) -> None:
    """Communities of ``edges(src, dst, weight, bond, schedule)`` as the table
    ``out(node, community)``: nodes in no community of at least ``min_campaign_size``
    are left out. ``components(node, component)`` labels every node of ``edges``;
    ``initial(node, label)``, a warm start (:func:`~linkage.detect.leiden.warm_start`)."""
    s = settings
    options = {
        "resolution": s.resolution,
        "seed": s.seed,
        "min_size": s.min_campaign_size,
        "max_size": s.max_campaign_size,
        "merge_ratio": s.merge_ratio,
        "bond_ratio": s.merge_bond_ratio,
        "core_bond": s.split_bond_weight,
        "core_share": s.split_core_share,
        "rest_share": s.split_rest_share,
    }
    start = (
        f"""SELECT e.*, i.label AS src_init, j.label AS dst_init FROM {edges} e
            JOIN {initial} i ON e.src = i.node JOIN {initial} j ON e.dst = j.node"""
        if initial is not None
        else f"""SELECT *, CAST(NULL AS BIGINT) AS src_init, CAST(NULL AS BIGINT) AS dst_init
                 FROM {edges}"""
    )
    backend.map_by(
        f"{out}_labels",
        f"""SELECT c.component AS comp, e.src, e.dst, e.weight, e.bond, e.schedule,
                   e.src_init, e.dst_init
            FROM ({start}) e JOIN {components} c ON e.src = c.node""",
        ["comp"],
        partial(_components, options),
        _LABELS,
        order=["comp", "src", "dst"],
    )
    backend.create_table(
        out,
        f"""WITH sized AS (
                SELECT comp, label, count(*) AS size, min(node) AS first
                FROM {out}_labels GROUP BY comp, label),
            ranked AS (
                SELECT comp, label,
                       row_number() OVER (ORDER BY size DESC, first) - 1 AS community
                FROM sized)
            SELECT l.node, r.community
            FROM {out}_labels l JOIN ranked r ON l.comp = r.comp AND l.label = r.label""",
    )


def _components(options: dict[str, Any], rows: pa.Table) -> pa.Table:
    """:func:`_component` on each component of ``rows`` (sorted by component, then
    edge)."""
    frame = rows.to_pandas()
    found = [_component(options, part) for _, part in frame.groupby("comp", sort=True)]
    if not found:
        return _LABELS.empty_table()
    return pa.Table.from_pandas(pd.concat(found, ignore_index=True), _LABELS, preserve_index=False)


def _component(options: dict[str, Any], edges: pd.DataFrame) -> pd.DataFrame:
    """Leiden on one component's edges (global node ids): its nodes' labels, small
    communities dropped."""
    nodes, local = np.unique(
        np.concatenate([edges["src"].to_numpy(), edges["dst"].to_numpy()]), return_inverse=True
    )
    m = len(edges)
    initial = None
    if edges["src_init"].notna().all():
        labels = np.empty(len(nodes), np.int64)
        labels[local[:m]] = edges["src_init"].to_numpy(np.int64)
        labels[local[m:]] = edges["dst_init"].to_numpy(np.int64)
        initial = np.unique(labels, return_inverse=True)[1].astype(np.int64)
    found = leiden(
        len(nodes),
        local[:m],
        local[m:],
        edges["weight"].to_numpy(np.float64),
        bond=edges["bond"].to_numpy(np.float64),
        schedule=edges["schedule"].to_numpy(bool),
        initial=initial,
        **options,
    )
    keep = found.membership >= 0
    return pd.DataFrame(
        {
            "node": nodes[keep].astype(np.int64),
            "comp": np.int64(edges["comp"].iloc[0]),
            "label": found.membership[keep],
        }
    )
