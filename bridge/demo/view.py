"""How the demo shows what happens: a live table on a terminal, plain lines on a pipe.

Both get the same calls; the plain view prints each event as one line (what a log or a test
reads), the live view redraws a table of every SKU per channel, then leaves it on the screen.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Protocol

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from bridge.demo.model import Model
from bridge.demo.observe import Reading
from bridge.demo.tracker import Change, Tracker

__all__ = ["LiveView", "PlainView", "View", "shows_line"]

SHOWN_CHANGES = 12


class View(Protocol):
    def note(self, text: str) -> None: ...
    def acted(self, change: Change) -> None: ...
    def settled(self, change: Change, model: Model) -> None: ...
    def gave_up(self, change: Change) -> None: ...
    def refresh(self, model: Model, reading: Reading, tracker: Tracker, status: str) -> None: ...
    def snapshot(self, model: Model, reading: Reading) -> None: ...
    def close(self) -> None: ...


def _value(value: int | Decimal | None) -> str:
    return "-" if value is None else str(value)


def shows_line(model: Model, sku: str, reading: Reading) -> str:
    """``SB-00001: woocommerce 16, square Location 1 7, ..., woocommerce price 12.30, ...``"""
    shows = reading.shows.get(sku, {})
    return f"{sku}: " + ", ".join(f"{column} {_value(shows.get(column))}" for column in model.columns)


class PlainView:
    """One line per event, flushed at once (a pipe is often read as it runs)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started = time.monotonic()

    def _say(self, text: str) -> None:
        self.console.print(Text(text), soft_wrap=True)
        self.console.file.flush()

    def _stamp(self) -> str:
        return f"[{time.monotonic() - self.started:6.1f}s]"

    def note(self, text: str) -> None:
        self._say(text)

    def acted(self, change: Change) -> None:
        self._say(f"{self._stamp()} #{change.number} {change.label}: acknowledged")

    def settled(self, change: Change, model: Model) -> None:
        shows = model.expected(change.sku)
        where = ", ".join(f"{column} {_value(shows[column])}" for column in model.columns)
        took = f"{change.settled_after:.2f} s"
        self._say(f"{self._stamp()} #{change.number} propagated in {took}: {change.sku}: {where}")

    def gave_up(self, change: Change) -> None:
        self._say(
            f"{self._stamp()} #{change.number} NOT propagated ({change.label}): "
            + "; ".join(change.last_differences)
        )

    def refresh(self, model: Model, reading: Reading, tracker: Tracker, status: str) -> None:
        """Nothing: a pipe gets events, not redraws."""

    def snapshot(self, model: Model, reading: Reading) -> None:
        for sku in model.truths:
            self._say("  " + shows_line(model, sku, reading))

    def close(self) -> None:
        pass


class LiveView:
    """A rich ``Live`` table redrawn on every reading; narration is printed above it."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = Live(console=console, auto_refresh=False, transient=False)
        self.live.start()

    def note(self, text: str) -> None:
        self.live.console.print(Text(text))

    def acted(self, change: Change) -> None:
        """Shown in the changes table."""

    def settled(self, change: Change, model: Model) -> None:
        """Shown in the changes table."""

    def gave_up(self, change: Change) -> None:
        """Shown in the changes table."""

    def refresh(self, model: Model, reading: Reading, tracker: Tracker, status: str) -> None:
        self.live.update(
            Group(_stock_table(model, reading, tracker), _changes_table(tracker), Text(status)),
            refresh=True,
        )

    def snapshot(self, model: Model, reading: Reading) -> None:
        """The live table shows it."""

    def close(self) -> None:
        self.live.stop()


def _changes_table(tracker: Tracker) -> Table:
    table = Table(title="Changes (propagation: acknowledged → every channel shows it)", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("change")
    table.add_column("propagation", justify="right")
    now = time.monotonic()
    for change in tracker.changes[-SHOWN_CHANGES:]:
        if change.settled_after is not None:
            took = Text(f"{change.settled_after:.2f} s", style="green")
        elif change.gave_up:
            took = Text("NOT propagated", style="bold red")
        else:
            took = Text(f"waiting {now - change.acked_at:.1f} s", style="yellow")
        table.add_row(str(change.number), change.label, took)
    return table


def _stock_table(model: Model, reading: Reading, tracker: Tracker) -> Table:
    """One row per SKU: each channel's number, green when it is the expected one."""
    stuck = {change.sku for change in tracker.failed()}
    table = Table(title="What each channel shows (observed; → what it should show)", title_justify="left")
    table.add_column("SKU", no_wrap=True)
    for column in model.columns:
        table.add_column(column, justify="right")
    table.add_column("")
    for sku in model.truths:
        expected = model.expected(sku)
        shows = reading.shows.get(sku, {})
        cells = []
        for column in model.columns:
            seen, wanted = shows.get(column), expected[column]
            if seen == wanted:
                cells.append(Text(_value(seen), style="green"))
            else:
                cells.append(Text(f"{_value(seen)} → {_value(wanted)}", style="yellow"))
        agree = all(shows.get(c) == expected[c] for c in model.columns)
        if agree:
            mark = Text("✓ agree", style="green")
        else:
            mark = Text("DISAGREES", style="bold red") if sku in stuck else Text("converging", style="yellow")
        table.add_row(sku, *cells, mark)
    return table
