"""What an investigator loads into Neo4j Browser: a GraSS style sheet and saved queries."""

from __future__ import annotations

from linkage.schema import GraphSchema

__all__ = ["CAPTIONS", "COLOURS", "QUERIES", "grass", "queries_cypher", "style_command"]

COLOURS: dict[str, str] = {
    "Campaign": "#D62728",
    "Account": "#1F77B4",
    "IP": "#2CA02C",
    "IPPrefix": "#98DF8A",
    "Device": "#9467BD",
    "ApiKey": "#8C564B",
    "PaymentInstrument": "#FF7F0E",
    "BIN": "#FFBB78",
    "EmailDomain": "#17BECF",
    "Identifier": "#E377C2",
    "PromptCluster": "#BCBD22",
    "PromptTemplate": "#7F7F7F",
    "ActivityRhythm": "#AEC7E8",
    "SessionPattern": "#1A5276",
    "ActiveHoursPattern": "#6C3483",
    "SignupBurst": "#C49C94",
}
"""Node colour per label; a label not listed gets grey."""

CAPTIONS: dict[str, str] = {
    "Campaign": "{campaign_id}",
    "Account": "{account_id}",
    "IP": "{address}",
    "IPPrefix": "{prefix}",
    "Device": "{fingerprint}",
    "ApiKey": "{key_id}",
    "PaymentInstrument": "{fingerprint}",
    "BIN": "{bin}",
    "EmailDomain": "{domain}",
    "Identifier": "{key}",
    "PromptCluster": "{label}",
    "PromptTemplate": "{skeleton}",
    "ActivityRhythm": "{signature}",
    "SessionPattern": "{jaccard}",
    "ActiveHoursPattern": "{jaccard}",
    "SignupBurst": "{email_domain}",
}
_DIAMETER = {"Campaign": "80px", "Account": "50px"}


def grass(schema: GraphSchema) -> str:
    """A Neo4j Browser style sheet (GraSS): a colour and a caption per node label,
    campaigns big, relationship types as captions."""
    parts = [
        "node {\n  diameter: 36px;\n  color: #A5ABB6;\n  border-color: #9AA1AC;\n"
        "  border-width: 2px;\n  text-color-internal: #FFFFFF;\n  font-size: 9px;\n}",
        "relationship {\n  color: #A5ABB6;\n  shaft-width: 1px;\n  font-size: 8px;\n"
        '  padding: 3px;\n  text-color-external: #000000;\n  caption: "<type>";\n}',
    ]
    for label, node in schema.nodes.items():
        caption = CAPTIONS.get(label, "{" + node.key + "}")
        parts.append(
            f"node.{label} {{\n  color: {COLOURS.get(label, '#A5ABB6')};\n"
            f"  border-color: #555555;\n  diameter: {_DIAMETER.get(label, '36px')};\n"
            f'  caption: "{caption}";\n}}'
        )
    parts.append(
        'relationship.LINKED {\n  color: #D62728;\n  shaft-width: 2px;\n  caption: "<type>";\n}'
    )
    return "\n\n".join(parts) + "\n"


def style_command(schema: GraphSchema) -> str:
    """The style sheet as one ``:style`` command to paste into Neo4j Browser."""
    return ":style " + " ".join(grass(schema).split())


QUERIES: list[tuple[str, str]] = [
    (
        "Top campaigns by score",
        "MATCH (c:Campaign)\n"
        "RETURN c.campaign_id AS campaign, c.score AS score, c.size AS accounts,\n"
        "       c.request_count AS requests, c.reasons AS reasons\n"
        "ORDER BY score DESC, campaign LIMIT 25",
    ),
    (
        "A campaign's accounts (:param campaign_id => 'cmp_...')",
        "MATCH (a:Account)-[m:MEMBER_OF]->(c:Campaign {campaign_id: $campaign_id})\n"
        "RETURN a.account_id AS account, m.score AS score, a.status AS status,\n"
        "       a.created_at AS created_at, a.request_count AS requests\n"
        "ORDER BY score DESC, account",
    ),
    (
        "Infrastructure a campaign's accounts share (:param campaign_id => 'cmp_...')",
        "MATCH (a:Account)-[:MEMBER_OF]->(c:Campaign {campaign_id: $campaign_id})\n"
        "MATCH (a)-[u:USED_IP|USED_DEVICE|PAID_WITH|USED_API_KEY|HAS_IDENTIFIER"
        "|USED_TEMPLATE]->(x)\n"
        "WITH x, type(u) AS via, count(DISTINCT a) AS members\n"
        "WHERE members >= 2\n"
        "RETURN via, coalesce(x.address, x.fingerprint, x.key_id, x.key, x.template_id) AS value,\n"
        "       members\n"
        "ORDER BY members DESC, value LIMIT 100",
    ),
    (
        "A campaign as a graph: members and the cards, devices and templates they share "
        "(:param campaign_id => 'cmp_...')",
        "MATCH p = (c:Campaign {campaign_id: $campaign_id})<-[:MEMBER_OF]-(:Account)"
        "-[:PAID_WITH|USED_DEVICE|USED_TEMPLATE]->()\n"
        "RETURN p LIMIT 300",
    ),
    (
        "Who else used this card (:param fingerprint => 'pm_...')",
        "MATCH (p:PaymentInstrument {fingerprint: $fingerprint})<-[r:PAID_WITH]-(a:Account)\n"
        "OPTIONAL MATCH (a)-[:MEMBER_OF]->(c:Campaign)\n"
        "RETURN a.account_id AS account, a.status AS status, a.score AS score,\n"
        "       c.campaign_id AS campaign, r.count AS payments, r.first_seen AS first_seen\n"
        "ORDER BY account",
    ),
    (
        "Strongest links of an account, with their evidence (:param account_id => 'acct_...')",
        "MATCH (a:Account {account_id: $account_id})-[l:LINKED]-(b:Account)\n"
        "RETURN b.account_id AS account, l.weight AS weight, l.signals AS signals,\n"
        "       l.evidence AS evidence\n"
        "ORDER BY weight DESC, account LIMIT 25",
    ),
    (
        "2-hop neighbourhood of an account (:param account_id => 'acct_...')",
        "MATCH p = (a:Account {account_id: $account_id})-[*1..2]-()\nRETURN p LIMIT 200",
    ),
]
"""Saved investigator queries: ``(title, Cypher)``; parameters as in the titles."""


def queries_cypher() -> str:
    """The saved queries as one ``.cypher`` file: a ``//`` title line before each
    statement, statements ending in ``;``."""
    return "\n\n".join(f"// {title}\n{query};" for title, query in QUERIES) + "\n"
