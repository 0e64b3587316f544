"""One sync: read the channels, record what happened in the ledger, plan, queue, send.

This is the only module that talks to adapters, the store and the pure engine together. A sync has
three steps, kept apart so that ``--dry-run`` is the first step alone and a crash between steps is
harmless:

1. :meth:`SyncRunner.read` reads (catalogue since the cursor, the stock events that tell which SKUs
   moved, their counts, then the stock events again, so that every count is judged against the
   sales read up to its moment; see "the read path" below) into a scratch
   :class:`~bridge.staging.Staging` file; :meth:`StagedRead.chunks` then links, turns events into
   ledger entries, detects manual count changes and asks :func:`bridge.reconcile.reconcile` for a
   plan, a chunk of products that can only link among themselves at a time, so that memory does
   not grow with the catalogue. Nothing is written to the store. (:meth:`SyncRunner.prepare`
   merges the chunks into one plan, for ``--dry-run``.)
2. :meth:`SyncRunner.commit` records, in one transaction per chunk, what was read (snapshots, links, ledger
   entries, cursors, the agreed catalogue) and queues the plan's writes in the outbox, each under
   its deterministic idempotency key: a plan computed twice queues each write once.
3. :meth:`SyncRunner.relay` sends due outbox entries per channel in the channel's batch sizes, and
   records per entry what happened (links for created products, the hash of what we wrote for echo
   suppression, the stock we wrote for manual-change detection). A channel that fails keeps its
   entries queued and does not stop the others.

Incremental syncs reconcile only the SKUs something happened to (changed on a channel, or with new
stock events); the other channels' side of those SKUs comes from the snapshots of earlier reads.

The read path is one design: what moment each count describes, which events are known up to it,
and what a cursor may move past.

* **A count is dated by the moment it describes**, in the channel's own clock: Square's
  ``calculated_at`` (the receipt of the last change it holds); for WooCommerce, the ``Date`` of the
  answer that carried it (``ChannelVariant.counted_at``), never when we started reading.
* **An event is placed against a count by when it reached the counts**: Square exactly (each
  change's ``created_at``, ``StockEvent.received_at``); WooCommerce to the second (an order dated in
  the count's second or the one before may be on either side: ``Capabilities.date_resolution``).
* **An events read says how far it is complete** (``Page.read_until``). A count newer than that
  holds a change not read yet: nothing is judged or written from it this round; that change, read
  next round, brings its SKU back.
* **A count is brought forward to the ledger's moment**: the channel's own events read after the
  count's moment are added to it. Stock writes are computed from that (a till sale between the
  counts and the events read is not taken off the till a second time), and it is the baseline the
  next count is judged against (:func:`bridge.ledger.judge_counts`: a count is compared with the
  events around *that* count and its baseline; an event of uncertain date is weighed both ways,
  and a difference no reading explains is the manual change that under-promises stock).
* **No event is consumed unrecorded**: the SKUs that only the last events read touched are staged
  then, with their counts, and planned in the same round, before the cursors move past them.
* **Initial counts are per (SKU, location)**: a location's first count holds its own past, not
  the sales made elsewhere since the last sync.
"""

from __future__ import annotations

import json
import logging
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import TypeAdapter

from adapters.base import AdapterError, AuthError, ChannelAdapter, Page
from bridge.effects import effect_changes
from bridge.issues import ReadIssue
from bridge.ledger import (
    LedgerEntry,
    LocationMap,
    Observation,
    Written,
    initial_entries,
    judge_counts,
    ledger_positions,
    observations,
    on_hand,
    place,
    resolve_events,
    variant_index,
)
from bridge.linking import ExistingLink, LinkGroup, LinkResult, link
from bridge.models import ChannelProduct, StockEvent, StockEventKind, StockLevel
from bridge.plan import Plan, SafetyFigures
from bridge.policy import SyncPolicy
from bridge.pools import PoolVerdict, find_pools, judge_pools
from bridge.progress import Progress, QuietProgress
from bridge.reconcile import ReconcileInput, judge, reconcile
from bridge.skipped import held_skus, unread_sales
from bridge.staging import Staging
from bridge.store import Store, utcnow
from bridge.unresolved import describe, released, unclaimed, unlinked
from bridge.vanished import before_takeover, successors, vanished_links
from bridge.writes import CreateProduct, WriteOp, WriteResult

__all__ = [
    "ChannelRead",
    "PreparedSync",
    "RelayReport",
    "StagedRead",
    "SyncRunner",
    "UnsafePlan",
    "merge_prepared",
]

log = logging.getLogger(__name__)

_OP = TypeAdapter(WriteOp)
PLANNED_MARK = ("_shopbridge", "planned")
AUTH_RETRY = timedelta(seconds=60)
"""How soon writes refused for bad credentials are tried again (they are never given up on)."""
SYNCED_MARK = ("_shopbridge", "synced")
"""Set when a sync's last chunk commits: from then on no sync is a first sync (links made by hand
before it do not count, nor do catalogue cursors cleared to force a full read)."""
KEEP_PLANNED_CHANGES = 5_000
"""A plan up to this many changes is kept between judging and committing it; a larger one is
planned again chunk by chunk rather than held."""
COUNT_BATCH = 10_000
"""Variations whose counts a full read asks for at once (a multiple of the channels' page sizes)."""
FIRST_SYNC_EVENTS_MARGIN = timedelta(seconds=60)
"""A first sync reads stock events from this long before its counts on: enough for clock drift
between us and a channel (a sale inside it is dropped as already counted, see ``_before_seed``)."""
NEVER_COUNTED = datetime(1970, 1, 1, tzinfo=UTC)
"""The moment of the 0 a channel implies by listing no count for a variant at a location: before
anything happened there. Where we remember a count there, the count has gone instead (the object was
deleted, or is no longer tracked): that is no count at all, and nothing is judged or written from it."""
T = TypeVar("T")


