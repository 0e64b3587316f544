"""Stock math: the ledger of stock movements and what each channel should show.

Copying one channel's count into another loses sales (stock 10, a web order takes 2 while the
till sells 1: whichever count is copied last wins, and the shop shows 8 or 9 when the truth is 7).
So stock is never copied.  Canonical on-hand for ``(sku, location)`` is the sum of stock events,
each with a unique, deterministic ``source_id``: reading an event twice, in any order, adds
nothing.  What a channel should show is a *projection* of that ledger:

* a channel with locations (Square) shows each location's own on-hand, negative included;
* a single-pool channel (WooCommerce, marketplaces) shows ``max(0, Σ on-hand over its source
  locations - buffer)``.

Sales without a location (web, marketplace) are allocated to a location by the policy.  Under the
``priority`` rule the choice depends on the stock each location held when the sale happened, which a
sale read later can change; so such a sale is recorded at :data:`ALLOCATED` and placed by
:func:`place` whenever on-hand is computed, replaying the SKU's ledger in ``(occurred_at,
source_id)`` order.  Per-location on-hand is then a function of the *set* of events, whatever order
they were read in.

A count on a channel that differs from what we last wrote or counted there, plus that channel's own
events since, is a manual change (a stocktake, a breakage) and becomes an ADJUSTMENT event
(:func:`judge_counts`: each own event is placed against the moment of *that* count and of its
baseline, exactly where the channel gives receipt times, to its date resolution otherwise).  The first
time a SKU is linked, the ledger is seeded with INITIAL events from one channel's counts.

Everything here is pure: the caller reads events from channels and the store, and records what
these functions return.  Canonical location keys are the store's; :class:`LocationMap` translates
each channel's location ids.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bridge.linking import LinkGroup
from bridge.models import StockEvent, StockEventKind, StockLevel, content_hash
from bridge.policy import SyncPolicy
from bridge.projection import Part, Projection

__all__ = [
    "ALLOCATED",
    "CountJudgement",
    "LedgerEntry",
    "LocationMap",
    "Observation",
    "OnHand",
    "Resolved",
    "Written",
    "allocate",
    "choose_seed_channel",
    "default_location",
    "detect_manual_changes",
    "initial_entries",
    "judge_counts",
    "ledger_positions",
    "observations",
    "on_hand",
    "place",
    "project",
    "projections",
    "resolve_events",
    "single_pool_home",
    "source_locations",
    "variant_index",
]

OnHand = Mapping[tuple[str, str], int]
"""Canonical on-hand per ``(sku, canonical location key)``."""

ALLOCATED = "*"
"""The location of a ledger entry placed by the allocation rule when on-hand is computed (:func:`place`).

Never a canonical location key (those are the channels' location ids, or ``default``)."""

CANCEL_SUFFIX = ":cancel"
"""A source id ``<id>:cancel`` (or ``<id>:cancel:<n>``, a later give-back) undoes the move ``<id>``
(an order line gives back its sale)."""


@dataclass(frozen=True)
class LedgerEntry:
    """A stock event resolved to canonical terms: which SKU, which canonical location, how many.

    This is exactly a row of the store's ``stock_events`` table.  ``location`` is :data:`ALLOCATED`
    for a location-less move under the ``priority`` rule: :func:`place` decides where it lands.
    """

    source_id: str
    channel: str
    kind: StockEventKind
    sku: str
    location: str
    delta: int
    occurred_at: datetime
    reason: str = ""
    received_at: datetime | None = field(default=None, compare=False)
    """When the channel received it, in its clock, where it says (Square's ``created_at``): what
    places it exactly against a count read in the same sync. Not stored: a later sync judges its
    counts against a baseline that already holds every event recorded before."""


@dataclass(frozen=True)
class LocationMap:
    """Canonical location keys and, per channel, which channel location id each one is.

    ``keys`` is every canonical location in a stable order (the first is the fallback default);
    ``channel_ids`` maps ``(channel, canonical key)`` to that channel's location id.
    """

    keys: tuple[str, ...]
    channel_ids: Mapping[tuple[str, str], str] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)
    """Canonical key → the location's name on its channel (Square's ids are opaque to a reader)."""

    def name(self, key: str) -> str:
        """What to call location ``key`` in words meant for people: its name, else its key."""
        return self.names.get(key) or key

    def canonical_key(self, channel: str, location_id: str) -> str | None:
        """The canonical key of ``channel``'s location ``location_id``, or None if unmapped."""
        for (ch, key), cid in self.channel_ids.items():
            if ch == channel and cid == location_id:
                return key
        return None

    def channel_id(self, channel: str, key: str) -> str | None:
        return self.channel_ids.get((channel, key))

    def of_channel(self, channel: str) -> list[tuple[str, str]]:
        """``(canonical key, channel location id)`` for every location ``channel`` has, in key order."""
        return [(k, self.channel_ids[(channel, k)]) for k in self.keys if (channel, k) in self.channel_ids]


