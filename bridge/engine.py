"""The engine's one entry point: from what the channels hold and what the store remembers, a decision.

:func:`decide` takes one chunk of a sync (the products read, their existing links, the counts
staged, the stock events read), what the store remembers about those SKUs (:class:`Memory`) and
the sync's context (policy, each channel's capabilities, locations, when each channel was read),
and returns an :class:`Outcome`: the links, the new ledger entries, the counts to remember as
baselines, the pools judged, the plan, and the stock moves it could not place. No store, clock or
adapter inside: "now" is the channels' own moments, given as data. Its parts, in order:

1. **link** (:func:`bridge.linking.link`): the chunk's variants into SKU groups;
2. **counts** (:func:`bridge.ledger.observations`): the counts of the linked variants, less those
   under a write not confirmed yet, of a held SKU, or of a channel whose sales could not be read;
3. **ledger**: initial entries for SKUs (and locations) not seeded yet, the events not in those
   initial counts resolved to entries (:func:`bridge.ledger.resolve_events`), the counts judged
   against their baselines (:func:`bridge.ledger.judge_counts`), pools judged (:mod:`bridge.pools`);
4. **plan** (:func:`bridge.reconcile.reconcile`).

:func:`wanted` says what to ask the store for before deciding a chunk, and :func:`merge` makes
the outcomes of a sync's chunks one (``--dry-run`` shows the whole plan at once).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from bridge.capabilities import Capabilities
from bridge.effects import effect_changes
from bridge.ledger import (
    CountJudgement,
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
from bridge.memory import Memory, Wanted
from bridge.models import ChannelProduct, StockEvent, StockEventKind, StockLevel
from bridge.ownership import link_preference, seed_order
from bridge.plan import Plan, SafetyFigures
from bridge.policy import SyncPolicy
from bridge.pools import PoolVerdict, find_pools, judge_pools, pool_key
from bridge.reconcile import ReconcileInput, judge, reconcile
from bridge.takeover import before_takeover, successors
from bridge.unresolved import describe, released

__all__ = ["NEVER_COUNTED", "Chunk", "Context", "Outcome", "decide", "merge", "wanted"]

NEVER_COUNTED = datetime(1970, 1, 1, tzinfo=UTC)
"""The moment of the 0 a channel implies by listing no count for a variant at a location: before
anything happened there. Where we remember a count there, the count has gone instead (the object was
deleted, or is no longer tracked): that is no count at all, and nothing is judged or written from it."""

CountKey = tuple[str, str, str]
"""``(channel, sku, location or "")``."""


@dataclass(frozen=True)
class Context:
    """What holds for every chunk of one sync.

    ``counted_at``: per channel, when its counts were asked for (a single pool's counts carry their
    own moment); ``events_read_until``: per channel, in its clock, how far its events read is
    complete. ``in_flight``: counts under one of our stock writes not confirmed yet. ``held``: per
    channel, SKUs of items skipped there (nothing judged or planned for them); ``sales_unread``: per
    channel, SKUs of sales skipped there (its counts of them neither judged nor written)."""

    policy: SyncPolicy
    capabilities: Mapping[str, Capabilities]
    locations: LocationMap
    counted_at: Mapping[str, datetime]
    events_read_until: Mapping[str, datetime]
    first_sync: bool = False
    in_flight: frozenset[CountKey] = frozenset()
    held: Mapping[str, set[str]] = field(default_factory=dict)
    sales_unread: Mapping[str, set[str]] = field(default_factory=dict)

    def located(self) -> list[str]:
        """The channels that count per location, in order."""
        return sorted(name for name, caps in self.capabilities.items() if caps.has_locations)


@dataclass(frozen=True)
class Chunk:
    """What the channels hold for a set of products that only link among themselves.

    ``products``: per channel, as read (or as last read, for the other side of a changed SKU).
    ``links``: the store's links of these variants; ``gone``: ``(channel, variant id)`` of those
    whose object was deleted for good while another took its SKU. ``levels``: counts staged for the
    channels with locations (of at least every linked variant; others are ignored). ``events``:
    every stock event read this sync (each chunk takes those of its SKUs)."""

    products: Mapping[str, Sequence[ChannelProduct]]
    links: Sequence[ExistingLink] = ()
    gone: frozenset[tuple[str, str]] = frozenset()
    levels: Sequence[StockLevel] = ()
    events: Sequence[StockEvent] = ()


@dataclass
class Outcome:
    """What the engine decided for a chunk: everything a commit records, and the plan."""

    plan: Plan
    groups: list[LinkGroup]
    new_entries: list[LedgerEntry]
    counted_at: dict[tuple[str, str, str | None], datetime] = field(default_factory=dict)
    """Per count, the moment a relative write computed from it is valid from."""
    observed: list[Observation] = field(default_factory=list)
    """The counts to remember as their channels' next baselines."""
    pools: list[PoolVerdict] = field(default_factory=list)
    unresolved: list[tuple[StockEvent, str]] = field(default_factory=list)
    """Events that could not be placed (with why): kept in the store, reported in the plan."""
    claimed: set[str] = field(default_factory=set)
    """Source ids of the events this chunk's SKUs own (placed, already counted, or unresolved)."""
    released: list[str] = field(default_factory=list)
    """Kept events this chunk accounted for at last."""

    def reporting(self, unresolved: Iterable[tuple[StockEvent, str]]) -> Outcome:
        """This outcome with ``unresolved`` events added to its plan's report."""
        more = tuple(describe(ev, why) for ev, why in unresolved if ev.delta)
        if more:
            self.plan = replace(self.plan, unresolved=(*self.plan.unresolved, *more))
        return self