class UnsafePlan(Exception):
    """The plan trips a safety limit; ``reasons`` says which. Re-run with ``force`` to apply anyway."""

    def __init__(self, plan: Plan) -> None:
        super().__init__("; ".join(plan.safety.reasons))
        self.plan = plan


class ChannelReadError(Exception):
    """A channel could not be read. Nothing is planned that round: a plan made without one channel's
    side would miss its sales and take what it holds for gone. Writes already queued for every
    channel are still sent, and the next round (or daemon cycle) reads again."""

    def __init__(self, channel: str, error: Exception) -> None:
        super().__init__(f"{channel}: read failed: {error}")
        self.channel = channel
        self.error = error


class LocationConfigError(ValueError):
    """``default_location``, ``allocation_priority`` or ``source_locations`` names a location that
    no channel has: stock placed there would be shown nowhere (a web sale would vanish from the
    counts instead of reducing one)."""


@contextmanager
def _reading(channel: str) -> Iterator[None]:
    try:
        yield
    except AdapterError as exc:
        raise ChannelReadError(channel, exc) from exc


@dataclass
class ChannelRead:
    """What one channel told us in this sync.

    ``counted_at`` is our clock when its counts were asked for (a single pool's counts carry their
    own moment, ``ChannelVariant.counted_at``); ``events_read_at`` is, in the channel's clock, how far
    its events read is complete (``Page.read_until``; our clock at the read when it cannot say)."""

    products: list[ChannelProduct]
    catalog_cursor: str | None
    levels: list[StockLevel]
    events: list[StockEvent]
    events_cursor: str | None
    counted_at: datetime
    events_read_at: datetime
    issues: list[ReadIssue] = field(default_factory=list)
    """Items skipped because they could not be read (reported; see :mod:`bridge.skipped`)."""


@dataclass
class PreparedSync:
    """A plan and everything :meth:`SyncRunner.commit` must record with it."""

    plan: Plan
    reads: dict[str, ChannelRead]
    groups: list[LinkGroup]
    new_entries: list[LedgerEntry]
    locations: LocationMap
    counted_at: dict[tuple[str, str, str | None], datetime] = field(default_factory=dict)
    observed: list[Observation] = field(default_factory=list)
    vanished: set[tuple[str, str]] = field(default_factory=set)
    """``(channel, variant id)`` deleted for good: their last-read snapshot is forgotten."""
    unresolved: list[tuple[StockEvent, str]] = field(default_factory=list)
    """Events that could not be placed (with why): kept in the store, reported in the plan."""
    claimed: set[str] = field(default_factory=set)
    """Source ids of the events this chunk's SKUs own (placed, already counted, or unresolved)."""
    released: list[str] = field(default_factory=list)
    """Kept events this chunk accounted for at last."""

    def reporting(self, unresolved: Iterable[tuple[StockEvent, str]]) -> PreparedSync:
        """This prepared sync with ``unresolved`` events added to its plan's report."""
        more = tuple(describe(ev, why) for ev, why in unresolved if ev.delta)
        if more:
            self.plan = replace(self.plan, unresolved=(*self.plan.unresolved, *more))
        return self

    pools: list[PoolVerdict] = field(default_factory=list)


@dataclass
class RelayReport:
    """Outcome of sending the outbox, per channel."""

    sent: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    deferred: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)
    """Channels whose read failed (see :class:`ChannelReadError`)."""
    planned: int = 0
    """Changes planned (by :meth:`SyncRunner.run`, whether or not the plans were kept)."""

    def merge(self, other: RelayReport) -> None:
        for mine, theirs in (
            (self.sent, other.sent),
            (self.failed, other.failed),
            (self.deferred, other.deferred),
        ):
            for key, value in theirs.items():
                mine[key] += value
        self.errors.extend(other.errors)
        self.unread.extend(other.unread)
        self.planned += other.planned


def _now() -> datetime:
    return datetime.now(UTC)


