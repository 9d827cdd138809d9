"""Service settings, read from the environment (``LINKAGE_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from linkage.investigate import MAX_EDGES_LIMIT, MAX_NODES_LIMIT, MAX_PAGE, MIN_SUBGRAPH_NODES

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Everything the service needs; each field also reads ``LINKAGE_<FIELD>``.

    Keys come from ``api_keys_file`` (JSON, see :mod:`api.security`) and/or
    ``api_keys`` (``name:role:key`` entries separated by commas); the service
    refuses to start without any.
    """

    model_config = SettingsConfigDict(env_prefix="LINKAGE_", extra="ignore")

    result_dir: Path = Field(description="A result directory of `linkage detect`.")
    api_keys_file: Path | None = Field(
        default=None, description="JSON file of API keys: names, roles and SHA-256 hashes."
    )
    api_keys: SecretStr | None = Field(
        default=None, description="Comma-separated `name:role:key` entries."
    )
    state_dir: Path | None = Field(
        default=None,
        description="State directory of investigators' decisions (`decisions.jsonl`); "
        "without it `POST /decisions` answers 503.",
    )
    max_page: int = Field(default=200, ge=1, le=MAX_PAGE, description="Largest page size.")
    max_graph_nodes: int = Field(
        default=1000,
        ge=MIN_SUBGRAPH_NODES,
        le=MAX_NODES_LIMIT,
        description="Largest node cap a graph request may ask.",
    )
    max_graph_edges: int = Field(
        default=10000,
        ge=1,
        le=MAX_EDGES_LIMIT,
        description="Largest LINKED edge cap a graph request may ask.",
    )
    duckdb_threads: int = Field(
        default=1, ge=1, le=64, description="DuckDB threads (look-ups are small: 1 is fastest)."
    )
    docs: bool = Field(
        default=True,
        description="Serve `/docs` (Swagger UI) and `/openapi.json` (needs a key); false: 404.",
    )
    max_body_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        le=16 * 1024 * 1024,
        description="Largest request body (`POST /score`); larger ones get 413.",
    )
    audit_logger: str = Field(default="linkage.audit", description="Logger name of the audit log.")
