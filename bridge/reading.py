"""Reading the channels into a scratch staging file, for a sync to plan chunk by chunk.

:meth:`Reader.read` reads the catalogue (since the cursor, or all of it), the stock events that
tell which SKUs moved, their counts, then the stock events again, so that every count is judged
against the sales read up to its moment, into a :class:`~bridge.store.staging.Staging` file. Nothing is
written to the store. :mod:`bridge.sync` then plans what was staged, chunk by chunk.

Incremental syncs read only the SKUs something happened to (changed on a channel, or with new
stock events); the other channels' side of those SKUs comes from the store's last read of them.

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

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TypeVar

from adapters.base import AdapterError, ChannelAdapter, Page
from bridge.engine import NEVER_COUNTED
from bridge.issues import ReadIssue
from bridge.ledger import LocationMap
from bridge.models import ChannelProduct, StockEvent, StockLevel
from bridge.policy import SyncPolicy
from bridge.progress import Progress
from bridge.side_by_side import at_once, interleaved
from bridge.storage import LinkRow
from bridge.store import Store
from bridge.store.staging import Staging
from bridge.targets import TargetRef, Targets
from bridge.vanished import vanished_links

__all__ = [
    "AHEAD_BATCH",
    "COUNT_BATCH",
    "FIRST_SYNC_EVENTS_MARGIN",
    "ChannelRead",
    "ChannelReadError",
    "LocationConfigError",
    "NeedsPoll",
    "Reader",
    "Staged",
]

AHEAD_BATCH = 2_000
"""Variants an incremental read reads before their neighbours and counts are staged, while the
catalogues are still read (:meth:`Reader._stage_ahead`)."""
COUNT_BATCH = 10_000
"""Variations whose counts a full read asks for at once (a multiple of the channels' page sizes)."""
FIRST_SYNC_EVENTS_MARGIN = timedelta(seconds=60)
"""A first sync reads stock events from this long before its counts on: enough for clock drift
between us and a channel (a sale inside it is dropped as already counted, see
``bridge.engine._before_seed``)."""
T = TypeVar("T")


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


class NeedsPoll(Exception):
    """A targeted read cannot cover what was asked (a resource a channel cannot re-read by id, a
    neighbour gone since it was last read): a poll cycle must, and the deliveries wait for it."""


@contextmanager
def reading(channel: str) -> Iterator[None]:
    """Any adapter error inside is ``channel``'s read failing (:class:`ChannelReadError`)."""
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
class Staged:
    """A read staged on disk: the staging file, what each channel told us, the locations, and the
    links whose product was deleted for good while another took its SKU (``bridge.vanished``)."""

    staging: Staging
    reads: dict[str, ChannelRead]
    first: bool
    full: bool
    locations: LocationMap
    gone: set[tuple[str, str]] = field(default_factory=set)
    began_at: datetime | None = None
    """When the read began (our clock): a stock write settled since may be missing from the counts
    read, though the store's baseline already holds it (see :meth:`Reader.read`)."""


@dataclass
class _Ahead:
    """What an incremental read staged while the catalogues were read (:meth:`Reader._stage_ahead`)."""

    seen: int = 0
    """The last staging node whose neighbours are staged."""
    pending: int = 0
    """Variants read since."""
    skus: set[str] = field(default_factory=set)
    """The SKUs whose neighbours are staged."""
    counted: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    """Per channel with locations, the variants whose counts are staged or asked for."""
    asked: list[tuple[str, list[str], Future[Page[StockLevel]]]] = field(default_factory=list)
    """Counts asked for and not staged yet: ``(channel, variant ids, answer)``."""
    pool: ThreadPoolExecutor | None = None
    """Where counts are asked for (one at a time), so that the catalogue read is consumed meanwhile."""

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _uncounted(staged: Staged, name: str, counted: set[str]) -> list[str]:
    """``name``'s staged variants whose counts this read has not asked for yet."""
    return [vid for vid in staged.staging.variant_ids(name) if vid not in counted]


def _nothing_read() -> ChannelRead:
    return ChannelRead([], None, [], [], None, _now(), _now())


def _now() -> datetime:
    return datetime.now(UTC)


class Reader:
    """Reads ``adapters`` into staging, looking up in ``store`` what an incremental read needs."""

    def __init__(
        self, store: Store, adapters: Mapping[str, ChannelAdapter], policy: SyncPolicy, progress: Progress
    ) -> None:
        self.store = store
        self.adapters = dict(adapters)
        self.policy = policy
        self.progress = progress

    def locations(self) -> LocationMap:
        """Canonical locations are the channels' physical locations (Square's); a shop without any gets
        one ``default`` location."""
        keys: list[str] = []
        channel_ids: dict[tuple[str, str], str] = {}
        names: dict[str, str] = {}
        for name, adapter in self._located():
            with reading(name):
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
        return LocationMap(tuple(keys), channel_ids, names)

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

    def _located(self) -> list[tuple[str, ChannelAdapter]]:
        """The channels that count per location, in order."""
        return [(n, a) for n, a in sorted(self.adapters.items()) if a.capabilities.has_locations]

    @contextmanager
    def read(
        self, *, full: bool, first: bool, planned_at: str | None, locations: LocationMap
    ) -> Iterator[Staged]:
        """Read the channels into a :class:`Staging` file, to be planned chunk by chunk.

        ``full`` reads every product; otherwise what changed since the cursors, plus the other
        channels' side of the same SKUs from what earlier reads left (and of the SKUs of
        our stock writes settled since ``planned_at``). Then the counts (per location, after the
        catalogue) and the stock events (after the counts), so every count is judged against the
        sales read up to its moment.

        The staged read carries when it began: the daemon's other path may plan, write and
        record a baseline while this one reads, and a count read before that write is older than
        its baseline, whatever moment the channel gives it."""
        began = _now()
        with Staging(self.store.path) as staging:
            reads = {name: _nothing_read() for name in sorted(self.adapters)}
            staged = Staged(staging, reads, first, full, locations, began_at=began)
            ahead = _Ahead()
            try:
                # Catalogue first: for a single-pool channel its stock is part of it (its count's
                # moment); an incremental read asks for counts meanwhile, all in before any events.
                self._read_catalogues(staged, None if full else ahead)
                self._stage_asked_counts(staged, ahead, wait=True)
            finally:
                ahead.close()
            staged.gone = vanished_links(self.store, staging, self.adapters, full=full, guard=reading)
            counted = ahead.counted
            if not full:
                self._unstage_gone(staged, ahead)
                # The events since the last sync tell which SKUs moved: their other channels' side
                # is needed too, and (for a channel with locations) their counts.
                self._read_moves(reads)
                fresh = ((c, v, sku) for _, c, v, sku in staging.read_variants(after=ahead.seen))
                neighbours = self._stage_neighbours(staged, planned_at, ahead.skus, fresh)
            for name, adapter in self._located():
                if not counted[name]:
                    reads[name].counted_at = _now()
                self._stage_counts(staged, name, adapter, counted[name])
            self._read_events_after_counts(staged)
            if not full:
                # The cursors are about to move past every event read, and an event is consumed
                # only once it is in the ledger: the SKUs only this last read touched are planned
                # too, with their counts (a count newer than the events read is not written from).
                linked = staging.last_node()
                found: list[LinkRow] = []
                self._stage_neighbours(staged, planned_at, neighbours, staging.variants(), links_seen=found)
                for name, adapter in self._located():
                    self._stage_counts(staged, name, adapter, counted[name])
                # The links of every variant staged up to ``linked`` were just looked up: staged
                # from there, not looked up again (at 10,000 changed prices, 20,000 variants).
                self._link_staged(staging, found, after=linked)
            else:
                self._link_staged(staging)
            yield staged

    @contextmanager
    def read_targets(
        self, refs: Mapping[str, Sequence[TargetRef]], *, locations: LocationMap
    ) -> Iterator[Staged | None]:
        """Stage just what these resources touch, for the event path (``None``: nothing known).

        Each channel re-reads its named resources (``read_targets``: the payload is a hint, never
        state); their SKUs' products on every channel come from the last reads, then, as a poll
        reads them, the counts (per location; a single pool's products re-read by id), and after
        the counts each channel's stock events of those variants since its cursor
        (``read_stock_events_of``), so every count is judged against the sales read up to its
        moment. Cursors are never moved: the poll reads the same events again, and their source
        ids make that harmless. Raises :class:`NeedsPoll` when a poll must do it instead."""
        began = _now()
        wanted = {name: self._wanted(name, refs[name]) for name in sorted(refs)}
        targets = at_once({name: partial(self._targeted, name, asked) for name, asked in wanted.items()})
        touched = self._skus_touched(targets)
        if not touched:
            yield None
            return
        with Staging(self.store.path) as staging:
            reads = {name: _nothing_read() for name in sorted(self.adapters)}
            staged = Staged(staging, reads, False, False, locations, began_at=began)
            for name, got in targets.items():
                staging.add_products(name, got.products)
            self._stage_skus(staged, touched)
            self._refresh_pools(staged, touched, targets)
            for name, adapter in self._located():
                reads[name].counted_at = _now()
                self._stage_counts(staged, name, adapter, set())
            self._targeted_events(staged, targets)
            self._link_staged(staging)
            yield staged

    def _wanted(self, name: str, refs: Sequence[TargetRef]) -> list[TargetRef]:
        """What to re-read on ``name``: a product webhook naming a known variant names its product."""
        parents = {
            r["channel_id"]: r["parent_id"]
            for r in self.store.links_of_groups("variant", [(name, ref.resource_id) for ref in refs])
        }
        wanted = [
            TargetRef(ref.resource, ref.resource_id, ref.parent_id or parents.get(ref.resource_id))
            if ref.resource == "product" and parents.get(ref.resource_id) not in (None, ref.resource_id)
            else ref
            for ref in refs
        ]
        return wanted

    def _targeted(self, name: str, wanted: Sequence[TargetRef]) -> Targets:
        """``name``'s resources re-read (on a thread of their own: the channel only, no store)."""
        with reading(name):
            got = self.adapters[name].read_targets(wanted)
        if got is None:
            raise NeedsPoll(f"{name} cannot re-read {', '.join(sorted({r.resource for r in wanted}))} by id")
        return got

    def _skus_touched(self, targets: Mapping[str, Targets]) -> set[str]:
        """The SKUs of the variants the targets touch: linked, or as last read (or read now)."""
        touched: set[str] = set()
        for name, got in targets.items():
            ids = sorted(got.variant_ids | {ev.variant_id for ev in got.events if ev.variant_id})
            touched.update(ev.sku for ev in got.events if ev.sku)
            touched.update(v.sku for p in got.products for v in p.variants if v.sku)
            touched.update(
                r["canonical_key"] for r in self.store.links_of_groups("variant", [(name, i) for i in ids])
            )
            touched.update(
                v.sku
                for p in self.store.last_read(name, ids)
                for v in p.variants
                if v.sku and v.channel_id in ids
            )
        return touched

    def _refresh_pools(self, staged: Staged, touched: set[str], targets: Mapping[str, Targets]) -> None:
        """A channel without locations keeps its stock in its catalogue: its products holding the
        touched SKUs are re-read by id (a count from the last read may predate our last write)."""
        for name, adapter in sorted(self.adapters.items()):
            if adapter.capabilities.has_locations:
                continue
            fresh = (
                {v.channel_id for p in targets[name].products for v in p.variants}
                if name in targets
                else set()
            )
            refs = [
                TargetRef("variant", r["channel_id"], r["parent_id"])
                for r in self.store.links_by_key("variant", sorted(touched))
                if r["channel"] == name
                and r["channel_id"] not in fresh
                and (name, r["channel_id"]) not in staged.gone
            ]
            if not refs:
                continue
            with reading(name):
                got = adapter.read_targets(refs)
            if got is None or got.missing:
                raise NeedsPoll(f"{name}: a product of the touched SKUs cannot be re-read")
            staged.staging.add_products(name, got.products)

    def _targeted_events(self, staged: Staged, targets: Mapping[str, Targets]) -> None:
        """Each channel's stock events of its staged variants since its cursor (after the counts),
        the channels read side by side."""
        reads: dict[str, Callable[[], Page[StockEvent]]] = {}
        for name, adapter in sorted(self.adapters.items()):
            ids = list(staged.staging.variant_ids(name))
            if ids:
                reads[name] = partial(
                    self._events_of, name, adapter, ids, self.store.get_cursor(name, "events")
                )
        started = _now()
        pages = at_once(reads)
        for name in sorted(self.adapters):
            read, got = staged.reads[name], targets.get(name)
            events = {ev.source_id: ev for ev in (got.events if got else [])}
            page = pages.get(name)
            if page is not None:
                events.update((ev.source_id, ev) for ev in page.items)
                read.issues.extend(page.issues)
                read.events_read_at = page.read_until or started
            read.events = sorted(events.values(), key=lambda ev: (ev.occurred_at, ev.source_id))

    @staticmethod
    def _events_of(
        name: str, adapter: ChannelAdapter, ids: list[str], cursor: str | None
    ) -> Page[StockEvent]:
        with reading(name):
            return adapter.read_stock_events_of(ids, cursor)

    def _read_catalogues(self, staged: Staged, ahead: _Ahead | None) -> None:
        """Every channel's catalogue (since its cursor, or all of it, for a full read), the channels
        side by side; with ``ahead`` (an incremental read), the neighbours and counts of what was
        read so far staged every ``AHEAD_BATCH`` variants, while the channels are still read."""
        names = sorted(self.adapters)
        reads = staged.reads
        full = ahead is None
        cursors = {name: None if full else self.store.get_cursor(name, "catalog") for name in names}
        self.progress.start(f"reading {_listed(names)} products")
        pages = interleaved(
            {name: partial(_catalog_pages, name, self.adapters[name], cursors[name]) for name in names}
        )
        for name, page in pages:
            staged.staging.add_products(name, page.items)
            reads[name].issues.extend(page.issues)
            reads[name].catalog_cursor = page.cursor
            self.progress.advance(len(page.items))
            if ahead is not None:
                ahead.pending += sum(len(p.variants) for p in page.items)
                if ahead.pending >= AHEAD_BATCH:
                    self._stage_ahead(staged, ahead)

    def _stage_ahead(self, staged: Staged, ahead: _Ahead) -> None:
        """The neighbours (last-read products of the same SKUs, see :meth:`_stage_neighbours`) and
        the counts of the variants read since the last call, staged while the catalogues are read:
        at 10,000 changed prices WooCommerce's read is 13 s of waiting on calls, and staging it all
        after it came to 3 s. The counts are asked for on a worker (:meth:`_ask_counts`) and staged
        as they come; ``counted_at`` is the first ask's moment, and every events read still comes
        after all of them are in."""
        batch = [(c, v, sku) for node, c, v, sku in staged.staging.read_variants(after=ahead.seen)]
        ahead.seen = max(ahead.seen, staged.staging.last_node())
        ahead.pending = 0
        self._stage_asked_counts(staged, ahead, wait=False)
        touched = self._touched_by(batch)
        self._stage_skus(staged, touched - ahead.skus)
        ahead.skus |= touched
        for name, adapter in self._located():
            self._ask_counts(staged, ahead, name, adapter)

    def _ask_counts(self, staged: Staged, ahead: _Ahead, name: str, adapter: ChannelAdapter) -> None:
        """Ask (on ``ahead``'s worker) for the counts of ``name``'s staged variants not asked yet:
        waiting for them here would hold back the catalogue pages, and with them the listing's
        chain of dependent calls (Square's counts of 2,000 variants are several calls)."""
        counted = ahead.counted[name]
        wanted = _uncounted(staged, name, counted)
        if not wanted:
            return
        if not counted:
            staged.reads[name].counted_at = _now()
        counted.update(wanted)
        if ahead.pool is None:
            ahead.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="counts-ahead")
        ahead.asked.append((name, wanted, ahead.pool.submit(adapter.read_stock_counts, wanted)))

    def _stage_asked_counts(self, staged: Staged, ahead: _Ahead, *, wait: bool) -> None:
        """Stage the counts asked for ahead that have come (``wait``: all of them, once in)."""
        left = []
        for name, ids, answer in ahead.asked:
            if wait or answer.done():
                with reading(name):
                    page = answer.result()
                staged.staging.add_levels(self._levels(name, ids, page, staged))
            else:
                left.append((name, ids, answer))
        ahead.asked = left

    def _unstage_gone(self, staged: Staged, ahead: _Ahead) -> None:
        """Staged ahead before the read could tell which links are gone (:mod:`bridge.vanished`):
        when a kept product holds a gone variant, every kept product is unstaged and staged again,
        the gone links left out as they are by :meth:`_stage_skus` (rare: a product deleted for
        good whose SKU another took)."""
        if staged.gone and staged.staging.holds_kept(staged.gone):
            staged.staging.drop_kept()
            ahead.skus.clear()
            ahead.seen = 0

    def _read_moves(self, reads: Mapping[str, ChannelRead]) -> None:
        """An incremental read's stock events since the cursors (before any count is read)."""
        cursors = {name: self.store.get_cursor(name, "events") for name in sorted(self.adapters)}
        self._read_events(reads, cursors)

    def _read_events_after_counts(self, staged: Staged) -> None:
        """The stock events up to (and after) the counts just read: a first sync's from the counts
        on (earlier sales are in them), a full read's from the cursor, an incremental read's on from
        where its first events read stopped (a single pool's events were read after its counts)."""
        cursors: dict[str, str | None] = {}
        for name, adapter in sorted(self.adapters.items()):
            if not staged.full and not adapter.capabilities.has_locations:
                continue  # a single pool's events were read after its counts already
            read = staged.reads[name]
            if staged.first:
                cursors[name] = adapter.events_cursor_at(read.counted_at - FIRST_SYNC_EVENTS_MARGIN)
            elif staged.full:
                cursors[name] = self.store.get_cursor(name, "events")
            else:
                cursors[name] = read.events_cursor
        self._read_events(staged.reads, cursors)

    def _read_events(self, reads: Mapping[str, ChannelRead], cursors: Mapping[str, str | None]) -> None:
        """These channels' stock events from these cursors, side by side, added to their reads."""
        if not cursors:
            return
        self.progress.start(f"reading {_listed(sorted(cursors))} stock events")
        pages = at_once({name: partial(self._events_from, name, cursor) for name, cursor in cursors.items()})
        for name, (started, page_e) in sorted(pages.items()):
            read = reads[name]
            read.events = read.events + list(page_e.items)
            read.issues.extend(page_e.issues)
            read.events_cursor = page_e.cursor or read.events_cursor
            read.events_read_at = page_e.read_until or started
            self.progress.advance(len(page_e.items))

    def _events_from(self, name: str, cursor: str | None) -> tuple[datetime, Page[StockEvent]]:
        """One channel's stock events since ``cursor``, with our clock when the read began."""
        started = _now()
        with reading(name):
            return started, self.adapters[name].read_stock_events(cursor)

    def _link_staged(self, staging: Staging, known: Sequence[LinkRow] = (), *, after: int = 0) -> None:
        """The staged variants' existing links (their members must stay together in one chunk):
        ``known``, those of every variant up to node ``after``, and those of the variants since."""
        staging.add_links((r["channel"], r["channel_id"], r["canonical_key"]) for r in known)
        for batch in _batched(staging.variants(after=after), 500):
            links = self.store.links_of_groups("variant", [(ch, vid) for ch, vid, _ in batch])
            staging.add_links((r["channel"], r["channel_id"], r["canonical_key"]) for r in links)

    def _stage_counts(self, staged: Staged, name: str, adapter: ChannelAdapter, counted: set[str]) -> None:
        """Counts of the staged variants of ``name`` not counted yet in this read (``counted``)."""
        wanted = _uncounted(staged, name, counted)
        if not wanted:
            return
        self.progress.start(f"reading {name} stock counts", len(wanted))
        for ids in _batched(wanted, COUNT_BATCH):
            with reading(name):
                staged.staging.add_levels(self._counts(name, adapter, ids, staged))
            counted.update(ids)
            self.progress.advance(len(ids))

    def _stage_neighbours(
        self,
        staged: Staged,
        planned_at: str | None,
        done: set[str],
        variants: Iterable[tuple[str, str, str | None]],
        links_seen: list[LinkRow] | None = None,
    ) -> set[str]:
        """For an incremental read: the SKUs something happened to (read on a channel, ``variants``;
        moved by an event; with one of our stock writes settled or still in doubt; or a conflict a
        human settled), and every channel's last-read products holding them, but for the SKUs in
        ``done`` (staged by an earlier call: their products are the same, loading them again
        was a second pass over every changed SKU). Returns every SKU staged so far; the links of
        ``variants`` go to ``links_seen``, when given."""
        store = self.store
        touched = {sku for _, sku, _ in store.outbox_stock_in_flight()} | store.outbox_skus_settled_since(
            planned_at
        )
        touched |= store.settled_skus()
        touched |= self._touched_by(variants, links_seen)
        for name, read in staged.reads.items():
            touched.update(ev.sku for ev in read.events if ev.sku)
            moved = [(name, ev.variant_id) for ev in read.events if ev.variant_id]
            touched.update(r["canonical_key"] for r in store.links_of_groups("variant", moved))
        self._stage_skus(staged, touched - done)
        return touched | done

    def _touched_by(
        self, variants: Iterable[tuple[str, str, str | None]], links_seen: list[LinkRow] | None = None
    ) -> set[str]:
        """The SKUs of ``(channel, variant_id, sku)``: their own, and those they are linked under
        (the links of their groups go to ``links_seen``, when given)."""
        touched: set[str] = set()
        for batch in _batched(variants, 500):
            touched.update(sku for _, _, sku in batch if sku)
            links = self.store.links_of_groups("variant", [(c, v) for c, v, _ in batch])
            touched.update(r["canonical_key"] for r in links)
            if links_seen is not None:
                links_seen.extend(links)
        return touched

    def _stage_skus(self, staged: Staged, touched: Iterable[str]) -> None:
        """Every channel's last-read products holding these SKUs (linked, or by SKU), unless gone.

        A product staged already (read now, or by an earlier batch) is kept as it is: its stored
        copy is not even parsed (at 10,000 changed prices, each product came back up to three
        times: through its links, through its SKUs, and as just read)."""
        store, staging, gone = self.store, staged.staging, staged.gone
        for skus in _batched(sorted(touched), 500):
            members: dict[str, list[str]] = defaultdict(list)
            for r in store.links_by_key("variant", skus):
                if (r["channel"], r["channel_id"]) not in gone:
                    members[r["channel"]].append(r["channel_id"])
            wanted: dict[str, dict[str, tuple[str, bool]]] = defaultdict(dict)
            for name, ids in members.items():
                for pid, data in store.last_read_json(name, ids).items():
                    wanted[name][pid] = (data, True)
            for name, held in store.last_read_json_with_skus(skus).items():  # unlinked ones too
                for pid, data in held.items():
                    wanted[name].setdefault(pid, (data, False))
            for name, found in wanted.items():
                fresh = set(found) - staging.staged_products(name, found)
                products = [ChannelProduct.model_validate_json(found[pid][0]) for pid in sorted(fresh)]
                alive = [
                    p
                    for p in products
                    if found[p.channel_id][1] or not any((name, v.channel_id) in gone for v in p.variants)
                ]
                staging.add_products(name, alive, replace=False)

    def _counts(
        self, name: str, adapter: ChannelAdapter, ids: Sequence[str], staged: Staged
    ) -> list[StockLevel]:
        """Counts of ``ids`` at each of the channel's locations; never counted there means 0, as of
        before anything happened there (so any events read are read up to it). An unreadable count
        goes to the read's issues, which hold its SKU back."""
        page = adapter.read_stock_counts(ids) if ids else Page(items=[], cursor=None)
        return self._levels(name, ids, page, staged)

    @staticmethod
    def _levels(name: str, ids: Sequence[str], page: Page[StockLevel], staged: Staged) -> list[StockLevel]:
        """The counts ``page`` answered for ``ids``, and 0 as of :data:`NEVER_COUNTED` at each
        location that has none (see :meth:`_counts`); its issues go to the read's."""
        levels = list(page.items)
        staged.reads[name].issues.extend(page.issues)
        seen = {(lv.variant_id, lv.location_id) for lv in levels}
        return levels + [
            StockLevel(channel=name, variant_id=vid, location_id=loc, quantity=0, observed_at=NEVER_COUNTED)
            for vid in ids
            for _, loc in staged.locations.of_channel(name)
            if (vid, loc) not in seen
        ]


def _catalog_pages(name: str, adapter: ChannelAdapter, cursor: str | None) -> Iterator[Page[ChannelProduct]]:
    """One channel's catalogue pages, its adapter's errors that channel's read failing."""
    with reading(name):
        yield from adapter.iter_catalog(cursor)


def _listed(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``: the channels a phase reads, for the progress line."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
