"""The mapping store: one SQLite file that is shopbridge's memory and its durable queues.

It holds the agreed catalogue, the links between canonical entities and each channel's ids
(with the channel's version and the hash of what we last wrote, for echo suppression), locations,
the stock ledger, customers, the webhook inbox, the outbox of pending writes, the channels' read
cursors, the engine's marks, conflicts for a human and an audit trail of what was pushed where.

Why it is set up the way it is (see the SQLite notes in the reliability reference):

* WAL journal, ``synchronous=NORMAL``: readers never block the writer, and a committed transaction
  survives a process crash (``kill -9``). Only an OS crash can lose the last transactions, and
  those are re-read from the channels by polling.
* ``isolation_level=None`` and explicit ``BEGIN IMMEDIATE`` for every write transaction: a deferred
  transaction that reads and then writes can fail at once with ``SQLITE_BUSY`` whatever the busy
  timeout; an immediate one waits for the write lock and then cannot fail for locking.
* One writer per process (a lock around :meth:`Store.transaction`), a busy timeout between processes.
* Forward-only migrations (:mod:`bridge.store.migrations`) applied on open, all pending ones inside
  a single immediate transaction, so two processes opening an old file at once migrate it once.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bridge.ledger import LedgerEntry, Observation, Written
from bridge.memory import ChunkRecord, Conflict, Memory, NewLink, StockWritten, Wanted, WriteRecord
from bridge.models import ChannelProduct, StockEvent, StockEventKind, content_hash
from bridge.storage import (
    BaselineRow,
    CatalogueFigures,
    HeldPool,
    InboxDelivery,
    LedgerRow,
    LinkRow,
    OutboxEntry,
    SeenVariant,
    StoreFigures,
)
from bridge.store.chunked import KEYS, as_dicts, by_first, execute_in, in_chunks, rows_in
from bridge.store.migrations import MIGRATIONS, SCHEMA_VERSION
from bridge.unresolved import describe

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "OutboxEntry",
    "SchemaTooNew",
    "Store",
    "utcnow",
]

BUSY_TIMEOUT_SECONDS = 30.0


def utcnow() -> str:
    """Now as an ISO 8601 UTC string: the one time format stored (sorts as text)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


class SchemaTooNew(RuntimeError):
    """The file was migrated by a newer shopbridge; opening it with this one could corrupt it."""


