"""The store's daily write counts: how many times shopbridge revised each SKU on a channel each
calendar day (``write_counts``, one row per channel, SKU and day).

A marketplace caps how often a listing may be revised (eBay: 250 times a calendar day), and the
daemon pushes every sale: the adapter reads its SKUs' counts before writing and adds what it sent,
so the budget survives restarts and is shared by every process writing through this store.

Part of :class:`bridge.store.Store` (a mixin: every SQL statement on this table is here);
:meth:`WriteCountTables.write_counts` hands a channel its own view (:class:`bridge.writes.WriteCounts`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bridge.store.base import StoreBase, utcnow
from bridge.store.chunked import KEYS, rows_in

__all__ = ["ChannelWriteCounts", "WriteCountTables"]


class WriteCountTables(StoreBase):
    """Per channel, SKU and day, the writes sent."""

    def write_counts_of(self, channel: str, day: str, skus: Sequence[str]) -> dict[str, int]:
        """The writes sent to ``channel`` on ``day`` for each of ``skus`` (absent: none)."""
        rows = rows_in(
            self.db.conn,
            f"SELECT sku, count FROM write_counts WHERE channel = ? AND day = ? AND sku IN {KEYS}",
            sorted(set(skus)),
            before=[channel, day],
        )
        return {str(sku): int(count) for sku, count in rows}

    def add_write_counts(self, channel: str, day: str, counts: Mapping[str, int]) -> None:
        """Add ``counts`` (SKU -> writes sent) to ``channel``'s counts of ``day``."""
        self._merge_counts(channel, day, counts, "count + excluded.count")

    def raise_write_counts(self, channel: str, day: str, counts: Mapping[str, int]) -> None:
        """Make ``channel``'s counts of ``day`` at least ``counts`` (the channel said the budget is
        spent: revisions made by other tools count too)."""
        self._merge_counts(channel, day, counts, "max(count, excluded.count)")

    def _merge_counts(self, channel: str, day: str, counts: Mapping[str, int], merged: str) -> None:
        now = utcnow()
        rows = [[channel, sku, day, n, now] for sku, n in sorted(counts.items())]
        with self.transaction() as db:
            db.conn.executemany(
                "INSERT INTO write_counts (channel, sku, day, count, updated_at) VALUES (?, ?, ?, ?, ?) "
                f"ON CONFLICT (channel, sku, day) DO UPDATE SET count = {merged}, "
                "updated_at = excluded.updated_at",
                rows,
            )

    def forget_write_counts_before(self, day: str) -> None:
        """Drop the counts of days before ``day`` (only today's matter)."""
        with self.transaction() as db:
            db.execute("DELETE FROM write_counts WHERE day < ?", [day])

    def write_count_figures(self) -> dict[str, dict[str, int]]:
        """Per channel, today's (UTC) writes: SKUs written, writes in all, and the most one SKU had
        (what ``status`` shows beside a marketplace's daily revision limit)."""
        rows = self.db.execute(
            "SELECT channel, count(*), sum(count), max(count) FROM write_counts WHERE day = ? "
            "GROUP BY channel",
            [utcnow()[:10]],
        ).fetchall()
        return {str(c): {"skus": int(n), "writes": int(t), "most": int(m)} for c, n, t, m in rows}

    def write_counts(self, channel: str) -> ChannelWriteCounts:
        """``channel``'s own counts, as its adapter is handed them."""
        return ChannelWriteCounts(self, channel)


class ChannelWriteCounts:
    """One channel's daily write counts (implements :class:`bridge.writes.WriteCounts`)."""

    def __init__(self, tables: WriteCountTables, channel: str) -> None:
        self._tables = tables
        self.channel = channel

    def of(self, day: str, skus: Sequence[str]) -> dict[str, int]:
        return self._tables.write_counts_of(self.channel, day, skus)

    def add(self, day: str, counts: Mapping[str, int]) -> None:
        if counts:
            self._tables.add_write_counts(self.channel, day, counts)
            self._tables.forget_write_counts_before(day)

    def at_least(self, day: str, counts: Mapping[str, int]) -> None:
        if counts:
            self._tables.raise_write_counts(self.channel, day, counts)
