"""``ResultDir``: the one owner of a result directory's files, checks and store access.

``detect`` writes through it into a staging directory beside the result
(:mod:`linkage.result.replace`), :meth:`ResultDir.mark_complete` last, and swaps it in
whole; every reader opens it with :meth:`ResultDir.open`, which refuses a directory
without the completeness marker.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from linkage._version import __version__
from linkage.errors import LinkageError
from linkage.result.connect import connect
from linkage.result.layout import (
    ACCOUNTS_FILE,
    CAMPAIGNS_FILE,
    COMPLETE_FILE,
    DECISIONS_FILE,
    DETECT_SUMMARY_FILE,
    EDGES_FILE,
    EVIDENCE_FILE,
    INGEST_SUMMARY_FILE,
    QUARANTINE_DIR,
    RESULT_FILES,
    RESULT_FORMAT_VERSION,
    SETTINGS_FILE,
    STORE_FILE,
)
from linkage.result.replace import interrupted_swap
from linkage.settings import DetectSettings

__all__ = ["IncompleteResultError", "ResultDir"]


class IncompleteResultError(LinkageError):
    """A directory that is not a complete result of ``linkage detect``."""


class ResultDir:
    """A result directory: where each file lives, whether it is whole, how to read it.

    ``ResultDir(path)`` names the directory (a writer's view, nothing checked);
    ``ResultDir.open(path)`` is the reader's view: checked by :meth:`check`.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"ResultDir({str(self.path)!r})"

    @classmethod
    def open(cls, path: str | Path) -> ResultDir:
        """The result directory at ``path``, checked: see :meth:`check`."""
        return cls(path).check()

    # -- where things are ----------------------------------------------------------

    @property
    def accounts_path(self) -> Path:
        return self.path / ACCOUNTS_FILE

    @property
    def campaigns_path(self) -> Path:
        return self.path / CAMPAIGNS_FILE

    @property
    def edges_path(self) -> Path:
        return self.path / EDGES_FILE

    @property
    def evidence_path(self) -> Path:
        return self.path / EVIDENCE_FILE

    @property
    def decisions_path(self) -> Path:
        return self.path / DECISIONS_FILE

    @property
    def settings_path(self) -> Path:
        return self.path / SETTINGS_FILE

    @property
    def detect_summary_path(self) -> Path:
        return self.path / DETECT_SUMMARY_FILE

    @property
    def store_path(self) -> Path:
        return self.path / STORE_FILE

    @property
    def quarantine_dir(self) -> Path:
        return self.path / QUARANTINE_DIR

    @property
    def ingest_summary_path(self) -> Path:
        return self.path / INGEST_SUMMARY_FILE

    @property
    def marker_path(self) -> Path:
        return self.path / COMPLETE_FILE

    # -- checks --------------------------------------------------------------------

    def is_complete(self) -> bool:
        """Whether ``detect`` finished writing here (the marker is present)."""
        return self.marker_path.is_file()

    def check(self) -> ResultDir:
        """This directory, or :class:`IncompleteResultError` naming it and what is wrong:
        not a directory, no completeness marker (``detect`` did not finish), a result
        format newer than this linkage reads, or a missing file."""
        run = f"run `linkage detect DATA --out {self.path}`"
        if not self.path.is_dir():
            aside = interrupted_swap(self.path)
            if aside is not None:
                raise IncompleteResultError(
                    f"{self.path} does not exist: a `linkage detect` was stopped while swapping "
                    f"its new result in; the previous result is whole at {aside} (move it back "
                    f"to {self.path}, or {run})"
                )
            raise IncompleteResultError(
                f"{self.path} is not a result directory: it does not exist ({run} first)"
            )
        if not self.is_complete():
            raise IncompleteResultError(
                f"{self.path} is not a result directory: `linkage detect` did not finish "
                f"writing it ({COMPLETE_FILE} is missing); {run}"
            )
        version = self._marker().get("format")
        if not isinstance(version, int) or version > RESULT_FORMAT_VERSION:
            raise IncompleteResultError(
                f"{self.path} is a result of format {version!r}; this linkage "
                f"{__version__} reads format {RESULT_FORMAT_VERSION} or older: upgrade linkage"
            )
        for name in RESULT_FILES:
            if not (self.path / name).is_file():
                raise IncompleteResultError(
                    f"{self.path} is not a result directory: {name} is missing; {run}"
                )
        return self

    def _marker(self) -> dict[str, Any]:
        try:
            marker = json.loads(self.marker_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise IncompleteResultError(
                f"{self.marker_path}: unreadable completeness marker ({exc}); "
                f"run `linkage detect DATA --out {self.path}` again"
            ) from exc
        return marker if isinstance(marker, dict) else {}

    # -- reading -------------------------------------------------------------------

    def connect(
        self, tables: Sequence[str] = (), *, threads: int | None = None
    ) -> duckdb.DuckDBPyConnection:
        """A read-only connection to the store; :class:`IncompleteResultError` naming
        the first of ``tables`` it lacks (a result of an older linkage)."""
        con = connect(self.store_path, read_only=True)
        if threads is not None:
            con.execute("SET threads = ?", [threads])
        present = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE NOT temporary"
            ).fetchall()
        }
        missing = [t for t in tables if t not in present]
        if missing:
            con.close()
            raise IncompleteResultError(
                f"{self.store_path} has no table {', '.join(missing)} (a result of an older "
                "linkage); run `linkage detect` again to write the investigation graph"
            )
        return con

    def read_accounts(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """``accounts.parquet`` (the data contract's account rows)."""
        return pd.read_parquet(self.accounts_path, columns=list(columns) if columns else None)

    def read_campaigns(self) -> pd.DataFrame:
        """``campaigns.parquet`` (the data contract's campaign rows), ``contributions`` as
        dicts. A v1 file (no v2 columns) reads as v2: ``lineage`` ``new``, no previous
        campaigns, no contributions."""
        df = pd.read_parquet(self.campaigns_path)
        if "contributions" in df:
            df["contributions"] = [dict(c) for c in df.contributions]
        else:
            df["contributions"] = [{} for _ in range(len(df))]
        if "lineage" not in df:
            df["lineage"] = "new"
        if "previous_campaign_ids" not in df:
            df["previous_campaign_ids"] = [[] for _ in range(len(df))]
        return df

    def read_decisions(self) -> pd.DataFrame:
        """``decisions.parquet``: the decisions that reached this run, ``evidence`` as
        dicts; empty (no rows, no columns) for a result written before decisions."""
        if not self.decisions_path.is_file():
            return pd.DataFrame()
        df = pd.read_parquet(self.decisions_path)
        df["evidence"] = [dict(e) for e in df.evidence]
        return df

    def campaigns_sql(self) -> str:
        """A DuckDB ``read_parquet(...)`` table expression over ``campaigns.parquet``."""
        path = str(self.campaigns_path.resolve()).replace("'", "''")
        return f"read_parquet('{path}')"

    def settings(self) -> DetectSettings:
        """The detection settings the result was made with."""
        return DetectSettings.load(self.settings_path)

    def settings_json(self) -> dict[str, Any]:
        """``settings.json`` as written (for manifests); :class:`LinkageError` naming it
        when unreadable."""
        try:
            settings: dict[str, Any] = json.loads(self.settings_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise LinkageError(
                f"{self.settings_path}: cannot read the detection settings ({exc}); "
                "run `linkage detect` first"
            ) from exc
        return settings

    # -- writing (detect) ----------------------------------------------------------

    def mark_incomplete(self) -> None:
        """Remove the completeness marker: from now on readers refuse the directory."""
        self.marker_path.unlink(missing_ok=True)

    def mark_complete(self) -> None:
        """Write the completeness marker (atomically), once every other file is written."""
        tmp = self.path / f".{COMPLETE_FILE}.{os.getpid()}.tmp"
        text = json.dumps({"format": RESULT_FORMAT_VERSION, "linkage_version": __version__})
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(text + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.marker_path)

    def write_accounts(self, table: pa.Table) -> None:
        pq.write_table(table, self.accounts_path)

    def write_campaigns(self, table: pa.Table) -> None:
        pq.write_table(table, self.campaigns_path)

    def write_decisions(self, table: pa.Table) -> None:
        pq.write_table(table, self.decisions_path)

    def write_settings(self, settings: DetectSettings) -> None:
        settings.save(self.settings_path)

    def write_detect_summary(self, summary: dict[str, Any]) -> None:
        self.detect_summary_path.write_text(json.dumps(summary, indent=2) + "\n")
