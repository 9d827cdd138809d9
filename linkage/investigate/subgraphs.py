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
from linkage.investigate.links import linked_among, linked_records
from linkage.investigate.records import (
    ACCOUNT_COLUMNS,
    ENTITY_COLUMNS,
    account_node,
    entity_node,
    iso_column,
)
from linkage.investigate.sampling import PARENT_TYPES, MemberLinks, pick_edges, pick_entities
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
        account id), swapping the lowest of them for two users of an entity type the
        kept ones do not share (so every type of the campaign's indicators can be
        drawn), and leaves a third of the cap to entities, chosen by
        :func:`~linkage.investigate.sampling.pick_entities`: each member's own tie
        when no drawn ``LINKED`` edge gives it one, the strongest entities of every
        type, then the strongest others. ``max_edges`` caps the ``LINKED`` edges:
        every member's heaviest first, then the heaviest others; each carries its
        ``evidence_per_edge`` strongest shared entities. Every member drawn has an
        edge; one with no tie to the others drawn is left out and counted in
        ``sampling``. Deterministic.
        """
        check_range("max_nodes", max_nodes, MIN_SUBGRAPH_NODES, MAX_NODES_LIMIT)
        check_range("max_edges", max_edges, 1, MAX_EDGES_LIMIT)
        check_range("evidence_per_edge", evidence_per_edge, 1, MAX_EVIDENCE)
        self.ctx.campaign_row(campaign_id)
        members, n_ent = self._members(campaign_id)
        total_nodes = len(members) + n_ent
        kept, notes = members, []
        if total_nodes > max_nodes:
            kept, note = self._keep_members(campaign_id, members, n_ent, max_nodes)
            notes.append(note)
        kept_aids = [m["aid"] for m in kept]
        edge_ids, ends, total_linked = self._linked(kept_aids, max_edges)
        tied = set(ends.ravel().tolist())
        links = self._links(kept_aids)
        chosen = pick_entities(
            links, max_nodes - len(kept), [a for a in kept_aids if a not in tied]
        )
        drawn_to = [e for e in chosen if links.entity_type[e] not in PARENT_TYPES]
        tied.update(links.aid[np.isin(links.eid, drawn_to)].tolist())
        loose = [m for m in kept if m["aid"] not in tied]
        if loose:
            kept = [m for m in kept if m["aid"] in tied]
            notes.append(f"{len(loose)} members with no tie to the others shown left out")
        shown_binding = sum(chosen.values())
        if total_nodes > max_nodes and shown_binding < n_ent:
            notes.append(f"{shown_binding} of {n_ent} binding entities shown")
        entities = self.ctx.rows(
            f"SELECT {ENTITY_COLUMNS} FROM graph_entities WHERE eid = ANY(?::INTEGER[]) "
            "ORDER BY eid",
            [sorted(chosen)],
        )
        ent_nodes = {e["eid"]: entity_node(e, self.ctx.keys, self.ctx.text) for e in entities}
        nodes = [account_node(m) for m in kept]
        nodes.extend(ent_nodes.values())
        edges = self._uses(kept, ent_nodes) + _parent_edges(entities, ent_nodes)
        linked = linked_records(self.ctx, edge_ids, evidence_per_edge)
        if total_linked > len(linked):
            notes.append(
                f"{len(linked)} of {total_linked} LINKED edges: each member's heaviest, "
                "then the heaviest"
            )
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

    def _members(self, campaign_id: str) -> tuple[list[dict[str, Any]], int]:
        """The members, highest score first (ties by account id), and how many
        entities bind them."""
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
        return members, n_ent

    def _keep_members(
        self, campaign_id: str, members: list[dict[str, Any]], n_ent: int, max_nodes: int
    ) -> tuple[list[dict[str, Any]], str]:
        """The members to show under ``max_nodes`` and a note saying how they were
        chosen: highest score first, then, for each entity type of the campaign's
        indicators that the kept members do not share, the two highest-scoring users
        of its most shared entity in place of the lowest kept ones."""
        k_acc = min(len(members), max(2, max_nodes - min(n_ent, max_nodes // 3)))
        kept = members[:k_acc]
        anchors = self._type_anchors(campaign_id, [m["aid"] for m in kept])
        if anchors:
            by_aid = {m["aid"]: m for m in members}
            extra = [by_aid[a] for a in anchors if a in by_aid][:k_acc]
            have = {m["aid"] for m in extra}
            rest = [m for m in kept if m["aid"] not in have][: max(0, k_acc - len(extra))]
            order = {m["aid"]: i for i, m in enumerate(members)}
            kept = sorted(rest + extra, key=lambda m: order[m["aid"]])
        who = (
            f"all {len(members)} members"
            if len(kept) == len(members)
            else f"{len(kept)} of {len(members)} members with the highest score (ties by "
            "account id) and users of every shared entity type"
        )
        note = f"{who}, then the strongest entities of every type, up to {max_nodes} nodes"
        return kept, note

    def _type_anchors(self, campaign_id: str, kept_aids: list[int]) -> list[int]:
        """For each type of the campaign's indicators that no two of ``kept_aids``
        share, the two highest-scoring members using its rank-1 indicator."""
        rows = self.ctx.rows(
            """
            WITH have AS (
                SELECT DISTINCT e.entity_type FROM (
                    SELECT eid FROM graph_links WHERE aid = ANY(?::INTEGER[])
                    GROUP BY eid HAVING count(*) >= 2) b
                JOIN graph_entities e USING (eid)),
            missing AS (
                SELECT i.eid FROM campaign_indicators i
                WHERE i.campaign_id = ? AND i.rank = 1
                  AND i.entity_type NOT IN (SELECT entity_type FROM have)),
            users AS (
                SELECT l.eid, a.aid, row_number() OVER (
                    PARTITION BY l.eid ORDER BY a.score DESC, a.account_id) AS r
                FROM graph_links l JOIN graph_accounts a USING (aid)
                WHERE l.eid IN (SELECT eid FROM missing) AND a.campaign_id = ?)
            SELECT eid, aid FROM users WHERE r <= 2 ORDER BY eid, r
            """,
            [kept_aids, campaign_id, campaign_id],
        )
        return list(dict.fromkeys(r["aid"] for r in rows))

    def _linked(self, aids: list[int], max_edges: int) -> tuple[np.ndarray, np.ndarray, int]:
        """The ``LINKED`` edges to draw among ``aids`` (:func:`pick_edges`): edge ids
        and ends (aids), heaviest first, and how many there were."""
        if len(aids) < 2:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 2), dtype=np.int64), 0
        edge, w, ends = self.ctx.adjacency.edges_among(np.asarray(aids))
        pick = pick_edges(w, ends, max_edges)
        return edge[pick], ends[pick], len(edge)

    def _links(self, kept_aids: list[int]) -> MemberLinks:
        """The kept members' links, and the type, weight and parent of each entity."""
        found = (
            self.ctx.cursor()
            .execute("SELECT aid, eid FROM graph_links WHERE aid = ANY(?::INTEGER[])", [kept_aids])
            .fetchnumpy()
        )
        aid = np.asarray(found["aid"], dtype=np.int64)
        eid = np.asarray(found["eid"], dtype=np.int64)
        ents = self.ctx.rows(
            "SELECT eid, entity_type, weight, parent_eid FROM graph_entities "
            "WHERE eid = ANY(?::INTEGER[])",
            [np.unique(eid).tolist()],
        )
        return MemberLinks(
            aid=aid,
            eid=eid,
            entity_type={e["eid"]: e["entity_type"] for e in ents},
            weight={e["eid"]: e["weight"] for e in ents},
            parent={e["eid"]: e["parent_eid"] for e in ents if e["parent_eid"] is not None},
        )

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
