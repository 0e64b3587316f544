"""How far a long sync has got: a bar per phase on a terminal, one debug line per phase in logs.

A first sync of a large shop reads for minutes and writes for minutes more. The runner reports each
phase (``start``) and what it got through (``advance``); this module decides what a user sees of it.
Logs get no per-item noise: only the phase names, at debug level.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol, runtime_checkable

from rich.console import Console
from rich.file_proxy import FileProxy
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as RichProgress

__all__ = ["BarProgress", "Progress", "QuietProgress", "beside"]

log = logging.getLogger(__name__)


class Progress(Protocol):
    """What the sync runner reports to."""

    def start(self, what: str, total: int | None = None) -> None:
        """A new phase, with how many items it has when that is known in advance."""

    def advance(self, done: int) -> None:
        """``done`` more items of the current phase are through."""


@runtime_checkable
class _ShowsBeside(Protocol):
    def beside(self) -> Progress:
        """Another line of phases, for work going on at the same time as this one's."""


def beside(progress: Progress) -> Progress:
    """Where work running beside ``progress``'s current phase reports (the writes a sync sends
    while it plans its next chunk): its own line on a terminal, nowhere if ``progress`` has no
    room for two at once."""
    return progress.beside() if isinstance(progress, _ShowsBeside) else QuietProgress()


class QuietProgress:
    """Phases as debug log lines; nothing per item (the daemon, a pipe, ``--json``)."""

    def start(self, what: str, total: int | None = None) -> None:
        log.debug("sync phase", extra={"phase": what, "total": total})

    def advance(self, done: int) -> None:
        return None

    def beside(self) -> Progress:
        return self


class BarProgress:
    """A rich progress display: one line per phase, a bar when the total is known, a count and the
    time spent in every case; a phase that found nothing to do leaves no line. Use as a context
    manager around the sync, and print its outcome after it: the display redraws itself by moving
    the cursor up over its own lines, so anything written straight to the terminal meanwhile would
    be covered. Log lines are the exception, as they come while it runs: the root logger's handlers
    writing to the same terminal write through rich's proxy instead, which prints above the bars."""

    def __init__(self, console: Console) -> None:
        self._display = RichProgress(
            SpinnerColumn(finished_text="[green]✓[/]"),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._lines = [_BarLine(self._display)]
        self._rerouted: list[tuple[logging.StreamHandler[Any], Any]] = []

    def __enter__(self) -> BarProgress:
        self._display.start()
        self._reroute_logs()
        return self

    def __exit__(self, *_: object) -> None:
        for line in self._lines:
            line.finish()
        self._display.stop()
        for handler, stream in self._rerouted:
            handler.setStream(stream)
        self._rerouted.clear()

    def _reroute_logs(self) -> None:
        console = self._display.console
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is console.file:
                self._rerouted.append((handler, handler.setStream(FileProxy(console, handler.stream))))

    def start(self, what: str, total: int | None = None) -> None:
        self._lines[0].start(what, total)

    def advance(self, done: int) -> None:
        self._lines[0].advance(done)

    def beside(self) -> Progress:
        """Phases of their own on the same display (rich's display takes its own lock, so another
        thread may report to them)."""
        self._lines.append(_BarLine(self._display))
        return self._lines[-1]


class _BarLine:
    """One sequence of phases on a :class:`BarProgress`: a phase is ended by the next one."""

    def __init__(self, display: RichProgress) -> None:
        self._display = display
        self._task: TaskID | None = None

    def start(self, what: str, total: int | None = None) -> None:
        self.finish()
        self._task = self._display.add_task(what, total=total)

    def advance(self, done: int) -> None:
        if self._task is not None and done:
            self._display.advance(self._task, done)

    def finish(self) -> None:
        """End the current phase. One without a known total is done with whatever it got through;
        one that stopped short of its total (a channel refused writes) keeps showing how short."""
        if self._task is None:
            return
        task = next(t for t in self._display.tasks if t.id == self._task)
        if not task.completed and not task.total:
            self._display.remove_task(self._task)  # nothing to read or write: no line for it
        else:
            if task.total is None:
                self._display.update(self._task, total=task.completed)
            self._display.stop_task(self._task)
        self._task = None