def wanted(chunk: Chunk) -> Wanted:
    """What to ask the store for before deciding ``chunk``: every SKU its groups can end up under
    (a link's, or a variant's own), every variant it names, and its pools."""
    skus = {ex.sku for ex in chunk.links}
    skus |= {v.sku for items in chunk.products.values() for p in items for v in p.variants if v.sku}
    members = {(ex.channel, ex.variant_id) for ex in chunk.links}
    members |= {
        (name, v.channel_id) for name, items in chunk.products.items() for p in items for v in p.variants
    }
    pools = {
        pool_key(p.channel_id) for items in chunk.products.values() for p in items if p.pool_stock is not None
    }
    return Wanted(frozenset(skus), frozenset(members), frozenset(pools))


def decide(chunk: Chunk, memory: Memory, context: Context) -> Outcome:
    """Link, judge and plan one chunk (see the module's docstring)."""
    existing = [ex for ex in chunk.links if (ex.channel, ex.variant_id) not in chunk.gone]
    linked = link(chunk.products, existing, prefer=link_preference(context.policy))
    members = _member_ids(linked.groups)
    located = set(context.located())
    levels = [lv for lv in chunk.levels if lv.channel in located and lv.variant_id in members[lv.channel]]
    events, in_count = before_takeover(
        chunk.events,
        successors(chunk.links, linked.groups),
        {name: at for name, at in context.counted_at.items() if name in located},
    )
    outcome = _decide_linked(
        _Linked(chunk.products, linked, [*levels, *_pool_levels(chunk, context, members)], events),
        _recalled(memory, linked.groups),
        context,
    )
    outcome.claimed |= in_count  # accounted for by the count: not a stray to keep
    return outcome


@dataclass(frozen=True)
class _Linked:
    """A chunk once linked: its products, the link result, the linked variants' counts, events."""

    products: Mapping[str, Sequence[ChannelProduct]]
    linked: LinkResult
    levels: list[StockLevel]
    events: list[StockEvent]


@dataclass(frozen=True)
class _Recalled:
    """The store's memory restricted to what the linked groups use."""

    skus: list[str]
    ledger: list[LedgerEntry]
    written: dict[tuple[str, str, str | None], Written]
    kept: list[StockEvent]
    memory: Memory


