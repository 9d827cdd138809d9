"""Per-account and per-community features for campaign scoring, computed in DuckDB
on the working tables of a :class:`~linkage.graph.Projection` (``acct``, ``req``,
``acct_hours``, ``events``, ``entity_kind``, ``distinct_prompts``,
``prompt_skeletons``, ``prompt_templates``) and ``member(aid, comm)``.

Per-account pace (:func:`account_pace`) is measured only for the accounts in a
community and for a fixed sample of the platform (``aid % PACE_SAMPLE = 0``), which
is all that community features need and costs a small part of one pass over ``req``.
"""

from __future__ import annotations

import pandas as pd

from linkage.graph import Projection, Workspace

__all__ = [
    "ELICITATION_PATTERN",
    "PACE_MIN_GAPS",
    "PACE_SAMPLE",
    "REGULAR_CV",
    "account_features",
    "account_pace",
    "community_features",
]

# Phrases that ask a model to expose its reasoning, plans or tool use, or to
# launder answers: what distillation traffic asks for and ordinary users rarely do.
ELICITATION_PATTERN = (
    r"(?i)step[- ]by[- ]step|chain of thought|internal monologue|think aloud|intermediate step"
    r"|rationale|<thinking>|as if teaching|narrate|edge case|tool (call|invocation)"
    r"|function-calling|reasoning|politically sensitive|content review"
)
ABUSE_IP_KINDS = ("hosting", "vpn", "proxy", "tor")
PACE_SAMPLE = 16
"""The platform's typical pace is measured on every ``PACE_SAMPLE``-th account."""
PACE_MIN_GAPS = 20
"""Inter-request regularity needs at least this many gaps inside sessions."""
REGULAR_CV = 0.35
"""Gaps whose coefficient of variation is below this are metronomic: people pause
irregularly (a coefficient near 1 or above), a scheduler does not."""


def account_features(ws: Workspace, graph: Projection) -> pd.DataFrame:
    """Create ``acct_feat``: one row per account (``aid``) with its own activity features."""
    ws.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE acct_feat AS
        WITH r AS (
            SELECT aid, count(*) AS n_req, min(ts) AS first_ts, max(ts) AS last_ts,
                   avg(output_tokens) AS out_tokens
            FROM req GROUP BY aid),
        p AS (
            SELECT s.aid, count(*) AS n_prompts, count(*) FILTER (WHERE t.elicit) AS n_elicit
            FROM prompt_skeletons s JOIN (
                SELECT prompt_text, regexp_matches(prompt_text, '{ELICITATION_PATTERN}') AS elicit
                FROM distinct_prompts) t USING (prompt_text)
            GROUP BY s.aid),
        h AS (SELECT aid, hr, c FROM acct_hours),
        ent AS (
            SELECT aid, -sum(p * ln(p)) / ln(24) AS hour_entropy FROM (
                SELECT aid, c / sum(c) OVER (PARTITION BY aid) AS p FROM h) GROUP BY aid),
        infra AS (
            SELECT e.aid,
                   sum(e.n) FILTER (WHERE k.kind IN {ABUSE_IP_KINDS}) / sum(e.n) AS infra_share
            FROM events e JOIN entity_kind k USING (etype, ekey) WHERE e.etype = 'ip'
            GROUP BY e.aid),
        tpl AS (SELECT aid, count(*) AS n_templated FROM prompt_templates GROUP BY aid)
        SELECT a.aid, a.account_id, a.created_at, a.status = 'banned' AS banned, a.banned_at,
               coalesce(r.n_req, 0) AS n_req, r.first_ts, r.last_ts, r.out_tokens,
               coalesce(p.n_prompts, 0) AS n_prompts, coalesce(p.n_elicit, 0) AS n_elicit,
               coalesce(tpl.n_templated, 0) AS n_templated,
               coalesce(ent.hour_entropy, 0) AS hour_entropy,
               coalesce(infra.infra_share, 0) AS infra_share,
               date_diff('hour', a.created_at, r.first_ts) / 24.0 AS age_at_first_days
        FROM acct a LEFT JOIN r USING (aid) LEFT JOIN p USING (aid) LEFT JOIN ent USING (aid)
        LEFT JOIN infra USING (aid) LEFT JOIN tpl USING (aid)
        """
    )
    return ws.execute("SELECT * FROM acct_feat ORDER BY aid").df()


def account_pace(ws: Workspace, session_gap_minutes: float) -> None:
    """Create ``acct_pace``: how each account in ``member``, and each sampled account,
    paces its requests.

    Columns: ``aid``, ``sampled`` (in the platform sample), ``pace`` (requests per
    clock hour in which it sent any), ``session_min`` (mean minutes from a session's
    first request to its last; a session ends after ``session_gap_minutes`` of
    silence) and ``gap_cv`` (coefficient of variation of the gaps inside sessions;
    null under ``PACE_MIN_GAPS`` gaps).
    """
    ws.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE acct_pace AS
        WITH who AS (
            SELECT aid, bool_or(sampled) AS sampled FROM (
                SELECT aid, false AS sampled FROM member
                UNION ALL SELECT aid, true FROM acct WHERE aid % {PACE_SAMPLE} = 0)
            GROUP BY aid),
        g AS (
            SELECT aid, t, t - lag(t) OVER (PARTITION BY aid ORDER BY t) AS gap
            FROM (SELECT aid, epoch(ts) AS t FROM req SEMI JOIN who USING (aid)))
        SELECT aid, who.sampled,
               count(*) / count(DISTINCT floor(t / 3600)) AS pace,
               coalesce(sum(gap) FILTER (WHERE gap < $gap), 0) / 60.0
                   / count(*) FILTER (WHERE gap IS NULL OR gap >= $gap) AS session_min,
               CASE WHEN count(*) FILTER (WHERE gap < $gap) >= {PACE_MIN_GAPS}
                    THEN stddev_pop(gap) FILTER (WHERE gap < $gap)
                         / greatest(avg(gap) FILTER (WHERE gap < $gap), 1e-9) END AS gap_cv
        FROM g JOIN who USING (aid) GROUP BY aid, who.sampled
        """.replace("$gap", repr(float(session_gap_minutes) * 60))
    )


