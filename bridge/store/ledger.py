"""The store's stock ledger: events by unique source id, and the events kept out of it until they
can be placed (``stock_events``, ``unresolved_events``).

Part of :class:`bridge.store.Store` (a mixin: every SQL statement on these tables is here).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bridge.ledger import LedgerEntry
from bridge.models import StockEvent, StockEventKind
from bridge.storage import LedgerRow
from bridge.store.base import StoreBase, parse_time, utcnow
from bridge.store.chunked import KEYS, execute_in, rows_in
from bridge.unresolved import describe

__all__ = ["LedgerTables"]


class LedgerTables(StoreBase):
    """The stock ledger and the stock events waiting to be placed in it."""

    def record_stock_events(self, entries: Iterable[LedgerEntry]) -> int:
        """Append ledger entries; returns how many were new.

        The source id is the primary key, so an event read twice is ignored: replay adds nothing.
        """
        now = utcnow()
        rows = [
            {
                "source_id": e.source_id,
                "channel": e.channel,
                "kind": e.kind.value,
                "sku": e.sku,
                "location": e.location,
                "delta": e.delta,
                "occurred_at": e.occurred_at.isoformat(),
                "recorded_at": now,
                "reason": e.reason,
            }
            for e in entries
        ]
        if not rows:
            return 0
        with self.transaction() as db:
            before = db.conn.total_changes  # rows inserted, not ignored: no scan of the ledger
            db.table("stock_events").insert_all(rows, ignore=True, batch_size=500)
            return int(db.conn.total_changes - before)

    def on_hand(self, skus: Sequence[str] | None = None) -> dict[tuple[str, str], int]:
        """The ledger summed per ``(sku, location)`` as stored. Online sales under the ``priority``
        rule are stored at location ``"*"`` and placed only by :func:`bridge.ledger.place` (which
        the sync uses): per-location stock under that rule comes from there, not from here."""
        sql = "SELECT sku, location, sum(delta) FROM stock_events"
        if skus is None:
            rows = [tuple(r) for r in self.db.execute(f"{sql} GROUP BY sku, location").fetchall()]
        else:
            rows = rows_in(self.db.conn, f"{sql} WHERE sku IN {KEYS} GROUP BY sku, location", skus)
        return {(r[0], r[1]): int(r[2]) for r in rows}

    def ledger_rows(self, skus: Iterable[str] | None = None) -> list[LedgerRow]:
        """Ledger rows (all, or for ``skus``), oldest first."""
        rows = self._rows_for(
            "SELECT source_id, channel, kind, sku, location, delta, occurred_at, reason FROM stock_events",
            "sku",
            skus,
        )
        out = [
            LedgerRow(
                source_id=r[0],
                channel=r[1],
                kind=r[2],
                sku=r[3],
                location=r[4],
                delta=r[5],
                occurred_at=r[6],
                reason=r[7],
            )
            for r in rows
        ]
        out.sort(key=lambda r: (r["occurred_at"] or "", r["source_id"]))
        return out

    @staticmethod
    def ledger_entry(row: Mapping[str, Any]) -> LedgerEntry:
        """A ``stock_events`` row as the engine's :class:`LedgerEntry`."""
        return LedgerEntry(
            source_id=row["source_id"],
            channel=row["channel"],
            kind=StockEventKind(row["kind"]),
            sku=row["sku"],
            location=row["location"],
            delta=row["delta"],
            occurred_at=parse_time(row["occurred_at"]),
            reason=row["reason"] or "",
        )

    def hold_unresolved(self, held: Iterable[tuple[StockEvent, str]]) -> int:
        """Keep events that could not be placed (with why), one row per source id: its latest
        reading (an order line read again while still unplaceable replaces what was kept; one whose
        effect is now nothing, a cancelled order, leaves nothing to count). Returns how many are new."""
        latest = {ev.source_id: (ev, why) for ev, why in held}
        if not latest:
            return 0
        now = utcnow()
        with self.transaction() as db:
            known = {
                r[0]
                for r in self._rows_for("SELECT source_id FROM unresolved_events", "source_id", list(latest))
            }
            rows = [
                (
                    sid,
                    ev.channel,
                    ev.variant_id,
                    ev.sku,
                    ev.model_dump_json(),
                    why,
                    now,
                    now if ev.delta == 0 else None,
                )
                for sid, (ev, why) in latest.items()
                if ev.delta != 0 or sid in known
            ]
            db.conn.executemany(
                "INSERT INTO unresolved_events "
                "(source_id, channel, variant_id, sku, event, why, first_seen_at, resolved_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(source_id) DO UPDATE SET "
                "event = excluded.event, why = excluded.why, resolved_at = excluded.resolved_at",
                rows,
            )
            return sum(1 for row in rows if row[0] not in known)

    def held_unresolved(self, members: Iterable[tuple[str, str]], skus: Iterable[str]) -> list[StockEvent]:
        """The kept events of these ``(channel, variant id)`` or SKUs, still waiting."""
        if not self.db.execute(
            "SELECT 1 FROM unresolved_events WHERE resolved_at IS NULL LIMIT 1"
        ).fetchone():
            return []  # the usual case: nothing waits, and no chunk pays for a lookup
        rows = self.db.execute(
            "SELECT event FROM unresolved_events WHERE resolved_at IS NULL AND ("
            "sku IN (SELECT value FROM json_each(?)) "
            "OR json_array(channel, variant_id) IN (SELECT value FROM json_each(?)))",
            [
                json.dumps(sorted(set(skus))),
                json.dumps(
                    [json.dumps([c, v], separators=(",", ":"), ensure_ascii=False) for c, v in members]
                ),
            ],
        ).fetchall()
        return [StockEvent.model_validate_json(r[0]) for r in rows]

    def release_unresolved(self, source_ids: Iterable[str]) -> None:
        """Mark kept events as accounted for (in the ledger now, or already in an initial count)."""
        ids = list(dict.fromkeys(source_ids))
        if not ids:
            return
        sql = (
            f"UPDATE unresolved_events SET resolved_at = ? WHERE resolved_at IS NULL AND source_id IN {KEYS}"
        )
        with self.transaction() as db:
            execute_in(db.conn, sql, ids, before=[utcnow()])

    def open_unresolved(self, limit: int = 100) -> list[dict[str, Any]]:
        """The events still waiting, oldest first (for ``shopbridge status``)."""
        return [
            describe(StockEvent.model_validate_json(r["event"]), r["why"])
            | {"first_seen_at": r["first_seen_at"]}
            for r in self.db.query(
                "SELECT event, why, first_seen_at FROM unresolved_events WHERE resolved_at IS NULL "
                "ORDER BY first_seen_at, source_id LIMIT ?",
                [limit],
            )
        ]