def _parse_time(text: str | None) -> datetime:
    if not text:
        return datetime(1970, 1, 1, tzinfo=UTC)
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class SyncRunner:
    """Syncs the given adapters through ``store`` under ``policy``.

    ``progress`` hears of each long read or write and how far it got (a bar on a terminal).
    """

    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, ChannelAdapter],
        policy: SyncPolicy,
        *,
        progress: Progress | None = None,
        max_attempts: int = 12,
        chunk_size: int = 2_000,
    ) -> None:
        self.store = store
        self.chunk_size = chunk_size
        self.adapters = dict(adapters)
        self.policy = policy
        self.progress: Progress = progress or QuietProgress()
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
        names: dict[str, str] = {}
        for name, adapter in sorted(self.adapters.items()):
            if not adapter.capabilities.has_locations:
                continue
            with _reading(name):
                listed = adapter.list_locations()
            for loc in listed:
                if not loc.active:
                    continue
                keys.append(loc.channel_id)
                channel_ids[(name, loc.channel_id)] = loc.channel_id
                names[loc.channel_id] = loc.name
        if not keys:
            keys = ["default"]
        self._check_location_names(keys)
        self._locations = LocationMap(tuple(keys), channel_ids, names)
        return self._locations

    def full_read_needed(self, full: bool = False) -> bool:
        """A full read: asked for, the first sync, or a channel never read to the end (a first sync
        interrupted between its chunks)."""
        if full or self.first_sync():
            return True
        return any(self.store.get_cursor(name, "catalog") is None for name in self.adapters)

    def _check_location_names(self, keys: Sequence[str]) -> None:
        policy = self.policy
        named = [("default_location", policy.default_location)]
        named += [("allocation_priority", key) for key in policy.allocation_priority]
        named += [(f"source_locations.{ch}", key) for ch, ks in policy.source_locations.items() for key in ks]
        unknown = [f"{where} = {key!r}" for where, key in named if key is not None and key not in keys]
        if unknown:
            raise LocationConfigError(
                f"unknown location in [sync]: {', '.join(unknown)}; known locations: {', '.join(keys)}"
            )

    def first_sync(self) -> bool:
        """Whether no sync has committed to the end yet: the first-sync safety limits apply, and
        stock history starts at the counts. (A store from before ``SYNCED_MARK`` has cursors.)"""
        store = self.store
        if store.get_cursor(*SYNCED_MARK) is not None:
            return False
        return not any(
            store.get_cursor(name, stream) is not None
            for name in self.adapters
            for stream in ("catalog", "events")
        )

    def prepare(self, *, full: bool = False) -> PreparedSync:
        """Read every channel and build the plan; writes nothing to the store.

        The plan is made in chunks (see :meth:`read`) and merged into one here, for ``--dry-run``;
        :meth:`run` commits the chunks one by one instead, so that a large catalogue (or a large
        change) does not have to fit in memory."""
        with self.read(full=self.full_read_needed(full)) as reading:
            return merge_prepared(list(reading.chunks()), self.policy)

    @contextmanager
    def read(self, *, full: bool) -> Iterator[StagedRead]:
        """Read the channels into a :class:`Staging` file, to be planned chunk by chunk.

        ``full`` reads every product; otherwise what changed since the cursors, plus the other
        channels' side of the same SKUs from the snapshots of earlier reads. Then the counts (per
        location, after the catalogue) and the stock events (after the counts), so every count is
        judged against the sales read up to its moment."""
        store = self.store
        first = self.first_sync()
        locations = self.locations(refresh=True)
        with Staging(store.path) as staging:
            reads: dict[str, ChannelRead] = {}
            # Catalogue first: for a single-pool channel its stock is part of it (its count's moment).
            for name, adapter in sorted(self.adapters.items()):
                self.progress.start(f"reading {name} products")
                read = ChannelRead([], None, [], [], None, _now(), _now())
                with _reading(name):
                    self._stage_catalog(
                        adapter, staging, name, read, None if full else store.get_cursor(name, "catalog")
                    )
                reads[name] = read
            gone = vanished_links(store, staging, self.adapters, full=full, guard=_reading)
            if not full:
                # The events since the last sync tell which SKUs moved: their other channels' side
                # is needed too, and (for a channel with locations) their counts.
                for name, adapter in sorted(self.adapters.items()):
                    self.progress.start(f"reading {name} stock events")
                    read = reads[name]
                    started = _now()
                    with _reading(name):
                        page_e = adapter.read_stock_events(store.get_cursor(name, "events"))
                    read.events, read.events_cursor = list(page_e.items), page_e.cursor
                    read.issues.extend(page_e.issues)
                    read.events_read_at = page_e.read_until or started
                    self.progress.advance(len(page_e.items))
                self._stage_neighbours(staging, reads, gone)
            counted: dict[str, set[str]] = defaultdict(set)
            for name, adapter in sorted(self.adapters.items()):
                if not adapter.capabilities.has_locations:
                    continue
                reads[name].counted_at = _now()
                self._stage_counts(staging, name, adapter, reads[name], locations, counted[name])
            for name, adapter in sorted(self.adapters.items()):
                if not full and not adapter.capabilities.has_locations:
                    continue  # a single pool's events were read after its counts already
                self.progress.start(f"reading {name} stock events")
                read = reads[name]
                started = _now()
                if first:
                    # Earlier sales are in the counts just read: start the history there.
                    cursor = adapter.events_cursor_at(read.counted_at - FIRST_SYNC_EVENTS_MARGIN)
                elif full:
                    cursor = store.get_cursor(name, "events")
                else:
                    cursor = read.events_cursor
                with _reading(name):
                    page_e = adapter.read_stock_events(cursor)
                read.events = read.events + list(page_e.items)
                read.issues.extend(page_e.issues)
                read.events_cursor = page_e.cursor or read.events_cursor
                read.events_read_at = page_e.read_until or started
                self.progress.advance(len(page_e.items))
            if not full:
                # The cursors are about to move past every event read, and an event is consumed
                # only once it is in the ledger: the SKUs only this last read touched are planned
                # too, with their counts (a count newer than the events read is not written from).
                self._stage_neighbours(staging, reads, gone)
                for name, adapter in sorted(self.adapters.items()):
                    if adapter.capabilities.has_locations:
                        self._stage_counts(staging, name, adapter, reads[name], locations, counted[name])
            self._link_staged(staging)
            yield StagedRead(self, staging, reads, first, full, locations, gone)

    def _link_staged(self, staging: Staging) -> None:
        """The staged variants' existing links (their members must stay together in one chunk)."""
        for batch in _batched(staging.variants(), 500):
            links = self.store.links_of_groups("variant", [(ch, vid) for ch, vid, _ in batch])
            staging.add_links((r["channel"], r["channel_id"], r["canonical_key"]) for r in links)

    def _stage_counts(
        self,
        staging: Staging,
        name: str,
        adapter: ChannelAdapter,
        read: ChannelRead,
        locations: LocationMap,
        counted: set[str],
    ) -> None:
        """Counts of the staged variants of ``name`` not counted yet in this read (``counted``)."""
        wanted = [vid for vid in staging.variant_ids(name) if vid not in counted]
        if not wanted:
            return
        self.progress.start(f"reading {name} stock counts", len(wanted))
        for ids in _batched(wanted, COUNT_BATCH):
            with _reading(name):
                staging.add_levels(self._counts(name, adapter, ids, read, locations))
            counted.update(ids)
            self.progress.advance(len(ids))

    def _stage_catalog(
        self, adapter: ChannelAdapter, staging: Staging, name: str, read: ChannelRead, cursor: str | None
    ) -> None:
        """Page by page into ``staging`` (in a function of its own: no page outlives the loop)."""
        for page in adapter.iter_catalog(cursor):
            staging.add_products(name, page.items)
            read.issues.extend(page.issues)
            read.catalog_cursor = page.cursor
            self.progress.advance(len(page.items))

    def _stage_neighbours(
        self, staging: Staging, reads: Mapping[str, ChannelRead], gone: set[tuple[str, str]]
    ) -> None:
        """For an incremental read: the SKUs something happened to (changed on a channel, moved by
        an event, or with one of our stock writes settled or still in doubt), and every channel's
        last-read products holding them."""
        store = self.store
        touched = {sku for _, sku, _ in store.outbox_stock_in_flight()} | store.outbox_skus_settled_since(
            store.get_cursor(*PLANNED_MARK)
        )
        for batch in _batched(staging.variants(), 500):
            touched.update(sku for _, _, sku in batch if sku)
            touched.update(
                r["canonical_key"] for r in store.links_of_groups("variant", [(c, v) for c, v, _ in batch])
            )
        for name, read in reads.items():
            touched.update(ev.sku for ev in read.events if ev.sku)
            moved = [(name, ev.variant_id) for ev in read.events if ev.variant_id]
            touched.update(r["canonical_key"] for r in store.links_of_groups("variant", moved))
        for skus in _batched(sorted(touched), 500):
            members: dict[str, list[str]] = defaultdict(list)
            for r in store.links_by_key("variant", skus):
                if (r["channel"], r["channel_id"]) not in gone:
                    members[r["channel"]].append(r["channel_id"])
            for name, ids in members.items():
                staging.add_products(name, store.snapshot(name, ids), replace=False)
            for name, held in store.snapshot_with_skus(skus).items():  # unlinked ones too
                alive = [p for p in held if not any((name, v.channel_id) in gone for v in p.variants)]
                staging.add_products(name, alive, replace=False)

    def _counts(
        self,
        name: str,
        adapter: ChannelAdapter,
        ids: Sequence[str],
        read: ChannelRead,
        locations: LocationMap,
    ) -> list[StockLevel]:
        """Counts of ``ids`` at each of the channel's locations; never counted there means 0, as of
        before anything happened there (so any events read are read up to it). An unreadable count
        goes to ``read.issues``, which hold its SKU back."""
        page = adapter.read_stock_counts(ids) if ids else Page(items=[], cursor=None)
        levels = list(page.items)
        read.issues.extend(page.issues)
        seen = {(lv.variant_id, lv.location_id) for lv in levels}
        return levels + [
            StockLevel(channel=name, variant_id=vid, location_id=loc, quantity=0, observed_at=NEVER_COUNTED)
            for vid in ids
            for _, loc in locations.of_channel(name)
            if (vid, loc) not in seen
        ]

    def _pool_levels(
        self,
        reads: Mapping[str, ChannelRead],
        universe: Mapping[str, Sequence[ChannelProduct]],
        member_ids: Mapping[str, set[str]],
    ) -> list[StockLevel]:
        """A single-pool channel's counts are part of its catalogue (read at ``counted_at``)."""
        return [
            StockLevel(
                channel=name,
                variant_id=v.channel_id,
                location_id=None,
                quantity=v.stock,
                observed_at=v.counted_at or reads[name].counted_at,
            )
            for name, adapter in sorted(self.adapters.items())
            if not adapter.capabilities.has_locations
            for p in universe.get(name, ())
            for v in p.variants
            if v.manage_stock
            and not v.stock_managed_by_parent
            and v.channel_id in member_ids.get(name, set())
        ]

    def _plan(
        self,
        *,
        reads: dict[str, ChannelRead],
        universe: dict[str, list[ChannelProduct]],
        linked: LinkResult,
        groups: list[LinkGroup],
        levels: list[StockLevel],
        events: list[StockEvent],
        first: bool,
        locations: LocationMap,
        in_flight: set[tuple[str, str, str]],
        held: Mapping[str, set[str]],
        sales_unread: Mapping[str, set[str]],
    ) -> PreparedSync:
        """Ledger and plan for ``groups``, from what was read about them (no I/O but the store's
        ledger, projections and canonical rows for their SKUs). ``held``: per channel, SKUs of
        items skipped there: that channel's counts of them are not judged, nothing is planned.
        ``sales_unread``: per channel, SKUs of sales skipped there: that channel's counts of them are
        neither judged nor written (:func:`bridge.skipped.unread_sales`)."""
        store = self.store
        skus = variant_index(groups)
        blind = _count_keys(sales_unread, locations)
        observed = [
            o
            for o in observations(levels, skus=skus, locations=locations)
            if (o.channel, o.sku, o.location or "") not in in_flight | blind
            and o.sku not in held.get(o.channel, ())
        ]
        counted_by_key = {(o.channel, o.sku, o.location): o.observed_at for o in observed}
        sku_list = sorted({g.sku for g in groups})
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
            (e.sku, e.location): e.occurred_at
            for e in [*ledger, *new_entries]
            if e.kind is StockEventKind.INITIAL
        }
        first_seeded: dict[str, datetime] = {}
        for (sku, _), at in initial_at.items():
            first_seeded[sku] = min(at, first_seeded.get(sku, at))

        # Events: a move before the initial count of its (SKU, location) is already in that count.
        group_skus = set(sku_list)
        kept = store.held_unresolved(skus, group_skus)  # kept from earlier syncs: placeable now?
        events = [*events, *kept]
        ours = [ev for ev in events if (skus.get((ev.channel, ev.variant_id or "")) or ev.sku) in group_skus]
        claimed = {ev.source_id for ev in ours}
        mine = [
            ev
            for ev in ours
            if ev.effect is None and not self._before_seed(ev, skus, initial_at, first_seeded, locations)
        ]
        mine += effect_changes(ours, ledger, initial_at=first_seeded, skus=skus)  # current effects → moves
        resolved = resolve_events(
            mine,
            skus=skus,
            locations=locations,
            policy=self.policy,
            known=[e.source_id for e in ledger] + [e.source_id for e in new_entries],
        )
        unresolved = [(ev, why) for ev, why in resolved.unresolved if ev.kind is not StockEventKind.INITIAL]
        new_entries.extend(resolved.entries)

        written = self._written(sku_list)
        uncounted = {
            (o.channel, o.sku, o.location or "")
            for o in observed
            if o.observed_at == NEVER_COUNTED and (o.channel, o.sku, o.location) in written
        }
        observed = [o for o in observed if (o.channel, o.sku, o.location or "") not in uncounted]
        judged = judge_counts(
            observed,
            written,
            [*ledger, *new_entries],
            events_read_until={name: read.events_read_at for name, read in reads.items()},
            policy=self.policy,
            locations=locations,
            resolution={name: a.capabilities.date_resolution for name, a in self.adapters.items()},
        )
        new_entries.extend(judged.adjustments)
        # A count holding events not read yet is left alone this round (neither judged nor written
        # from), like one under an unconfirmed write: those events, read next round, bring it back.
        unwritten = in_flight | judged.unsettled | uncounted | blind
        for key in sorted(judged.unsettled):
            log.debug("count not settled: no stock write this round", extra={"key": ":".join(key)})
        baselines = {(o.channel, o.sku, o.location): o.observed_at for o in judged.baselines}
        counted_by_key = {key: baselines.get(key, at) for key, at in counted_by_key.items()}
        everything = [*ledger, *new_entries]
        placed = place(everything, self.policy, locations)  # entries allocated by rule, placed
        seeded_now = {e.sku for e in everything if e.kind is StockEventKind.INITIAL}
        pools = self._judge_pools(reads, universe, skus, placed, seeded_now, in_flight, locations)

        on_hold = set().union(*held.values())
        plan = reconcile(
            ReconcileInput(
                products=universe,
                groups=[g for g in groups if g.sku not in on_hold],
                policy=self.policy,
                capabilities={name: a.capabilities for name, a in self.adapters.items()},
                locations=locations,
                canonical=store.canonical(sku_list),
                last_written=self._last_written(sku_list),
                on_hand=on_hand(placed),
                seeded=seeded_now,
                observed=judged.current,
                positions=ledger_positions(everything),
                recent=placed,
                written_stock=written,
                first_sync=first,
                issues=linked.issues,
                in_flight=unwritten,
                creating=store.outbox_creates_in_flight(),
                pools=pools,
            )
        )
        # An agreed pool's count is its next baseline, as any count is (a held one keeps its own).
        pool_baselines = [v.baseline for v in pools if v.state == "agreed" and v.baseline is not None]
        return PreparedSync(
            plan=plan,
            reads=reads,
            groups=groups,
            new_entries=new_entries,
            locations=locations,
            counted_at=counted_by_key,
            observed=judged.baselines + pool_baselines,
            pools=pools,
            unresolved=unresolved,
            claimed=claimed,
            released=released(kept, claimed, unresolved),
        ).reporting(unresolved)

    def _judge_pools(
        self,
        reads: Mapping[str, ChannelRead],
        universe: Mapping[str, Sequence[ChannelProduct]],
        skus: Mapping[tuple[str, str], str],
        placed: Sequence[LedgerEntry],
        seeded: set[str],
        in_flight: set[tuple[str, str, str]],
        locations: LocationMap,
    ) -> list[PoolVerdict]:
        """The stock pools of ``universe`` judged against their baselines (:mod:`bridge.pools`)."""
        pools = find_pools(universe, skus, {name: read.counted_at for name, read in reads.items()})
        if not pools:
            return []
        return judge_pools(
            pools,
            self._written([p.key for p in pools]),
            placed,
            seeded=seeded,
            in_flight=in_flight,
            events_read_until={name: read.events_read_at for name, read in reads.items()},
            policy=self.policy,
            locations=locations,
            resolution={name: a.capabilities.date_resolution for name, a in self.adapters.items()},
        )

    def strays(self, reads: Mapping[str, ChannelRead], claimed: set[str]) -> list[tuple[StockEvent, str]]:
        """Events read this sync that no planned SKU owns and whose variant is linked to nothing:
        a sale of a variant shopbridge does not know (not linked, no SKU, an id never read)."""
        loose = unclaimed((ev for read in reads.values() for ev in read.events), claimed)
        members = self.store.links_of_groups("variant", [(ev.channel, ev.variant_id or "") for ev in loose])
        keys = self.store.links_by_key("variant", [ev.sku for ev in loose if ev.sku])
        return unlinked(
            loose, {(r["channel"], r["channel_id"]) for r in members}, {r["canonical_key"] for r in keys}
        )

    @staticmethod
    def _before_seed(
        event: StockEvent,
        skus: Mapping[tuple[str, str], str],
        initial_at: Mapping[tuple[str, str], datetime],
        first_seeded: Mapping[str, datetime],
        locations: LocationMap,
    ) -> bool:
        """Whether ``event`` is already in an initial count: one at a location, in that location's
        (a new location's first count holds nothing of the others' sales); one without (a web sale),
        in the SKU's first initial count."""
        sku = skus.get((event.channel, event.variant_id or "")) or event.sku or ""
        if event.location_id is not None:
            place_key = locations.canonical(event.channel, event.location_id) or ""
            seeded_at = initial_at.get((sku, place_key))
        else:
            seeded_at = first_seeded.get(sku)
        return seeded_at is not None and (event.received_at or event.occurred_at) <= seeded_at

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

    def _last_written(self, skus: Sequence[str]) -> dict[tuple[str, str], str]:
        return {
            (r["channel"], r["canonical_key"]): r["last_written_hash"]
            for r in self.store.links_by_key("variant", skus)
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
        known_links = {
            (r["canonical_key"], r["channel"]): r["channel_id"]
            for r in store.links_by_key("variant", [g.sku for g in prepared.groups])
        }
        now = utcnow()
        with store.transaction() as db:
            store.set_cursor(*PLANNED_MARK, now)
            for name, read in prepared.reads.items():
                store.save_snapshot(name, read.products)
            store.forget_snapshot(prepared.vanished)
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
                if known_links.get((g.sku, ch)) != m.variant_id
            )
            # A link that followed its SKU to a new product: what we wrote to the old one is moot.
            store.forget_written(
                (g.sku, ch)
                for g in prepared.groups
                for ch, m in g.members.items()
                if known_links.get((g.sku, ch), m.variant_id) != m.variant_id
            )
            db.table("locations").upsert_all(
                [{"key": key, "name": key, "active": 1} for key in prepared.locations.keys], pk="key"
            )
            store.record_stock_events(prepared.new_entries)
            if kept := store.hold_unresolved(prepared.unresolved):
                log.warning("stock moves kept out of the ledger (see status)", extra={"count": kept})
            store.release_unresolved(prepared.released)
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
            if any(read.catalog_cursor is not None for read in prepared.reads.values()):
                store.set_cursor(*SYNCED_MARK, now)
            for name, read in prepared.reads.items():
                if read.catalog_cursor is not None:
                    store.set_cursor(name, "catalog", read.catalog_cursor)
                if read.events_cursor is not None:
                    store.set_cursor(name, "events", read.events_cursor)
            self._record_pool_holds(prepared)
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
                            "written_hash": plan.written_hashes.get((c.channel, c.sku or "")),
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

    def _record_pool_holds(self, prepared: PreparedSync) -> None:
        """Holds of pools judged different; those of pools that agree again, or of products read
        without a pool any more (their variations got stock of their own), are closed."""
        held = [v for v in prepared.pools if v.state == "held"]
        kept = {(v.pool.channel, v.pool.product_id) for v in prepared.pools if v.state != "agreed"}
        open_ = {(h["channel"], h["product_id"]) for h in self.store.held_pools()}
        read = {(name, p.channel_id) for name, r in prepared.reads.items() for p in r.products}
        self.store.record_pool_holds(
            [
                (v.pool.channel, v.pool.product_id, v.pool.skus, v.expected or 0, v.pool.quantity or 0)
                for v in held
            ],
            sorted((open_ & read) - kept),
        )

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
            total = self.store.outbox_due_count(name)
            if total:
                self.progress.start(f"writing changes to {name}", total)
            while True:
                due = self.store.outbox_due(name, limit=1000)
                if not due:
                    break
                ops = [_OP.validate_python(entry.op["op"]) for entry in due]
                adapter.mark_uncertain(entry.idempotency_key for entry in due if entry.attempts > 0)
                self.store.outbox_claim([entry.id for entry in due])
                try:
                    results = adapter.apply(ops)
                except Exception as exc:  # noqa: BLE001 - whatever failed, the entries stay accounted for
                    # Refused credentials reached nothing: keep the writes queued, without using up
                    # their attempts, until someone fixes the credentials.
                    auth = isinstance(exc, AuthError)
                    for entry in due:
                        if self._defer(entry.id, entry.attempts, str(exc), auth=auth):
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
                        if self._defer(entry.id, entry.attempts, result.error or "retryable failure"):
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
                self.progress.advance(len(due))
                if not progressed:
                    break
        return report

    def _defer(self, entry_id: int, attempts: int, error: str, *, auth: bool = False) -> bool:
        """Schedule another attempt with jittered backoff; False when giving up (parked as failed).
        ``auth``: the channel refused our credentials; retried every minute, never given up on."""
        if auth:
            self.store.outbox_retry_later(
                entry_id, error, (_now() + AUTH_RETRY).isoformat(timespec="microseconds"), attempted=False
            )
            return True
        if attempts + 1 >= self.max_attempts:
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
                    at = self.adapters[channel].capabilities.written_at(result.version) or now
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

    def run(
        self, *, force: bool = False, rounds: int = 3, full: bool = False, keep_plans: bool = True
    ) -> tuple[list[Plan], RelayReport]:
        """Prepare, commit and relay; again while the last round created products (a created product
        needs a second round for its stock at each location), at most ``rounds`` times.

        A full read (``full``, the first sync, or an interrupted one) is committed chunk by chunk:
        each chunk's links, ledger entries and queued writes in one transaction, the cursors with
        the last. Unless ``force``, every chunk is planned once first and nothing is committed if
        the whole plan trips a safety limit. Without ``keep_plans`` only the plans' warnings are
        returned (a large first sync's changes need not stay in memory; ``planned`` counts them)."""
        plans: list[Plan] = []
        report = self.relay()  # settle what earlier runs queued before planning anew
        for round_ in range(rounds):
            try:
                made, planned, created = self._run_chunks(
                    force, full=self.full_read_needed(full and round_ == 0), keep=keep_plans
                )
            except ChannelReadError as exc:
                log.warning(
                    "channel read failed; nothing planned this round",
                    extra={"channel": exc.channel, "error": str(exc.error)},
                )
                report.errors.append(str(exc))
                report.unread.append(exc.channel)
                break
            report.planned += planned
            plans.extend(made)
            report.merge(self.relay())
            # Only a created product needs another round (its stock at each location, its links);
            # otherwise the next sync reads our writes back as echoes and finds nothing to do.
            if not created or report.deferred or report.failed:
                break
        return plans, report

    def _run_chunks(self, force: bool, *, full: bool, keep: bool) -> tuple[list[Plan], int, bool]:
        """Plan and commit one read, chunk by chunk: (the plans, or their warnings only unless
        ``keep``; how many changes; whether any creates a product)."""
        with self.read(full=full) as reading:
            parts: list[PreparedSync] | None = None
            if not force:
                # Judge the whole plan before committing any of it. A small plan is kept rather
                # than made twice; a large one is made again, chunk by chunk, to be committed.
                parts, changes = [], 0
                figures = SafetyFigures()
                for part in reading.chunks():
                    figures = figures + part.plan.safety.figures
                    changes += len(part.plan.changes)
                    if parts is not None:
                        parts.append(part)
                        if changes > KEEP_PLANNED_CHANGES:
                            parts = None
                if not judge(figures, self.policy).safe:
                    raise UnsafePlan(merge_prepared(parts or list(reading.chunks()), self.policy).plan)
            plans: list[Plan] = []
            created, planned = False, 0
            self.progress.start("planning and queueing changes (SKUs)")
            for part in parts if parts is not None else reading.chunks():
                self.commit(part, force=True)
                self.progress.advance(len(part.groups))
                plan = part.plan
                created = created or any(c.action == "create" for c in plan.changes)
                planned += len(plan.changes)
                if plan.changes or plan.warnings or plan.unresolved:
                    kept_plan = (
                        plan if keep else Plan.build((), plan.warnings, plan.safety, skipped=plan.skipped)
                    )
                    plans.append(replace(kept_plan, unresolved=plan.unresolved))
            return plans or [Plan()], planned, created


