"""The store's customer tables: persons, their links to each channel's records, each field as each
record last held it (with when the channel changed it), purchase history and customer conflicts.

Every SQL statement about customers is here; :class:`CustomerStore` is reached as
``Store.customers``. The tables hold personal data: the store file is created 0600, and an erasure
on a channel deletes what we kept from that channel's record, leaving only an audit entry that
names the record, never its data.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from sqlite_utils import Database

from bridge.customers.decide import CustomerConflict, CustomerOutcome, Person, SourceState
from bridge.customers.fields import field_values
from bridge.customers.merge import Observed, Source, merged
from bridge.customers.writes import as_record
from bridge.models import ChannelCustomer, ChannelOrder
from bridge.store.base import utcnow
from bridge.store.chunked import KEYS, by_first, execute_in, in_chunks, rows_in

if TYPE_CHECKING:
    from bridge.store.sqlite import Store

COPY_LAG = timedelta(microseconds=1)
"""A value we copied onto a record (a create or an update we made) ranks just below the value it
copies: the field still comes from its origin, and a real change on the copy, later, still wins."""

__all__ = [
    "ConflictRow",
    "CustomerStore",
    "PurchaseRow",
    "TouchedPersons",
    "m006_customers",
    "m012_customer_archive_and_rereads",
    "m014_customer_fields_seen_at",
]


def m006_customers(db: Database) -> None:
    """Persons, their channel links (with ids a channel retired into another), field provenance,
    purchase history and customer conflicts (issue 13)."""
    db.table("people").create({"id": int, "created_at": str, "updated_at": str}, pk="id")
    db.table("person_links").create(
        {
            "channel": str,
            "channel_id": str,
            "person_id": int,
            "guest": int,
            "opted_out": int,
            "version": str,
            "retired_into": str,  # the channel id this one was merged into (Square merge), else NULL
            "modified_at": str,  # the channel's modification time of the record as last read
            "updated_at": str,
        },
        pk=("channel", "channel_id"),
        not_null={"person_id"},
    )
    db.table("person_links").create_index(["person_id"])
    db.table("customer_fields").create(
        {"channel": str, "channel_id": str, "field": str, "value": str, "changed_at": str},
        pk=("channel", "channel_id", "field"),
    )
    db.table("customer_fields").create_index(["field", "value"])
    db.table("purchases").create(
        _text("channel", "order_id", "channel_customer_id", "placed_at", "location", "items", "total"),
        pk=("channel", "order_id"),
    )
    db.table("purchases").create_index(["channel", "channel_customer_id"])
    db.table("customer_conflicts").create(
        {
            "id": int,
            **_text("channel", "channel_id", "candidates", "matched_by", "record", "detected_at"),
            **_text("resolved_at", "keep", "applied_at"),
        },
        pk="id",
    )


def m012_customer_archive_and_rereads(db: Database) -> None:
    """A person archived by a deletion elsewhere (``[customers] propagate_deletions``), the
    channel records to read again before any more writes (Square refused a write for its stale
    ``version``: optimistic concurrency), and what a human kept when settling a catalogue
    conflict (``kept``, JSON) with when a sync applied it."""
    db.execute("ALTER TABLE people ADD COLUMN archived_at TEXT")
    db.execute("ALTER TABLE conflicts ADD COLUMN kept TEXT")
    db.execute("ALTER TABLE conflicts ADD COLUMN applied_at TEXT")
    db.table("customer_rereads").create(
        _text("channel", "channel_id", "reason", "at"), pk=("channel", "channel_id")
    )


def m014_customer_fields_seen_at(db: Database) -> None:
    """When the bridge first read each field's value (``seen_at``): WooCommerce dates changes to
    the whole second, so within a second the bridge's order of sight decides whose change is the
    later (:mod:`bridge.customers.merge`). Rows kept before have none (seen before anything else)."""
    db.execute("ALTER TABLE customer_fields ADD COLUMN seen_at TEXT")


def _text(*names: str) -> dict[str, type]:
    """Columns holding text (SQLite keeps JSON, times and ids as text here)."""
    return dict.fromkeys(names, str)


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


class ConflictRow(TypedDict):
    id: int
    channel: str
    channel_id: str
    candidates: list[str]
    matched_by: str
    detected_at: str


class PurchaseRow(TypedDict):
    channel: str
    order_id: str
    placed_at: str
    location: str
    items: list[dict[str, Any]]
    total: str | None


class TouchedPersons:
    """The persons one customers stage changed, kept until their writes are planned once every
    channel is read: in a temporary table of the store's connection, not in memory, since a first
    sync changes every person (85,000 at 50,000 customers a side). Each stage has rows of its own
    (the daemon's poll and event path may run at once); they go when it is closed. Ids come back
    in the order first added, as a dict's keys would."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.run = uuid.uuid4().hex
        with store.transaction() as db:
            db.execute(
                "CREATE TEMP TABLE IF NOT EXISTS customers_touched (seq INTEGER PRIMARY KEY, "
                "run TEXT NOT NULL, person_id INTEGER NOT NULL, UNIQUE (run, person_id))"
            )

    def __enter__(self) -> TouchedPersons:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, person_ids: Iterable[str]) -> None:
        """Add these persons (by stored id); one added before keeps its place."""
        with self.store.transaction() as db:
            db.conn.executemany(
                "INSERT OR IGNORE INTO customers_touched (run, person_id) VALUES (?, ?)",
                [(self.run, int(i)) for i in person_ids],
            )

    def chunks(self, size: int) -> Iterator[list[str]]:
        """The persons added, ``size`` at a time (one chunk listed at a time)."""
        after = 0
        while True:
            rows = self.store.db.execute(
                "SELECT seq, person_id FROM customers_touched WHERE run = ? AND seq > ? ORDER BY seq LIMIT ?",
                [self.run, after, size],
            ).fetchall()
            if not rows:
                return
            after = rows[-1][0]
            yield [str(row[1]) for row in rows]

    def close(self) -> None:
        with self.store.transaction() as db:
            db.execute("DELETE FROM customers_touched WHERE run = ?", [self.run])


