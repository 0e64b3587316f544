"""What every part of the store stands on: the open connection, the write transaction, the time format.

:class:`StoreBase` is the common base of the store's parts (:mod:`bridge.store.ledger`,
:mod:`~bridge.store.queues`, :mod:`~bridge.store.cursors`, :mod:`~bridge.store.baselines`,
:mod:`~bridge.store.links`, :mod:`~bridge.store.catalogue`, :mod:`~bridge.store.conflicts`), each
a mixin owning the SQL of its tables; :class:`bridge.store.Store` is all of them on one file.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bridge.store.chunked import KEYS, rows_in

__all__ = ["StoreBase", "parse_time", "upsert_sql", "utcnow"]


def utcnow() -> str:
    """Now as an ISO 8601 UTC string: the one time format stored (sorts as text)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def parse_time(text: str | None) -> datetime:
    """A stored moment (ISO text; naive means UTC; empty means the epoch)."""
    if not text:
        return datetime(1970, 1, 1, tzinfo=UTC)
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def upsert_sql(table: str, columns: Sequence[str], pk: Sequence[str]) -> str:
    """One row's ``INSERT ... ON CONFLICT (pk) DO UPDATE`` of every other column, for ``executemany``.

    The statement sqlite-utils' ``upsert_all`` runs, without its cost per call and per row: it
    inspects the table on every call and builds each row's values in Python, which a sync's commit
    pays for every variant of every chunk."""
    names = ", ".join(f'"{c}"' for c in columns)
    others = [c for c in columns if c not in pk]
    conflict = ", ".join(f'"{c}"' for c in pk)
    update = (
        "DO UPDATE SET " + ", ".join(f'"{c}" = excluded."{c}"' for c in others) if others else "DO NOTHING"
    )
    values = ", ".join("?" * len(columns))
    return f'INSERT INTO "{table}" ({names}) VALUES ({values}) ON CONFLICT ({conflict}) {update}'


class StoreBase:
    """The open connection and its one writer lock, set by :class:`bridge.store.Store`."""

    path: Path
    db: Database
    _lock: threading.RLock

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

    def _rows_for(self, sql: str, column: str, values: Iterable[str] | None) -> list[tuple[Any, ...]]:
        if values is None:
            return [tuple(r) for r in self.db.execute(sql).fetchall()]
        return rows_in(self.db.conn, f"{sql} WHERE {column} IN {KEYS}", values)