@dataclass
class StagedRead:
    """A read staged on disk, planned in chunks of products that only link among themselves."""

    runner: SyncRunner
    staging: Staging
    reads: dict[str, ChannelRead]
    first: bool
    full: bool
    locations: LocationMap
    gone: set[tuple[str, str]] = field(default_factory=set)
    """Links whose product was deleted for good while another took its SKU (``bridge.vanished``)."""

    def chunks(self) -> Iterator[PreparedSync]:
        """One prepared sync per chunk; the last (perhaps without products) carries the cursors and
        the links whose variants have gone from every channel."""
        runner = self.runner
        in_flight = runner.store.outbox_stock_in_flight()
        issues = list({i.message: i for read in self.reads.values() for i in read.issues}.values())
        held = held_skus(runner.store, issues)
        sales_unread = unread_sales(issues)
        names = sorted(runner.adapters)
        # On a full read, before any chunk is committed: the links no staged variant reached.
        orphans = [
            r
            for r in (
                runner.store.db.query("SELECT * FROM links WHERE entity = 'variant'") if self.full else ()
            )
            if not self.staging.has_key(f"c:{r['canonical_key']}")
        ]
        claimed: set[str] = set()
        for refs in self.staging.chunks(runner.chunk_size):
            universe: dict[str, list[ChannelProduct]] = {name: [] for name in names}
            universe.update(self.staging.products(refs))
            members = [(name, v.channel_id) for name in names for p in universe[name] for v in p.variants]
            existing = runner.store.links_of_groups("variant", members)
            part = self._chunk(universe, existing, in_flight, held, sales_unread)
            claimed |= part.claimed
            yield part
        last = self._chunk({name: [] for name in names}, orphans, in_flight, held, sales_unread)
        last.vanished = self.gone
        strays = runner.strays(self.reads, claimed | last.claimed)
        last.unresolved.extend(strays)
        last = last.reporting(strays)
        for name, read in self.reads.items():
            mine = last.reads[name]
            mine.catalog_cursor, mine.events_cursor = read.catalog_cursor, read.events_cursor
        warnings = tuple(dict.fromkeys([*(i.message for i in issues), *last.plan.warnings]))
        last.plan = replace(last.plan, warnings=warnings, skipped=tuple(issues))
        yield last

    def _chunk(
        self,
        universe: dict[str, list[ChannelProduct]],
        links: Sequence[Mapping[str, Any]],
        in_flight: set[tuple[str, str, str]],
        held: Mapping[str, set[str]],
        sales_unread: Mapping[str, set[str]],
    ) -> PreparedSync:
        runner = self.runner
        existing = [
            ExistingLink(r["canonical_key"], r["channel"], r["channel_id"], r["parent_id"])
            for r in links
            if (r["channel"], r["channel_id"]) not in self.gone
        ]
        linked = link(universe, existing, prefer=[runner.policy.system_of_record])
        member_ids = _member_ids(linked.groups)
        reads = {
            name: ChannelRead(
                products=universe[name],
                catalog_cursor=None,
                levels=[],
                events=[],
                events_cursor=None,
                counted_at=read.counted_at,
                events_read_at=read.events_read_at,
            )
            for name, read in self.reads.items()
        }
        levels = [
            lv
            for name, adapter in sorted(runner.adapters.items())
            if adapter.capabilities.has_locations
            for lv in self.staging.levels(name, sorted(member_ids[name]))
        ]
        events, in_count = before_takeover(
            (ev for read in self.reads.values() for ev in read.events),
            successors(links, linked.groups),
            {n: r.counted_at for n, r in self.reads.items() if runner.adapters[n].capabilities.has_locations},
        )
        part = runner._plan(
            reads=reads,
            universe=universe,
            linked=linked,
            groups=linked.groups,
            levels=levels + runner._pool_levels(reads, universe, member_ids),
            events=events,
            first=self.first,
            locations=self.locations,
            in_flight=in_flight,
            held=held,
            sales_unread=sales_unread,
        )
        part.claimed |= in_count  # accounted for by the count: not a stray to keep
        return part