def _recalled(memory: Memory, groups: Sequence[LinkGroup]) -> _Recalled:
    skus = sorted({g.sku for g in groups})
    mine = set(skus)
    index = variant_index(groups)
    return _Recalled(
        skus=skus,
        ledger=[e for e in memory.ledger if e.sku in mine],
        written={k: w for k, w in memory.baselines.items() if k[1] in mine},
        kept=[
            ev
            for ev in memory.kept
            if (ev.sku is not None and ev.sku in mine) or (ev.channel, ev.variant_id or "") in index
        ],
        memory=memory,
    )


def _decide_linked(chunk: _Linked, recalled: _Recalled, context: Context) -> Outcome:
    """Ledger and plan for the linked groups of a chunk, from what was read about them and what the
    store remembers about their SKUs."""
    groups = chunk.linked.groups
    skus = variant_index(groups)
    observed, blind = _counts(chunk.levels, skus, context)
    counted_by_key = {(o.channel, o.sku, o.location): o.observed_at for o in observed}
    ledger = recalled.ledger
    new_entries = _seeds(groups, ledger, observed, context)
    moves = _moves(chunk.events, recalled, skus, [*ledger, *new_entries], context)
    new_entries.extend(moves.entries)
    written = recalled.written
    uncounted = {
        (o.channel, o.sku, o.location or "")
        for o in observed
        if o.observed_at == NEVER_COUNTED and (o.channel, o.sku, o.location) in written
    }
    observed = [o for o in observed if (o.channel, o.sku, o.location or "") not in uncounted]
    judged = _judge(observed, written, [*ledger, *new_entries], context)
    new_entries.extend(judged.adjustments)
    baselines = {(o.channel, o.sku, o.location): o.observed_at for o in judged.baselines}
    counted_by_key = {key: baselines.get(key, at) for key, at in counted_by_key.items()}
    everything = [*ledger, *new_entries]
    placed = place(everything, context.policy, context.locations)  # entries allocated by rule, placed
    seeded_now = {e.sku for e in everything if e.kind is StockEventKind.INITIAL}
    pools = _judge_pools(chunk.products, skus, placed, seeded_now, recalled.memory, context)
    # A count holding events not read yet is left alone this round (neither judged nor written
    # from), like one under an unconfirmed write: those events, read next round, bring it back.
    unwritten = set(context.in_flight) | judged.unsettled | uncounted | blind
    plan = _reconcile(chunk, recalled, context, placed, everything, seeded_now, judged, unwritten, pools)
    # An agreed pool's count is its next baseline, as any count is (a held one keeps its own).
    pool_baselines = [v.baseline for v in pools if v.state == "agreed" and v.baseline is not None]
    return Outcome(
        plan=plan,
        groups=list(groups),
        new_entries=new_entries,
        counted_at=counted_by_key,
        observed=judged.baselines + pool_baselines,
        pools=pools,
        unresolved=moves.unresolved,
        claimed=moves.claimed,
        released=released(moves.kept, moves.claimed, moves.unresolved),
    ).reporting(moves.unresolved)


def _counts(
    levels: Sequence[StockLevel], skus: Mapping[tuple[str, str], str], context: Context
) -> tuple[list[Observation], set[CountKey]]:
    """The counts to judge and write from, and the counts of channels whose sales of a SKU could
    not be read (``blind``: neither judged nor written). Counts under an unconfirmed write, and of
    SKUs held on their channel, are left out."""
    blind = _count_keys(context.sales_unread, context.locations)
    left_out = set(context.in_flight) | blind
    observed = [
        o
        for o in observations(levels, skus=skus, locations=context.locations)
        if (o.channel, o.sku, o.location or "") not in left_out
        and o.sku not in context.held.get(o.channel, ())
    ]
    return observed, blind


