"""Terminal progress for long stages (rich), as a plain callback the stages accept."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

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

__all__ = ["ProgressFn", "console", "progress_bar"]

ProgressFn = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: called by long stages after each batch."""

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
