"""The customers stage of a sync (issue 13): read each channel's changed customers, link them to
persons, keep what the store must remember, queue the writes that bring every channel to the person.

It runs beside the catalogue and stock stages (:meth:`bridge.sync.SyncRunner.run`), on a thread
and a store connection of its own, once the catalogue plan is judged safe (at once when forced): it
reads other streams and waits on other calls. Per channel,
the customers changed since its cursor are read page by page
(:meth:`adapters.base.ChannelAdapter.iter_customers`: memory stays flat in the number of customers),
then decided chunk by chunk (:func:`bridge.customers.decide.decide`, pure) against what the store
remembers of the persons those records could be; each chunk is recorded in one transaction with the
writes it needs queued in the outbox under keys derived from the person. Only once every chunk of a
channel is recorded does its cursor move. Records a human assigned to a person
(``shopbridge conflicts resolve``) are applied first, then the records a channel refused a write to
for a stale version (read again and merged: optimistic concurrency). The event path re-reads just
the records customer webhooks name (:meth:`CustomerSync.run_hinted`).

The purchase history (never written to another channel: that would move stock) is read from each
channel's order stream, not person by person: the orders a customers read carries
(:attr:`adapters.base.Page.orders`, WooCommerce's, read for its guests anyway) and each channel's
:meth:`adapters.base.ChannelAdapter.iter_purchases` (Square's SearchOrders by ``updated_at``) from
its own cursor, page by page into the store (an order read again replaces itself). A person's
history is joined to them when shown, through the channel ids they are linked by, so an order read
before its buyer (or a buyer linked later) still lands in the right history. A first sync costs the
orders' pages instead of a call per customer; the event path reads none (the next poll does).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapters.base import AdapterError, ChannelAdapter, Page
from bridge.config import CustomerSettings
from bridge.customers.decide import CustomerOutcome, Person, decide
from bridge.customers.fields import field_values
from bridge.customers.writes import plan_writes
from bridge.models import ChannelCustomer
from bridge.store import Store, utcnow
from bridge.store.customers import TouchedPersons
from bridge.writes import CreateCustomer, UpdateCustomer

__all__ = ["CUSTOMER_CURSOR", "PURCHASES_CURSOR", "CustomerReport", "CustomerSync"]

log = logging.getLogger(__name__)

CUSTOMER_CURSOR = "customers"
"""The cursor stream of each channel's customer reads."""
PURCHASES_CURSOR = "purchases"
"""The cursor stream of each channel's purchase history (:meth:`ChannelAdapter.iter_purchases`)."""
CHUNK = 1_000


@dataclass
class CustomerReport:
    """What one customers stage did (counts only: no personal data)."""

    read: int = 0
    persons_changed: int = 0
    conflicts: int = 0
    erased: int = 0
    queued: int = 0
    orders: int = 0
    read_calls: int = 0
    """Calls the channels' customer reads made (the minimum is one per page of 100)."""
    history_calls: int = 0
    """Calls reading the purchase history (the order streams; none for orders a customers read
    carried)."""
    writes: list[tuple[str, str, str]] = field(default_factory=list)
    """A dry run's writes, ``(channel, op, customer id)``, for it to show; a real run lists none
    (it queues them: ``queued``; a first sync's writes are one per person, too many to hold)."""
    issues: list[str] = field(default_factory=list)


