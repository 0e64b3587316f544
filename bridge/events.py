"""The daemon's event path: what a webhook names, re-read and propagated as soon as it is committed.

A verified delivery is committed to the inbox before it is acknowledged (:mod:`bridge.server`),
then wakes the daemon. Its loop waits a short coalescing window (:class:`Window`: tens of
milliseconds, growing under load up to a cap, so a burst costs a few targeted syncs, not one
each), then :meth:`EventPath.process` takes the pending deliveries and hands their resources, per
channel, to :meth:`bridge.sync.SyncRunner.run_targets`: each channel re-reads just those resources
(the payload is a hint, never state), their stock events go into the same ledger with the same
source ids as polling, the same engine plans just the touched SKUs, and the writes go through the
same outbox and relay.

Polling stays the backbone. The event path never moves a cursor, so the poll reads everything it
read again (harmless: ledger source ids and outbox keys), and a delivery is marked processed only
after its effects are recorded: killed in between, it is still pending at the next start and is
processed then. A customer delivery (Square ``customer.created/updated/deleted``, WooCommerce
``customer.*``) names a record: it is read again, merged and written by the customers stage's
targeted pass (:func:`customer_hints`, :meth:`bridge.sync.SyncRunner.run_customer_hints`). A
delivery the event path cannot cover (a catalogue change with no object named) is left to a poll
cycle, which the daemon then runs at once and which marks it processed as every cycle does. A
resource the channel no longer has does nothing.

Our own writes come back as deliveries too (every count we set on Square is announced by an
``inventory.count.updated``, every stock we set on WooCommerce by a ``product.updated``). A
delivery whose counts are all exactly what the store already holds as that place's baseline, with
no write of ours there still in flight, tells nothing new: it is marked processed without a
targeted read (:meth:`EventPath.echoes`; the channel says what a delivery claims,
``claimed_counts``, never taken as state). Anything else, a sale at the till included (its count
differs from the baseline), is re-read as before; polling still reads everything.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from adapters.base import AdapterError
from bridge.ledger import LocationMap
from bridge.models import StockLevel
from bridge.reading import ChannelReadError, NeedsPoll
from bridge.storage import InboxDelivery
from bridge.store import Store
from bridge.sync import SyncRunner, UnsafePlan
from bridge.targets import TargetRef

__all__ = ["BATCH", "EventPath", "EventReport", "Window", "coverable", "customer_hints", "targets_of"]

log = logging.getLogger(__name__)

BATCH = 500
"""Deliveries one targeted sync takes at most (the rest wait for the next, at once)."""


@dataclass(frozen=True)
class Window:
    """How long the daemon waits after a wake-up before taking the deliveries: ``floor`` after a
    quiet spell; while deliveries keep coming in batches (more than one each time), twice the last
    window, up to ``cap``, so a burst is taken in a few large batches instead of one sync each."""

    floor: float = 0.02
    cap: float = 0.1

    def next(self, current: float, deliveries: int) -> float:
        """The window after one that took ``deliveries`` deliveries."""
        if deliveries <= 1:
            return self.floor
        return min(self.cap, max(self.floor, current * 2))


@dataclass(frozen=True)
class EventReport:
    """What one pass of the event path did: deliveries taken (and marked processed), changes
    planned, writes sent; ``needs_poll`` when a poll cycle must cover them; ``more`` when
    deliveries were left for the next pass."""

    deliveries: int = 0
    processed: int = 0
    echoes: int = 0
    planned: int = 0
    sent: int = 0
    needs_poll: bool = False
    more: bool = False

    @property
    def summary(self) -> str:
        echoed = f", {self.echoes} of our own writes coming back" if self.echoes else ""
        return f"{self.processed} webhook(s): {self.planned} changes, {self.sent} applied{echoed}"


def targets_of(
    deliveries: Sequence[InboxDelivery],
    named: Callable[[InboxDelivery], list[TargetRef] | None] = lambda row: None,
) -> dict[str, list[TargetRef]] | None:
    """The resources the deliveries name, per channel (each once); ``None`` when one names none
    that can be re-read (no id, or a kind with no single resource). ``named``: every resource a
    delivery names when it names several (the channel reads its body), else its own."""
    refs: dict[str, dict[TargetRef, None]] = defaultdict(dict)
    for row in deliveries:
        resource, resource_id = row["resource"], row["resource_id"]
        if not resource or not resource_id or not coverable(row):
            return None
        for ref in named(row) or [TargetRef(resource, resource_id)]:
            refs[row["channel"]][ref] = None
    return {name: list(found) for name, found in refs.items()}


def coverable(row: InboxDelivery) -> bool:
    """Whether the delivery names one resource the event path can re-read."""
    return bool(row["resource"] and row["resource_id"]) and row["resource"] not in ("other", "customer")


def _key(row: InboxDelivery) -> tuple[str, str]:
    return (row["channel"], row["event_id"])


def names_customer(row: InboxDelivery) -> bool:
    """Whether the delivery names one customer record (the customers stage re-reads it)."""
    return row["resource"] == "customer" and bool(row["resource_id"])


def customer_hints(deliveries: Sequence[InboxDelivery]) -> dict[str, list[str]]:
    """The customer records the deliveries name, per channel (each once, in order)."""
    hints: dict[str, dict[str, None]] = defaultdict(dict)
    for row in deliveries:
        record = row["resource_id"]
        if row["resource"] == "customer" and record:
            hints[row["channel"]][record] = None
    return {name: list(ids) for name, ids in hints.items()}


class EventPath:
    """Processes ``store``'s pending inbox through ``runner``'s targeted sync."""

    def __init__(self, store: Store, runner: SyncRunner, *, batch: int = BATCH) -> None:
        self.store = store
        self.runner = runner
        self.batch = batch
        self._handed: set[tuple[str, str]] = set()
        """Deliveries handed to the poll (it marks them processed): not taken again meanwhile, so
        one the event path cannot cover holds back none of the others while the poll runs."""

    def pending(self) -> bool:
        return bool(self.store.inbox_pending(limit=1))

    def process(self) -> EventReport:
        """One targeted sync of the pending deliveries it can cover, then (only then) mark them
        processed; the others are handed to a poll cycle (``needs_poll``), which marks them."""
        limit = self.batch + len(self._handed)
        pending = self.store.inbox_pending(limit=limit)
        self._handed &= {_key(row) for row in pending}  # the poll has processed the others
        rows = [row for row in pending if _key(row) not in self._handed][: self.batch]
        if not rows:
            return EventReport()
        more = len(pending) == limit
        customers = self._customers([row for row in rows if names_customer(row)])
        stock_rows = [row for row in rows if not names_customer(row)]
        echoes = self.echoes(stock_rows)
        if echoes:
            self.store.inbox_mark_processed(echoes)
        stock_rows = [row for row in stock_rows if _key(row) not in echoes]
        taken = [row for row in stock_rows if coverable(row)]
        handed = customers.needs_poll or len(taken) < len(stock_rows)
        self._handed.update(_key(row) for row in stock_rows if not coverable(row))
        customers = replace(customers, processed=customers.processed + len(echoes), echoes=len(echoes))
        if not taken:
            return replace(customers, deliveries=len(rows), needs_poll=handed, more=more)
        refs = targets_of(taken, self._named) or {}
        try:
            report = self.runner.run_targets(refs)
        except (NeedsPoll, ChannelReadError, UnsafePlan) as exc:
            # The poll covers them (and says why, if it fails too); the rows stay pending.
            log.info("event path handing over to a poll cycle", extra={"reason": str(exc)})
            self._handed.update(_key(row) for row in taken)
            return replace(customers, deliveries=len(rows), needs_poll=True, more=more)
        self.store.inbox_mark_processed(_key(row) for row in taken)
        return EventReport(
            deliveries=len(rows),
            processed=len(taken) + customers.processed,
            echoes=customers.echoes,
            planned=report.planned,
            sent=sum(report.sent.values()) + customers.sent,
            needs_poll=handed or bool(report.unread),
            more=more,
        )

    def _named(self, row: InboxDelivery) -> list[TargetRef] | None:
        adapter = self.runner.adapters.get(row["channel"])
        return adapter.delivery_targets(row["body"]) if adapter is not None and row["body"] else None

    def echoes(self, rows: Sequence[InboxDelivery]) -> set[tuple[str, str]]:
        """The deliveries among ``rows`` that only claim counts the store already holds as their
        places' baselines (what we last wrote or read there), with none of our writes there in
        flight: our own writes coming back. A claim naming a variant not linked, a location not
        mapped, or a place without a baseline is not one."""
        claims: dict[tuple[str, str], list[StockLevel]] = {}
        for row in rows:
            adapter = self.runner.adapters.get(row["channel"])
            if row["resource"] in ("inventory", "product") and row["body"] and adapter is not None:
                claimed = adapter.claimed_counts(row["body"])
                if claimed:
                    claims[_key(row)] = claimed
        if not claims:
            return set()
        members = {(lv.channel, lv.variant_id) for levels in claims.values() for lv in levels}
        sku_of = {
            (r["channel"], r["channel_id"]): r["canonical_key"]
            for r in self.store.links_of_groups("variant", members)
        }
        held = {
            (b.channel, b.sku, b.location): b.quantity for b in self.store.baselines(set(sku_of.values()))
        }
        in_flight = self.store.outbox_stock_in_flight()
        locations = self.runner.locations()

        def known(lv: StockLevel) -> bool:
            sku = sku_of.get((lv.channel, lv.variant_id))
            where = self._place(lv, locations)
            if sku is None or where is None or (lv.channel, sku, where) in in_flight:
                return False
            return held.get((lv.channel, sku, where)) == lv.quantity

        return {key for key, levels in claims.items() if all(known(lv) for lv in levels)}

    def _place(self, level: StockLevel, locations: LocationMap) -> str | None:
        """Where a claimed count's baseline is kept: its location's canonical key, or ``""`` on a
        channel that pools its stock (the web shop: one count for every location)."""
        adapter = self.runner.adapters.get(level.channel)
        if adapter is not None and not adapter.capabilities.has_locations:
            return ""
        return locations.canonical_key(level.channel, level.location_id or "")

    def _customers(self, rows: Sequence[InboxDelivery]) -> EventReport:
        """The customer deliveries among ``rows``: their records read again, merged and written,
        then (only then) marked processed. A channel that cannot be read leaves them to a poll."""
        taken = list(rows)
        if not taken:
            return EventReport()
        try:
            report = self.runner.run_customer_hints(customer_hints(taken))
        except AdapterError as exc:
            log.info("event path handing customers over to a poll cycle", extra={"reason": str(exc)})
            self._handed.update(_key(row) for row in taken)
            return EventReport(deliveries=len(taken), needs_poll=True)
        self.store.inbox_mark_processed((row["channel"], row["event_id"]) for row in taken)
        return EventReport(deliveries=len(taken), processed=len(taken), sent=sum(report.sent.values()))
