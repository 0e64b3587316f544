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
import os
import sqlite3
import threading
from pathlib import Path

from sqlite_utils import Database

from bridge.ledger import Written
from bridge.memory import ChunkRecord, Memory, Wanted, WriteRecord
from bridge.storage import OutboxEntry, StoreFigures
from bridge.store.base import parse_time, upsert_sql, utcnow
from bridge.store.catalogue import CatalogueTables
from bridge.store.conflicts import ConflictTables
from bridge.store.cursors import CursorTables
from bridge.store.customers import CustomerStore
from bridge.store.ended_listings import EndedListingTables
from bridge.store.flow import FlowFigures, flow_figures
from bridge.store.ledger import LedgerTables
from bridge.store.links import LinkTables
from bridge.store.migrations import MIGRATIONS, SCHEMA_VERSION
from bridge.store.queues import QueueTables
from bridge.store.write_counts import WriteCountTables

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "OutboxEntry",
    "SchemaTooNew",
    "Store",
    "utcnow",
]

BUSY_TIMEOUT_SECONDS = 30.0


def _private(path: Path) -> None:
    """The store file readable by its owner only (0600): it holds customers' personal data. SQLite
    gives its ``-wal`` and ``-shm`` files the same mode. An existing file is changed by path, never
    opened: closing any descriptor of a file drops every POSIX lock this process holds on it, so
    opening a second Store in a process where one is open would drop the first one's locks (and
    another process closing the file would then take itself for the last and delete the WAL)."""
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)


class SchemaTooNew(RuntimeError):
    """The file was migrated by a newer shopbridge; opening it with this one could corrupt it."""


class Store(
    LedgerTables,
    QueueTables,
    CursorTables,
    LinkTables,
    CatalogueTables,
    ConflictTables,
    WriteCountTables,
    EndedListingTables,
):
    """The open mapping store. Create one per process; it is safe to share between threads.

    Its methods are those of its parts, one module per concern, each owning its tables' SQL:
    :mod:`~bridge.store.ledger`, :mod:`~bridge.store.queues`, :mod:`~bridge.store.cursors`,
    :mod:`~bridge.store.baselines`, :mod:`~bridge.store.links`, :mod:`~bridge.store.catalogue`,
    :mod:`~bridge.store.conflicts`. Here: opening and migrating the file, the figures ``status``
    reports, and the engine's three calls, which span every part."""

    def __init__(self, path: str | Path, *, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _private(self.path)
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=busy_timeout, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        self.db = Database(conn)
        self._lock = threading.RLock()
        self._migrate()

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
    def customers(self) -> CustomerStore:
        """The customer tables (:mod:`bridge.store.customers`)."""
        return CustomerStore(self)

    @property
    def schema_version(self) -> int:
        return len(MIGRATIONS.applied(self.db))

    def integrity_ok(self) -> bool:
        rows = self.db.execute("PRAGMA integrity_check").fetchall()
        return bool(rows) and rows[0][0] == "ok"

    # -- figures -----------------------------------------------------------------------------

    def flow_figures(self) -> FlowFigures:
        """Per channel: events processed, writes by outcome, queue depths, propagation times
        (:mod:`bridge.store.flow`): what ``status`` shows and ``/metrics`` exports."""
        return flow_figures(self.db.conn, utcnow())

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
            "customers": scalar("SELECT count(*) FROM people"),
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
                row.channel, row.sku, location, row.quantity, parse_time(row.held_at)
            )
        return Memory(
            ledger=[Store.ledger_entry(r) for r in self.ledger_rows(skus)],
            baselines=baselines,
            catalogue=self.agreed_catalogue(skus),
            settled=self.settled_catalogue(skus),
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
            db.conn.executemany(
                upsert_sql("locations", ("key", "name", "active"), ("key",)),
                [(key, key, 1) for key in record.locations],
            )
            self.record_stock_events(record.entries)
            kept = self.hold_unresolved(record.unresolved)
            self.release_unresolved(record.released)
            self.save_catalogue(record.catalogue)
            db.conn.executemany(
                upsert_sql("agreed_catalogue", ("sku", "data", "updated_at"), ("sku",)),
                [
                    (sku, json.dumps(data, sort_keys=True, default=str), now)
                    for sku, data in record.agreed.items()
                ],
            )
            self._record_baselines(record.baselines)
            if record.synced_mark is not None:
                self.set_mark(record.synced_mark, now)
            for channel, stream, value in record.cursors:
                self.set_cursor(channel, stream, value)
            self._record_pools(record)
            for conflict in record.conflicts:
                self._record_conflict(conflict)
            self._applied_settlements(record.agreed, now)
            queued = self.outbox_enqueue(record.outbox)
            db.conn.executemany(
                "UPDATE links SET last_written_hash = ? WHERE entity = 'variant' "
                "AND canonical_key = ? AND channel = ?",
                [(digest, sku, channel) for channel, sku, digest in record.echo_hashes],
            )
        return queued, kept

    def record_write(self, record: WriteRecord) -> None:
        """Remember what a write the channel confirmed did: new links (a create), the hash of what
        it wrote with the channel's new version, the counts it left (the next baselines)."""
        now = utcnow()
        with self.transaction() as db:
            if record.op == "create_product":
                self._record_stock_written(record.channel, record.stock, now)
                self.upsert_variant_links(record.created)
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
