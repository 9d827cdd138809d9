"""API keys and roles.

Keys are never stored in memory or compared in the clear: each configured key is
kept as its SHA-256 digest, and a presented key's digest is compared with every
stored one by :func:`hmac.compare_digest` (constant time, no early exit).

Key file (``LINKAGE_API_KEYS_FILE``), JSON::

    {"keys": [{"name": "alice", "role": "investigator", "sha256": "<hex digest>"},
              {"name": "ops", "role": "admin", "key": "<the key itself>"},
              {"name": "signup", "role": "scorer", "sha256": "<hex digest>"}]}

Environment (``LINKAGE_API_KEYS``): ``alice:investigator:KEY,ops:admin:KEY2``.
Make a key and its file entry with ``linkage api-key NAME --role ROLE``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linkage.errors import LinkageError

__all__ = [
    "DECIDER_ROLES",
    "MIN_KEY_LENGTH",
    "READER_ROLES",
    "ROLES",
    "KeyStore",
    "Principal",
    "hash_key",
    "new_key",
]

ROLES = ("investigator", "admin", "reviewer", "scorer")
"""``investigator`` reads everything; ``reviewer`` may also record decisions
(``POST /decisions``); ``admin`` may also decide and export (the ban list); ``scorer``
may only score new accounts (``POST /score``), for a sign-up system that must see
nothing else. Every role may score."""

READER_ROLES = ("investigator", "admin", "reviewer")
"""The roles that may read the result (every route but ``/health`` and ``/score``)."""

DECIDER_ROLES = ("admin", "reviewer")
"""The roles that may record investigators' decisions."""

MIN_KEY_LENGTH = 16


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's name (never the key) and role."""

    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_reader(self) -> bool:
        """May read the result (:data:`READER_ROLES`)."""
        return self.role in READER_ROLES

    @property
    def can_decide(self) -> bool:
        """May record decisions (:data:`DECIDER_ROLES`)."""
        return self.role in DECIDER_ROLES


def hash_key(key: str) -> str:
    """The SHA-256 hex digest a key file stores for ``key``."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh random key (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


class KeyStore:
    """Configured keys as ``(digest, Principal)`` pairs."""

    def __init__(self, entries: list[tuple[bytes, Principal]]) -> None:
        if not entries:
            raise LinkageError(
                "no API keys configured: set LINKAGE_API_KEYS_FILE to a key file or "
                "LINKAGE_API_KEYS to name:role:key entries (make one with `linkage api-key`)"
            )
        names = [p.name for _, p in entries]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise LinkageError(f"API key names must be unique; repeated: {', '.join(dupes)}")
        self._entries = entries

    @classmethod
    def load(cls, keys_file: Path | None, keys_env: str | None) -> KeyStore:
        """Keys from a JSON file and/or a ``name:role:key,...`` string."""
        entries: list[tuple[bytes, Principal]] = []
        if keys_file is not None:
            entries += _from_file(Path(keys_file))
        if keys_env:
            entries += _from_env(keys_env)
        return cls(entries)

    def authenticate(self, key: str | None) -> Principal | None:
        """The principal of ``key``, or ``None``; constant time in the key."""
        if not key:
            return None
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        found: Principal | None = None
        for stored, principal in self._entries:
            if hmac.compare_digest(stored, digest):
                found = principal
        return found

    def __len__(self) -> int:
        return len(self._entries)


def _entry(where: str, name: Any, role: Any, digest: bytes) -> tuple[bytes, Principal]:
    if not isinstance(name, str) or not name.strip():
        raise LinkageError(f"{where}: name must be a non-empty string")
    if role not in ROLES:
        raise LinkageError(f"{where}: role must be one of {', '.join(ROLES)}, got {role!r}")
    return digest, Principal(name.strip(), role)


def _plain(where: str, key: Any) -> bytes:
    if not isinstance(key, str) or len(key) < MIN_KEY_LENGTH:
        raise LinkageError(
            f"{where}: a key must be a string of at least {MIN_KEY_LENGTH} characters"
        )
    return hashlib.sha256(key.encode("utf-8")).digest()


def _from_file(path: Path) -> list[tuple[bytes, Principal]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LinkageError(f"API key file {path} does not exist") from exc
    except (OSError, ValueError) as exc:
        raise LinkageError(f"API key file {path} is not readable JSON: {exc}") from exc
    items = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise LinkageError(f'API key file {path}: expected {{"keys": [...]}}')
    out = []
    for i, item in enumerate(items):
        where = f"API key file {path}, keys[{i}]"
        if not isinstance(item, dict):
            raise LinkageError(f"{where}: expected an object with name, role and sha256 or key")
        if "sha256" in item:
            hexd = item["sha256"]
            try:
                digest = bytes.fromhex(hexd) if isinstance(hexd, str) else b""
            except ValueError:
                digest = b""
            if len(digest) != 32:
                raise LinkageError(f"{where}: sha256 must be 64 hex digits")
        elif "key" in item:
            digest = _plain(where, item["key"])
        else:
            raise LinkageError(f"{where}: needs sha256 (preferred) or key")
        out.append(_entry(where, item.get("name"), item.get("role"), digest))
    return out


def _from_env(text: str) -> list[tuple[bytes, Principal]]:
    out = []
    for i, part in enumerate(p for p in text.split(",") if p.strip()):
        where = f"LINKAGE_API_KEYS entry {i + 1}"
        fields = part.strip().split(":", 2)
        if len(fields) != 3:
            raise LinkageError(f"{where}: expected name:role:key")
        name, role, key = fields
        out.append(_entry(where, name, role, _plain(where, key)))
    return out
