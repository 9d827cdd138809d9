"""The ban list: one row per flagged account, for enforcement systems."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from linkage._version import __version__
from linkage.errors import LinkageError
from linkage.export.atomic import atomic_path, atomic_write_text, sha256_file
from linkage.investigate import BANLIST_COLUMNS, banlist_rows
from linkage.result import ResultDir, iso_utc

__all__ = [
    "BANLIST_COLUMNS",
    "BANLIST_TEXT_FORMATS",
    "DIFF_COLUMNS",
    "MAX_REMOVED_SHARE",
    "BanlistExport",
    "banlist",
    "banlist_lines",
    "banlist_sidecars",
    "diff_banlists",
    "export_banlist",
    "read_banlist",
    "removal_guard",
    "write_banlist",
]

FORMATS = (".csv", ".jsonl", ".parquet")
BANLIST_TEXT_FORMATS = ("csv", "jsonl")
"""Text formats of :func:`banlist_lines` (the streamed ban list)."""
DIFF_KEYS = ("account_id", "campaign_id", "score", "reasons")
"""The columns a diff compares (a previous ban list must have them; v1 lists, without
``status`` and ``banned_at``, are read alike)."""
MAX_REMOVED_SHARE = 0.2
"""Default most of the previous ban list a diff may remove before the export refuses."""
DIFF_COLUMNS = (
    "change",
    "account_id",
    "campaign_id",
    "previous_campaign_id",
    "score",
    "previous_score",
    "reasons",
    "previous_reasons",
    "decision",
)
"""Columns of the diff file; ``change`` is ``added``, ``removed`` or ``changed``;
``decision`` what an investigator's decision did to the row in this run
(``confirmed``, ``dismissed``, ``watched``, ``reopened``: a dismissal the evidence
outgrew; empty for none): the rows of confirmed campaigns, and the removals a
dismissal explains."""
DECISION_WORDS = {"confirm": "confirmed", "dismiss": "dismissed", "watch": "watched"}
TIME_COLUMNS = ("first_seen", "last_seen", "banned_at")
"""Timestamp columns of a ban list, ISO text in UTC in the text formats."""


def banlist(result_dir: str | Path) -> pd.DataFrame:
    """Flagged accounts with their campaign's reasons and their own activity, sorted by
    campaign score then account score, descending (ties by account id)."""
    return banlist_rows(ResultDir.open(result_dir))


@dataclass(frozen=True)
class BanlistExport:
    """What ``export_banlist`` wrote: the list, its manifest and, with ``since``, the diff."""

    path: Path
    rows: int
    manifest_path: Path
    diff_path: Path | None = None
    added: int = 0
    removed: int = 0
    changed: int = 0
    removed_share: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "rows": self.rows,
            "manifest_path": str(self.manifest_path),
            "diff_path": None if self.diff_path is None else str(self.diff_path),
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "removed_share": self.removed_share,
        }


def banlist_sidecars(path: str | Path) -> tuple[Path, Path]:
    """The manifest and diff files that go with ban list ``path``:
    ``ban.csv`` -> ``ban.manifest.json``, ``ban.diff.csv``."""
    path = Path(path)
    return (
        path.with_name(f"{path.stem}.manifest.json"),
        path.with_name(f"{path.stem}.diff{path.suffix}"),
    )


def write_banlist(
    result_dir: str | Path,
    path: str | Path,
    *,
    since: str | Path | None = None,
    max_removed_share: float = MAX_REMOVED_SHARE,
    allow_mass_removal: bool = False,
) -> int:
    """Write the ban list, its manifest and (with ``since``) the diff, as
    :func:`export_banlist` does; return the number of rows."""
    return export_banlist(
        result_dir,
        path,
        since=since,
        max_removed_share=max_removed_share,
        allow_mass_removal=allow_mass_removal,
    ).rows


def export_banlist(
    result_dir: str | Path,
    path: str | Path,
    *,
    since: str | Path | None = None,
    max_removed_share: float = MAX_REMOVED_SHARE,
    allow_mass_removal: bool = False,
) -> BanlistExport:
    """Write the ban list (format from the extension) and its manifest
    (``<stem>.manifest.json``: rows, sha256, settings and flag threshold, created time,
    source result); with ``since`` (a previous ban list in any of the three formats) also
    the diff ``<stem>.diff<ext>`` of added, removed and changed rows. Every file is
    written atomically: a crash never leaves a half-written or mixed file.

    With ``since``, a diff that removes more than ``max_removed_share`` of the previous
    list (an empty or truncated input would remove every ban; removals an
    investigator's dismissal explains do not count) raises
    :class:`LinkageError` before anything is written, unless ``allow_mass_removal``;
    the manifest's ``removal_guard`` records the share and the decision."""
    path = Path(path)
    _check_format(path)
    _check_share(max_removed_share)
    result = ResultDir.open(result_dir)
    rows = banlist_rows(result)
    settings = result.settings_json()
    previous = read_banlist(since) if since is not None else None
    previous_sha = sha256_file(since) if since is not None else None
    manifest_path, diff_path = banlist_sidecars(path)
    counts = {"added": 0, "removed": 0, "changed": 0}
    diff_info: dict[str, Any] | None = None
    guard: dict[str, Any] | None = None
    diff: pd.DataFrame | None = None
    if since is not None and previous is not None:
        diff = diff_banlists(previous, rows, result.read_decisions())
        counts.update(diff.change.value_counts().to_dict())
        dismissed = int(((diff.change == "removed") & (diff.decision == "dismissed")).sum())
        guard = removal_guard(  # raises before any file is written
            counts["removed"],
            len(previous),
            since=since,
            max_removed_share=max_removed_share,
            allow_mass_removal=allow_mass_removal,
            dismissed=dismissed,
        )
        _write_rows(diff, diff_path)
        diff_info = {"file": diff_path.name, "sha256": sha256_file(diff_path), **counts}
    _write_rows(rows, path)
    manifest = {
        "kind": "linkage ban list",
        "linkage_version": __version__,
        "file": path.name,
        "format": path.suffix.lstrip("."),
        "rows": len(rows),
        "sha256": sha256_file(path),
        "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "result_dir": str(result.path.resolve()),
        "flag_threshold": settings.get("flag_threshold"),
        "report_threshold": settings.get("report_threshold"),
        "settings": settings,
        "previous": None
        if since is None or previous is None
        else {"file": str(Path(since).resolve()), "sha256": previous_sha, "rows": len(previous)},
        "diff": diff_info,
        "removal_guard": guard,
    }
    atomic_write_text(manifest_path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return BanlistExport(
        path,
        len(rows),
        manifest_path,
        diff_path if diff is not None else None,
        **counts,
        removed_share=None if guard is None else guard["removed_share"],
    )


def removal_guard(
    removed: int,
    previous_rows: int,
    *,
    since: str | Path,
    max_removed_share: float = MAX_REMOVED_SHARE,
    allow_mass_removal: bool = False,
    dismissed: int = 0,
) -> dict[str, Any]:
    """The mass-removal guard's decision, as the manifest records it: ``removed_share``
    (the ``removed`` rows that no investigator's dismissal explains, over
    ``previous_rows``; 0 for an empty previous list), the limit, and
    ``mass_removal_allowed`` (the share is over the limit and ``allow_mass_removal``
    let it pass). Raise :class:`LinkageError` naming the counts, the share and the
    previous file when the share is over the limit and mass removal is not allowed."""
    _check_share(max_removed_share)
    unexplained = removed - dismissed
    share = unexplained / previous_rows if previous_rows else 0.0
    over = share > max_removed_share
    if over and not allow_mass_removal:
        raise LinkageError(
            f"refusing to write the ban list: {unexplained:,} of the {previous_rows:,} "
            f"accounts on the previous ban list {since} would be removed without a "
            f"dismissal to explain it ({share:.1%}), more than "
            f"the maximum removed share {max_removed_share:.1%}; an empty or truncated "
            "input would do this. Check the input, or pass --allow-mass-removal "
            "(allow_mass_removal=True) if the removals are real; nothing was written"
        )
    return {
        "removed": removed,
        "removed_by_dismissal": dismissed,
        "previous_rows": previous_rows,
        "removed_share": share,
        "max_removed_share": max_removed_share,
        "over_limit": over,
        "mass_removal_allowed": over and allow_mass_removal,
    }


def read_banlist(path: str | Path) -> pd.DataFrame:
    """Read a ban list written by linkage (``.csv``, ``.jsonl`` or ``.parquet``) into the
    columns a diff needs, with ``reasons`` as lists. Raise :class:`LinkageError` naming
    the file and what is wrong (unreadable, missing column, duplicate account)."""
    path = Path(path)
    _check_format(path)
    if not path.is_file():
        raise LinkageError(f"{path}: previous ban list does not exist")
    try:
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
        elif path.suffix == ".csv":
            df = pd.read_csv(path, dtype={"account_id": str, "campaign_id": str, "reasons": str})
        else:
            df = pd.read_json(path, lines=True, dtype={"account_id": str, "campaign_id": str})
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise LinkageError(f"{path}: cannot read previous ban list: {exc}") from exc
    for col in DIFF_KEYS:
        if col not in df.columns:
            raise LinkageError(
                f"{path}: previous ban list has no column {col!r} "
                f"(a ban list has {', '.join(BANLIST_COLUMNS)})"
            )
    df = df[list(DIFF_KEYS)].copy()
    dup = df.account_id[df.account_id.duplicated()]
    if len(dup):
        raise LinkageError(f"{path}: account {dup.iloc[0]!r} appears more than once")
    df["reasons"] = df.reasons.map(_reasons_list)
    df["score"] = pd.to_numeric(df.score, errors="raise").astype("float64")
    return df.reset_index(drop=True)


def diff_banlists(
    previous: pd.DataFrame, current: pd.DataFrame, decisions: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Rows ``added`` (flagged now, not before), ``removed`` (no longer flagged) and
    ``changed`` (campaign, score or reasons differ), ordered by change then account id.
    Scores count as equal within 1e-9 (text formats round-trip floats). ``decisions``:
    the current result's ``decisions.parquet``, for the ``decision`` column."""
    cur = current[list(DIFF_KEYS)].copy()
    cur["reasons"] = cur.reasons.map(_reasons_list)
    both = cur.merge(
        previous[list(DIFF_KEYS)],
        on="account_id",
        how="outer",
        suffixes=("", "_prev"),
        indicator=True,
    ).rename(
        columns={
            "campaign_id_prev": "previous_campaign_id",
            "score_prev": "previous_score",
            "reasons_prev": "previous_reasons",
        }
    )
    same_reasons = [
        "; ".join(a) == "; ".join(b) if isinstance(a, list) and isinstance(b, list) else False
        for a, b in zip(both.reasons, both.previous_reasons, strict=True)
    ]
    differs = (
        (both.campaign_id != both.previous_campaign_id)
        | ((both.score - both.previous_score).abs() > 1e-9)
        | ~pd.Series(same_reasons, index=both.index)
    )
    both["change"] = None
    both.loc[both._merge == "left_only", "change"] = "added"
    both.loc[both._merge == "right_only", "change"] = "removed"
    both.loc[(both._merge == "both") & differs, "change"] = "changed"
    out = both[both.change.notna()].copy()
    out["decision"] = _decision_words(out, decisions)
    order = {"added": 0, "removed": 1, "changed": 2}
    out = out.sort_values(
        ["change", "account_id"], key=lambda s: s.map(order) if s.name == "change" else s
    )
    return out[list(DIFF_COLUMNS)].reset_index(drop=True)


def _decision_words(rows: pd.DataFrame, decisions: pd.DataFrame | None) -> list[str]:
    """Per diff row, what a decision did to it: the account's own, else its campaign's
    (this run's campaign, or the previous one for a removed row)."""
    if decisions is None or decisions.empty:
        return [""] * len(rows)
    said = {
        (r.target, r.id): "reopened" if r.status == "reopened" else DECISION_WORDS[r.action]
        for r in decisions.itertuples()
        if r.status in ("applied", "reopened")
    }
    out = []
    for account, campaign, previous in zip(
        rows.account_id, rows.campaign_id, rows.previous_campaign_id, strict=True
    ):
        word = said.get(("account", account))
        for cid in (campaign, previous):
            if word is None and isinstance(cid, str):
                word = said.get(("campaign", cid))
        out.append(word or "")
    return out


def banlist_lines(rows: pd.DataFrame, fmt: str = "csv", chunk: int = 1000) -> Iterator[str]:
    """Yield a ban list or diff frame as CSV or JSONL text, ``chunk`` rows at a time:
    the one serializer of the files ``linkage export banlist`` writes and of the
    service's streamed ``/banlist``. ``reasons`` columns are ``; ``-joined in CSV,
    timestamps ISO text in UTC, missing values empty (CSV) or ``null`` (JSONL)."""
    if fmt not in BANLIST_TEXT_FORMATS:
        raise LinkageError(
            f"ban list format must be one of {', '.join(BANLIST_TEXT_FORMATS)}, got {fmt!r}"
        )
    if chunk < 1:
        raise LinkageError(f"chunk must be at least 1, got {chunk}")
    list_cols = [c for c in rows.columns if c.endswith("reasons")]
    time_cols = [c for c in rows.columns if c in TIME_COLUMNS]
    if fmt == "csv":
        text = rows.assign(
            **{c: rows[c].map(_join) for c in list_cols},
            **{c: rows[c].map(iso_utc) for c in time_cols},
        )
        yield text.iloc[:0].to_csv(index=False)
        for start in range(0, len(text), chunk):
            yield text.iloc[start : start + chunk].to_csv(index=False, header=False)
        return
    for start in range(0, len(rows), chunk):
        out = []
        for rec in rows.iloc[start : start + chunk].to_dict(orient="records"):
            for c in list_cols:
                rec[c] = None if _isna(rec[c]) else list(rec[c])
            for c in time_cols:
                rec[c] = iso_utc(rec[c])
            for k, v in rec.items():
                if _isna(v):
                    rec[k] = None
            out.append(json.dumps(rec) + "\n")
        yield "".join(out)


def _write_rows(rows: pd.DataFrame, path: Path) -> None:
    """Write a ban list or diff frame atomically in the format of ``path``'s extension."""
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), tmp)
            return
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            for text in banlist_lines(rows, path.suffix.lstrip("."), chunk=10_000):
                fh.write(text)


def _check_share(max_removed_share: float) -> None:
    if not 0.0 <= max_removed_share <= 1.0:
        raise LinkageError(
            f"max_removed_share (--max-removed-share) must be between 0 and 1, "
            f"got {max_removed_share}"
        )


def _check_format(path: Path) -> None:
    if path.suffix not in FORMATS:
        raise LinkageError(f"{path}: ban list format must be one of {', '.join(FORMATS)}")


def _reasons_list(value: object) -> list[str]:
    """Reasons as a list, whichever format they were read from."""
    if _isna(value):
        return []
    if isinstance(value, str):
        return [r for r in value.split("; ") if r]
    return [str(r) for r in value]  # type: ignore[attr-defined]


def _join(value: object) -> object:
    if _isna(value):
        return None
    return "; ".join(value)  # type: ignore[arg-type]


def _isna(value: object) -> bool:
    """A scalar missing value (None, NaN, NaT); a list or array never is."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return False
    return bool(pd.isna(value))  # type: ignore[call-overload]
