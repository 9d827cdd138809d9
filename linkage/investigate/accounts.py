"""Account queries: one account, its campaign, its links with the evidence behind each
("why linked") and the entities it used."""

from __future__ import annotations

from typing import Any

from linkage.investigate.context import ResultContext
from linkage.investigate.limits import MAX_PAGE, check_range
from linkage.investigate.links import edge_evidence
from linkage.investigate.records import iso_column
from linkage.schema import ENTITY_LABELS

__all__ = ["AccountQueries"]


class AccountQueries:
    """Queries about one account."""

    def __init__(self, ctx: ResultContext) -> None:
        self.ctx = ctx

    def account(
        self, account_id: str, max_links: int = 50, max_entities: int = 50
    ) -> dict[str, Any]:
        """One account: its row, its ``campaign`` (id, score, size, reasons) if any,
        its ``links`` -- linked accounts, heaviest first (ties by account), each with
        the shared entities behind the link ("why linked") -- and the ``entities``
        it used, most used first; ``links_total`` and ``entities_total`` count all."""
        check_range("max_links", max_links, 1, MAX_PAGE)
        check_range("max_entities", max_entities, 1, MAX_PAGE)
        acc = self.ctx.account_row(account_id)
        aid = acc.pop("aid")
        out: dict[str, Any] = {"account": acc, "campaign": None}
        if acc["campaign_id"] is not None and acc["campaign_id"] in self.ctx.campaign_index:
            c = self.ctx.campaign_row(acc["campaign_id"])
            out["campaign"] = {k: c[k] for k in ("campaign_id", "score", "size", "reasons")}
        out["links_total"], out["links"] = self._links(aid, max_links)
        out["entities_total"], out["entities"] = self._entities(aid, max_entities)
        return out

    def _links(self, aid: int, max_links: int) -> tuple[int, list[dict[str, Any]]]:
        """How many accounts ``aid`` is linked to, and the heaviest ``max_links`` links."""
        adj = self.ctx.adjacency
        nbr, _, edge = adj.neighbours(aid)
        total = len(nbr)
        nbr, edge = nbr[:max_links], edge[:max_links]
        evidence = edge_evidence(self.ctx, edge)
        links = []
        for other, rid in zip(nbr.tolist(), edge.tolist(), strict=True):
            pair = (min(aid, other), max(aid, other))
            summary = adj.account_summary(other)
            summary.pop("status")
            links.append(
                {
                    **summary,
                    "weight": float(adj.edge_w[rid]),
                    "n_entities": int(adj.edge_n[rid]),
                    "signals": adj.signal_sets[adj.edge_signals[rid]],
                    "evidence": evidence.get(pair, []),
                }
            )
        return total, links

    def _entities(self, aid: int, max_entities: int) -> tuple[int, list[dict[str, Any]]]:
        """How many entities ``aid`` used, and the ``max_entities`` most used."""
        used = self.ctx.rows(
            f"SELECT eid, uses, {iso_column('first_seen')}, {iso_column('last_seen')} "
            "FROM graph_links WHERE aid = ?",
            [aid],
        )
        used.sort(key=lambda r: (-r["uses"], r["eid"]))
        total = len(used)
        used = used[:max_entities]
        ents: dict[int, dict[str, Any]] = self.ctx.adjacency.entity_rows(
            sorted({r["eid"] for r in used})
        )
        out = []
        for r in used:
            e = ents[r["eid"]]
            etype, entity = str(e["entity_type"]), str(e["entity"])
            out.append(
                {
                    "entity_type": etype,
                    "entity": entity,
                    "label": ENTITY_LABELS.get(etype, etype),
                    "text": self.ctx.text(etype, entity),
                    "accounts": e["accounts"],
                    "weight": e["weight"],
                    "kind": e["kind"],
                    "uses": r["uses"],
                    "first_seen": r["first_seen"],
                    "last_seen": r["last_seen"],
                }
            )
        return total, out
