"""Replacing a result directory whole: build the new one beside it, swap it in at the end.

``detect`` writes into a sibling staging directory (``.NAME.detect-PID``, same parent,
so the same file system) and only a finished, marked result takes the place of
``RESULT_DIR``: on Linux by one atomic exchange of the two directories
(``renameat2(RENAME_EXCHANGE)``), elsewhere by two renames. Until then the older
result stays where it was and stays usable; a run killed at any point leaves it
whole (at worst, after a fallback swap was cut between its two renames, it waits
under a name that :meth:`ResultDir.check` points to).

Files in ``RESULT_DIR`` that linkage does not own (a ban list exported into it, an
evaluation report) are carried over into the new result after the swap.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from linkage.errors import LinkageError
from linkage.result.layout import (
    COMPLETE_FILE,
    DETECT_SUMMARY_FILE,
    INGEST_SUMMARY_FILE,
    PARQUET_STORE_DIR,
    QUARANTINE_DIR,
    RESULT_FILES,
    STORE_FILE,
)

__all__ = [
    "OWNED_NAMES",
    "check_output_dir",
    "interrupted_swap",
    "replace_result",
    "staged",
    "staging_dir",
]

OWNED_NAMES = frozenset(
    {*RESULT_FILES, COMPLETE_FILE, DETECT_SUMMARY_FILE, INGEST_SUMMARY_FILE, QUARANTINE_DIR}
    | {f"{STORE_FILE}.wal", PARQUET_STORE_DIR}
)
"""Names in a result directory that ``detect`` writes (and replaces); others are carried."""

_STAGE = ".{name}.detect-{pid}"
_OLD = ".{name}.previous-{pid}"
_MARKS = (COMPLETE_FILE, INGEST_SUMMARY_FILE, DETECT_SUMMARY_FILE)
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def check_output_dir(data_dir: Path, out_dir: Path, *, force: bool = False) -> None:
    """:class:`LinkageError` unless ``detect DATA_DIR --out OUT_DIR`` may write there.

    Refused: ``out_dir`` is ``data_dir`` or inside it; ``out_dir`` is not a directory;
    ``out_dir`` is a non-empty directory linkage did not write (no completeness marker,
    ingest or detect summary), unless ``force``.
    """
    data, out = Path(data_dir).resolve(), Path(out_dir).resolve()
    if out == data or data in out.parents:
        raise LinkageError(
            f"--out {out_dir} is the input directory {data_dir} or inside it: detect never "
            "writes into its input; choose another result directory"
        )
    if out.exists() and not out.is_dir():
        raise LinkageError(f"--out {out_dir} exists and is not a directory")
    if force or not out.is_dir() or not any(out.iterdir()):
        return
    if not any((out / name).is_file() for name in _MARKS):
        raise LinkageError(
            f"--out {out_dir} is a non-empty directory that is not a linkage result: detect "
            "would replace its files; choose an empty or new directory, or pass --force"
        )


def staging_dir(out_dir: Path) -> Path:
    """A fresh, empty staging directory beside ``out_dir`` (stale ones of dead runs removed)."""
    out = Path(out_dir).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(out)
    stage = out.parent / _STAGE.format(name=out.name, pid=os.getpid())
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir()
    return stage


def replace_result(stage: Path, out_dir: Path) -> None:
    """Put the finished result ``stage`` in the place of ``out_dir``, then carry over the
    older directory's files that linkage does not own and remove the rest of it."""
    out = Path(out_dir).resolve()
    if not out.exists():
        os.rename(stage, out)
        return
    if _exchange(stage, out):
        old = stage  # the exchange left the older result under the staging name
    else:
        old = out.parent / _OLD.format(name=out.name, pid=os.getpid())
        os.rename(out, old)
        os.rename(stage, out)
    for entry in old.iterdir():
        if entry.name not in OWNED_NAMES and not (out / entry.name).exists():
            os.rename(entry, out / entry.name)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged(data_dir: Path, out_dir: Path, *, force: bool = False) -> Iterator[Path]:
    """Check ``out_dir`` (:func:`check_output_dir`) and yield a staging directory that
    replaces it when the block ends without error; on error the staging is removed."""
    check_output_dir(data_dir, out_dir, force=force)
    stage = staging_dir(out_dir)
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    replace_result(stage, out_dir)


def interrupted_swap(out_dir: Path) -> Path | None:
    """The older result a swap without atomic exchange left aside when it was cut
    between its two renames (``out_dir`` is then missing), or ``None``."""
    out = Path(out_dir).absolute()
    olds = sorted(out.parent.glob(_OLD.format(name=out.name, pid="*")))
    return olds[0] if olds and not out.exists() else None


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux ``renameat2``); ``False`` when unsupported."""
    name = ctypes.util.find_library("c")
    try:
        renameat2 = ctypes.CDLL(name, use_errno=True).renameat2
    except (OSError, AttributeError, TypeError):
        return False
    rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: the file system cannot exchange
        return False
    raise LinkageError(f"cannot swap the new result into {b}: {os.strerror(err)}")


def _remove_stale(out: Path) -> None:
    """Staging directories of runs that are no longer alive (killed), beside ``out``."""
    for pattern in (_STAGE, _OLD):
        for path in out.parent.glob(pattern.format(name=out.name, pid="*")):
            pid = path.name.rsplit("-", 1)[-1]
            if pattern is _OLD and not out.exists():
                continue  # the only copy of an older result: keep it
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
