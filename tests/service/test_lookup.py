"""Entity look-ups normalise ids and indicators with ingest's own functions."""

from __future__ import annotations

import ipaddress
from urllib.parse import quote

from linkage import open_result


def _variants(ids: dict[str, str], domain: str) -> list[tuple[str, str, str]]:
    """``(type, as typed, as stored)`` look-ups that must find the stored entity."""
    ip = ids["ip"]
    assert ipaddress.ip_address(ip).version == 4
    return [
        ("ip", f"::ffff:{ip}", ip),
        ("ip", f"  {ip} ", ip),
        ("email_domain", domain.upper(), domain),
        ("email_domain", f"Someone@{domain.title()}", domain),
        ("prefix", f"{ip}/24", ids["prefix"]),
        ("prefix", f"::ffff:{ip}/120", ids["prefix"]),
    ]


def _domain(client, inv_headers, ids) -> str:
    account = client.get(f"/accounts/{ids['account']}", headers=inv_headers).json()
    return account["account"]["email_domain"]


def test_the_service_finds_entities_as_ingest_wrote_them(client, inv_headers, ids):
    for etype, typed, stored in _variants(ids, _domain(client, inv_headers, ids)):
        r = client.get(f"/entities/{etype}/{quote(typed, safe='/:@')}", headers=inv_headers)
        assert r.status_code == 200, (etype, typed, r.text)
        assert r.json()["entity"]["entity"] == stored
    missing = client.get("/entities/ip/not-an-ip", headers=inv_headers)
    assert missing.status_code == 404


def test_the_core_look_up_normalises_too(result_dir, client, inv_headers, ids):
    domain = _domain(client, inv_headers, ids)
    with open_result(result_dir) as inv:
        for etype, typed, stored in _variants(ids, domain):
            assert inv.entity(etype, typed)["entity"]["entity"] == stored, typed
