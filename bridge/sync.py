"""One sync: read the channels, record what happened in the ledger, plan, queue, send.

This is the only module that talks to adapters, the store and the pure engine together. A sync has
three steps, kept apart so that ``--dry-run`` is the first step alone and a crash between steps is
harmless:

1. :meth:`SyncRunner.prepare` reads (catalogue since the cursor, stock counts, then stock events, so
   that every count is judged against the sales read up to its moment), links, turns events into
   ledger entries, detects manual count changes and asks :func:`bridge.reconcile.reconcile` for a
   plan. It writes nothing.
2. :meth:`SyncRunner.commit` records, in one transaction, what was read (snapshots, links, ledger
   entries, cursors, the agreed catalogue) and queues the plan's writes in the outbox, each under
   its deterministic idempotency key: a plan computed twice queues each write once.
3. :meth:`SyncRunner.relay` sends due outbox entries per channel in the channel's batch sizes, and
   records per entry what happened (links for created products, the hash of what we wrote for echo
   suppression, the stock we wrote for manual-change detection). A channel that fails keeps its
   entries queued and does not stop the others.

Incremental syncs reconcile only the SKUs something happened to (changed on a channel, or with new
stock events); the other channels' side of those SKUs comes from the snapshots of earlier reads.
"""

from __future__ import annotations

import json
import logging
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter

from adapters.base import (
    AuthError,
    ChannelAdapter,
    CreateProduct,
    WriteOp,
    WriteResult,
)
from bridge.ledger import (
    LedgerEntry,
    LocationMap,
    Observation,
    Written,
    detect_manual_changes,
    initial_entries,
    ledger_positions,
    observations,
    on_hand,
    resolve_events,
    variant_index,
)
from bridge.linking import ExistingLink, LinkGroup, link
from bridge.models import ChannelProduct, StockEvent, StockEventKind, StockLevel
from bridge.plan import Plan
from bridge.policy import SyncPolicy
from bridge.reconcile import ReconcileInput, reconcile
from bridge.store import Store, utcnow

__all__ = ["ChannelRead", "PreparedSync", "RelayReport", "SyncRunner", "UnsafePlan"]

log = logging.getLogger(__name__)

_OP = TypeAdapter(WriteOp)
PLANNED_MARK = ("_shopbridge", "planned")
TIMESTAMP_AMBIGUITY = timedelta(seconds=2)
"""Channels date events to the second (WooCommerce) and their clocks drift from ours: a sale this
close to a count may or may not be in it, so such a count is not read as a manual change."""
FIRST_SYNC_EVENTS_MARGIN = timedelta(seconds=60)
"""A first sync reads stock events from this long before its counts on: enough for clock drift
between us and a channel (a sale inside it is dropped as already counted, see ``_before_seed``)."""
Step = Callable[[str], None]


class UnsafePlan(Exception):
    """The plan trips a safety limit; ``reasons`` says which. Re-run with ``force`` to apply anyway."""

    def __init__(self, plan: Plan) -> None:
        super().__init__("; ".join(plan.safety.reasons))
        self.plan = plan


@dataclass
class ChannelRead:
    """What one channel told us in this sync."""

    products: list[ChannelProduct]
    catalog_cursor: str | None
    levels: list[StockLevel]
    events: list[StockEvent]
    events_cursor: str | None
    counted_at: datetime
    events_read_at: datetime
    calls: int = 0


@dataclass
class PreparedSync:
    """A plan and everything :meth:`SyncRunner.commit` must record with it."""

    plan: Plan
    first_sync: bool
    reads: dict[str, ChannelRead]
    groups: list[LinkGroup]
    new_entries: list[LedgerEntry]
    locations: LocationMap
    counted_at: dict[tuple[str, str, str | None], datetime] = field(default_factory=dict)
    observed: list[Observation] = field(default_factory=list)

    @property
    def calls(self) -> dict[str, int]:
        return {name: read.calls for name, read in self.reads.items()}


