"""Leiden per connected component on Spark's executors (issue 15, groundwork).

CPM never joins nodes of different components into one community (Leiden's
communities are connected), so the components of the evidence graph
(:func:`linkage.backend.components.connected_components`) are independent: each is
partitioned on an executor by :func:`linkage.detect.leiden.leiden` with the settings
:func:`~linkage.detect.leiden.find_communities` uses (refinement of oversized
communities, consolidation and separation included), through ``applyInPandas``. The
labels are then made canonical as ``leiden`` makes them (largest first, ties by
smallest node), in SQL: nothing comes back to the driver per component.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from linkage.backend import SparkBackend
from linkage.detect.leiden import leiden
from linkage.settings import DetectSettings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["leiden_by_component"]

_LABELS = "node long, comp long, label long"


def leiden_by_component(
    backend: SparkBackend,
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
    by_comp: DataFrame = backend.spark.sql(
        f"""SELECT c.component AS comp, e.src, e.dst, e.weight, e.bond, e.schedule,
                   e.src_init, e.dst_init
            FROM ({start}) e JOIN {components} c ON e.src = c.node"""
    )

    def one(component: pd.DataFrame) -> pd.DataFrame:  # a function, so pyspark reads its hints
        return _component(options, component)

    labels = by_comp.groupBy("comp").applyInPandas(one, _LABELS)
    backend.put(f"{out}_labels", labels)
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