@dataclass(frozen=True)
class Resolved:
    """Result of :func:`resolve_events`: new ledger entries, and events that could not be placed."""

    entries: list[LedgerEntry]
    unresolved: list[tuple[StockEvent, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Written:
    """What we last wrote to a channel for a SKU (at a canonical location; None for a single pool).

    ``at`` is when that value was true on the channel: the write time for an absolute write; for a
    relative adjustment, the ``observed_at`` of the count the delta was computed from (the channel's
    own sales after that moment are then on top of our value).
    """

    channel: str
    sku: str
    location: str | None
    quantity: int
    at: datetime


@dataclass(frozen=True)
class Observation:
    """A channel's count for a SKU at a canonical location (None for a single pool), at a moment."""

    channel: str
    sku: str
    variant_id: str
    location: str | None
    quantity: int | None
    observed_at: datetime


def variant_index(groups: Iterable[LinkGroup]) -> dict[tuple[str, str], str]:
    """``(channel, variant id) → canonical SKU`` for every linked variant."""
    return {(ch, m.variant_id): g.sku for g in groups for ch, m in g.members.items()}


def on_hand(
    entries: Iterable[LedgerEntry],
    policy: SyncPolicy | None = None,
    locations: LocationMap | None = None,
) -> dict[tuple[str, str], int]:
    """Canonical on-hand per ``(sku, location)``: the sum of entries, each ``source_id`` counted once.

    Entries at :data:`ALLOCATED` are placed first (:func:`place`), which needs ``policy`` and
    ``locations``; without them such an entry is an error, never summed under a false location.
    """
    unique = _unique(entries)
    if any(e.location == ALLOCATED for e in unique):
        if policy is None or locations is None:
            raise ValueError("ledger entries placed by the allocation rule need the policy and locations")
        unique = place(unique, policy, locations)
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for e in unique:
        totals[(e.sku, e.location)] += e.delta
    return dict(totals)


def _unique(entries: Iterable[LedgerEntry]) -> list[LedgerEntry]:
    """Entries with each ``source_id`` once (its first occurrence), in the given order."""
    seen: set[str] = set()
    out: list[LedgerEntry] = []
    for e in entries:
        if e.source_id not in seen:
            seen.add(e.source_id)
            out.append(e)
    return out


def place(entries: Iterable[LedgerEntry], policy: SyncPolicy, locations: LocationMap) -> list[LedgerEntry]:
    """The entries (each ``source_id`` once) with every :data:`ALLOCATED` location decided.

    Per SKU, the entries are replayed in ``(occurred_at, source_id)`` order from zero, and each
    allocated move is placed by :func:`allocate` against the on-hand at that point: a pure function
    of the set of entries, not of the order they were read or recorded in.  A positive move that
    undoes another (``<id>:cancel``) goes back where ``<id>`` was taken from; other positive moves
    (returns) go where :func:`allocate` puts them (the first priority location).  Entries with a
    location (including allocations recorded before this rule, or under ``default_location``) keep
    it.  SKUs without an allocated entry are returned as given.
    """
    unique = _unique(entries)
    pending = {e.sku for e in unique if e.location == ALLOCATED}
    if not pending:
        return unique
    out = [e for e in unique if e.sku not in pending]
    replay = sorted(
        (e for e in unique if e.sku in pending), key=lambda e: (e.sku, e.occurred_at, e.source_id)
    )
    running: dict[tuple[str, str], int] = defaultdict(int)
    where: dict[str, str] = {}
    for e in replay:
        if e.location == ALLOCATED:
            undone = e.source_id.partition(CANCEL_SUFFIX)[0] if CANCEL_SUFFIX in e.source_id else None
            if e.delta > 0 and undone is not None and undone in where:
                loc = where[undone]
            else:
                loc = allocate(e.sku, -e.delta, running, policy, locations)
            e = replace(e, location=loc)
        where[e.source_id] = e.location
        running[(e.sku, e.location)] += e.delta
        out.append(e)
    return out


def ledger_positions(entries: Iterable[LedgerEntry]) -> dict[str, str]:
    """Per SKU, a token that changes whenever an event for it is added (for idempotency keys)."""
    ids: dict[str, set[str]] = defaultdict(set)
    for e in entries:
        ids[e.sku].add(e.source_id)
    return {sku: hashlib.sha256("\n".join(sorted(s)).encode()).hexdigest()[:16] for sku, s in ids.items()}


def default_location(policy: SyncPolicy, locations: LocationMap) -> str:
    """Where online sales go under ``default_location`` allocation: the policy's, else the first key."""
    if policy.default_location is not None:
        return policy.default_location
    if not locations.keys:
        raise ValueError("no canonical location is known: cannot place stock")
    return locations.keys[0]


def source_locations(channel: str, policy: SyncPolicy, locations: LocationMap) -> list[str]:
    """The canonical locations whose on-hand a single-pool ``channel`` shows (all, unless configured)."""
    configured = policy.source_locations.get(channel)
    return list(configured) if configured else list(locations.keys)


def single_pool_home(channel: str, policy: SyncPolicy, locations: LocationMap) -> str:
    """Where a single-pool channel's own stock moves land (manual changes, initial count).

    The default location when the channel sells from it, else the first of its source locations.
    """
    home = default_location(policy, locations)
    sources = source_locations(channel, policy, locations)
    return home if home in sources or not sources else sources[0]


def allocate(sku: str, quantity: int, current: OnHand, policy: SyncPolicy, locations: LocationMap) -> str:
    """The canonical location a location-less move of ``quantity`` units of ``sku`` is taken from.

    ``default_location``: always that.  ``priority``: the first location in the priority list that
    holds at least ``quantity`` units, else the one holding most (ties: priority order).  Positive
    moves (returns, cancellations) go to the first priority location.
    """
    if policy.online_allocation == "default_location":
        return default_location(policy, locations)
    order = list(policy.allocation_priority)
    if quantity <= 0:
        return order[0]
    for key in order:
        if current.get((sku, key), 0) >= quantity:
            return key
    return max(order, key=lambda k: (current.get((sku, k), 0), -order.index(k)))


def resolve_events(
    events: Iterable[StockEvent],
    *,
    skus: Mapping[tuple[str, str], str],
    locations: LocationMap,
    policy: SyncPolicy,
    known: Iterable[str] = (),
) -> Resolved:
    """Turn channel events into ledger entries: SKU from the link, location mapped or allocated.

    Duplicates (same ``source_id``, within ``events`` or in ``known``: ids already in the ledger)
    are dropped.  The rest come out in ``(occurred_at, source_id)`` order.  A move without a location
    goes to the default location under ``default_location``; under ``priority`` it is recorded at
    :data:`ALLOCATED`, to be placed by :func:`place` against the whole ledger (deciding it now, from
    the on-hand known now, would depend on which other events had been read yet).  An event whose
    variant is not linked, or whose channel location is not mapped, is returned in ``unresolved``
    with why.
    """
    seen = set(known)
    unique: dict[str, StockEvent] = {}
    for ev in events:
        if ev.source_id not in seen and ev.source_id not in unique:
            unique[ev.source_id] = ev
    entries: list[LedgerEntry] = []
    unresolved: list[tuple[StockEvent, str]] = []
    linked_skus = set(skus.values())
    for ev in sorted(unique.values(), key=lambda e: (e.occurred_at, e.source_id)):
        sku = skus.get((ev.channel, ev.variant_id)) if ev.variant_id else None
        if sku is None and ev.sku in linked_skus:
            sku = ev.sku
        if sku is None:
            unresolved.append((ev, "variant not linked"))
            continue
        if ev.location_id is None:
            loc = ALLOCATED if policy.online_allocation == "priority" else default_location(policy, locations)
        else:
            mapped = locations.canonical_key(ev.channel, ev.location_id)
            if mapped is None:
                unresolved.append((ev, f"location {ev.location_id} of {ev.channel} is not mapped"))
                continue
            loc = mapped
        entries.append(
            LedgerEntry(
                ev.source_id,
                ev.channel,
                ev.kind,
                sku,
                loc,
                ev.delta,
                ev.occurred_at,
                ev.reason,
                received_at=ev.received_at,
            )
        )
    return Resolved(entries, unresolved)


def project(
    sku: str,
    channel: str,
    current: OnHand,
    policy: SyncPolicy,
    locations: LocationMap,
    *,
    has_locations: bool,
) -> dict[str | None, int]:
    """The totals of :func:`projections`: per canonical location, or ``{None: n}`` for one pool."""
    made = projections(sku, channel, current, policy, locations, has_locations=has_locations)
    return {where: p.total for where, p in made.items()}


def projections(
    sku: str,
    channel: str,
    current: OnHand,
    policy: SyncPolicy,
    locations: LocationMap,
    *,
    has_locations: bool,
    cap: int | None = None,
) -> dict[str | None, Projection]:
    """What ``channel`` should show for ``sku``: per canonical location, or ``{None: p}`` for one pool,
    each with the on-hand it is made of (a :class:`~bridge.projection.Projection`: a plan's reason
    names those parts).

    A channel with locations (a till) gets an entry for each canonical location it is mapped to,
    showing that location's own on-hand exactly, negative included: its count is the shelf, which a
    physical count replaces, so it must hold what the ledger holds or the next count is misread
    (buffers on such a channel are refused by the configuration). A single pool shows the sum over
    its source locations minus its buffer, never below zero: a web shop's number is a promise to
    buyers, and a negative one promises nothing that 0 does not. ``cap`` (a single pool's
    ``max_listed_quantity`` of the SKU) lists no more than that.
    """

    def part(key: str) -> Part:
        return Part(key, locations.name(key), current.get((sku, key), 0))

    if has_locations:
        own = [part(key) for key, _ in locations.of_channel(channel)]
        return {p.location: Projection(p.on_hand, (p,), pooled=False) for p in own}
    sources = source_locations(channel, policy, locations)
    parts = tuple(part(key) for key in sources)
    left_out = tuple(part(key) for key in locations.keys if key not in sources)
    buffer = policy.buffer_for(channel)
    total = sum(p.on_hand for p in parts) - buffer
    capped = cap if cap is not None and cap < max(0, total) else None
    shown = max(0, total) if capped is None else capped
    return {None: Projection(shown, parts, buffer, total < 0, left_out, cap=capped)}


def choose_seed_channel(available: Iterable[str], prefer: Sequence[str]) -> str:
    """Which channel's counts seed the ledger on first link: the first of ``prefer`` present, else
    the alphabetically first channel.

    The order is the caller's (the engine's is :func:`bridge.ownership.seed_order`: channels counting
    per location first, since they count where the stock really is); the ledger names no channel.
    """
    chans = sorted(set(available))
    if not chans:
        raise ValueError("no channel to seed stock from")
    for preferred in prefer:
        if preferred in chans:
            return preferred
    return chans[0]


def initial_entries(
    sku: str,
    counts: Sequence[Observation],
    *,
    policy: SyncPolicy,
    locations: LocationMap,
    prefer: Sequence[str],
) -> list[LedgerEntry]:
    """INITIAL entries seeding a newly linked SKU's on-hand from one channel's counts.

    ``counts`` are observations of ``sku`` on any channels; only those of the channel
    :func:`choose_seed_channel` picks in the order ``prefer`` are used.  Per-location counts go to
    their location; a single pool's count goes to :func:`single_pool_home`.  Unknown counts (None)
    seed 0, so the SKU is marked as seeded either way.  The source id
    ``<channel>:initial:<sku>:<location>`` is stable, so seeding twice adds nothing.
    """
    mine = [c for c in counts if c.sku == sku]
    if not mine:
        return []
    channel = choose_seed_channel((c.channel for c in mine), prefer)
    out: list[LedgerEntry] = []
    for c in sorted(
        (c for c in mine if c.channel == channel), key=lambda c: (c.location or "", c.variant_id)
    ):
        loc = c.location if c.location is not None else single_pool_home(channel, policy, locations)
        out.append(
            LedgerEntry(
                source_id=f"{channel}:initial:{sku}:{loc}",
                channel=channel,
                kind=StockEventKind.INITIAL,
                sku=sku,
                location=loc,
                delta=c.quantity or 0,
                occurred_at=c.observed_at,
                reason=f"initial count on {channel}",
            )
        )
    return out


def observations(
    levels: Iterable[StockLevel],
    *,
    skus: Mapping[tuple[str, str], str],
    locations: LocationMap,
) -> list[Observation]:
    """Channel stock levels in canonical terms (unlinked variants and unmapped locations dropped)."""
    out: list[Observation] = []
    for lv in levels:
        sku = skus.get((lv.channel, lv.variant_id))
        if sku is None:
            continue
        loc: str | None = None
        if lv.location_id is not None:
            loc = locations.canonical_key(lv.channel, lv.location_id)
            if loc is None:
                continue
        out.append(Observation(lv.channel, sku, lv.variant_id, loc, lv.quantity, lv.observed_at))
    return out


@dataclass(frozen=True)
class CountJudgement:
    """What :func:`judge_counts` made of a read's counts.

    * ``adjustments``: manual changes (ADJUSTMENT entries) no event explains.
    * ``current``: every count brought forward to the ledger's moment: the channel's own events
      read after the count's moment (so not in it, but in the ledger and already applied by the
      channel) are added, so that a write computed from it and the ledger describes one moment.
    * ``baselines``: the counts to remember as the channel's baseline for the next judgement: brought
      forward (dated at the newest event they include) when every own event is exactly placed
      against them, else as read, at their own moment.
    * ``unsettled``: ``(channel, sku, location or "")`` whose count no write may be computed from this
      round: it holds changes the events read has not reached yet.
    """

    adjustments: list[LedgerEntry] = field(default_factory=list)
    current: list[Observation] = field(default_factory=list)
    baselines: list[Observation] = field(default_factory=list)
    unsettled: set[tuple[str, str, str]] = field(default_factory=set)


def _moment(e: LedgerEntry) -> datetime:
    """When ``e`` reached its channel's count: its receipt time where the channel gives one."""
    return e.received_at or e.occurred_at


def _derived(e: LedgerEntry) -> bool:
    """A manual change we detected: dated at the very count that revealed it, so exactly placed."""
    return e.kind is StockEventKind.ADJUSTMENT and ":manual:" in e.source_id


_IN, _OUT, _UNKNOWN = "in", "out", "unknown"


def _side(e: LedgerEntry, moment: datetime, resolution: timedelta) -> str:
    """Whether own event ``e`` is in a count (or baseline) of ``moment``.

    Exact when the event carries its receipt time (Square: a count calculated at C holds every change
    received up to C), or is one of our detected adjustments. Otherwise the channel dates events and
    answers to ``resolution`` (WooCommerce: whole seconds, and a sale's stock moves just after its
    payment date): an event dated within ``resolution`` of ``moment`` may be on either side."""
    t = _moment(e)
    if not resolution or e.received_at is not None or _derived(e):
        return _OUT if t > moment else _IN
    if t >= moment + resolution:
        return _OUT
    return _IN if t < moment - resolution else _UNKNOWN


_MAX_SUMS = 4096
"""Distinct subset sums :func:`_explains` lists before it settles for their range (sales of one
unit, the common case, make at most one sum more per sale, so it stays exact)."""


def _explains(deltas: Sequence[int], gap: int) -> bool:
    """Whether some subset of ``deltas`` (the events of uncertain side) sums to ``gap``.

    Listed as the set of reachable sums, which stays small when the deltas repeat (a burst of
    one-unit sales); past :data:`_MAX_SUMS` distinct sums, any gap within their range counts as
    explained (the deltas are then many and varied, and nearly every value in it is reachable)."""
    sums = {0}
    for delta in deltas:
        sums |= {x + delta for x in sums}
        if len(sums) > _MAX_SUMS:
            return sum(d for d in deltas if d < 0) <= gap <= sum(d for d in deltas if d > 0)
    return gap in sums


def judge_counts(
    observed: Iterable[Observation],
    written: Mapping[tuple[str, str, str | None], Written],
    entries: Iterable[LedgerEntry],
    *,
    events_read_until: Mapping[str, datetime],
    policy: SyncPolicy,
    locations: LocationMap,
    resolution: Mapping[str, timedelta] | None = None,
) -> CountJudgement:
    """Judge each count against the channel's baseline and the channel's own events around *that*
    count (see :class:`CountJudgement`).

    expected = the baseline (``written[(channel, sku, location)]``: what we last wrote, or the last
    count judged) + the channel's own events after the baseline's moment and in the count. Each own
    event is placed against the baseline's moment and the count's (:func:`_side`); one that may be
    on either side adds "0 or its delta". A count equal to one of the possible expected values is
    explained. Otherwise it is a manual change: of the difference, or, when an event of uncertain
    date leaves several possible, of the smallest (the reading that can only under-promise stock).
    The doubt never blinds the next count: a count of uncertain content is remembered as read, at
    its own moment, so the same events are uncertain again against it and weighed both ways.

    A count is only judged when the channel's events have been read up to its moment
    (``events_read_until[channel]``, in the channel's clock); otherwise it includes a sale not read
    yet, which would be counted twice (a sale and a manual drop), or undone by a write: it is
    ``unsettled``, and that sale, read next round, brings the SKU back. A count without a baseline
    is not judged (it becomes the baseline); one older than its baseline is neither judged nor
    remembered.

    The source id is ``<channel>:manual:<variant>:<location>:<hash>``, the hash covering the baseline
    (quantity and time), the observed quantity, and the expected quantity with the number of own
    events behind it: re-reading the same count gives the same id, and once recorded the adjustment
    is an own event, so it is not detected again; a second change from the same baseline differs in
    expected value or event count, so it gets a new id.
    """
    resolution = resolution or {}
    own = _own_events(entries, policy, locations)
    out = CountJudgement()
    for ob in observed:
        if ob.quantity is None:
            out.current.append(ob)
        elif not _events_read_past(ob, events_read_until):
            out.current.append(ob)
            out.unsettled.add((ob.channel, ob.sku, ob.location or ""))
        else:
            base = written.get((ob.channel, ob.sku, ob.location))
            step = resolution.get(ob.channel, timedelta(0))
            _judge_read_count(ob, base, own.get((ob.channel, ob.sku), []), step, policy, locations, out)
    return out


def _own_events(
    entries: Iterable[LedgerEntry], policy: SyncPolicy, locations: LocationMap
) -> dict[tuple[str, str], list[LedgerEntry]]:
    """Each ``(channel, sku)``'s own events, placed at their locations: the changes a count of that
    channel may hold. INITIAL entries are not among them: a seed is a count, not a change to one."""
    own: dict[tuple[str, str], list[LedgerEntry]] = defaultdict(list)
    for e in place(entries, policy, locations):
        if e.kind is not StockEventKind.INITIAL:
            own[(e.channel, e.sku)].append(e)
    return own


def _events_read_past(ob: Observation, events_read_until: Mapping[str, datetime]) -> bool:
    """Whether the channel's events have been read up to count ``ob``'s moment (in its clock), so
    that every change the count holds is known; else judging it would count a sale twice."""
    read_until = events_read_until.get(ob.channel)
    return read_until is not None and ob.observed_at <= read_until


def _judge_read_count(
    ob: Observation,
    base: Written | None,
    own: Sequence[LedgerEntry],
    step: timedelta,
    policy: SyncPolicy,
    locations: LocationMap,
    out: CountJudgement,
) -> None:
    """Judge one count whose channel's events are read past it, into ``out``: bring it forward;
    remember it as the baseline unless it is older than the baseline ``base`` (an earlier read's
    copy); against a baseline, record the manual change it reveals, if any."""
    mine = [e for e in own if ob.location is None or e.location == ob.location]
    sides = [(e, _side(e, ob.observed_at, step)) for e in mine]
    current, baseline = _brought_forward(ob, sides)
    out.current.append(current)
    if base is not None and ob.observed_at < base.at:
        return  # older than the baseline: nothing to judge, nothing to remember
    out.baselines.append(baseline)
    if base is None:
        return  # the first count: it becomes the baseline
    adjustment = _manual_change(ob, base, sides, step, policy, locations)
    if adjustment is not None:
        out.adjustments.append(adjustment)


def _brought_forward(
    ob: Observation, sides: Sequence[tuple[LedgerEntry, str]]
) -> tuple[Observation, Observation]:
    """Count ``ob`` brought forward to the ledger's moment (its channel's own events after it
    added), and what to remember as its baseline: the same, only when every own event is placed;
    else an event of uncertain date must stay uncertain against the next count's baseline (its
    moment stays the count's own)."""
    assert ob.quantity is not None
    later = [e for e, side in sides if side == _OUT]
    current = replace(
        ob,
        quantity=ob.quantity + sum(e.delta for e in later),
        observed_at=max([ob.observed_at, *(_moment(e) for e in later)]),
    )
    count_certain = all(side != _UNKNOWN for _, side in sides)
    return current, current if count_certain else ob


def _manual_change(
    ob: Observation,
    base: Written,
    sides: Sequence[tuple[LedgerEntry, str]],
    step: timedelta,
    policy: SyncPolicy,
    locations: LocationMap,
) -> LedgerEntry | None:
    """The manual change count ``ob`` shows against its baseline ``base`` and the channel's own
    events (``sides``: each placed against the count), or None when one reading explains it."""
    certain: list[int] = []
    maybe: list[int] = []
    for e, side in sides:
        before = _side(e, base.at, step)
        if side == _OUT or before == _IN:
            continue
        (certain if side == _IN and before == _OUT else maybe).append(e.delta)
    assert ob.quantity is not None
    gap = ob.quantity - (base.quantity + sum(certain))
    if _explains(maybe, gap):
        return None
    diff = gap - sum(d for d in maybe if d > 0)  # of the possible readings, the one that under-promises stock
    expected = ob.quantity - diff
    since = len(certain) + len(maybe)
    digest = content_hash([base.quantity, base.at.isoformat(), ob.quantity, expected, since])[:16]
    loc = ob.location if ob.location is not None else single_pool_home(ob.channel, policy, locations)
    return LedgerEntry(
        source_id=f"{ob.channel}:manual:{ob.variant_id}:{ob.location or '-'}:{digest}",
        channel=ob.channel,
        kind=StockEventKind.ADJUSTMENT,
        sku=ob.sku,
        location=loc,
        delta=diff,
        occurred_at=ob.observed_at,
        reason=f"{ob.channel} count {ob.quantity}, expected {expected}: manual change {diff:+d}",
    )


def detect_manual_changes(
    observed: Iterable[Observation],
    written: Mapping[tuple[str, str, str | None], Written],
    entries: Iterable[LedgerEntry],
    *,
    events_read_until: Mapping[str, datetime],
    policy: SyncPolicy,
    locations: LocationMap,
    ambiguity: timedelta = timedelta(0),
) -> list[LedgerEntry]:
    """The manual changes of :func:`judge_counts`, every channel dating its events to ``ambiguity``."""
    observed = list(observed)
    channels = {ob.channel for ob in observed}
    return judge_counts(
        observed,
        written,
        entries,
        events_read_until=events_read_until,
        policy=policy,
        locations=locations,
        resolution=dict.fromkeys(channels, ambiguity),
    ).adjustments