@dataclass
class RelayReport:
    """Outcome of sending the outbox, per channel."""

    sent: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    deferred: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors: list[str] = field(default_factory=list)

    def merge(self, other: RelayReport) -> None:
        for mine, theirs in (
            (self.sent, other.sent),
            (self.failed, other.failed),
            (self.deferred, other.deferred),
        ):
            for key, value in theirs.items():
                mine[key] += value
        self.errors.extend(other.errors)


def _now() -> datetime:
    return datetime.now(UTC)


def _parse_time(text: str | None) -> datetime:
    if not text:
        return datetime(1970, 1, 1, tzinfo=UTC)
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class SyncRunner:
    """Syncs the given adapters through ``store`` under ``policy``.

    ``step`` is called with a short description before each long read or write (progress display).
    """

    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, ChannelAdapter],
        policy: SyncPolicy,
        *,
        step: Step | None = None,
        max_attempts: int = 12,
    ) -> None:
        self.store = store
        self.adapters = dict(adapters)
        self.policy = policy
        self.step = step or (lambda _: None)
        self.max_attempts = max_attempts
        self._locations: LocationMap | None = None

    # ------------------------------------------------------------------------------------------
    # 1. prepare
    # ------------------------------------------------------------------------------------------

    def locations(self, *, refresh: bool = False) -> LocationMap:
        """Canonical locations are the channels' physical locations (Square's); a shop without any gets
        one ``default`` location. Listed once per runner (and again on a full sync)."""
        if self._locations is not None and not refresh:
            return self._locations
        keys: list[str] = []
        channel_ids: dict[tuple[str, str], str] = {}
        for name, adapter in sorted(self.adapters.items()):
            if not adapter.capabilities.has_locations:
                continue
            for loc in adapter.list_locations():
                if not loc.active:
                    continue
                keys.append(loc.channel_id)
                channel_ids[(name, loc.channel_id)] = loc.channel_id
        if not keys:
            keys = ["default"]
        self._locations = LocationMap(tuple(keys), channel_ids)
        return self._locations

    def prepare(self, *, full: bool = False) -> PreparedSync:
        """Read every channel and build the plan; writes nothing."""
        store = self.store
        first = not store.links("variant")
        full = full or first
        locations = self.locations(refresh=True)
        reads: dict[str, ChannelRead] = {}
        fresh: dict[str, list[ChannelProduct]] = {}
        # A count where one of our stock writes is still queued (or its answer was lost) cannot be
        # judged: it may or may not include that write. Those keys are left alone until it settles,
        # and their SKUs (with those whose writes settled since the last plan) are looked at again.
        in_flight = store.outbox_stock_in_flight()
        revisit = {sku for _, sku, _ in in_flight} | store.outbox_skus_settled_since(
            store.get_cursor(*PLANNED_MARK)
        )
        existing = [
            ExistingLink(r["canonical_key"], r["channel"], r["channel_id"], r["parent_id"])
            for r in store.links("variant")
        ]
        linked_sku = {(e.channel, e.variant_id): e.sku for e in existing}

        # Catalogue first: for a single-pool channel its stock is part of it (its count's moment).
        for name, adapter in sorted(self.adapters.items()):
            self.step(f"reading {name} catalogue")
            counted_at = _now()
            page = adapter.read_catalog(None if full else store.get_cursor(name, "catalog"))
            fresh[name] = list(page.items)
            reads[name] = ChannelRead(
                products=fresh[name],
                catalog_cursor=page.cursor,
                levels=[],
                events=[],
                events_cursor=None,
                counted_at=counted_at,
                events_read_at=counted_at,
                calls=page.calls,
            )

        # The events since the last sync, read after the catalogue: for a single-pool channel that
        # is after its counts, as manual-change detection needs; for a channel with locations it
        # tells which SKUs moved, so we know whose counts to read (its events are read once more
        # after those counts).
        if not full:
            for name, adapter in sorted(self.adapters.items()):
                self.step(f"reading {name} stock events")
                read = reads[name]
                read.events_read_at = _now()
                page_e = adapter.read_stock_events(store.get_cursor(name, "events"))
                read.events = list(page_e.items)
                read.events_cursor = page_e.cursor
                read.calls += page_e.calls

        # The products to reconcile: everything on a full sync; otherwise what changed plus the
        # other channels' side of the same SKUs, from the snapshots of earlier reads.
        if full:
            universe = {name: list(products) for name, products in fresh.items()}
            groups_all = link(universe, existing, prefer=[self.policy.system_of_record])
            affected = {g.sku for g in groups_all.groups}
        else:
            touched: set[str] = set(revisit)
            for name, products in fresh.items():
                for product in products:
                    for variant in product.variants:
                        sku = linked_sku.get((name, variant.channel_id)) or variant.sku
                        if sku:
                            touched.add(sku)
            for name, read in reads.items():
                for event in read.events:
                    sku = linked_sku.get((name, event.variant_id or "")) or event.sku
                    if sku:
                        touched.add(sku)
            members: dict[str, set[str]] = defaultdict(set)
            for e in existing:
                if e.sku in touched:
                    members[e.channel].add(e.variant_id)
            universe = {}
            for name in self.adapters:
                known = {p.channel_id: p for p in store.snapshot(name, members.get(name, set()))}
                for product in fresh[name]:
                    known[product.channel_id] = product
                universe[name] = list(known.values())
            groups_all = link(universe, existing, prefer=[self.policy.system_of_record])
            in_universe = {
                (name, v.channel_id)
                for name, products in universe.items()
                for p in products
                for v in p.variants
            }
            affected = {
                g.sku
                for g in groups_all.groups
                if any((ch, m.variant_id) in in_universe for ch, m in g.members.items())
            }
        groups = [g for g in groups_all.groups if g.sku in affected]
        skus = variant_index(groups)

        # Counts: per location where the channel has them, after the catalogue; then the events.
        levels: list[StockLevel] = []
        member_ids: dict[str, set[str]] = defaultdict(set)
        for g in groups:
            for ch, m in g.members.items():
                member_ids[ch].add(m.variant_id)
        for name, adapter in sorted(self.adapters.items()):
            read = reads[name]
            if adapter.capabilities.has_locations:
                self.step(f"reading {name} stock counts")
                read.counted_at = _now()
                ids = sorted(member_ids[name])
                read.levels = adapter.read_stock_levels(ids) if ids else []
                # A variation never counted at a location has no count there: Square means 0.
                seen = {(lv.variant_id, lv.location_id) for lv in read.levels}
                read.levels += [
                    StockLevel(
                        channel=name, variant_id=vid, location_id=loc, quantity=0, observed_at=read.counted_at
                    )
                    for vid in ids
                    for _, loc in locations.of_channel(name)
                    if (vid, loc) not in seen
                ]
                levels.extend(read.levels)
            else:
                levels.extend(
                    StockLevel(
                        channel=name,
                        variant_id=v.channel_id,
                        location_id=None,
                        quantity=v.stock,
                        observed_at=read.counted_at,
                    )
                    for p in read.products
                    for v in p.variants
                    if v.manage_stock and v.channel_id in member_ids[name]
                )
        for name, adapter in sorted(self.adapters.items()):
            read = reads[name]
            if not full and not adapter.capabilities.has_locations:
                continue
            self.step(f"reading {name} stock events")
            read.events_read_at = _now()
            if first:
                # Earlier sales are in the counts just read: start the history there.
                cursor = adapter.events_cursor_at(read.counted_at - FIRST_SYNC_EVENTS_MARGIN)
            else:
                cursor = read.events_cursor if not full else store.get_cursor(name, "events")
            page_e = adapter.read_stock_events(cursor)
            read.events = read.events + list(page_e.items)
            read.events_cursor = page_e.cursor or read.events_cursor
            read.calls += page_e.calls

        observed = [
            o
            for o in observations(levels, skus=skus, locations=locations)
            if (o.channel, o.sku, o.location or "") not in in_flight
        ]
        counted_by_key = {(o.channel, o.sku, o.location): o.observed_at for o in observed}
        sku_list = sorted(affected)
        ledger = [self._entry(r) for r in store.ledger_rows(sku_list)]
        seeded = {e.sku for e in ledger if e.kind is StockEventKind.INITIAL}

        # Seed newly linked SKUs from their counts (Square's per location when present).
        new_entries: list[LedgerEntry] = []
        counts_by_sku: dict[str, list[Observation]] = defaultdict(list)
        for o in observed:
            counts_by_sku[o.sku].append(o)
        seeded_at = {(e.sku, e.location) for e in ledger if e.kind is StockEventKind.INITIAL}
        for group in groups:
            if group.sku not in seeded:
                new_entries.extend(
                    initial_entries(
                        group.sku, counts_by_sku[group.sku], policy=self.policy, locations=locations
                    )
                )
                continue
            # A location opened since the SKU was linked starts from its own count, not from zero.
            fresh_places = [
                o
                for o in counts_by_sku[group.sku]
                if o.location is not None and (o.sku, o.location) not in seeded_at
            ]
            for o in fresh_places:
                new_entries.extend(
                    initial_entries(o.sku, [o], policy=self.policy, locations=locations, seed_from=o.channel)
                )
        initial_at = {
            e.sku: e.occurred_at for e in [*ledger, *new_entries] if e.kind is StockEventKind.INITIAL
        }

        # Events: a sale before a SKU's initial count is already in that count.
        events = [
            ev for read in reads.values() for ev in read.events if not self._before_seed(ev, skus, initial_at)
        ]
        current = on_hand([*ledger, *new_entries])
        resolved = resolve_events(
            events,
            skus=skus,
            locations=locations,
            policy=self.policy,
            current=current,
            known=[e.source_id for e in ledger] + [e.source_id for e in new_entries],
        )
        for event, why in resolved.unresolved:
            if event.kind is not StockEventKind.INITIAL:
                log.debug("stock event not applied", extra={"source_id": event.source_id, "why": why})
        new_entries.extend(resolved.entries)

        written = self._written(sku_list)
        manual = detect_manual_changes(
            observed,
            written,
            [*ledger, *new_entries],
            events_read_until={name: read.events_read_at for name, read in reads.items()},
            policy=self.policy,
            locations=locations,
            ambiguity=TIMESTAMP_AMBIGUITY,
        )
        new_entries.extend(manual)
        everything = [*ledger, *new_entries]

        plan = reconcile(
            ReconcileInput(
                products=universe,
                groups=groups,
                policy=self.policy,
                capabilities={name: a.capabilities for name, a in self.adapters.items()},
                locations=locations,
                canonical=store.canonical(sku_list),
                last_written=self._last_written(),
                on_hand=on_hand(everything),
                seeded={e.sku for e in everything if e.kind is StockEventKind.INITIAL},
                observed=observed,
                positions=ledger_positions(everything),
                recent=everything,
                written_stock=written,
                first_sync=first,
                issues=groups_all.issues,
            )
        )
        if in_flight:
            plan = Plan.build(
                [
                    c
                    for c in plan.changes
                    if c.action not in ("set_stock", "adjust_stock")
                    or (c.channel, c.sku or "", c.location or "") not in in_flight
                ],
                plan.warnings,
                plan.safety,
                written_hashes=plan.written_hashes,
                canonical=plan.canonical,
            )
        return PreparedSync(
            plan=plan,
            first_sync=first,
            reads=reads,
            groups=groups,
            new_entries=new_entries,
            locations=locations,
            counted_at=counted_by_key,
            observed=observed,
        )

    @staticmethod
    def _before_seed(
        event: StockEvent, skus: Mapping[tuple[str, str], str], initial_at: Mapping[str, datetime]
    ) -> bool:
        sku = skus.get((event.channel, event.variant_id or "")) or event.sku
        seeded_at = initial_at.get(sku or "")
        return seeded_at is not None and event.occurred_at <= seeded_at

    @staticmethod
    def _entry(row: Mapping[str, Any]) -> LedgerEntry:
        return LedgerEntry(
            source_id=row["source_id"],
            channel=row["channel"],
            kind=StockEventKind(row["kind"]),
            sku=row["sku"],
            location=row["location"],
            delta=row["delta"],
            occurred_at=_parse_time(row["occurred_at"]),
            reason=row["reason"] or "",
        )

    def _written(self, skus: Sequence[str]) -> dict[tuple[str, str, str | None], Written]:
        out: dict[tuple[str, str, str | None], Written] = {}
        for row in self.store.projections(skus):
            location = row["location"] or None
            out[(row["channel"], row["sku"], location)] = Written(
                row["channel"], row["sku"], location, row["quantity"], _parse_time(row["written_at"])
            )
        return out

    def _last_written(self) -> dict[tuple[str, str], str]:
        return {
            (r["channel"], r["canonical_key"]): r["last_written_hash"]
            for r in self.store.links("variant")
            if r["last_written_hash"]
        }

    # ------------------------------------------------------------------------------------------
    # 2. commit
    # ------------------------------------------------------------------------------------------

    def commit(self, prepared: PreparedSync, *, force: bool = False) -> int:
        """Record the reads and queue the plan's writes, atomically. Returns how many writes were queued.

        Raises :class:`UnsafePlan` (recording nothing) when the plan trips a safety limit and not ``force``.
        """
        plan = prepared.plan
        if not plan.safety.safe and not force:
            raise UnsafePlan(plan)
        store = self.store
        known_links = {(r["canonical_key"], r["channel"]) for r in store.links("variant")}
        now = utcnow()
        with store.transaction() as db:
            store.set_cursor(*PLANNED_MARK, now)
            for name, read in prepared.reads.items():
                store.save_snapshot(name, read.products)
            store.upsert_links(
                {
                    "entity": "variant",
                    "canonical_key": g.sku,
                    "channel": ch,
                    "channel_id": m.variant_id,
                    "parent_id": m.product_id,
                }
                for g in prepared.groups
                for ch, m in g.members.items()
                if (g.sku, ch) not in known_links
            )
            db.table("locations").upsert_all(
                [{"key": key, "name": key, "active": 1} for key in prepared.locations.keys], pk="key"
            )
            store.record_stock_events(prepared.new_entries)
            owner = self.policy.system_of_record
            refs: dict[str, str] = {}
            for g in prepared.groups:
                member = g.members.get(owner) or next(iter(g.members.values()))
                channel = owner if owner in g.members else next(iter(g.members))
                refs[g.sku] = f"{channel}:{member.product_id or member.variant_id}"
            store.save_catalogue(
                (refs[sku], sku, data) for sku, data in plan.canonical.items() if sku in refs
            )
            db.table("canonical").upsert_all(
                [
                    {"sku": sku, "data": _json(data), "updated_at": now}
                    for sku, data in plan.canonical.items()
                ],
                pk="sku",
            )
            # Every count read becomes its channel's baseline for spotting the next manual change:
            # what it showed then, plus its own events after that, is what it should show later.
            # (Any difference it had from that baseline was just turned into an adjustment above.)
            db.table("projections").upsert_all(
                [
                    {
                        "channel": o.channel,
                        "sku": o.sku,
                        "location": o.location or "",
                        "quantity": o.quantity,
                        "written_at": o.observed_at.isoformat(timespec="microseconds"),
                    }
                    for o in prepared.observed
                    if o.quantity is not None
                ],
                pk=("channel", "sku", "location"),
            )
            for name, read in prepared.reads.items():
                if read.catalog_cursor is not None:
                    store.set_cursor(name, "catalog", read.catalog_cursor)
                if read.events_cursor is not None:
                    store.set_cursor(name, "events", read.events_cursor)
            for change in plan.changes:
                if change.action == "conflict":
                    self._record_conflict(
                        change.channel, change.sku or "", change.fields, change.before, change.after
                    )
            queued = store.outbox_enqueue(
                {
                    "channel": c.channel,
                    "idempotency_key": c.key,
                    "action": c.action,
                    "sku": c.sku,
                    "op": {
                        "op": c.op.model_dump(mode="json"),
                        "meta": {
                            "location": c.location,
                            "after": c.after,
                            "written_hash": c.written_hash
                            or plan.written_hashes.get((c.channel, c.sku or "")),
                            "counted_at": _iso(prepared.counted_at.get((c.channel, c.sku or "", c.location))),
                        },
                    },
                    "reason": c.reason,
                }
                for c in plan.changes
                if c.op is not None
            )
            # Links whose channel already shows what the plan wants: remember that as written.
            pending = {(c.channel, c.sku) for c in plan.changes if c.op is not None}
            for (channel, sku), digest in plan.written_hashes.items():
                if (channel, sku) not in pending:
                    db.execute(
                        "UPDATE links SET last_written_hash = ? WHERE entity = 'variant' "
                        "AND canonical_key = ? AND channel = ?",
                        [digest, sku, channel],
                    )
        return queued

    def _record_conflict(self, channel: str, sku: str, fields: Sequence[str], theirs: Any, ours: Any) -> None:
        field_name = ",".join(fields)
        exists = self.store.db.execute(
            "SELECT 1 FROM conflicts WHERE channel = ? AND canonical_key = ? AND field = ? AND theirs = ? "
            "AND resolved_at IS NULL",
            [channel, sku, field_name, _json(theirs)],
        ).fetchone()
        if not exists:
            self.store.add_conflict(
                channel=channel,
                entity="variant",
                canonical_key=sku,
                field=field_name,
                ours=_json(ours),
                theirs=_json(theirs),
            )

    # ------------------------------------------------------------------------------------------
    # 3. relay
    # ------------------------------------------------------------------------------------------

    def relay(self, channels: Iterable[str] | None = None) -> RelayReport:
        """Send due outbox entries; each channel on its own, so one failing channel blocks nothing."""
        report = RelayReport()
        for name in sorted(channels or self.adapters):
            adapter = self.adapters[name]
            while True:
                due = self.store.outbox_due(name, limit=1000)
                if not due:
                    break
                self.step(f"writing {len(due)} changes to {name}")
                ops = [_OP.validate_python(entry.op["op"]) for entry in due]
                adapter.mark_uncertain(entry.idempotency_key for entry in due if entry.attempts > 0)
                self.store.outbox_claim([entry.id for entry in due])
                try:
                    results = adapter.apply(ops)
                except Exception as exc:  # noqa: BLE001 - whatever failed, the entries stay accounted for
                    retry = not isinstance(exc, AuthError)
                    for entry in due:
                        if self._defer(entry.id, entry.attempts, str(exc), retry):
                            report.deferred[name] += 1
                        else:
                            report.failed[name] += 1
                    report.errors.append(f"{name}: {exc}")
                    log.warning(
                        "channel write failed; kept queued", extra={"channel": name, "error": str(exc)}
                    )
                    break
                progressed = False
                for entry, result in zip(due, results, strict=True):
                    if result.ok:
                        self._applied(name, entry.sku, entry.op, result)
                        self.store.outbox_done(entry.id, result.model_dump(mode="json"))
                        report.sent[name] += 1
                        progressed = True
                    elif result.retryable:
                        if self._defer(entry.id, entry.attempts, result.error or "retryable failure", True):
                            report.deferred[name] += 1
                        else:
                            report.failed[name] += 1
                            report.errors.append(
                                f"{name} {entry.action} {entry.sku or ''}: gave up: {result.error}"
                            )
                    else:
                        self.store.outbox_failed(entry.id, f"{result.code or 'error'}: {result.error}")
                        report.failed[name] += 1
                        report.errors.append(f"{name} {entry.action} {entry.sku or ''}: {result.error}")
                        progressed = True
                if not progressed:
                    break
        return report

    def _defer(self, entry_id: int, attempts: int, error: str, retry: bool) -> bool:
        """Schedule another attempt with jittered backoff; False when giving up (parked as failed)."""
        if not retry or attempts + 1 >= self.max_attempts:
            self.store.outbox_failed(entry_id, error)
            return False
        delay = min(3600.0, 5.0 * 2**attempts) * (0.5 + random.random() / 2)
        when = (_now() + timedelta(seconds=delay)).isoformat(timespec="microseconds")
        self.store.outbox_retry_later(entry_id, error, when)
        return True

    def _applied(self, channel: str, sku: str | None, stored: Mapping[str, Any], result: WriteResult) -> None:
        """Remember what a successful write did: new links, the written hash, the stock written."""
        op = _OP.validate_python(stored["op"])
        meta = stored.get("meta", {})
        store = self.store
        now = utcnow()
        with store.transaction() as db:
            if isinstance(op, CreateProduct):
                product_id = result.channel_id
                rows = []
                for variant in op.product.variants:
                    if not variant.sku or variant.sku not in result.ids:
                        continue
                    rows.append(
                        {
                            "entity": "variant",
                            "canonical_key": variant.sku,
                            "channel": channel,
                            "channel_id": result.ids[variant.sku],
                            "parent_id": product_id,
                        }
                    )
                    if variant.stock is not None:
                        db.table("projections").upsert(
                            {
                                "channel": channel,
                                "sku": variant.sku,
                                "location": "",
                                "quantity": variant.stock,
                                "written_at": now,
                            },
                            pk=("channel", "sku", "location"),
                        )
                store.upsert_links(rows)
                return
            if sku and meta.get("written_hash"):
                db.execute(
                    "UPDATE links SET last_written_hash = ?, version = coalesce(?, version) "
                    "WHERE entity = 'variant' AND canonical_key = ? AND channel = ?",
                    [meta["written_hash"], result.version, sku, channel],
                )
            if sku and op.op in ("set_stock", "adjust_stock") and meta.get("after") is not None:
                # The baseline moment: for a relative write, the count it was computed from; for an
                # absolute one, when the channel applied it (its modification date, if it says).
                if op.op == "adjust_stock" and meta.get("counted_at"):
                    at = meta["counted_at"]
                else:
                    at = _channel_time(result.version) or now
                db.table("projections").upsert(
                    {
                        "channel": channel,
                        "sku": sku,
                        "location": meta.get("location") or "",
                        "quantity": int(meta["after"]),
                        "written_at": at,
                    },
                    pk=("channel", "sku", "location"),
                )
            store.audit(channel, op.op, sku or "", {"key": op.key, "version": result.version})

    # ------------------------------------------------------------------------------------------
    # the whole thing
    # ------------------------------------------------------------------------------------------

    def run(self, *, force: bool = False, rounds: int = 3) -> tuple[list[Plan], RelayReport]:
        """Prepare, commit and relay; again while the last round created products (a created product
        needs a second round for its stock at each location), at most ``rounds`` times."""
        plans: list[Plan] = []
        report = self.relay()  # settle what earlier runs queued before planning anew
        for _ in range(rounds):
            prepared = self.prepare()
            plans.append(prepared.plan)
            self.commit(prepared, force=force)
            report.merge(self.relay())
            # Only a created product needs another round (its stock at each location, its links);
            # otherwise the next sync reads our writes back as echoes and finds nothing to do.
            created = any(c.action == "create" for c in prepared.plan.changes)
            if not created or report.deferred or report.failed:
                break
        return plans, report


def _channel_time(text: str | None) -> str | None:
    """A channel's modification date (WooCommerce ``date_modified_gmt``) as our ISO UTC text."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="microseconds")
