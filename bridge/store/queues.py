"""The store's durable queues: the webhook inbox (verified deliveries, committed before they are
acknowledged) and the outbox (every write, with its idempotency key, until the channel confirmed it).

Part of :class:`bridge.store.Store` (a mixin: every SQL statement on these tables is here).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from bridge.storage import InboxDelivery, OutboxEntry
from bridge.store.base import StoreBase, utcnow
from bridge.store.chunked import KEYS, execute_in

__all__ = ["HELD", "SINGLE_CALL_ACTIONS", "QueueTables"]

HELD = "held: "
"""How ``last_error`` marks a write held back by the channel's budget (:meth:`QueueTables.outbox_hold`)."""
SINGLE_CALL_ACTIONS = ("create_customer", "update_customer")
"""Writes no channel batches: one call each (neither API has a bulk customer write we use)."""


class QueueTables(StoreBase):
    """The inbox of verified deliveries and the outbox of pending writes."""

    def inbox_put(
        self,
        channel: str,
        event_id: str,
        *,
        topic: str,
        resource: str,
        resource_id: str | None,
        body: bytes,
    ) -> bool:
        """Durably record a verified webhook. Returns False if this event id was already received.

        The caller acknowledges the delivery only after this returns: the row is committed.
        """
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO inbox (channel, event_id, topic, resource, resource_id, body, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, event_id) DO NOTHING",
                [channel, event_id, topic, resource, resource_id, body, utcnow()],
            )
            return bool(cursor.rowcount)

    def inbox_pending(self, limit: int = 100) -> list[InboxDelivery]:
        return self._records(
            "SELECT * FROM inbox WHERE processed_at IS NULL ORDER BY received_at LIMIT ?", [limit]
        )

    def inbox_mark_processed_through(self, received_by: str) -> None:
        """Mark processed every pending delivery received by ``received_by`` (a sync that started
        after them has read what they hinted at)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE inbox SET processed_at = ? WHERE processed_at IS NULL AND received_at <= ?",
                [utcnow(), received_by],
            )

    def inbox_mark_processed(self, deliveries: Iterable[tuple[str, str]]) -> None:
        """Mark processed these ``(channel, event id)`` deliveries (the event path recorded their
        effects first)."""
        now = utcnow()
        with self.transaction() as db:
            db.conn.executemany(
                "UPDATE inbox SET processed_at = ? "
                "WHERE channel = ? AND event_id = ? AND processed_at IS NULL",
                [(now, channel, event_id) for channel, event_id in deliveries],
            )

    def outbox_enqueue(self, entries: Iterable[dict[str, Any]]) -> int:
        """Queue writes; an entry whose idempotency key is already queued (or done) is ignored.

        Each entry has ``channel``, ``idempotency_key``, ``action``, ``sku``, ``op`` (JSON-able) and
        ``reason``. Returns how many were new.
        """
        now = utcnow()
        rows = [
            {
                "channel": e["channel"],
                "idempotency_key": e["idempotency_key"],
                "action": e["action"],
                "sku": e.get("sku"),
                "op": json.dumps(e["op"], default=str),
                "reason": e.get("reason", ""),
                "created_at": now,
                "next_attempt_at": now,
                "attempts": 0,
            }
            for e in entries
        ]
        if not rows:
            return 0
        columns = list(rows[0])
        # A write the channel refused for good (or we gave up on) is re-armed when planned again:
        # its deterministic key must not block the same change forever once the cause is fixed.
        sql = (
            f"INSERT INTO outbox ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            "ON CONFLICT (idempotency_key) DO UPDATE SET done_at = NULL, attempts = 0, last_error = NULL, "
            "result = NULL, next_attempt_at = excluded.next_attempt_at, op = excluded.op "
            "WHERE outbox.done_at IS NOT NULL AND outbox.result LIKE '%\"ok\": false%'"
        )
        with self.transaction() as db:
            # executemany's rowcount is the sum of every row's changes: how many were new or re-armed.
            return db.conn.executemany(sql, [[row[c] for c in columns] for row in rows]).rowcount

    def outbox_last_id(self) -> int:
        """The newest entry's id (0 for none): what was queued before a moment, for
        :meth:`outbox_due`'s ``after_id``."""
        row = self.db.execute("SELECT max(id) FROM outbox").fetchone()
        return int(row[0] or 0)

    def outbox_due_count(
        self, channel: str, *, now: str | None = None, after_id: int = 0, through_id: int | None = None
    ) -> int:
        """How many of ``channel``'s entries are due (for progress: what a relay is about to send)."""
        row = self.db.execute(
            "SELECT COUNT(*) FROM outbox WHERE done_at IS NULL AND channel = ? AND next_attempt_at <= ? "
            "AND id > ? AND id <= ?",
            [channel, now or utcnow(), after_id, _through(through_id)],
        ).fetchone()
        return int(row[0])

    def outbox_due(
        self,
        channel: str,
        *,
        now: str | None = None,
        limit: int = 1000,
        after_id: int = 0,
        through_id: int | None = None,
        singles: int | None = None,
    ) -> list[OutboxEntry]:
        """The first ``limit`` due entries of ``channel`` in queue order, only those queued after
        entry ``after_id`` (and up to entry ``through_id``, if given); with ``singles``, cut before
        the entry that would be one more than ``singles`` writes sent a call each
        (:data:`SINGLE_CALL_ACTIONS`): those gain nothing from a long round, and each costs a few
        KB held until its round ends."""
        due = (
            "SELECT * FROM outbox WHERE done_at IS NULL AND channel = ? AND next_attempt_at <= ? "
            "AND id > ? AND id <= ?"
        )
        params: list[Any] = [channel, now or utcnow(), after_id, _through(through_id)]
        if singles is not None:
            marks = ",".join("?" * len(SINGLE_CALL_ACTIONS))
            due = (
                f"SELECT * FROM (SELECT *, sum(action IN ({marks})) OVER (ORDER BY id) AS singles_so_far "
                f"FROM ({due})) WHERE singles_so_far <= ?"
            )
            params = [*SINGLE_CALL_ACTIONS, *params, singles]
        rows = self.db.query(f"{due} ORDER BY id LIMIT ?", [*params, limit])
        return [
            OutboxEntry(
                id=r["id"],
                channel=r["channel"],
                idempotency_key=r["idempotency_key"],
                action=r["action"],
                sku=r["sku"],
                op=json.loads(r["op"]),
                reason=r["reason"] or "",
                attempts=r["attempts"],
            )
            for r in rows
        ]

    def outbox_claim(self, entry_ids: Sequence[int]) -> None:
        """Count an attempt *before* sending: after a crash, ``attempts > 0`` on an entry not done means
        "it may have reached the channel", and the adapter checks before sending it again."""
        with self.transaction() as db:
            execute_in(db.conn, f"UPDATE outbox SET attempts = attempts + 1 WHERE id IN {KEYS}", entry_ids)

    def outbox_stock_in_flight(self) -> set[tuple[str, str, str]]:
        """``(channel, sku, location)`` of stock writes not yet confirmed (queued, or sent with the
        answer lost); location ``""`` for a single-pool channel. A write held by the channel's
        budget (:meth:`outbox_hold`) is not: it never reached the channel, and the SKU's newer
        count must still be planned."""
        found: set[tuple[str, str, str]] = set()
        for channel, sku, op in self.db.execute(
            "SELECT channel, sku, op FROM outbox "
            "WHERE done_at IS NULL AND action IN ('set_stock', 'adjust_stock') "
            "AND coalesce(last_error, '') NOT LIKE ?",
            [HELD + "%"],
        ).fetchall():
            location = (json.loads(op).get("meta") or {}).get("location") or ""
            found.add((channel, sku or "", location))
        return found

    def outbox_stock_settled_since(self, since: str) -> set[tuple[str, str, str]]:
        """``(channel, sku, location)`` of stock writes settled (done, or given up) after ``since``:
        a count read before then may predate the write its baseline holds (location ``""`` for a
        single pool)."""
        found: set[tuple[str, str, str]] = set()
        for channel, sku, op in self.db.execute(
            "SELECT channel, sku, op FROM outbox "
            "WHERE done_at > ? AND action IN ('set_stock', 'adjust_stock')",
            [since],
        ).fetchall():
            location = (json.loads(op).get("meta") or {}).get("location") or ""
            found.add((channel, sku or "", location))
        return found

    def outbox_creates_in_flight(self) -> set[tuple[str, str]]:
        """``(channel, sku)`` of every variant of a product create not done yet (queued, or sent
        with the answer lost)."""
        found: set[tuple[str, str]] = set()
        for channel, op in self.db.execute(
            "SELECT channel, op FROM outbox WHERE done_at IS NULL AND action = 'create'"
        ).fetchall():
            product = (json.loads(op).get("op") or {}).get("product") or {}
            found.update((channel, v["sku"]) for v in product.get("variants") or [] if v.get("sku"))
        return found

    def outbox_skus_settled_since(self, since: str | None) -> set[str]:
        """SKUs whose queued writes finished (done or given up) after ``since`` (all if ``None``)."""
        rows = self.db.execute(
            "SELECT DISTINCT sku FROM outbox WHERE done_at IS NOT NULL AND sku IS NOT NULL AND done_at > ?",
            [since or ""],
        ).fetchall()
        return {r[0] for r in rows}

    def outbox_done(self, entry_id: int, result: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE outbox SET done_at = ?, result = ?, last_error = NULL WHERE id = ?",
                [utcnow(), json.dumps(result, default=str), entry_id],
            )

    def outbox_retry_later(
        self, entry_id: int, error: str, next_attempt_at: str, *, attempted: bool = True
    ) -> None:
        """Send again from ``next_attempt_at``. ``attempted=False``: the write is known not to have
        reached the channel (credentials refused), so the claim's attempt is given back."""
        with self.transaction() as db:
            db.execute(
                "UPDATE outbox SET last_error = ?, next_attempt_at = ?, "
                "attempts = CASE WHEN ? THEN attempts ELSE max(0, attempts - 1) END WHERE id = ?",
                [error, next_attempt_at, attempted, entry_id],
            )

    def outbox_hold(self, entry_id: int, why: str) -> None:
        """The channel's budget held the write back (never sent): kept queued, due at the next
        relay, the claim's attempt given back, and not in flight (see :meth:`outbox_stock_in_flight`)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE outbox SET last_error = ?, next_attempt_at = ?, attempts = max(0, attempts - 1) "
                "WHERE id = ?",
                [HELD + why, utcnow(), entry_id],
            )

    def outbox_failed(self, entry_id: int, error: str) -> None:
        """The channel refused the write for good: keep the row (with its error) for a human, stop sending."""
        with self.transaction() as db:
            db.execute(
                "UPDATE outbox SET last_error = ?, done_at = ?, result = '{\"ok\": false}' WHERE id = ?",
                [error, utcnow(), entry_id],
            )

    def queue_depths(self) -> dict[str, int]:
        """Deliveries not yet processed and writes not yet done (``/readyz``)."""
        inbox, outbox = self.db.execute(
            "SELECT (SELECT count(*) FROM inbox WHERE processed_at IS NULL), "
            "(SELECT count(*) FROM outbox WHERE done_at IS NULL)"
        ).fetchone()
        return {"inbox_pending": int(inbox), "outbox_pending": int(outbox)}


def _through(through_id: int | None) -> int:
    """An id bound for SQL: none is past every id SQLite can give."""
    return 2**63 - 1 if through_id is None else through_id
