"""What has flowed through the store, per channel: the figures ``status`` shows and ``/metrics``
exports, read from the tables themselves so they hold whether or not a daemon is running.

* events processed: stock events recorded in the ledger from each channel (the first counts taken
  when a SKU is linked excluded: they are a starting point, not something that happened), and
  webhook deliveries processed from the inbox. Both tables are append-only, so these only grow
  (Prometheus counters);
* writes per target channel by outcome: applied, failed (refused for good or given up on), queued
  (not done yet), retrying (queued after a failed attempt), due (queued and due now);
* queue depths per channel: inbox deliveries not processed yet, outbox entries not done, due now;
* propagation: for the most recent writes that carried a stock event's time on its own channel
  (``meta.event_at`` of the outbox entry), the seconds from that event to the write acknowledged,
  summarised per target channel.
"""

from __future__ import annotations

import math
import sqlite3
from collections import defaultdict
from datetime import UTC, datetime
from typing import TypedDict

__all__ = ["FlowFigures", "Propagation", "flow_figures", "summarise"]

RECENT_WRITES = 5_000
"""How many of the latest acknowledged writes the propagation summary is taken over."""

_FAILED = "result LIKE '%\"ok\": false%'"
"""An outbox entry settled without being applied (``outbox_failed``'s result)."""


class Propagation(TypedDict):
    """Seconds from a stock event on its channel to our write of it acknowledged on another."""

    count: int
    p50: float
    p95: float
    p99: float
    max: float


class FlowFigures(TypedDict):
    """Per channel, what came in, what went out and what waits (see the module docstring)."""

    events_processed: dict[str, dict[str, int]]  # channel -> "stock" | "webhook" -> count
    writes: dict[str, dict[str, int]]  # target channel -> outcome -> count
    queues: dict[str, dict[str, int]]  # channel -> "inbox" | "outbox" | "outbox_due" -> count
    propagation: dict[str, Propagation]  # target channel -> summary


def _at(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def summarise(seconds: list[float]) -> Propagation:
    """Nearest-rank percentiles of ``seconds`` (not empty)."""
    ranked = sorted(seconds)

    def rank(share: float) -> float:
        return ranked[max(0, math.ceil(len(ranked) * share) - 1)]

    return Propagation(count=len(ranked), p50=rank(0.5), p95=rank(0.95), p99=rank(0.99), max=ranked[-1])


def _propagation(conn: sqlite3.Connection) -> dict[str, Propagation]:
    rows = conn.execute(
        "SELECT channel, json_extract(op, '$.meta.event_at'), done_at FROM outbox "
        f"WHERE done_at IS NOT NULL AND NOT {_FAILED} AND json_extract(op, '$.meta.event_at') IS NOT NULL "
        "ORDER BY done_at DESC LIMIT ?",
        [RECENT_WRITES],
    ).fetchall()
    seconds: dict[str, list[float]] = defaultdict(list)
    for channel, event_at, done_at in rows:
        seconds[channel].append(max(0.0, (_at(done_at) - _at(event_at)).total_seconds()))
    return {channel: summarise(values) for channel, values in sorted(seconds.items())}


def flow_figures(conn: sqlite3.Connection, now: str) -> FlowFigures:
    """The figures of the module docstring, ``now`` deciding which queued writes are due."""
    events: dict[str, dict[str, int]] = defaultdict(dict)
    for channel, count in conn.execute(
        "SELECT channel, count(*) FROM stock_events WHERE kind != 'initial' GROUP BY channel"
    ):
        events[channel]["stock"] = int(count)
    queues: dict[str, dict[str, int]] = defaultdict(lambda: {"inbox": 0, "outbox": 0, "outbox_due": 0})
    for channel, processed, pending in conn.execute(
        "SELECT channel, sum(processed_at IS NOT NULL), sum(processed_at IS NULL) FROM inbox GROUP BY channel"
    ):
        events[channel]["webhook"] = int(processed)
        queues[channel]["inbox"] = int(pending)
    writes: dict[str, dict[str, int]] = {}
    for channel, applied, failed, queued, retrying, due in conn.execute(
        f"SELECT channel, sum(done_at IS NOT NULL AND NOT {_FAILED}), "
        f"sum(done_at IS NOT NULL AND {_FAILED}), "
        "sum(done_at IS NULL), sum(done_at IS NULL AND last_error IS NOT NULL), "
        "sum(done_at IS NULL AND next_attempt_at <= ?) FROM outbox GROUP BY channel",
        [now],
    ):
        writes[channel] = {
            "applied": int(applied),
            "failed": int(failed),
            "queued": int(queued),
            "retrying": int(retrying),
        }
        queues[channel].update(outbox=int(queued), outbox_due=int(due))
    for counts in events.values():
        counts.setdefault("stock", 0)
        counts.setdefault("webhook", 0)
    return FlowFigures(
        events_processed=dict(sorted(events.items())),
        writes=dict(sorted(writes.items())),
        queues=dict(sorted(queues.items())),
        propagation=_propagation(conn),
    )
