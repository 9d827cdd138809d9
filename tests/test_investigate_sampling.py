"""What a capped campaign graph draws: the strongest entities of every type, and a tie
for every member (linkage.investigate.sampling), on hand-made rows and on a real result."""

from __future__ import annotations

import numpy as np
import pytest

from linkage.investigate import open_result
from linkage.investigate.sampling import MemberLinks, pick_edges, pick_entities, strength
from linkage.schema import ENTITY_LABELS


def link(aid: int, eid: int, etype: str, weight: float, parent: int | None = None) -> dict:
    return {"aid": aid, "eid": eid, "entity_type": etype, "weight": weight, "parent_eid": parent}


def rows() -> MemberLinks:
    """Six members: a busy prefix (eid 0) over four IPs (1-4), a card (5) two share,
    a device (6) three share, an identifier (7) only member 5 and 6 share."""
    out = []
    for aid in range(6):
        out.append(link(aid, 0, "prefix", 0.05))
        out.append(link(aid, 1 + aid % 4, "ip", 0.2, parent=0))
    out += [link(0, 5, "card", 2.5), link(1, 5, "card", 2.5)]
    out += [link(a, 6, "device", 0.3) for a in (1, 2, 3)]
    out += [link(4, 7, "identifier", 1.5), link(5, 7, "identifier", 1.5)]
    return MemberLinks.from_rows(out)


def test_full_budget_chooses_every_binding_entity_and_the_prefix_children():
    chosen = pick_entities(rows(), budget=100)
    assert chosen == {0: True, 1: True, 2: True, 3: False, 4: False, 5: True, 6: True, 7: True}


def test_strong_entities_of_every_type_come_before_a_busy_prefix():
    chosen = pick_entities(rows(), budget=3)
    # card, identifier, device: one each; the prefix (needing its four IPs) does not fit
    assert set(chosen) == {5, 6, 7}
    assert strength(2.5, 2) > strength(0.3, 3) > strength(0.05, 6)


def test_an_untied_member_gets_its_own_strongest_tie_first():
    chosen = pick_entities(rows(), budget=1, untied=[4])
    assert chosen == {7: True}  # member 4's only binding entity but the prefix
    assert pick_entities(rows(), budget=0) == {}


def test_each_account_keeps_its_heaviest_edge_under_the_edge_cap():
    ends = np.array([[0, 1], [0, 2], [1, 2], [2, 3], [3, 4]])
    w = np.array([5.0, 4.0, 3.0, 0.5, 0.1])
    pick = pick_edges(w, ends, max_edges=4)
    # the four heaviest would be edges 0-3 and leave account 4 floating
    assert sorted(pick.tolist()) == [0, 1, 3, 4]
    assert list(w[pick]) == sorted(w[pick], reverse=True)
    assert pick_edges(w, ends, max_edges=10).tolist() == [0, 1, 2, 3, 4]
    assert pick_edges(w[:0], ends[:0], 5).tolist() == []


@pytest.fixture(scope="module")
def inv(detected):
    with open_result(detected[0] / "result") as investigation:
        yield investigation


@pytest.mark.parametrize("max_nodes", [40, 80])
def test_a_capped_campaign_graph_draws_every_type_and_ties_every_member(inv, max_nodes):
    campaigns, _ = inv.campaigns(limit=100)
    capped = 0
    for c in campaigns:
        cid = c["campaign_id"]
        g = inv.subgraph(cid, max_nodes=max_nodes, max_edges=60)
        assert len(g.nodes) <= max_nodes
        if not g.truncated:
            continue
        capped += 1
        labels = {n["label"] for n in g.nodes}
        want = {ENTITY_LABELS[t] for t in inv.campaign(cid)["indicators"]}
        assert want <= labels, (cid, want - labels)
        ends = {x for e in g.edges for x in (e["source"], e["target"])}
        floating = [n["id"] for n in g.nodes if n["id"] not in ends]
        assert not floating, (cid, floating)
        assert g == inv.subgraph(cid, max_nodes=max_nodes, max_edges=60)  # deterministic
    assert capped, "some campaign is over the cap"


@pytest.mark.parametrize("max_nodes", [4, 8, 16])
def test_a_tight_cap_keeps_users_of_missing_types_and_stays_under_it(inv, max_nodes):
    campaigns, _ = inv.campaigns(limit=100)
    for c in campaigns:
        g = inv.subgraph(c["campaign_id"], max_nodes=max_nodes, max_edges=10)
        assert len(g.nodes) <= max_nodes and g.truncated
        accounts = [n for n in g.nodes if n["label"] == "Account"]
        assert len(accounts) >= 2
        assert all(n["properties"]["campaign_id"] == c["campaign_id"] for n in accounts)
        ends = {x for e in g.edges for x in (e["source"], e["target"])}
        assert all(n["id"] in ends for n in g.nodes), c["campaign_id"]
    # at 4 nodes the three top members share too few types: users of the others come in
    top = inv.campaigns(limit=1)[0][0]["campaign_id"]
    members, _ = inv.campaign_members(top, limit=1000)
    by_score = [m["account_id"] for m in members]
    shown = [n["key"] for n in inv.subgraph(top, max_nodes=4).nodes if n["label"] == "Account"]
    assert shown != by_score[: len(shown)]
