"""Terminal progress for long stages (rich), as a plain callback the stages accept."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["ProgressFn", "StageLog", "console", "progress_bar"]

ProgressFn = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: called by long stages after each batch."""

T = TypeVar("T")


class StageLog:
    """Runs named stages: reports each to ``progress`` (0 of 1, then 1 of 1) and
    records its wall time and the process's peak memory so far."""

    def __init__(self, progress: ProgressFn | None = None) -> None:
        self.progress = progress
        self.records: list[dict[str, Any]] = []

    def run(self, name: str, fn: Callable[[], T]) -> T:
        """``fn()``, as stage ``name``."""
        if self.progress:
            self.progress(name, 0, 1)
        began = time.perf_counter()
        value = fn()
        self.records.append(
            {
                "stage": name,
                "seconds": round(time.perf_counter() - began, 3),
                "peak_rss_gib": round(
                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3
                ),
            }
        )
        if self.progress:
            self.progress(name, 1, 1)
        return value


console = Console(stderr=True)


@contextmanager
def progress_bar() -> Iterator[ProgressFn]:
    """Yield a ``progress(stage, done, total)`` callback that drives one bar per stage."""
    with Progress(
        TextColumn("[bold]{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update