def _seeds(
    groups: Sequence[LinkGroup],
    ledger: Sequence[LedgerEntry],
    observed: Sequence[Observation],
    context: Context,
) -> list[LedgerEntry]:
    """Initial entries: a newly linked SKU from its counts (per location where there are any); a
    location opened since the SKU was linked from its own count, not from zero."""
    seeded = {e.sku for e in ledger if e.kind is StockEventKind.INITIAL}
    seeded_at = {(e.sku, e.location) for e in ledger if e.kind is StockEventKind.INITIAL}
    counts_by_sku: dict[str, list[Observation]] = defaultdict(list)
    for o in observed:
        counts_by_sku[o.sku].append(o)
    out: list[LedgerEntry] = []
    for group in groups:
        if group.sku not in seeded:
            out.extend(
                initial_entries(
                    group.sku,
                    counts_by_sku[group.sku],
                    policy=context.policy,
                    locations=context.locations,
                    prefer=seed_order(context.capabilities, context.policy),
                )
            )
            continue
        fresh_places = [
            o
            for o in counts_by_sku[group.sku]
            if o.location is not None and (o.sku, o.location) not in seeded_at
        ]
        for o in fresh_places:
            out.extend(
                initial_entries(
                    o.sku, [o], policy=context.policy, locations=context.locations, prefer=(o.channel,)
                )
            )
    return out


@dataclass(frozen=True)
class _Moves:
    """The chunk's stock events as ledger entries, and what became of the others."""

    entries: list[LedgerEntry]
    unresolved: list[tuple[StockEvent, str]]
    claimed: set[str]
    kept: list[StockEvent]


def _moves(
    events: Sequence[StockEvent],
    recalled: _Recalled,
    skus: Mapping[tuple[str, str], str],
    known: Sequence[LedgerEntry],
    context: Context,
) -> _Moves:
    """The events of the chunk's SKUs (read now, or kept from earlier syncs and placeable now) as
    ledger entries; a move before the initial count of its (SKU, location) is already in that
    count, and an order's current effect is turned into moves (:mod:`bridge.effects`)."""
    initial_at = {(e.sku, e.location): e.occurred_at for e in known if e.kind is StockEventKind.INITIAL}
    first_seeded: dict[str, datetime] = {}
    for (sku, _), at in initial_at.items():
        first_seeded[sku] = min(at, first_seeded.get(sku, at))
    group_skus = set(recalled.skus)
    everything = [*events, *recalled.kept]
    ours = [ev for ev in everything if (skus.get((ev.channel, ev.variant_id or "")) or ev.sku) in group_skus]
    mine = [
        ev
        for ev in ours
        if ev.effect is None and not _before_seed(ev, skus, initial_at, first_seeded, context.locations)
    ]
    mine += effect_changes(ours, recalled.ledger, initial_at=first_seeded, skus=skus)  # effects → moves
    resolved = resolve_events(
        mine,
        skus=skus,
        locations=context.locations,
        policy=context.policy,
        known=[e.source_id for e in known],
    )
    unresolved = [(ev, why) for ev, why in resolved.unresolved if ev.kind is not StockEventKind.INITIAL]
    return _Moves(list(resolved.entries), unresolved, {ev.source_id for ev in ours}, recalled.kept)


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
        place_key = locations.canonical_key(event.channel, event.location_id) or ""
        seeded_at = initial_at.get((sku, place_key))
    else:
        seeded_at = first_seeded.get(sku)
    return seeded_at is not None and (event.received_at or event.occurred_at) <= seeded_at


def _judge(
    observed: Sequence[Observation],
    written: Mapping[tuple[str, str, str | None], Written],
    entries: Sequence[LedgerEntry],
    context: Context,
) -> CountJudgement:
    return judge_counts(
        observed,
        written,
        entries,
        events_read_until=context.events_read_until,
        policy=context.policy,
        locations=context.locations,
        resolution={name: caps.date_resolution for name, caps in context.capabilities.items()},
    )