class CustomerSync:
    """Syncs the customers of ``adapters`` (the channels with customer capability) through ``store``."""

    def __init__(
        self, store: Store, adapters: Mapping[str, ChannelAdapter], settings: CustomerSettings
    ) -> None:
        self.store = store
        self.adapters = {name: a for name, a in adapters.items() if a.capabilities.customers}
        self.settings = settings
        self.writable = {name: a.capabilities.customer_fields for name, a in self.adapters.items()}
        self._dry: dict[str, Person] = {}
        """A dry run's persons as decided so far (it records nothing; its size grows with the read)."""

    def run(self, *, dry_run: bool = False, full: bool = False) -> CustomerReport:
        """Read every channel, record what it changed, then plan each changed person's writes
        against every channel's record as now read (not a record another channel's read left
        stale), queue them, and only then move the cursors."""
        report = CustomerReport()
        with self.store.customers.touched() as touched:
            touched.update(self._chunk(self.store.customers.resolved_records(), report, dry_run))
            touched.update(self._reread(self.store.customers.stale(), report, dry_run))
            cursors = self._read_channels(touched, report, dry_run, full)
            self._finish(touched, report, dry_run)
        if not dry_run:
            self._move_cursors(cursors)
        del cursors
        if not dry_run:  # a dry run plans writes: the history is no write, it waits for a real sync
            for name, adapter in self.adapters.items():
                self._purchases(name, adapter, report, full)
        if self.adapters and not dry_run:  # a dry run synced nothing: its plan says what it would
            log.info("customers synced", extra={k: v for k, v in vars(report).items() if isinstance(v, int)})
        return report

    def _read_channels(
        self, touched: TouchedPersons, report: CustomerReport, dry_run: bool, full: bool
    ) -> dict[str, str]:
        """Every channel's changed customers decided and recorded; the cursors each read ends at
        (to be set once the writes are queued)."""
        cursors: dict[str, str] = {}
        for name, adapter in self.adapters.items():
            cursor = None if full else self.store.get_cursor(name, CUSTOMER_CURSOR)
            try:
                last = self._stream(adapter.iter_customers(cursor), name, report, touched, dry_run)
            except AdapterError as exc:  # this channel's customers wait for the next sync; others go on
                report.issues.append(f"{name}: customers not read: {exc}")
                log.warning("customers not read", extra={"channel": name, "error": str(exc)})
                continue
            if last is not None:
                cursors[name] = last
        return cursors

    def _move_cursors(self, cursors: dict[str, str]) -> None:
        """Each read's cursor set; their text (a bulk import's window marks: MBs at 50,000
        customers) then goes, not held through the history read."""
        for name, cursor in cursors.items():
            self.store.set_cursor(name, CUSTOMER_CURSOR, cursor)
        cursors.clear()

    def run_hinted(self, ids: Mapping[str, Sequence[str]]) -> CustomerReport:
        """The event path's customers: just the records webhooks named (per channel), read again
        (the payload is a hint, never state), merged, and their persons' writes queued. No cursor
        moves: the next poll reads them again, harmlessly."""
        report = CustomerReport()
        with self.store.customers.touched() as touched:
            touched.update(self._reread(ids, report, dry_run=False, strict=True))
            self._finish(touched, report, dry_run=False)
        return report

    def run_stale(self) -> CustomerReport:
        """Only the records a channel refused a write to as stale, read again and merged."""
        report = CustomerReport()
        with self.store.customers.touched() as touched:
            touched.update(self._reread(self.store.customers.stale(), report, dry_run=False))
            self._finish(touched, report, dry_run=False)
        return report

    def _stream(
        self,
        pages: Iterator[Page[ChannelCustomer]],
        name: str,
        report: CustomerReport,
        touched: TouchedPersons,
        dry_run: bool,
    ) -> str | None:
        """Decide and record a channel's read chunk by chunk as its pages come (one chunk held at
        a time, whatever the size of the read); the read's next cursor (its last page's)."""
        pending: list[ChannelCustomer] = []
        last: str | None = None
        for page in pages:
            report.issues.extend(f"{name}: {issue}" for issue in page.issues)
            if page.orders and not dry_run:
                report.orders += self.store.customers.record_orders(page.orders)
            pending.extend(page.items)
            report.read_calls += page.calls
            last = page.cursor
            while len(pending) >= CHUNK:  # no name keeps a decided chunk alive while more pages come
                report.read += CHUNK
                touched.update(self._chunk(pending[:CHUNK], report, dry_run))
                del pending[:CHUNK]
        report.read += len(pending)
        touched.update(self._chunk(pending, report, dry_run))
        return last

    def _reread(
        self,
        ids: Mapping[str, Sequence[str]],
        report: CustomerReport,
        dry_run: bool,
        strict: bool = False,
        verify: bool = True,
    ) -> dict[str, None]:
        """These records as each channel holds them now, decided and recorded. A channel that
        cannot be read raises with ``strict`` (a webhook's hint stays pending), else is reported
        and its records kept to be read again."""
        touched: dict[str, None] = {}
        for name, wanted in ids.items():
            adapter = self.adapters.get(name)
            if adapter is None or not wanted:
                continue
            for start in range(0, len(wanted), CHUNK):
                part = list(wanted[start : start + CHUNK])
                try:
                    page = adapter.read_customers_by_id(part)
                except AdapterError as exc:  # kept to be read again by the next sync
                    if strict:
                        raise
                    report.issues.append(f"{name}: customers not read again: {exc}")
                    continue
                report.issues.extend(f"{name}: {issue}" for issue in page.issues)
                report.read += len(page.items)
                report.read_calls += page.calls
                touched.update(self._chunk(page.items, report, dry_run, verify))
                if not dry_run:
                    self.store.customers.read_again(name, part)
        return touched

    def _finish(self, touched: TouchedPersons, report: CustomerReport, dry_run: bool) -> None:
        if dry_run:
            for person in self._dry.values():
                report.writes.extend(_described(self._writes(person)))
        else:
            self._queue_writes(touched.chunks(CHUNK), report)

    def _chunk(
        self, records: Sequence[ChannelCustomer], report: CustomerReport, dry_run: bool, verify: bool = True
    ) -> dict[str, None]:
        """Decide and record one chunk; the persons it changed (by stored id) and the records read."""
        if not records:
            return {}
        outcome = self.decide(records)
        report.conflicts += len(outcome.conflicts)
        report.erased += len(outcome.erased)
        report.persons_changed += len(outcome.persons)
        if dry_run:  # nothing recorded: later chunks are decided against what earlier ones decided
            self._dry.update(outcome.persons)
            return {}
        ids = self.store.customers.record(outcome, utcnow())
        touched = dict.fromkeys(ids.values())
        if verify:
            touched.update(
                self._reread(self._namesakes(records, outcome), report, dry_run=False, verify=False)
            )
        return touched

    def _namesakes(
        self, records: Sequence[ChannelCustomer], outcome: CustomerOutcome
    ) -> dict[str, list[str]]:
        """Records we hold on a channel that share an email or phone with a record of the same
        channel seen for the first time: each may be one the channel merged away (a Square merge
        makes a new profile, and its search never says which it retired; retrieving a retired id
        answers the survivor), so each is read again by id once. A genuine second record changes
        nothing; a retired one is remapped, never left as a duplicate person."""
        country = self.settings.default_country
        out: dict[str, list[str]] = {}
        for channel in {r.channel for r in records}:
            fresh = [
                r
                for r in records
                if r.channel == channel
                and not r.deleted
                and not r.guest
                and outcome.linked_by.get((channel, r.channel_id)) in ("email", "phone", "new")
            ]
            values = [field_values(r, country) for r in fresh]
            found = self.store.customers.namesakes(
                channel,
                [v["email"] for v in values if v["email"]],
                [v["phone"] for v in values if v["phone"]],
            )
            mine = {r.channel_id for r in records if r.channel == channel}
            if ids := sorted(set(found) - mine):
                out[channel] = ids
        return out

    def _queue_writes(self, chunks: Iterable[Sequence[str]], report: CustomerReport) -> None:
        """Each chunk of persons' writes, planned against their records as now stored, queued."""
        for person_ids in chunks:
            report.queued += self._queue_chunk(person_ids)

    def _queue_chunk(self, person_ids: Sequence[str]) -> int:
        """One chunk's writes queued; how many were new. A function of its own so that a chunk's
        persons and entries are gone before the next chunk's are loaded (a loop's names would
        keep the last ones alive: two chunks held at the peak, not one)."""
        persons = self.store.customers.persons(person_ids)
        return self.store.outbox_enqueue(
            entry for person in persons.values() for entry in self._outbox(person)
        )

    def _purchases(self, name: str, adapter: ChannelAdapter, report: CustomerReport, full: bool) -> None:
        """The channel's purchase history changed since its cursor, recorded page by page (one page
        held at a time); the cursor moves once every page is recorded. A channel that cannot be
        read keeps its cursor: the next sync reads the same orders again."""
        cursor = None if full else self.store.get_cursor(name, PURCHASES_CURSOR)
        last: str | None = cursor
        try:
            for page in adapter.iter_purchases(cursor):
                report.issues.extend(f"{name}: {issue}" for issue in page.issues)
                report.history_calls += page.calls
                report.orders += self.store.customers.record_orders(page.items)
                last = page.cursor
        except AdapterError as exc:
            report.issues.append(f"{name}: purchase history not read: {exc}")
            log.warning("purchase history not read", extra={"channel": name, "error": str(exc)})
            return
        if last != cursor:
            self.store.set_cursor(name, PURCHASES_CURSOR, last)

    def decide(self, records: Sequence[ChannelCustomer]) -> CustomerOutcome:
        """The pure decision for ``records`` given what the store remembers of them."""
        country = self.settings.default_country
        values = [field_values(r, country) for r in records if not r.deleted]
        emails = [v["email"] for v in values if v["email"]]
        phones = [v["phone"] for v in values if v["phone"]]
        remembered = {**self.store.customers.remembered(records, emails, phones), **self._dry}
        return decide(
            records,
            remembered,
            pinned=self.store.customers.pinned(),
            default_country=country,
            archive_on_erasure=self.settings.propagate_deletions,
            read_at=datetime.now(UTC),  # the records were just read: when the bridge saw them
        )

    def _writes(self, person: Person) -> list[tuple[str, CreateCustomer | UpdateCustomer]]:
        return plan_writes(person, self.writable, create_missing=self.settings.create_missing)

    def _outbox(self, person: Person) -> Iterator[dict[str, Any]]:
        for channel, op in self._writes(person):
            yield {
                "channel": channel,
                "idempotency_key": op.key,
                "action": op.op,
                "sku": None,
                "op": {"op": op.model_dump(mode="json"), "meta": {"person": person.person_id}},
                "reason": f"customer {person.person_id}: one person on every channel",
            }


def _described(ops: Iterable[tuple[str, CreateCustomer | UpdateCustomer]]) -> list[tuple[str, str, str]]:
    return [
        (channel, op.op, op.customer_id if isinstance(op, UpdateCustomer) else "(new)") for channel, op in ops
    ]
