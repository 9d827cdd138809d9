"""The keys of one account made in plain Python (``record_keys``, the service's path) are
the keys detection's SQL makes (``account_keys``, the CLI's path), template ids included,
whatever the prompt's script."""

from __future__ import annotations

import random

import duckdb
import pytest
from account_records import account_records
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.graph import Workspace
from linkage.graph.templates import skeleton_sql, template_id, template_id_sql
from linkage.ingest import ingest
from linkage.ingest.records import validate_account
from linkage.score.keys import account_keys, record_keys
from linkage.simulate import simulate


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """300 simulated accounts: their data directory and its ingested store."""
    root = tmp_path_factory.mktemp("keys")
    simulate(root / "data", seed=5, scenario="default", accounts=300)
    ingest(root / "data", root / "store")
    return root


@pytest.mark.parametrize("text_timestamps", [True, False], ids=["plain", "ingest"])
def test_record_keys_are_the_sql_keys(store, text_timestamps):
    """Timestamps as text take the plain validation, as Timestamp objects ingest's own:
    the keys are detection's either way."""
    with Workspace.open(store / "store", read_only=True) as ws:
        sql = account_keys(ws)
    expected: dict[str, set] = {}
    for a, t, k in zip(sql.account_id, sql.entity_type, sql.entity, strict=True):
        expected.setdefault(a, set()).add((t, k))
    by_account = account_records(store / "data", text_timestamps=text_timestamps)
    assert {"template", "ip", "card"} <= {t for keys in expected.values() for t, _ in keys}
    for account, tables in by_account.items():
        keys = record_keys(validate_account(tables))
        assert set(keys.account_id) <= {account}
        assert set(zip(keys.entity_type, keys.entity, strict=True)) == expected.get(account, set())


def sql_template_ids(prompts: list[str]) -> list[str]:
    with duckdb.connect() as con:
        rows = con.execute(
            f"""SELECT {template_id_sql(skeleton_sql("p"))}
                FROM unnest(?::VARCHAR[]) WITH ORDINALITY t(p, i) ORDER BY i""",
            [prompts],
        ).fetchall()
    return [r[0] for r in rows]


TRICKY = [*"aZ09 \t\n\x0b\x0c\r\x1c-.@", *"İΣσςẞßǅﬀΐ٣\xa0\u2003\u3000\u1680\u0085\u200b\u0301🙂中"]


def test_template_ids_are_the_sql_ids():
    """Case mapping one code point at a time (``İ``, a final ``Σ``), Unicode spaces
    trimmed, ASCII whitespace split, digits folded: as DuckDB does it."""
    rng = random.Random(0)
    prompts = ["", " ", "ΣΑΣ", "İSTANBUL 42", "  Write   a POEM about 12 cats\tnow please ok"]
    prompts += ["".join(rng.choices(TRICKY, k=rng.randint(0, 30))) for _ in range(5000)]
    assert [template_id(p) for p in prompts] == sql_template_ids(prompts)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=20))
def test_any_text_gets_the_sql_template_id(prompts):
    assert [template_id(p) for p in prompts] == sql_template_ids(prompts)