class Store:
    """The open mapping store. Create one per process; it is safe to share between threads."""

    def __init__(self, path: str | Path, *, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=busy_timeout, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        self.db = Database(conn)
        self._lock = threading.RLock()
        self._migrate()

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        known = {m.name for m in MIGRATIONS._migrations}
        with self.transaction():
            applied = {m.name for m in MIGRATIONS.applied(self.db)}
            unknown = applied - known
            if unknown:
                raise SchemaTooNew(
                    f"{self.path} was written by a newer shopbridge (migrations {sorted(unknown)}); "
                    "upgrade shopbridge before opening it"
                )
            MIGRATIONS.apply(self.db)

    @property
    def schema_version(self) -> int:
        return len(MIGRATIONS.applied(self.db))

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """A write transaction (``BEGIN IMMEDIATE``); nested calls become savepoints.

        Never hold one across a network call: the channel may take seconds, and every other
        writer of the file waits that long.
        """
        with self._lock:
            if self.db.conn.in_transaction:
                with self.db.atomic():
                    yield self.db
                return
            self.db.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                if self.db.conn.in_transaction:
                    self.db.conn.execute("ROLLBACK")
                raise
            self.db.conn.execute("COMMIT")

    def _records(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """The rows as dicts by column name: the caller's return type names the record they are
        (a ``TypedDict`` of :mod:`bridge.storage` whose keys are the columns selected)."""
        return list(self.db.query(sql, params))

    def integrity_ok(self) -> bool:
        rows = self.db.execute("PRAGMA integrity_check").fetchall()
        return bool(rows) and rows[0][0] == "ok"

    # -- stock ledger ------------------------------------------------------------------------

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

    # -- outbox ------------------------------------------------------------------------------

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
            total = 0
            for row in rows:
                total += db.execute(sql, [row[c] for c in columns]).rowcount
        return total

    def outbox_due_count(self, channel: str, *, now: str | None = None) -> int:
        """How many of ``channel``'s entries are due (for progress: what a relay is about to send)."""
        row = self.db.execute(
            "SELECT COUNT(*) FROM outbox WHERE done_at IS NULL AND channel = ? AND next_attempt_at <= ?",
            [channel, now or utcnow()],
        ).fetchone()
        return int(row[0])

    def outbox_due(self, channel: str, *, now: str | None = None, limit: int = 1000) -> list[OutboxEntry]:
        rows = self.db.query(
            "SELECT * FROM outbox WHERE done_at IS NULL AND channel = ? AND next_attempt_at <= ? "
            "ORDER BY id LIMIT ?",
            [channel, now or utcnow(), limit],
        )
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
        answer lost); location ``""`` for a single-pool channel."""
        found: set[tuple[str, str, str]] = set()
        for channel, sku, op in self.db.execute(
            "SELECT channel, sku, op FROM outbox "
            "WHERE done_at IS NULL AND action IN ('set_stock', 'adjust_stock')"
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

    def outbox_failed(self, entry_id: int, error: str) -> None:
        """The channel refused the write for good: keep the row (with its error) for a human, stop sending."""
        with self.transaction() as db:
            db.execute(
                "UPDATE outbox SET last_error = ?, done_at = ?, result = '{\"ok\": false}' WHERE id = ?",
                [error, utcnow(), entry_id],
            )

    # -- cursors -----------------------------------------------------------------------------

    def get_cursor(self, channel: str, stream: str) -> str | None:
        row = self.db.execute(
            "SELECT value FROM cursors WHERE channel = ? AND stream = ?", [channel, stream]
        ).fetchone()
        return None if row is None else row[0]

    def set_cursor(self, channel: str, stream: str, value: str | None) -> None:
        now = utcnow()
        with self.transaction() as db:
            db.table("cursors").upsert(
                {
                    "channel": channel,
                    "stream": stream,
                    "value": value,
                    "updated_at": now,
                    "last_success_at": now,
                },
                pk=("channel", "stream"),
            )

    # -- marks -------------------------------------------------------------------------------

    def get_mark(self, name: str) -> str | None:
        """The engine's mark ``name`` (a moment, as text), or None if never set."""
        row = self.db.execute("SELECT value FROM marks WHERE name = ?", [name]).fetchone()
        return None if row is None else row[0]

    def set_mark(self, name: str, value: str) -> None:
        with self.transaction() as db:
            db.table("marks").upsert({"name": name, "value": value, "updated_at": utcnow()}, pk="name")

    # -- links -------------------------------------------------------------------------------

    def upsert_links(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Create or update links (``entity``, ``canonical_key``, ``channel``, ``channel_id``, ...)."""
        now = utcnow()
        data = [{**r, "updated_at": now} for r in rows]
        if not data:
            return
        with self.transaction() as db:
            db.table("links").upsert_all(data, pk=("entity", "canonical_key", "channel"), batch_size=500)

    def forget_written(self, keys: Iterable[tuple[str, str]]) -> None:
        """Drop the echo hash and channel version of these ``(sku, channel)`` variant links (they now point
        at another object than the one those described)."""
        sql = (
            "UPDATE links SET last_written_hash = NULL, channel_version = NULL "
            f"WHERE entity = 'variant' AND channel = ? AND canonical_key IN {KEYS}"
        )
        with self.transaction() as db:
            for channel, skus in by_first((channel, sku) for sku, channel in keys).items():
                execute_in(db.conn, sql, skus, before=[channel])

    def links(self, entity: str, channel: str | None = None) -> list[LinkRow]:
        if channel is None:
            return self._records("SELECT * FROM links WHERE entity = ?", [entity])
        return self._records("SELECT * FROM links WHERE entity = ? AND channel = ?", [entity, channel])

    def links_by_key(self, entity: str, canonical_keys: Iterable[str]) -> list[LinkRow]:
        """The links of these canonical entities, every channel."""
        sql = f"SELECT * FROM links WHERE entity = ? AND canonical_key IN {KEYS}"
        rows: list[Any] = as_dicts(in_chunks(self.db.conn, sql, canonical_keys, before=[entity]))
        return rows  # dicts by column name: the links table's columns are LinkRow's keys

    def links_of_groups(self, entity: str, members: Iterable[tuple[str, str]]) -> list[LinkRow]:
        """Every link of the canonical entities that any of ``members`` ``(channel, channel_id)``
        is linked to (their other channels' links included, even to variants gone since)."""
        sql = f"SELECT canonical_key FROM links WHERE channel = ? AND entity = ? AND channel_id IN {KEYS}"
        keys = [
            r[0]
            for channel, ids in by_first(members).items()
            for r in rows_in(self.db.conn, sql, ids, before=[channel, entity])
        ]
        return self.links_by_key(entity, keys)

    def delete_link(self, entity: str, canonical_key: str, channel: str) -> bool:
        """Forget a link (``shopbridge unlink``): the channel's product itself is untouched."""
        with self.transaction() as db:
            cursor = db.execute(
                "DELETE FROM links WHERE entity = ? AND canonical_key = ? AND channel = ?",
                [entity, canonical_key, channel],
            )
            return bool(cursor.rowcount)

    def variant_links_in_way(self, sku: str, channel: str, channel_id: str) -> list[LinkRow]:
        """The links a hand link of ``sku`` to ``channel``'s variant ``channel_id`` would replace:
        ``sku``'s link on ``channel`` to another variant, and that variant's link to another SKU."""
        return self._records(
            "SELECT * FROM links WHERE entity = 'variant' AND channel = ? "
            "AND ((canonical_key = ? AND channel_id != ?) OR (channel_id = ? AND canonical_key != ?)) "
            "ORDER BY canonical_key",
            [channel, sku, channel_id, channel_id, sku],
        )

    def link_variant_by_hand(
        self, sku: str, channel: str, channel_id: str, parent_id: str | None
    ) -> list[LinkRow]:
        """Link ``sku`` to ``channel``'s variant ``channel_id`` (``shopbridge link``), replacing the
        links in its way (:meth:`variant_links_in_way`), which are returned; all in one transaction.

        The link starts afresh (no version or written hash of another variant), and the stock last
        written on ``channel`` for each SKU whose variant there changes is forgotten: it was another
        variant's count, and the new one's would be taken for a manual change."""
        with self.transaction() as db:
            displaced = self.variant_links_in_way(sku, channel, channel_id)
            db.execute(
                "DELETE FROM links WHERE entity = 'variant' AND channel = ? "
                "AND (canonical_key = ? OR channel_id = ?)",
                [channel, sku, channel_id],
            )
            db.table("links").insert(
                {
                    "entity": "variant",
                    "canonical_key": sku,
                    "channel": channel,
                    "channel_id": channel_id,
                    "parent_id": parent_id,
                    "updated_at": utcnow(),
                }
            )
            self.forget_baselines(channel, [sku, *(r["canonical_key"] for r in displaced)])
        return displaced

    def forget_baselines(self, channel: str, skus: Iterable[str]) -> None:
        """Forget the stock last written (or counted) on ``channel`` for ``skus``: the next count
        there becomes the baseline instead of being judged against it."""
        sql = f"DELETE FROM baselines WHERE channel = ? AND sku IN {KEYS}"
        with self.transaction() as db:
            execute_in(db.conn, sql, skus, before=[channel])

    def forget_catalog_cursors(self) -> None:
        """Drop every channel's catalogue cursor, so that the next sync reads the catalogues in full
        (after a link changed by hand, which an incremental read would not revisit). The stock-event
        cursors are kept (no event is read twice)."""
        with self.transaction() as db:
            db.execute("DELETE FROM cursors WHERE stream = 'catalog'")

    # -- what each channel held when last read (table channel_variants) ------------------------

    def save_last_read(self, channel: str, products: Iterable[ChannelProduct]) -> int:
        """Remember what ``channel`` holds for these products (replacing their previous rows)."""
        now = utcnow()
        rows: list[dict[str, Any]] = []
        product_ids: list[str] = []
        for product in products:
            product_ids.append(product.channel_id)
            data = product.model_dump_json()
            for variant in product.variants:
                rows.append(
                    {
                        "channel": channel,
                        "variant_id": variant.channel_id,
                        "product_id": product.channel_id,
                        "sku": variant.sku,
                        "gtin": variant.gtin,
                        "hash": content_hash(
                            variant.model_dump(mode="json", exclude={"modified_at", "version", "counted_at"})
                        ),
                        "product": data,
                        "read_at": now,
                    }
                )
        with self.transaction() as db:
            sql = f"DELETE FROM channel_variants WHERE channel = ? AND product_id IN {KEYS}"
            execute_in(db.conn, sql, product_ids, before=[channel])
            db.table("channel_variants").insert_all(rows, replace=True, batch_size=500)
        return len(rows)

    def last_read(self, channel: str, variant_ids: Iterable[str] | None = None) -> list[ChannelProduct]:
        """The products last read from ``channel`` (only those holding one of ``variant_ids`` if given)."""
        if variant_ids is None:
            rows = self.db.execute(
                "SELECT product_id, product FROM channel_variants WHERE channel = ? GROUP BY product_id",
                [channel],
            ).fetchall()
        else:
            sql = (
                "SELECT product_id, product FROM channel_variants "
                f"WHERE channel = ? AND variant_id IN {KEYS} GROUP BY product_id"
            )
            rows = rows_in(self.db.conn, sql, variant_ids, before=[channel])
        unique = {r[0]: r[1] for r in rows}
        return [ChannelProduct.model_validate_json(data) for data in unique.values()]

    def forget_last_read(self, variants: Iterable[tuple[str, str]]) -> None:
        """Forget the last-read state of these ``(channel, variant id)`` (gone from the channel)."""
        sql = f"DELETE FROM channel_variants WHERE channel = ? AND variant_id IN {KEYS}"
        with self.transaction() as db:
            for channel, variant_ids in by_first(variants).items():
                execute_in(db.conn, sql, variant_ids, before=[channel])

    def last_read_with_skus(self, skus: Iterable[str]) -> dict[str, list[ChannelProduct]]:
        """Channel -> the products last read holding one of ``skus``, linked or not (a SKU used twice
        in a channel links neither variant, yet both must be seen whenever that SKU is planned)."""
        rows = rows_in(
            self.db.conn,
            f"SELECT channel, product_id, product FROM channel_variants WHERE sku IN {KEYS} "
            "GROUP BY channel, product_id",
            skus,
        )
        out: dict[str, list[ChannelProduct]] = {}
        for channel, _, data in {(r[0], r[1]): r for r in rows}.values():
            out.setdefault(channel, []).append(ChannelProduct.model_validate_json(data))
        return out

    def last_read_at(self, channel: str) -> str | None:
        """When a product of ``channel`` was last read (``None``: never read)."""
        row = self.db.execute(
            "SELECT max(read_at) FROM channel_variants WHERE channel = ?", [channel]
        ).fetchone()
        return None if row is None else row[0]

    def last_read_variants(
        self, channel: str, *, variant_id: str | None = None, product_id: str | None = None
    ) -> list[SeenVariant]:
        """``variant_id``, ``product_id``, ``sku`` and ``read_at`` of the variants in ``channel``'s
        last read with this variant id or this product id (ordered by variant id)."""
        rows = self.db.execute(
            "SELECT variant_id, product_id, sku, read_at FROM channel_variants WHERE channel = ? "
            "AND (variant_id = ? OR product_id = ?) ORDER BY variant_id",
            [channel, variant_id, product_id],
        )
        return [SeenVariant(*row) for row in rows]

    def save_catalogue(self, entries: Iterable[tuple[str, str, Mapping[str, Any]]]) -> None:
        """Record the agreed catalogue: ``(owner product ref, sku, fields)`` with the fields'
        ``name``, ``description``, ``status``, ``gtin`` and ``price`` (``"12.5 USD"``)."""
        rows = list(entries)
        if not rows:
            return
        now = utcnow()
        with self.transaction() as db:
            ids: dict[str, int] = {}
            for ref, _, fields in rows:
                ids[ref] = db.execute(
                    "INSERT INTO products (owner_ref, name, description, status, updated_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (owner_ref) DO UPDATE SET name = excluded.name, "
                    "description = excluded.description, status = excluded.status, "
                    "updated_at = excluded.updated_at RETURNING id",
                    [
                        ref,
                        fields.get("name"),
                        fields.get("description"),
                        fields.get("status") or "active",
                        now,
                    ],
                ).fetchone()[0]
            variants = []
            for ref, sku, fields in rows:
                amount, _, currency = (fields.get("price") or "").partition(" ")
                variants.append(
                    {
                        "sku": sku,
                        "product_id": ids[ref],
                        "gtin": fields.get("gtin"),
                        "name": fields.get("name"),
                        "price": amount or None,
                        "currency": currency or None,
                        "status": fields.get("status") or "active",
                        "updated_at": now,
                    }
                )
            db.table("variants").upsert_all(variants, pk="sku", batch_size=500)

    def agreed_catalogue(self, skus: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """The agreed catalogue fields per SKU (all SKUs, or only ``skus``)."""
        return {
            r[0]: json.loads(r[1])
            for r in self._rows_for("SELECT sku, data FROM agreed_catalogue", "sku", skus)
        }

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

    def baselines(self, skus: Iterable[str] | None = None) -> list[BaselineRow]:
        """The baselines per ``(channel, sku, location)`` (location ``""`` for a single pool): what
        we last wrote or read there, and when the channel held it."""
        rows = self._rows_for("SELECT channel, sku, location, quantity, held_at FROM baselines", "sku", skus)
        return [BaselineRow(channel=r[0], sku=r[1], location=r[2], quantity=r[3], held_at=r[4]) for r in rows]

    def _rows_for(self, sql: str, column: str, values: Iterable[str] | None) -> list[tuple[Any, ...]]:
        if values is None:
            return [tuple(r) for r in self.db.execute(sql).fetchall()]
        return rows_in(self.db.conn, f"{sql} WHERE {column} IN {KEYS}", values)

    # -- stock events not yet in the ledger ---------------------------------------------------

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

    # -- conflicts and audit -----------------------------------------------------------------

    def add_conflict(
        self, *, channel: str, entity: str, canonical_key: str, field: str, ours: str, theirs: str
    ) -> None:
        with self.transaction() as db:
            db.table("conflicts").insert(
                {
                    "channel": channel,
                    "entity": entity,
                    "canonical_key": canonical_key,
                    "field": field,
                    "ours": ours,
                    "theirs": theirs,
                    "detected_at": utcnow(),
                }
            )

    def held_pools(self) -> list[HeldPool]:
        """Stock pools held for a human (see ``bridge.pools``): open ``stock_pool`` conflicts, with
        ``channel``, ``product_id``, ``skus``, ``expected``, ``shown`` and ``since``."""
        out: list[HeldPool] = []
        for r in self.db.query(
            "SELECT channel, canonical_key, ours, theirs, detected_at FROM conflicts "
            "WHERE entity = 'stock_pool' AND resolved_at IS NULL ORDER BY channel, canonical_key"
        ):
            ours = json.loads(r["ours"])
            out.append(
                HeldPool(
                    channel=r["channel"],
                    product_id=r["canonical_key"],
                    skus=ours["skus"],
                    expected=ours["expected"],
                    shown=json.loads(r["theirs"]),
                    since=r["detected_at"],
                )
            )
        return out

    def record_pool_holds(
        self, held: Iterable[tuple[str, str, list[str], int, int]], settled: Iterable[tuple[str, str]]
    ) -> None:
        """Keep a hold per ``(channel, product id, skus, expected, shown)``: the open one is updated
        while the difference is the same (sales move both numbers), replaced when it is another;
        the holds of the ``settled`` ``(channel, product id)`` are closed."""
        now = utcnow()
        close = (
            "UPDATE conflicts SET resolved_at = ? WHERE entity = 'stock_pool' AND resolved_at IS NULL "
            "AND channel = ? AND canonical_key = ?"
        )
        with self.transaction() as db:
            for channel, product_id in settled:
                db.execute(close, [now, channel, product_id])
            for channel, product_id, skus, expected, shown in held:
                ours = json.dumps({"expected": expected, "skus": skus})
                row = db.execute(
                    "SELECT id, ours, theirs FROM conflicts WHERE entity = 'stock_pool' "
                    "AND resolved_at IS NULL AND channel = ? AND canonical_key = ?",
                    [channel, product_id],
                ).fetchone()
                if (
                    row is not None
                    and json.loads(row[2]) - json.loads(row[1])["expected"] == shown - expected
                ):
                    db.execute(
                        "UPDATE conflicts SET ours = ?, theirs = ? WHERE id = ?",
                        [ours, json.dumps(shown), row[0]],
                    )
                    continue
                db.execute(close, [now, channel, product_id])
                self.add_conflict(
                    channel=channel,
                    entity="stock_pool",
                    canonical_key=product_id,
                    field="stock",
                    ours=ours,
                    theirs=json.dumps(shown),
                )

    def audit(self, channel: str, action: str, key: str, detail: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.table("audit").insert(
                {
                    "at": utcnow(),
                    "channel": channel,
                    "action": action,
                    "key": key,
                    "detail": json.dumps(detail, default=str),
                }
            )

    # -- figures -----------------------------------------------------------------------------

    def queue_depths(self) -> dict[str, int]:
        """Deliveries not yet processed and writes not yet done (``/readyz``)."""
        inbox, outbox = self.db.execute(
            "SELECT (SELECT count(*) FROM inbox WHERE processed_at IS NULL), "
            "(SELECT count(*) FROM outbox WHERE done_at IS NULL)"
        ).fetchone()
        return {"inbox_pending": int(inbox), "outbox_pending": int(outbox)}

    def catalogue_figures(self) -> CatalogueFigures:
        """The agreed catalogue's products and variants (the ``products`` and ``variants`` tables
        that every sync's commit keeps, grouped by the owning channel's products)."""
        products, variants, archived = self.db.execute(
            "SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM variants), "
            "(SELECT count(*) FROM variants WHERE status = 'archived')"
        ).fetchone()
        return CatalogueFigures(products=products, variants=variants, archived_variants=archived)

    def figures(self) -> StoreFigures:
        """What ``shopbridge status`` reports: links per channel, queue depths, last successful polls,
        stock moves kept until they can be placed."""

        def scalar(sql: str) -> int:
            return int(self.db.execute(sql).fetchone()[0])

        linked: dict[str, dict[str, int]] = {}
        for entity, channel, count in self.db.execute(
            "SELECT entity, channel, count(*) FROM links GROUP BY entity, channel"
        ).fetchall():
            linked.setdefault(channel, {})[entity] = count
        polls = {
            f"{r['channel']}:{r['stream']}": r["last_success_at"]
            for r in self.db.query("SELECT channel, stream, last_success_at FROM cursors ORDER BY channel")
        }
        depths = self.queue_depths()
        return {
            "schema_version": self.schema_version,
            # The SKUs linked on at least one channel: what each channel's "linked" count is out of.
            "variants": scalar("SELECT count(DISTINCT canonical_key) FROM links WHERE entity = 'variant'"),
            "catalogue": self.catalogue_figures(),
            "customers": scalar("SELECT count(*) FROM customers"),
            "linked": linked,
            "stock_events": scalar("SELECT count(*) FROM stock_events"),
            "inbox_pending": depths["inbox_pending"],
            "outbox_pending": depths["outbox_pending"],
            "outbox_failed": scalar(
                "SELECT count(*) FROM outbox WHERE done_at IS NOT NULL AND result LIKE '%\"ok\": false%'"
            ),
            "open_conflicts": scalar("SELECT count(*) FROM conflicts WHERE resolved_at IS NULL"),
            "unresolved_count": scalar("SELECT count(*) FROM unresolved_events WHERE resolved_at IS NULL"),
            "unresolved": self.open_unresolved(),
            "stock_pools_held": self.held_pools(),
            "last_poll": polls,
        }

    # ==========================================================================================
    # The engine's side of the store (types in bridge.memory): what it remembers about a chunk's
    # SKUs in one call, what a chunk decided recorded in one transaction, a confirmed write's
    # result in one call. Added whole by the engine restructuring (issue 11); keep it together.
    # ==========================================================================================

    def memory(self, wanted: Wanted) -> Memory:
        """What the store remembers about ``wanted`` (see :class:`bridge.memory.Memory`)."""
        skus = sorted(wanted.skus)
        baselines: dict[tuple[str, str, str | None], Written] = {}
        for row in self.baselines([*skus, *sorted(wanted.pool_keys)]):
            location = row.location or None
            baselines[(row.channel, row.sku, location)] = Written(
                row.channel, row.sku, location, row.quantity, Store.parse_time(row.held_at)
            )
        return Memory(
            ledger=[Store.ledger_entry(r) for r in self.ledger_rows(skus)],
            baselines=baselines,
            catalogue=self.agreed_catalogue(skus),
            echo_hashes={
                (r["channel"], r["canonical_key"]): r["last_written_hash"]
                for r in self.links_by_key("variant", skus)
                if r["last_written_hash"]
            },
            kept=self.held_unresolved(sorted(wanted.members), skus),
            creating=frozenset(self.outbox_creates_in_flight()),
        )

    def record_chunk(self, record: ChunkRecord) -> tuple[int, int]:
        """Record one chunk of a sync in one transaction: (writes queued, stock moves newly kept
        out of the ledger). The cursors are set last, with everything they move past."""
        now = utcnow()
        with self.transaction() as db:
            self.set_mark(record.planned_mark, now)
            for name, products in record.last_read.items():
                self.save_last_read(name, products)
            self.forget_last_read(record.vanished)
            self._record_links(record.links)
            db.table("locations").upsert_all(
                [{"key": key, "name": key, "active": 1} for key in record.locations], pk="key"
            )
            self.record_stock_events(record.entries)
            kept = self.hold_unresolved(record.unresolved)
            self.release_unresolved(record.released)
            self.save_catalogue(record.catalogue)
            db.table("agreed_catalogue").upsert_all(
                [
                    {"sku": sku, "data": json.dumps(data, sort_keys=True, default=str), "updated_at": now}
                    for sku, data in record.agreed.items()
                ],
                pk="sku",
            )
            self._record_baselines(record.baselines)
            if record.synced_mark is not None:
                self.set_mark(record.synced_mark, now)
            for channel, stream, value in record.cursors:
                self.set_cursor(channel, stream, value)
            self._record_pools(record)
            for conflict in record.conflicts:
                self._record_conflict(conflict)
            queued = self.outbox_enqueue(record.outbox)
            for channel, sku, digest in record.echo_hashes:
                db.execute(
                    "UPDATE links SET last_written_hash = ? WHERE entity = 'variant' "
                    "AND canonical_key = ? AND channel = ?",
                    [digest, sku, channel],
                )
        return queued, kept

    def record_write(self, record: WriteRecord) -> None:
        """Remember what a write the channel confirmed did: new links (a create), the hash of what
        it wrote with the channel's new version, the counts it left (the next baselines)."""
        now = utcnow()
        with self.transaction() as db:
            if record.op == "create_product":
                self._record_stock_written(record.channel, record.stock, now)
                self.upsert_links(
                    {
                        "entity": "variant",
                        "canonical_key": link.sku,
                        "channel": link.channel,
                        "channel_id": link.variant_id,
                        "parent_id": link.product_id,
                    }
                    for link in record.created
                )
                return
            if record.sku and record.written_hash:
                db.execute(
                    "UPDATE links SET last_written_hash = ?, channel_version = coalesce(?, channel_version) "
                    "WHERE entity = 'variant' AND canonical_key = ? AND channel = ?",
                    [record.written_hash, record.channel_version, record.sku, record.channel],
                )
            self._record_stock_written(record.channel, record.stock, now)
            self.audit(
                record.channel,
                record.op,
                record.sku or "",
                {"key": record.key, "version": record.channel_version},
            )

    def _record_stock_written(self, channel: str, stock: Iterable[StockWritten], now: str) -> None:
        for written in stock:
            self.db.table("baselines").upsert(
                {
                    "channel": channel,
                    "sku": written.sku,
                    "location": written.location,
                    "quantity": written.quantity,
                    "held_at": written.at or now,
                },
                pk=("channel", "sku", "location"),
            )

    def _record_links(self, links: Sequence[NewLink]) -> None:
        """The links not recorded yet, and those that followed their SKU to another object (what
        we wrote to the old one is moot)."""
        known = {
            (r["canonical_key"], r["channel"]): r["channel_id"]
            for r in self.links_by_key("variant", list(dict.fromkeys(link.sku for link in links)))
        }
        self.upsert_links(
            {
                "entity": "variant",
                "canonical_key": link.sku,
                "channel": link.channel,
                "channel_id": link.variant_id,
                "parent_id": link.product_id,
            }
            for link in links
            if known.get((link.sku, link.channel)) != link.variant_id
        )
        self.forget_written(
            (link.sku, link.channel)
            for link in links
            if known.get((link.sku, link.channel), link.variant_id) != link.variant_id
        )

    def _record_baselines(self, baselines: Iterable[Observation]) -> None:
        """Every count read becomes its channel's baseline for spotting the next manual change."""
        self.db.table("baselines").upsert_all(
            [
                {
                    "channel": o.channel,
                    "sku": o.sku,
                    "location": o.location or "",
                    "quantity": o.quantity,
                    "held_at": o.observed_at.isoformat(timespec="microseconds"),
                }
                for o in baselines
                if o.quantity is not None
            ],
            pk=("channel", "sku", "location"),
        )

    def _record_pools(self, record: ChunkRecord) -> None:
        """Holds of pools judged different; those of pools that agree again, or of products read
        without a pool any more, are closed."""
        open_ = {(h["channel"], h["product_id"]) for h in self.held_pools()}
        self.record_pool_holds(record.pools_held, sorted((open_ & record.products_read) - record.pools_kept))

    def _record_conflict(self, conflict: Conflict) -> None:
        """A conflict, unless the same one (same field, same value on the channel) is open."""
        theirs = json.dumps(conflict.theirs, sort_keys=True, default=str)
        exists = self.db.execute(
            "SELECT 1 FROM conflicts WHERE channel = ? AND canonical_key = ? AND field = ? AND theirs = ? "
            "AND resolved_at IS NULL",
            [conflict.channel, conflict.sku, conflict.field, theirs],
        ).fetchone()
        if not exists:
            self.add_conflict(
                channel=conflict.channel,
                entity="variant",
                canonical_key=conflict.sku,
                field=conflict.field,
                ours=json.dumps(conflict.ours, sort_keys=True, default=str),
                theirs=theirs,
            )

    @staticmethod
    def parse_time(text: str | None) -> datetime:
        """A stored moment (ISO text; naive means UTC; empty means the epoch)."""
        if not text:
            return datetime(1970, 1, 1, tzinfo=UTC)
        value = datetime.fromisoformat(text)
        return value if value.tzinfo else value.replace(tzinfo=UTC)

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
            occurred_at=Store.parse_time(row["occurred_at"]),
            reason=row["reason"] or "",
        )
