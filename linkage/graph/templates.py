"""Shared prompt templates: the same skeleton with different slot values.

A prompt's skeleton is its first ``SKELETON_TOKENS`` words, lower-cased with
digits folded. A skeleton is a *template* when several accounts use it and
most of its prompts differ from each other past the skeleton (the slot
varies); the same popular question asked many times is not a template.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from typing import ClassVar

import duckdb
import pyarrow as pa

from linkage.graph.events import Events
from linkage.graph.workspace import Workspace, WorkTable, tables_of

__all__ = [
    "SKELETON_TOKENS",
    "Templates",
    "build_templates",
    "skeleton_sql",
    "skeletons",
    "template_id",
    "template_id_sql",
]

SKELETON_TOKENS = 8
MIN_DISTINCT_PROMPTS = 3
MIN_DISTINCT_SHARE = 0.5


def skeleton_sql(text: str) -> str:
    """SQL for the skeleton of the prompt column ``text``: its first ``SKELETON_TOKENS``
    words, lower-cased, digits folded to ``0``."""
    return f"""array_to_string(string_split_regex(
                   trim(regexp_replace(lower({text}), '[0-9]+', '0', 'g')), '\\s+'
               )[1:{SKELETON_TOKENS}], ' ')"""


def template_id_sql(skeleton: str) -> str:
    """SQL for the template id (``tpl_...``, the ``template`` entity key) of a skeleton."""
    return f"'tpl_' || substr(md5({skeleton}), 1, 12)"


_DIGITS = re.compile("[0-9]+")
_SPACE = re.compile(r"[\t\n\f\r ]+")
"""RE2's ``\\s``, which the SQL splits on."""
_TRIMMED = " \xa0\u1680\u202f\u205f\u3000" + "".join(map(chr, range(0x2000, 0x200B)))
"""What DuckDB's ``trim`` removes: the Unicode space separators (category Zs)."""


def template_id(prompt: str) -> str:
    """The template id of one prompt, as :func:`template_id_sql` over
    :func:`skeleton_sql` makes it, without a query (``linkage score`` on one account)."""
    text = prompt.lower() if prompt.isascii() else prompt.translate(_duckdb_lower())
    words = _SPACE.split(_DIGITS.sub("0", text).strip(_TRIMMED))
    skeleton = " ".join(words[:SKELETON_TOKENS])
    return "tpl_" + hashlib.md5(skeleton.encode()).hexdigest()[:12]


@functools.cache
def _duckdb_lower() -> dict[int, str]:
    """DuckDB's ``lower`` of each code point it changes, for :meth:`str.translate`: one
    code point at a time, where Python's ``str.lower`` maps ``İ`` to two and a final
    ``Σ`` to ``ς``. Read from DuckDB once (0.1 s)."""
    with duckdb.connect() as con:
        rows = con.execute(
            """SELECT i, lower(chr(i::INTEGER)) FROM range(1114112) t(i)
               WHERE (i < 55296 OR i > 57343) AND lower(chr(i::INTEGER)) <> chr(i::INTEGER)"""
        ).fetchall()
    return dict(rows)


def skeletons(rows: pa.Table) -> pa.Table:
    """``(prompt_text, skeleton)`` of the prompts ``rows`` (``prompt_text``), with
    :func:`skeleton_sql` run by DuckDB in process, on whichever engine calls it: Spark's
    own ``lower`` (Java's, which maps ``İ`` to two code points and a final ``Σ`` to
    ``ς``), ``trim`` (spaces only) and ``\\s`` (with the vertical tab) would give other
    skeletons, so other template ids."""
    with duckdb.connect() as con:
        con.register("prompts", rows)
        return con.sql(
            f"SELECT prompt_text, {skeleton_sql('prompt_text')} AS skeleton FROM prompts"
        ).to_arrow_table()


SKELETON_SCHEMA = pa.schema([("prompt_text", pa.string()), ("skeleton", pa.string())])


@dataclass(frozen=True)
class Templates:
    """Output of stage ``templates``: ``distinct_prompts``, ``prompt_skeletons``,
    ``templates`` and ``prompt_templates``; ``template`` events in ``events``."""

    count: int
    TABLES: ClassVar[tuple[WorkTable, ...]] = tables_of("templates")


def build_templates(ws: Workspace, events: Events) -> Templates:
    """Find templates; add them to ``events`` as ``template`` entities.

    Creates ``distinct_prompts(prompt_text, skeleton)`` (each distinct text once, its
    skeleton by :func:`skeletons` on the backend's workers), ``prompt_skeletons``,
    ``templates`` and ``prompt_templates(aid, ts, template_id)`` from ``req``.
    """
    ws.backend.map_by(
        "distinct_prompts",
        "SELECT DISTINCT prompt_text FROM req WHERE prompt_text IS NOT NULL",
        [],
        skeletons,
        SKELETON_SCHEMA,
    )
    ws.create(
        "prompt_skeletons",
        """SELECT r.aid, r.ts, r.prompt_text, p.skeleton
           FROM req r JOIN distinct_prompts p USING (prompt_text)""",
    )
    ws.create(
        "templates",
        f"""SELECT {template_id_sql("skeleton")} AS template_id, skeleton,
                   count(*) AS prompts, count(DISTINCT prompt_text) AS distinct_prompts,
                   count(DISTINCT aid) AS accounts
            FROM prompt_skeletons GROUP BY skeleton
            HAVING count(DISTINCT aid) >= 2
               AND count(DISTINCT prompt_text) >= {int(MIN_DISTINCT_PROMPTS)}
               AND count(DISTINCT prompt_text)
                   >= CAST('{float(MIN_DISTINCT_SHARE)!r}' AS DOUBLE) * count(*)""",
    )
    ws.create(
        "prompt_templates",
        """SELECT s.aid, s.ts, t.template_id
           FROM prompt_skeletons s JOIN templates t USING (skeleton)""",
    )
    ws.append(
        "events",
        """SELECT aid, 'template', template_id, count(*), min(ts), max(ts)
           FROM prompt_templates GROUP BY aid, template_id""",
    )
    return Templates(ws.count("templates"))