def _judge_pools(
    products: Mapping[str, Sequence[ChannelProduct]],
    skus: Mapping[tuple[str, str], str],
    placed: Sequence[LedgerEntry],
    seeded: set[str],
    memory: Memory,
    context: Context,
) -> list[PoolVerdict]:
    """The stock pools of ``products`` judged against their baselines (:mod:`bridge.pools`)."""
    pools = find_pools(products, skus, context.counted_at)
    if not pools:
        return []
    keys = {p.key for p in pools}
    return judge_pools(
        pools,
        {k: w for k, w in memory.baselines.items() if k[1] in keys},
        placed,
        seeded=seeded,
        in_flight=context.in_flight,
        events_read_until=context.events_read_until,
        policy=context.policy,
        locations=context.locations,
        resolution={name: caps.date_resolution for name, caps in context.capabilities.items()},
    )


def _reconcile(
    chunk: _Linked,
    recalled: _Recalled,
    context: Context,
    placed: list[LedgerEntry],
    everything: list[LedgerEntry],
    seeded: set[str],
    judged: CountJudgement,
    unwritten: set[CountKey],
    pools: list[PoolVerdict],
) -> Plan:
    on_hold = set().union(*context.held.values())
    memory = recalled.memory
    mine = set(recalled.skus)
    return reconcile(
        ReconcileInput(
            products=chunk.products,
            groups=[g for g in chunk.linked.groups if g.sku not in on_hold],
            policy=context.policy,
            capabilities=context.capabilities,
            locations=context.locations,
            agreed={sku: data for sku, data in memory.catalogue.items() if sku in mine},
            settled={key: kept for key, kept in memory.settled.items() if key[0] in mine},
            last_written={k: h for k, h in memory.echo_hashes.items() if k[1] in mine},
            on_hand=on_hand(placed),
            seeded=seeded,
            observed=judged.current,
            positions=ledger_positions(everything),
            recent=placed,
            written_stock=recalled.written,
            first_sync=context.first_sync,
            issues=chunk.linked.issues,
            in_flight=unwritten,
            creating=memory.creating,
            pools=pools,
        )
    )


def _pool_levels(chunk: Chunk, context: Context, members: Mapping[str, set[str]]) -> list[StockLevel]:
    """A single-pool channel's counts are part of its catalogue (read at ``counted_at``)."""
    return [
        StockLevel(
            channel=name,
            variant_id=v.channel_id,
            location_id=None,
            quantity=v.stock,
            observed_at=v.counted_at or context.counted_at[name],
        )
        for name, caps in sorted(context.capabilities.items())
        if not caps.has_locations
        for p in chunk.products.get(name, ())
        for v in p.variants
        if v.manage_stock and not v.stock_managed_by_parent and v.channel_id in members.get(name, set())
    ]


def _count_keys(skus: Mapping[str, set[str]], locations: LocationMap) -> set[CountKey]:
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


def merge(outcomes: Sequence[Outcome], policy: SyncPolicy) -> Outcome:
    """The outcomes of a sync's chunks as one (for ``--dry-run``: the whole plan at once)."""
    figures = sum((o.plan.safety.figures for o in outcomes), SafetyFigures())
    plan = Plan.build(
        [c for o in outcomes for c in o.plan.changes],
        [w for o in outcomes for w in o.plan.warnings],
        judge(figures, policy),
        written_hashes={k: v for o in outcomes for k, v in o.plan.written_hashes.items()},
        agreed={k: v for o in outcomes for k, v in o.plan.agreed.items()},
        skipped=[i for o in outcomes for i in o.plan.skipped],
    )
    return Outcome(
        plan=plan,
        groups=[g for o in outcomes for g in o.groups],
        new_entries=[e for o in outcomes for e in o.new_entries],
        counted_at={k: v for o in outcomes for k, v in o.counted_at.items()},
        observed=[x for o in outcomes for x in o.observed],
        unresolved=[u for o in outcomes for u in o.unresolved],
        released=[r for o in outcomes for r in o.released],
        pools=[v for o in outcomes for v in o.pools],
    ).reporting([u for o in outcomes for u in o.unresolved])
