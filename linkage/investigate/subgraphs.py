"""Graph queries: a campaign's property graph and an account's neighbourhood, bounded,
with deterministic sampling stated in the result."""

from __future__ import annotations

from typing import Any

import numpy as np

from linkage.investigate.context import NotFoundError, ResultContext
from linkage.investigate.graph import Subgraph
from linkage.investigate.limits import (
    MAX_EDGES_LIMIT,
    MAX_EVIDENCE,
    MAX_HOPS,
    MAX_NODES_LIMIT,
    MIN_SUBGRAPH_NODES,
    check_range,
)
from linkage.investigate.links import linked_among
from linkage.investigate.records import (
    ACCOUNT_COLUMNS,
    ENTITY_COLUMNS,
    account_node,
    entity_node,
    iso_column,
)
from linkage.schema import ENTITY_PARENTS, ENTITY_RELATIONSHIPS

__all__ = ["GraphQueries"]


class GraphQueries:
    """Bounded pieces of the investigation graph as :class:`Subgraph` records."""

    def __init__(self, ctx: ResultContext) -> None:
        self.ctx = ctx

    def subgraph(
        self,
        campaign_id: str,
        max_nodes: int = 300,
        max_edges: int = 3000,
        evidence_per_edge: int = 3,
    ) -> Subgraph:
        """The campaign's property graph: its member accounts (``Account``), the
        entities that bind them (used by at least two members), each member's
        relationship to them (``USED_IP``, ``PAID_WITH``, ...), and ``LINKED``
        evidence edges between members. A shared prefix or BIN comes with the
        members' IPs or cards in it (``IN_PREFIX``, ``HAS_BIN``): accounts reach it
        through them.

        Over ``max_nodes``, keeps the members with the highest score (ties by
        account id), leaving a third of the cap to entities, which are taken by how
        many kept members share them (ties by type and value). ``max_edges`` caps
        the ``LINKED`` edges, heaviest first; each carries its ``evidence_per_edge``
        strongest shared entities (all of them: ``account``). Deterministic;
        ``sampling`` says what was left out.
        """
        check_range("max_nodes", max_nodes, MIN_SUBGRAPH_NODES, MAX_NODES_LIMIT)
        check_range("max_edges", max_edges, 1, MAX_EDGES_LIMIT)
        check_range("evidence_per_edge", evidence_per_edge, 1, MAX_EVIDENCE)
        self.ctx.campaign_row(campaign_id)
        kept, n_ent, total_nodes, notes = self._members(campaign_id, max_nodes)
        kept_aids = [m["aid"] for m in kept]
        entities, chosen = self._entities(kept_aids, max_nodes - len(kept))
        shown_binding = sum(1 for e in entities if chosen[e["eid"]])
        if total_nodes > max_nodes and shown_binding < n_ent:
            notes.append(f"{shown_binding} of {n_ent} binding entities shown")
        ent_nodes = {e["eid"]: entity_node(e, self.ctx.keys, self.ctx.text) for e in entities}
        nodes = [account_node(m) for m in kept]
        nodes.extend(ent_nodes.values())
        edges = self._uses(kept, ent_nodes) + _parent_edges(entities, ent_nodes)
        linked, total_linked = linked_among(self.ctx, kept_aids, max_edges, evidence_per_edge)
        if total_linked > len(linked):
            notes.append(f"{len(linked)} of {total_linked} LINKED edges, heaviest first")
        return Subgraph(
            kind="campaign",
            center=campaign_id,
            nodes=nodes,
            edges=edges + linked,
            total_nodes=total_nodes,
            total_edges=len(edges) + total_linked,
            max_nodes=max_nodes,
            max_edges=max_edges,
            truncated=bool(notes),
            sampling="; ".join(notes) or None,
            params={
                "campaign_id": campaign_id,
                "max_nodes": max_nodes,
                "max_edges": max_edges,
                "evidence_per_edge": evidence_per_edge,
            },
        )

    def _members(
        self, campaign_id: str, max_nodes: int
    ) -> tuple[list[dict[str, Any]], int, int, list[str]]:
        """The members to show (highest score first), how many entities bind the
        members, how many nodes there are in all, and a note when members were left out."""
        members = self.ctx.rows(
            f"SELECT aid, {ACCOUNT_COLUMNS} FROM graph_accounts WHERE campaign_id = ? "
            "ORDER BY score DESC, account_id",
            [campaign_id],
        )
        n_ent = int(
            self.ctx.rows(
                """
                SELECT count(*) AS n FROM (
                    SELECT eid FROM graph_links WHERE aid = ANY(?::INTEGER[])
                    GROUP BY eid HAVING count(*) >= 2)
                """,
                [[m["aid"] for m in members]],
            )[0]["n"]
        )
        n_acc = len(members)
        total_nodes = n_acc + n_ent
        if total_nodes <= max_nodes:
            return members, n_ent, total_nodes, []
        k_acc = min(n_acc, max(2, max_nodes - min(n_ent, max_nodes // 3)))
        note = (
            f"{k_acc} of {n_acc} members with the highest score (ties by account id), "
            f"then the entities shared by the most of them, up to {max_nodes} nodes"
        )
        return members[:k_acc], n_ent, total_nodes, [note]

    def _entities(
        self, kept_aids: list[int], budget: int
    ) -> tuple[list[dict[str, Any]], dict[int, bool]]:
        """The entity rows to show for the kept members (by eid), and ``eid -> binding``."""
        links = self.ctx.rows(
            """
            SELECT l.aid, l.eid, e.parent_eid
            FROM graph_links l JOIN graph_entities e USING (eid)
            WHERE l.aid = ANY(?::INTEGER[])
            """,
            [kept_aids],
        )
        chosen = binding_entities(links, budget)
        entities = self.ctx.rows(
            f"SELECT {ENTITY_COLUMNS} FROM graph_entities WHERE eid = ANY(?::INTEGER[]) "
            "ORDER BY eid",
            [sorted(chosen)],
        )
        return entities, chosen

    def _uses(
        self, kept: list[dict[str, Any]], ent_nodes: dict[int, dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The kept members' relationships to the shown entities (``USED_IP``, ...)."""
        by_aid = {m["aid"]: m["account_id"] for m in kept}
        edges: list[dict[str, Any]] = []
        for link in self.ctx.rows(
            f"""
            SELECT aid, eid, uses, {iso_column("first_seen")}, {iso_column("last_seen")}
            FROM graph_links
            WHERE eid = ANY(?::INTEGER[]) AND aid = ANY(?::INTEGER[])
            ORDER BY aid, eid
            """,
            [sorted(ent_nodes), list(by_aid)],
        ):
            ent = ent_nodes[link["eid"]]
            rel = ENTITY_RELATIONSHIPS.get(ent["properties"]["entity_type"])
            if rel is None:  # prefix / BIN: reached through the IP / card
                continue
            edges.append(
                {
                    "source": f"account:{by_aid[link['aid']]}",
                    "target": ent["id"],
                    "type": rel,
                    "properties": {
                        "count": link["uses"],
                        "first_seen": link["first_seen"],
                        "last_seen": link["last_seen"],
                    },
                }
            )
        return edges

    def neighbourhood(
        self,
        account_id: str,
        hops: int = 1,
        max_nodes: int = 200,
        max_edges: int = 1000,
        evidence_per_edge: int = 1,
    ) -> Subgraph:
        """The ego graph of an account over ``LINKED`` edges, ``hops`` (1 or 2) deep.

        Over ``max_nodes``: the account, then its direct neighbours heaviest link
        first, then second-hop accounts by their heaviest link into the first hop
        (ties by aid, i.e. account id). Edges are the ``LINKED`` edges among the kept
        accounts, heaviest first up to ``max_edges``, each with its
        ``evidence_per_edge`` strongest shared entities. Nodes carry the account's
        ``account_id, campaign_id, score, flagged, status`` and ``hop`` (how far it
        is); ``account`` has the rest.
        """
        check_range("hops", hops, 1, MAX_HOPS)
        check_range("max_nodes", max_nodes, 1, MAX_NODES_LIMIT)
        check_range("max_edges", max_edges, 1, MAX_EDGES_LIMIT)
        check_range("evidence_per_edge", evidence_per_edge, 1, MAX_EVIDENCE)
        aid = self.ctx.adjacency.aid(account_id)
        if aid is None:
            raise NotFoundError(f"account {account_id!r} is not in this result")
        ranked, hop_of = self._ranked_neighbours(aid, hops)
        total = 1 + len(ranked)
        kept = [aid, *ranked[: max_nodes - 1]]
        notes = []
        if total > len(kept):
            notes.append(
                f"{len(kept)} of {total} accounts: the account, then first-hop neighbours by "
                "heaviest link, then second-hop accounts by heaviest link into the first hop "
                "(ties by account)"
            )
        nodes = [self._hop_node(a, hop_of.get(a, 2)) for a in kept]
        edges, total_edges = linked_among(self.ctx, kept, max_edges, evidence_per_edge)
        if total_edges > len(edges):
            notes.append(f"{len(edges)} of {total_edges} LINKED edges, heaviest first")
        return Subgraph(
            kind="neighbourhood",
            center=account_id,
            nodes=nodes,
            edges=edges,
            total_nodes=total,
            total_edges=total_edges,
            max_nodes=max_nodes,
            max_edges=max_edges,
            truncated=bool(notes),
            sampling="; ".join(notes) or None,
            params={
                "account_id": account_id,
                "hops": hops,
                "max_nodes": max_nodes,
                "max_edges": max_edges,
                "evidence_per_edge": evidence_per_edge,
            },
        )

    def _ranked_neighbours(self, aid: int, hops: int) -> tuple[list[int], dict[int, int]]:
        """Accounts within ``hops`` of ``aid`` in the order they are kept, and each
        one's hop (second-hop accounts are left out of the map)."""
        adj = self.ctx.adjacency
        hop1, _, _ = adj.neighbours(aid)
        ranked = [int(a) for a in hop1]
        hop_of = {aid: 0, **dict.fromkeys(ranked, 1)}
        if hops == 2 and len(hop1):
            _, to, w, _ = adj.gather(hop1)
            inside = adj.mask(hop1)
            inside[aid] = True
            outside = ~inside[to]
            to, w = to[outside], w[outside]
            if len(to):
                order = np.argsort(to, kind="stable")
                to, w = to[order], w[order]
                first = np.flatnonzero(np.r_[True, to[1:] != to[:-1]])
                cand, best = to[first], np.maximum.reduceat(w, first)
                order = np.lexsort((cand, -best))
                ranked += cand[order].tolist()
        return ranked, hop_of

    def _hop_node(self, a: int, hop: int) -> dict[str, Any]:
        props = self.ctx.adjacency.account_summary(a)
        props["hop"] = hop
        return {
            "id": f"account:{props['account_id']}",
            "label": "Account",
            "key": props["account_id"],
            "properties": props,
        }


def _parent_edges(
    entities: list[dict[str, Any]], ent_nodes: dict[int, dict[str, Any]]
) -> list[dict[str, Any]]:
    """``IN_PREFIX`` / ``HAS_BIN`` edges between shown entities."""
    return [
        {
            "source": ent_nodes[e["eid"]]["id"],
            "target": ent_nodes[e["parent_eid"]]["id"],
            "type": ENTITY_PARENTS[e["entity_type"]][1],
            "properties": {},
        }
        for e in entities
        if e["parent_eid"] is not None and e["parent_eid"] in ent_nodes
    ]


def binding_entities(links: list[dict[str, Any]], budget: int) -> dict[int, bool]:
    """Entities to show for member links ``links`` (``aid, eid, parent_eid``):
    ``eid -> binding`` (used by at least two of the members; ``False`` for an IP or
    card shown only to reach a binding prefix or BIN). Most members first (ties by
    eid, which orders by type and value); a prefix or BIN comes with the members'
    IPs or cards in it, and only when all of them fit in ``budget``."""
    users: dict[int, int] = {}
    children: dict[int, set[int]] = {}
    for r in links:
        users[r["eid"]] = users.get(r["eid"], 0) + 1
        if r["parent_eid"] is not None:
            children.setdefault(r["parent_eid"], set()).add(r["eid"])
    ranked = sorted((eid for eid, n in users.items() if n >= 2), key=lambda e: (-users[e], e))
    chosen: dict[int, bool] = {}
    for eid in ranked:
        if eid in chosen:
            chosen[eid] = True
            continue
        if budget <= 0:
            break
        need = [c for c in sorted(children.get(eid, ())) if c not in chosen]
        if 1 + len(need) > budget:
            continue
        chosen[eid] = True
        for c in need:
            chosen[c] = users[c] >= 2
        budget -= 1 + len(need)
    return chosen