def community_features(ws: Workspace, graph: Projection) -> pd.DataFrame:
    """One row per community (``comm`` of ``member``) with the features scoring weighs.

    Needs ``acct_feat`` (:func:`account_features`), ``acct_pace`` (:func:`account_pace`)
    and ``member``.
    """
    return ws.execute(_COMMUNITY_SQL).df()


_COMMUNITY_SQL = f"""
        WITH m AS (SELECT f.*, m.comm FROM acct_feat f JOIN member m USING (aid)),
        platform AS (SELECT median(n_req) AS med, greatest(median(out_tokens), 1) AS out_med
                     FROM acct_feat WHERE n_req > 0),
        typical AS (SELECT greatest(median(pace), 1) AS pace,
                           greatest(median(session_min), 1) AS session_min
                    FROM acct_pace WHERE sampled),
        pace AS (
            SELECT mm.comm,
                   log2(greatest(median(p.pace), 1e-9) / (SELECT pace FROM typical))
                       AS pace_ratio,
                   log2(greatest(median(p.session_min), 1e-9) / (SELECT session_min FROM typical))
                       AS session_ratio,
                   avg((p.gap_cv < {REGULAR_CV})::INT) AS regular_share
            FROM acct_pace p JOIN member mm USING (aid) GROUP BY mm.comm),
        base AS (
            SELECT comm, count(*) AS size, sum(n_req) AS request_count,
                   min(first_ts) AS first_seen, max(last_ts) AS last_seen,
                   sum(n_prompts) AS n_prompts,
                   sum(n_elicit) / greatest(sum(n_prompts), 1) AS elicit_share,
                   sum(n_templated) / greatest(sum(n_prompts), 1) AS template_share,
                   log10(greatest(median(n_req), 1) / (SELECT med FROM platform)) AS volume_ratio,
                   avg(CASE WHEN n_req >= 48 THEN (hour_entropy > 0.97)::INT END)
                       AS automated_share,
                   avg(banned::INT) AS banned_share,
                   avg((age_at_first_days < 2)::INT) AS fresh_share,
                   avg(least(greatest(ln(greatest(age_at_first_days, 1) / 30) / ln(12), 0), 1))
                       AS tenure_share,
                   ln(greatest(sum(out_tokens * n_req) / greatest(sum(n_req), 1), 1)
                      / (SELECT out_med FROM platform)) / ln(2) AS output_ratio,
                   sum(infra_share * n_req) / greatest(sum(n_req), 1) AS infra_share
            FROM m GROUP BY comm),
        sync AS (
            SELECT comm, sum(c) FILTER (WHERE rk <= greatest(1, nb / 4)) / sum(c) AS top_quarter
            FROM (SELECT comm, c, row_number() OVER (PARTITION BY comm ORDER BY c DESC, b) AS rk,
                         count(*) OVER (PARTITION BY comm) AS nb
                  FROM (SELECT m.comm, date_trunc('hour', r.ts) AS b, count(*) AS c
                        FROM req r JOIN member m USING (aid) GROUP BY m.comm, b))
            GROUP BY comm),
        churn AS (
            SELECT m1.comm, count(DISTINCT m2.aid) AS replacements
            FROM m m1 JOIN m m2 ON m1.comm = m2.comm AND m1.banned
             AND m2.created_at BETWEEN m1.banned_at AND m1.banned_at + INTERVAL 2 DAY
            GROUP BY m1.comm),
        cards AS (
            SELECT mm.comm, count(DISTINCT e.ekey) AS n_cards FROM events e
            JOIN member mm USING (aid) WHERE e.etype = 'card' GROUP BY mm.comm),
        bins AS (
            SELECT comm, sum(c) FILTER (WHERE rk <= 3) / sum(c) AS top3_bin_share,
                   sum(c) FILTER (WHERE rk <= 3) / greatest(sum(total) FILTER (WHERE rk <= 3), 1)
                       AS bin_exclusivity
            FROM (SELECT mm.comm, e.ekey, count(*) AS c, any_value(d.degree) AS total,
                         row_number() OVER (
                             PARTITION BY mm.comm ORDER BY count(*) DESC, e.ekey) AS rk
                  FROM events e JOIN member mm USING (aid)
                  JOIN (SELECT ekey, count(*) AS degree FROM events WHERE etype = 'bin'
                        GROUP BY ekey) d USING (ekey)
                  WHERE e.etype = 'bin' GROUP BY mm.comm, e.ekey)
            GROUP BY comm),
        orgs AS (
            SELECT mm.comm, count(DISTINCT e.aid) AS org_members FROM events e
            JOIN member mm USING (aid)
            WHERE e.etype = 'identifier' AND starts_with(e.ekey, 'org_id:') GROUP BY mm.comm),
        card_span AS (
            SELECT mm.comm, e.ekey, date_diff('day', min(e.first_ts), max(e.last_ts)) AS days
            FROM events e JOIN member mm USING (aid) WHERE e.etype = 'card'
            GROUP BY mm.comm, e.ekey),
        billing AS (
            SELECT comm, median(days) AS billing_days FROM (
                SELECT mm.comm, mm.aid, max(c.days) AS days
                FROM member mm JOIN events e ON e.aid = mm.aid AND e.etype = 'card'
                JOIN card_span c ON c.comm = mm.comm AND c.ekey = e.ekey
                GROUP BY mm.comm, mm.aid)
            GROUP BY comm),
        corp AS (
            SELECT mm.comm, sum(e.n) FILTER (WHERE k.kind = 'corporate') / sum(e.n) AS corp_share
            FROM events e JOIN member mm USING (aid) JOIN entity_kind k USING (etype, ekey)
            WHERE e.etype = 'ip' GROUP BY mm.comm)
        SELECT base.*, coalesce(sync.top_quarter, 0) AS top_quarter,
               coalesce(churn.replacements, 0) / base.size AS replacement_share,
               coalesce(cards.n_cards, 0) AS n_cards,
               coalesce(bins.top3_bin_share, 0) AS top3_bin_share,
               coalesce(bins.bin_exclusivity, 0) AS bin_exclusivity,
               coalesce(orgs.org_members, 0) / base.size AS org_share,
               coalesce(corp.corp_share, 0) AS corporate_share,
               coalesce(billing.billing_days, 0) AS billing_days,
               coalesce(pace.pace_ratio, 0) AS pace_ratio,
               coalesce(pace.session_ratio, 0) AS session_ratio,
               coalesce(pace.regular_share, 0) AS regular_share
        FROM base LEFT JOIN sync USING (comm) LEFT JOIN churn USING (comm)
        LEFT JOIN pace USING (comm)
        LEFT JOIN cards USING (comm) LEFT JOIN bins USING (comm) LEFT JOIN orgs USING (comm)
        LEFT JOIN corp USING (comm) LEFT JOIN billing USING (comm)
        ORDER BY comm
        """