class CustomerStore:
    """The customer tables of one open :class:`~bridge.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    def touched(self) -> TouchedPersons:
        """A new, empty set of the persons a customers stage changed (close it when done)."""
        return TouchedPersons(self.store)

    # -- what the matcher needs --------------------------------------------------------------

    def remembered(
        self, records: Sequence[ChannelCustomer], emails: Iterable[str], phones: Iterable[str]
    ) -> dict[str, Person]:
        """Every person any of ``records`` could belong to: by its link (or an id it retired), its
        email or its phone."""
        ids: set[int] = set()
        conn = self.db.conn
        for channel in {r.channel for r in records}:
            keys = [r.channel_id for r in records if r.channel == channel]
            keys += [old for r in records if r.channel == channel for old in r.merged_from]
            sql = f"SELECT person_id FROM person_links WHERE channel = ? AND channel_id IN {KEYS}"
            ids |= {row[0] for row in rows_in(conn, sql, keys, before=[channel])}
        for name, values in (("email", emails), ("phone", phones)):
            sql = (
                "SELECT l.person_id FROM customer_fields f JOIN person_links l "
                "USING (channel, channel_id) WHERE f.field = ? AND f.value IN " + KEYS
            )
            ids |= {row[0] for row in rows_in(conn, sql, [json.dumps(v) for v in values], before=[name])}
        return self.persons(ids)

    def namesakes(self, channel: str, emails: Sequence[str], phones: Sequence[str]) -> list[str]:
        """The live (not guest, not retired) records of ``channel`` holding one of these emails or
        phones."""
        found: set[str] = set()
        for name, values in (("email", emails), ("phone", phones)):
            sql = (
                "SELECT f.channel_id FROM customer_fields f JOIN person_links l USING (channel, channel_id) "
                "WHERE f.channel = ? AND f.field = ? AND l.guest = 0 AND l.retired_into IS NULL "
                f"AND f.value IN {KEYS}"
            )
            found |= {
                row[0]
                for row in rows_in(self.db.conn, sql, [json.dumps(v) for v in values], before=[channel, name])
            }
        return sorted(found)

    def persons(self, ids: Iterable[int | str]) -> dict[str, Person]:
        wanted = sorted({int(i) for i in ids})
        links = rows_in(
            self.db.conn,
            "SELECT person_id, channel, channel_id, guest, opted_out, version, retired_into, modified_at "
            f"FROM person_links WHERE person_id IN {KEYS}",
            wanted,
        )
        fields: dict[Source, dict[str, Observed]] = {}
        for channel in {row[1] for row in links}:
            live = [row[2] for row in links if row[1] == channel and row[6] is None]
            sql = (
                "SELECT channel_id, field, value, changed_at, seen_at FROM customer_fields "
                f"WHERE channel = ? AND channel_id IN {KEYS}"
            )
            # Row by row from the cursor: a chunk's field rows (about ten a record) are never listed whole.
            for cursor in in_chunks(self.db.conn, sql, live, before=[channel]):
                for cid, name, value, when, seen in cursor:
                    fields.setdefault((channel, cid), {})[name] = Observed(
                        json.loads(value), datetime.fromisoformat(when), _time(seen)
                    )
        retired_into: dict[Source, list[str]] = {}  # each live record's ids retired by a merge into it
        for row in links:
            if row[6] is not None:
                retired_into.setdefault((row[1], row[6]), []).append(row[2])
        sources: dict[int, dict[Source, SourceState]] = {i: {} for i in wanted}
        for pid, channel, cid, guest, opted, version, into, modified in links:
            if into is None:
                sources[pid][(channel, cid)] = SourceState(
                    fields.get((channel, cid), {}),
                    version,
                    bool(guest),
                    bool(opted),
                    tuple(sorted(retired_into.get((channel, cid), []))),
                    datetime.fromisoformat(modified) if modified else None,
                )
        archived = {
            row[0]
            for row in rows_in(
                self.db.conn, f"SELECT id FROM people WHERE archived_at IS NOT NULL AND id IN {KEYS}", wanted
            )
        }
        return {str(pid): Person(str(pid), found, pid in archived) for pid, found in sources.items()}

    def pinned(self) -> dict[Source, str]:
        """Records a human assigned to a person whose assignment a sync has not applied yet."""
        rows = self.db.execute(
            "SELECT channel, channel_id, keep FROM customer_conflicts "
            "WHERE resolved_at IS NOT NULL AND applied_at IS NULL"
        ).fetchall()
        return {(r[0], r[1]): r[2] for r in rows}

    def resolved_records(self) -> list[ChannelCustomer]:
        """The records of conflicts a human settled that the next sync is to apply."""
        rows = self.db.execute(
            "SELECT record FROM customer_conflicts WHERE resolved_at IS NOT NULL AND applied_at IS NULL"
        ).fetchall()
        return [ChannelCustomer.model_validate_json(r[0]) for r in rows]

    # -- what a sync decided -----------------------------------------------------------------

    def record(self, outcome: CustomerOutcome, now: str) -> dict[str, str]:
        """Keep ``outcome`` in one transaction; returns each person's id as stored (provisional
        ``new:<n>`` ids replaced by the new rows' ids)."""
        ids: dict[str, str] = {}
        with self.store.transaction() as db:
            for person in outcome.persons.values():
                self._forget_links(person)
            for ref, person in outcome.persons.items():
                ids[ref] = self._save_person(db, person, now)
            # A person left with no record (folded into another by a merge, or every record
            # erased) is no one any more.
            execute_in(
                db.conn,
                f"DELETE FROM people WHERE id IN {KEYS} AND id NOT IN (SELECT person_id FROM person_links)",
                [int(i) for i in ids.values()],
            )
            for person_id, (channel, channel_id) in outcome.erased:
                self._erase(channel, channel_id)
                self.store.audit(
                    channel,
                    "customer_erased",
                    f"{channel}:{channel_id}",
                    {"person": ids.get(person_id, person_id)},
                )
            for person_id in outcome.archived:
                self.store.audit("", "customer_archived", f"person:{ids.get(person_id, person_id)}", {})
            for conflict in outcome.conflicts:
                self._add_conflict(conflict, now)
            self.db.execute(
                "UPDATE customer_conflicts SET applied_at = ? "
                "WHERE resolved_at IS NOT NULL AND applied_at IS NULL",
                [now],
            )
        return ids

    def _forget_links(self, person: Person) -> None:
        """A person's link rows go before any is written again (a retired id moves between persons)."""
        if person.person_id.isdigit():
            self.db.execute("DELETE FROM person_links WHERE person_id = ?", [int(person.person_id)])
        for channel, channel_id in person.sources:
            self.db.execute(
                "DELETE FROM person_links WHERE channel = ? AND channel_id = ?", [channel, channel_id]
            )

    def _save_person(self, db: Database, person: Person, now: str) -> str:
        if person.person_id.isdigit():
            pid = int(person.person_id)
            db.execute("UPDATE people SET updated_at = ? WHERE id = ?", [now, pid])
            if person.archived:
                db.execute(
                    "UPDATE people SET archived_at = ? WHERE id = ? AND archived_at IS NULL", [now, pid]
                )
        else:
            pid = int(
                db.execute("INSERT INTO people (created_at, updated_at) VALUES (?, ?)", [now, now]).lastrowid
                or 0
            )
        for (channel, channel_id), state in person.sources.items():
            rows: list[tuple[Any, ...]] = [
                (
                    channel,
                    channel_id,
                    pid,
                    int(state.guest),
                    int(state.opted_out),
                    state.version,
                    None,
                    state.modified_at.isoformat() if state.modified_at else None,
                    now,
                )
            ]
            rows += [(channel, old, pid, 0, 0, None, channel_id, None, now) for old in state.retired]
            db.conn.executemany(
                "INSERT OR REPLACE INTO person_links VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
            db.conn.executemany(
                "INSERT OR REPLACE INTO customer_fields VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        channel,
                        channel_id,
                        name,
                        json.dumps(seen.value),
                        seen.changed_at.isoformat(),
                        _iso(seen.seen_at),
                    )
                    for name, seen in state.fields.items()
                ],
            )
            for old in state.retired:
                self._erase_fields(channel, old)
        return str(pid)

    def _erase_fields(self, channel: str, channel_id: str) -> None:
        self.db.execute(
            "DELETE FROM customer_fields WHERE channel = ? AND channel_id = ?", [channel, channel_id]
        )

    def _erase(self, channel: str, channel_id: str) -> None:
        """Everything we kept from a record its channel erased: fields, link, orders, conflicts."""
        self._erase_fields(channel, channel_id)
        for table, column in (
            ("person_links", "channel_id"),
            ("purchases", "channel_customer_id"),
            ("customer_conflicts", "channel_id"),
        ):
            self.db.execute(f"DELETE FROM {table} WHERE channel = ? AND {column} = ?", [channel, channel_id])

    def _add_conflict(self, conflict: CustomerConflict, now: str) -> None:
        channel, channel_id = conflict.source
        candidates = json.dumps(list(conflict.candidates))
        open_ = self.db.execute(
            "SELECT id FROM customer_conflicts WHERE channel = ? AND channel_id = ? AND resolved_at IS NULL",
            [channel, channel_id],
        ).fetchone()
        if open_ is not None:
            self.db.execute(
                "UPDATE customer_conflicts SET candidates = ?, matched_by = ?, record = ? WHERE id = ?",
                [candidates, conflict.by, conflict.record.model_dump_json(), open_[0]],
            )
            return
        self.db.table("customer_conflicts").insert(
            {
                "channel": channel,
                "channel_id": channel_id,
                "candidates": candidates,
                "matched_by": conflict.by,
                "record": conflict.record.model_dump_json(),
                "detected_at": now,
            }
        )

    # -- what the relay learnt -------------------------------------------------------------

    def link_created(
        self, person_id: str, channel: str, record: ChannelCustomer, version: str | None
    ) -> None:
        """Link the record a create made (its id from the create's answer) to the person it was made
        for, its fields as sent, each dated as the person's merged value it copies (so it never
        outranks a later change elsewhere). A record already linked keeps its link."""
        person = self.persons([person_id]).get(person_id)
        if person is None or not record.channel_id:
            return
        wanted = merged(person.fields())
        values = field_values(record, "US")  # the values were sent normalised: no region needed
        fields = {
            name: Observed(value, wanted[name].changed_at - COPY_LAG, wanted[name].seen_at)
            for name, value in values.items()
            if value is not None and name in wanted
        }
        with self.store.transaction() as db:
            exists = db.execute(
                "SELECT 1 FROM person_links WHERE channel = ? AND channel_id = ?",
                [channel, record.channel_id],
            ).fetchone()
            if exists is None:
                state = SourceState(fields, version)
                self._save_person(db, Person(person_id, {(channel, record.channel_id): state}), utcnow())

    def record_update(
        self, channel: str, channel_id: str, version: str | None, fields: Mapping[str, Any]
    ) -> None:
        """An update the channel confirmed: the record's new version, and the fields sent as it now
        holds them, each dated as the person's value it copies (so the next write to it carries the
        right version, and the echo of our write is no change)."""
        row = self.db.execute(
            "SELECT person_id FROM person_links WHERE channel = ? AND channel_id = ?", [channel, channel_id]
        ).fetchone()
        if row is None:
            return
        wanted = merged(self.persons([row[0]])[str(row[0])].fields())
        sent = field_values(as_record(channel, fields), "US")  # normalised values: no region needed
        with self.store.transaction() as db:
            db.execute(
                "UPDATE person_links SET version = ? WHERE channel = ? AND channel_id = ?",
                [version, channel, channel_id],
            )
            db.conn.executemany(
                "INSERT OR REPLACE INTO customer_fields VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        channel,
                        channel_id,
                        name,
                        json.dumps(value),
                        (wanted[name].changed_at - COPY_LAG).isoformat(),
                        _iso(wanted[name].seen_at),
                    )
                    for name, value in sent.items()
                    if name in fields and name in wanted and wanted[name].value == value
                ],
            )

    def mark_stale(self, channel: str, channel_id: str, reason: str) -> None:
        """Read this record again (and merge it) before planning another write to it."""
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO customer_rereads VALUES (?, ?, ?, ?)",
                [channel, channel_id, reason, utcnow()],
            )

    def stale(self) -> dict[str, list[str]]:
        """The records to read again, per channel."""
        out: dict[str, list[str]] = {}
        for channel, channel_id in self.db.execute(
            "SELECT channel, channel_id FROM customer_rereads ORDER BY at"
        ):
            out.setdefault(channel, []).append(channel_id)
        return out

    def read_again(self, channel: str, channel_ids: Sequence[str]) -> None:
        """These records were read again and recorded."""
        with self.store.transaction() as db:
            execute_in(
                db.conn,
                f"DELETE FROM customer_rereads WHERE channel = ? AND channel_id IN {KEYS}",
                channel_ids,
                before=[channel],
            )

    # -- purchase history --------------------------------------------------------------------

    def record_orders(self, orders: Iterable[ChannelOrder]) -> int:
        """Keep orders as history (never written anywhere); an order read again replaces itself.
        The orders of a record its channel erased are not kept again (the channel may still hold
        them under its id), unless that id is linked again since (a guest who came back)."""
        batch = [(o, o.customer_id or (f"guest:{o.email}" if o.email else None)) for o in orders]
        erased = self._erased({(o.channel, buyer) for o, buyer in batch if buyer})
        rows = [
            (
                o.channel,
                o.order_id,
                buyer,
                o.placed_at.isoformat(),
                o.location_name or o.location_id or "web",
                json.dumps([item.model_dump(mode="json") for item in o.items]),
                f"{o.total.amount} {o.total.currency}" if o.total else None,
            )
            for o, buyer in batch
            if (o.channel, buyer) not in erased
        ]
        with self.store.transaction() as db:
            db.conn.executemany("INSERT OR REPLACE INTO purchases VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    def _erased(self, records: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these ``(channel, channel id)`` were erased here and are not linked now."""
        keys = {f"{channel}:{channel_id}": (channel, channel_id) for channel, channel_id in records}
        sql = f"SELECT DISTINCT key FROM audit WHERE action = 'customer_erased' AND key IN {KEYS}"
        erased = {keys[row[0]] for row in rows_in(self.db.conn, sql, keys)}
        linked: set[tuple[str, str]] = set()
        for channel, ids in by_first(sorted(erased)).items():
            sql = f"SELECT channel_id FROM person_links WHERE channel = ? AND channel_id IN {KEYS}"
            linked |= {(channel, row[0]) for row in rows_in(self.db.conn, sql, ids, before=[channel])}
        return erased - linked

    def purchases(self, person_id: str) -> list[PurchaseRow]:
        """The person's orders on every channel it is linked on, newest first."""
        rows = self.db.execute(
            "SELECT p.channel, p.order_id, p.placed_at, p.location, p.items, p.total FROM purchases p "
            "JOIN person_links l ON l.channel = p.channel AND l.channel_id = p.channel_customer_id "
            "WHERE l.person_id = ? ORDER BY p.placed_at DESC, p.channel, p.order_id",
            [int(person_id)],
        ).fetchall()
        return [
            PurchaseRow(
                channel=r[0], order_id=r[1], placed_at=r[2], location=r[3], items=json.loads(r[4]), total=r[5]
            )
            for r in rows
        ]

    # -- finding a person and its conflicts --------------------------------------------------

    def find(self, query: str, emails: Sequence[str], phones: Sequence[str]) -> list[str]:
        """Persons ``query`` names: a person id, a channel id, or (given normalised) an email or phone."""
        found: set[int] = set()
        if query.isdigit() and self.db.execute("SELECT 1 FROM people WHERE id = ?", [int(query)]).fetchone():
            found.add(int(query))
        found |= {
            r[0] for r in self.db.execute("SELECT person_id FROM person_links WHERE channel_id = ?", [query])
        }
        for name, values in (("email", emails), ("phone", phones)):
            sql = (
                "SELECT l.person_id FROM customer_fields f JOIN person_links l "
                "USING (channel, channel_id) WHERE f.field = ? AND f.value IN " + KEYS
            )
            found |= {
                row[0] for row in rows_in(self.db.conn, sql, [json.dumps(v) for v in values], before=[name])
            }
        return [str(i) for i in sorted(found)]

    def open_conflicts(self, person_id: str | None = None) -> list[ConflictRow]:
        rows = self.db.execute(
            "SELECT id, channel, channel_id, candidates, matched_by, detected_at FROM customer_conflicts "
            "WHERE resolved_at IS NULL ORDER BY id"
        ).fetchall()
        out = [
            ConflictRow(
                id=r[0],
                channel=r[1],
                channel_id=r[2],
                candidates=json.loads(r[3]),
                matched_by=r[4],
                detected_at=r[5],
            )
            for r in rows
        ]
        return [c for c in out if person_id is None or person_id in c["candidates"]]

    def conflict(self, conflict_id: int) -> ConflictRow | None:
        found = [c for c in self.open_conflicts() if c["id"] == conflict_id]
        return found[0] if found else None

    def resolve_conflict(self, conflict_id: int, keep: str, now: str) -> bool:
        """Settle an open conflict: the record is ``keep``'s (a person id, or ``new``). The next sync
        applies it. False when there is no such open conflict."""
        with self.store.transaction() as db:
            changed = db.execute(
                "UPDATE customer_conflicts SET resolved_at = ?, keep = ? "
                "WHERE id = ? AND resolved_at IS NULL",
                [now, keep, conflict_id],
            ).rowcount
        return bool(changed)

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM people").fetchone()[0])
