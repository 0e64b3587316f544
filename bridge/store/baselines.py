"""The store's baselines: per channel, SKU and location, the count we last wrote or read there
and when the channel held it; the next count is judged against it (a manual change, or not).

Part of :class:`bridge.store.Store` (a mixin: every SQL statement on this table is here).
"""

from __future__ import annotations

from collections.abc import Iterable

from bridge.ledger import Observation
from bridge.memory import StockWritten
from bridge.storage import BaselineRow
from bridge.store.base import StoreBase, upsert_sql
from bridge.store.chunked import KEYS, execute_in

__all__ = ["BaselineTables"]

_BASELINE_KEY = ("channel", "sku", "location")


class BaselineTables(StoreBase):
    """What each channel should show, as last written or read."""

    def baselines(self, skus: Iterable[str] | None = None) -> list[BaselineRow]:
        """The baselines per ``(channel, sku, location)`` (location ``""`` for a single pool): what
        we last wrote or read there, and when the channel held it."""
        rows = self._rows_for("SELECT channel, sku, location, quantity, held_at FROM baselines", "sku", skus)
        return [BaselineRow(channel=r[0], sku=r[1], location=r[2], quantity=r[3], held_at=r[4]) for r in rows]

    def forget_baselines(self, channel: str, skus: Iterable[str]) -> None:
        """Forget the stock last written (or counted) on ``channel`` for ``skus``: the next count
        there becomes the baseline instead of being judged against it."""
        sql = f"DELETE FROM baselines WHERE channel = ? AND sku IN {KEYS}"
        with self.transaction() as db:
            execute_in(db.conn, sql, skus, before=[channel])

    def _record_baselines(self, baselines: Iterable[Observation]) -> None:
        """Every count read becomes its channel's baseline for spotting the next manual change."""
        self.db.conn.executemany(
            upsert_sql("baselines", ("channel", "sku", "location", "quantity", "held_at"), _BASELINE_KEY),
            [
                (
                    o.channel,
                    o.sku,
                    o.location or "",
                    o.quantity,
                    o.observed_at.isoformat(timespec="microseconds"),
                )
                for o in baselines
                if o.quantity is not None
            ],
        )

    def _record_stock_written(self, channel: str, stock: Iterable[StockWritten], now: str) -> None:
        # Plain SQL, not sqlite-utils' per-row upsert (which inspects the table on every call): the
        # relay records one of these per stock write, 10,000 on a first sync.
        self.db.conn.executemany(
            "INSERT INTO baselines (channel, sku, location, quantity, held_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (channel, sku, location) DO UPDATE SET quantity = excluded.quantity, "
            "held_at = excluded.held_at",
            [(channel, w.sku, w.location, w.quantity, w.at or now) for w in stock],
        )