def merge_prepared(parts: Sequence[PreparedSync], policy: SyncPolicy) -> PreparedSync:
    """The chunks of a full read as one prepared sync (for ``--dry-run``: the whole plan at once)."""
    reads: dict[str, ChannelRead] = {}
    for part in parts:
        for name, read in part.reads.items():
            merged = reads.setdefault(
                name, ChannelRead([], None, [], [], None, read.counted_at, read.events_read_at)
            )
            merged.products.extend(read.products)
            merged.catalog_cursor = read.catalog_cursor or merged.catalog_cursor
            merged.events_cursor = read.events_cursor or merged.events_cursor
    figures = sum((p.plan.safety.figures for p in parts), SafetyFigures())
    plan = Plan.build(
        [c for p in parts for c in p.plan.changes],
        [w for p in parts for w in p.plan.warnings],
        judge(figures, policy),
        written_hashes={k: v for p in parts for k, v in p.plan.written_hashes.items()},
        canonical={k: v for p in parts for k, v in p.plan.canonical.items()},
        skipped=[i for p in parts for i in p.plan.skipped],
    )
    return PreparedSync(
        plan=plan,
        reads=reads,
        groups=[g for p in parts for g in p.groups],
        new_entries=[e for p in parts for e in p.new_entries],
        locations=parts[-1].locations,
        counted_at={k: v for p in parts for k, v in p.counted_at.items()},
        observed=[o for p in parts for o in p.observed],
        vanished={v for p in parts for v in p.vanished},
        unresolved=[u for p in parts for u in p.unresolved],
        released=[r for p in parts for r in p.released],
        pools=[v for p in parts for v in p.pools],
    ).reporting([u for p in parts for u in p.unresolved])


def _count_keys(skus: Mapping[str, set[str]], locations: LocationMap) -> set[tuple[str, str, str]]:
    """``(channel, sku, location or "")`` of every count ``channel`` keeps of each of its ``skus``."""
    return {
        (channel, sku, key)
        for channel, names in skus.items()
        for sku in names
        for key in [""] + [k for k, _ in locations.of_channel(channel)]
    }


def _member_ids(groups: Iterable[LinkGroup]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for g in groups:
        for ch, m in g.members.items():
            out[ch].add(m.variant_id)
    return out


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="microseconds")
