"""Ledger: on-hand as the sum of unique events, projections, allocation, manual-change detection."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.ledger import (
    ALLOCATED,
    LedgerEntry,
    LocationMap,
    Observation,
    Written,
    choose_seed_channel,
    detect_manual_changes,
    initial_entries,
    ledger_positions,
    observations,
    on_hand,
    place,
    project,
    projections,
    resolve_events,
)
from bridge.models import StockEvent, StockEventKind, StockLevel
from bridge.policy import SyncPolicy
from bridge.projection import Part, Projection

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LOCS = LocationMap(
    keys=("main", "north"),
    channel_ids={("square", "main"): "LMAIN", ("square", "north"): "LNORTH"},
)
SKUS = {("woocommerce", "10"): "TEE", ("square", "VAR1"): "TEE"}
POLICY = SyncPolicy(default_location="main")


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def sale(source: str, channel: str, delta: int, minute: int, location: str | None = None) -> StockEvent:
    variant = "10" if channel == "woocommerce" else "VAR1"
    return StockEvent(
        source_id=source,
        channel=channel,
        kind=StockEventKind.SALE if delta < 0 else StockEventKind.RETURN,
        delta=delta,
        occurred_at=at(minute),
        variant_id=variant,
        location_id=location,
    )


def entry(source: str, channel: str, delta: int, minute: int, location: str = "main") -> LedgerEntry:
    kind = StockEventKind.SALE if delta < 0 else StockEventKind.RETURN
    return LedgerEntry(source, channel, kind, "TEE", location, delta, at(minute))


# -- on-hand ----------------------------------------------------------------------------------


def test_on_hand_counts_each_source_id_once() -> None:
    initial = LedgerEntry(
        "square:initial:TEE:main", "square", StockEventKind.INITIAL, "TEE", "main", 10, at(0)
    )
    web = entry("woocommerce:order:1042:line:1", "woocommerce", -2, 5)
    assert on_hand([initial, web, web, initial]) == {("TEE", "main"): 8}


def test_ledger_position_changes_only_with_new_events() -> None:
    a = entry("a", "square", -1, 1)
    b = entry("b", "square", -1, 2)
    assert ledger_positions([a, b]) == ledger_positions([b, a, a])
    assert ledger_positions([a]) != ledger_positions([a, b])


# -- resolving channel events -----------------------------------------------------------------


def test_resolve_maps_square_locations_and_allocates_web_sales() -> None:
    res = resolve_events(
        [sale("w1", "woocommerce", -2, 1), sale("s1", "square", -1, 2, "LNORTH")],
        skus=SKUS,
        locations=LOCS,
        policy=POLICY,
    )
    assert [(e.source_id, e.location, e.delta) for e in res.entries] == [
        ("w1", "main", -2),
        ("s1", "north", -1),
    ]
    assert res.unresolved == []


def test_resolve_drops_known_and_repeated_events() -> None:
    events = [
        sale("w1", "woocommerce", -2, 1),
        sale("w1", "woocommerce", -2, 1),
        sale("w2", "woocommerce", -1, 2),
    ]
    res = resolve_events(events, skus=SKUS, locations=LOCS, policy=POLICY, known={"w2"})
    assert [e.source_id for e in res.entries] == ["w1"]


def test_resolve_reports_unlinked_variants_and_unmapped_locations() -> None:
    stray = StockEvent(
        source_id="x",
        channel="woocommerce",
        kind=StockEventKind.SALE,
        delta=-1,
        occurred_at=at(1),
        variant_id="99",
    )
    elsewhere = sale("s9", "square", -1, 2, "LUNKNOWN")
    res = resolve_events([stray, elsewhere], skus=SKUS, locations=LOCS, policy=POLICY)
    assert res.entries == []
    assert [why for _, why in res.unresolved] == [
        "variant not linked",
        "location LUNKNOWN of square is not mapped",
    ]


PRIORITY = SyncPolicy(online_allocation="priority", allocation_priority=["north", "main"])


def initial(location: str, quantity: int, minute: int = 0) -> LedgerEntry:
    return LedgerEntry(
        f"square:initial:TEE:{location}",
        "square",
        StockEventKind.INITIAL,
        "TEE",
        location,
        quantity,
        at(minute),
    )


def resolved(events: list[StockEvent], policy: SyncPolicy = PRIORITY) -> list[LedgerEntry]:
    res = resolve_events(events, skus=SKUS, locations=LOCS, policy=policy)
    assert res.unresolved == []
    return res.entries


def test_priority_allocation_takes_from_first_location_with_enough_stock() -> None:
    entries = resolved(
        [sale("w1", "woocommerce", -1, 1), sale("w2", "woocommerce", -1, 2), sale("w3", "woocommerce", 1, 3)]
    )
    # Recorded without a location: where they land is decided against the whole ledger.
    assert [e.location for e in entries] == [ALLOCATED] * 3
    ledger = [initial("north", 1), initial("main", 5), *entries]
    # The first sale empties north, the second must come from main; a return goes to north.
    assert [e.location for e in place(ledger, PRIORITY, LOCS)][2:] == ["north", "main", "north"]
    assert on_hand(ledger, PRIORITY, LOCS) == {("TEE", "north"): 1, ("TEE", "main"): 4}


def test_a_store_sale_read_late_still_counts_before_a_later_web_sale() -> None:
    """North holds 3; the till sells 2 there, then the web sells 2: north can no longer serve it."""
    till = resolved([sale("s1", "square", -2, 1, "LNORTH")])
    web = resolved([sale("w1", "woocommerce", -2, 2)])
    seed = [initial("main", 10), initial("north", 3)]
    expected = {("TEE", "main"): 8, ("TEE", "north"): 1}
    assert on_hand([*seed, *till, *web], PRIORITY, LOCS) == expected
    assert on_hand([*seed, *web, *till], PRIORITY, LOCS) == expected  # web sale read first


def test_a_cancellation_gives_back_where_its_sale_was_taken_from() -> None:
    sold = sale("woocommerce:order:7:line:1", "woocommerce", -3, 1)
    cancel = StockEvent(
        source_id="woocommerce:order:7:line:1:cancel",
        channel="woocommerce",
        kind=StockEventKind.CANCEL,
        delta=3,
        occurred_at=at(5),
        variant_id="10",
    )
    refund = sale("woocommerce:refund:9:line:1", "woocommerce", 1, 6)
    ledger = [initial("main", 10), initial("north", 2), *resolved([cancel, sold, refund])]
    placed = {e.source_id: e.location for e in place(ledger, PRIORITY, LOCS)}
    assert placed["woocommerce:order:7:line:1"] == "main"  # north holds only 2
    assert placed["woocommerce:order:7:line:1:cancel"] == "main"
    assert placed["woocommerce:refund:9:line:1"] == "north"  # a return: the first priority location
    assert on_hand(ledger, PRIORITY, LOCS) == {("TEE", "main"): 10, ("TEE", "north"): 3}


def test_entries_allocated_before_keep_their_location() -> None:
    legacy = entry("w0", "woocommerce", -2, 1, location="main")  # recorded by an older version
    ledger = [initial("main", 10), initial("north", 5), legacy, *resolved([sale("w1", "woocommerce", -1, 2)])]
    assert on_hand(ledger, PRIORITY, LOCS) == {("TEE", "main"): 8, ("TEE", "north"): 4}


def test_default_location_rule_still_records_the_location() -> None:
    assert [e.location for e in resolved([sale("w1", "woocommerce", -2, 1)], POLICY)] == ["main"]


def test_on_hand_needs_the_policy_to_place_allocated_entries() -> None:
    with pytest.raises(ValueError, match="allocation rule"):
        on_hand(resolved([sale("w1", "woocommerce", -1, 1)]))


# -- projections ------------------------------------------------------------------------------


def test_square_location_shows_its_own_on_hand_and_web_shows_the_sum_minus_buffer() -> None:
    current = {("TEE", "main"): 4, ("TEE", "north"): 3}
    policy = SyncPolicy(buffers={"woocommerce": 2})
    assert project("TEE", "square", current, policy, LOCS, has_locations=True) == {"main": 4, "north": 3}
    assert project("TEE", "woocommerce", current, policy, LOCS, has_locations=False) == {None: 5}


def test_projection_never_goes_negative_and_respects_source_locations() -> None:
    current = {("TEE", "main"): 1, ("TEE", "north"): -3}
    policy = SyncPolicy(buffers={"woocommerce": 2}, source_locations={"ebay": ["north"]})
    assert project("TEE", "woocommerce", current, policy, LOCS, has_locations=False) == {None: 0}
    assert project("TEE", "ebay", {("TEE", "north"): 6}, policy, LOCS, has_locations=False) == {None: 6}


def test_a_projection_keeps_its_parts_the_buffer_and_the_floor() -> None:
    current = {("TEE", "main"): 1, ("TEE", "north"): 3}
    policy = SyncPolicy(buffers={"woocommerce": 5}, source_locations={"ebay": ["north"]})
    web = projections("TEE", "woocommerce", current, policy, LOCS, has_locations=False)[None]
    assert web == Projection(0, (Part("main", "main", 1), Part("north", "north", 3)), 5, True)
    ebay = projections("TEE", "ebay", current, policy, LOCS, has_locations=False)[None]
    assert ebay == Projection(3, (Part("north", "north", 3),), left_out=(Part("main", "main", 1),))
    till = projections("TEE", "square", current, policy, LOCS, has_locations=True)
    assert till == {
        "main": Projection(1, (Part("main", "main", 1),), pooled=False),
        "north": Projection(3, (Part("north", "north", 3),), pooled=False),
    }


def test_a_projection_reason_names_its_locations_buffer_floor_and_what_is_left_out() -> None:
    locations = LocationMap(LOCS.keys, LOCS.channel_ids, {"main": "High Street", "north": "Harbour"})
    current = {("TEE", "main"): 12, ("TEE", "north"): 12}
    policy = SyncPolicy(buffers={"woocommerce": 2}, source_locations={"ebay": ["north"]})

    def reason(channel: str, on_hand: dict[tuple[str, str], int], shown: int) -> str:
        pool = projections("TEE", channel, on_hand, policy, locations, has_locations=False)[None]
        return pool.reason(channel, shown)

    assert reason("woocommerce", current, 12) == (
        "woocommerce shows 12, should show 22 = High Street 12 + Harbour 12 - buffer 2"
    )
    assert reason("woocommerce", {("TEE", "main"): 1}, 3) == (
        "woocommerce shows 3, should show 0 = High Street 1 + Harbour 0 - buffer 2, floored at 0"
    )
    assert reason("ebay", current, 0) == (
        "ebay shows 0, should show 12 = Harbour 12 (source_locations leaves out High Street)"
    )
    till = projections("TEE", "square", current, policy, locations, has_locations=True)["north"]
    assert till.reason("square", 10) == "square shows 10, should show 12 at Harbour"
    one_shop = LocationMap(("default",))
    plain = projections(
        "TEE", "woocommerce", {("TEE", "default"): 7}, SyncPolicy(), one_shop, has_locations=False
    )
    assert plain[None].reason("woocommerce", 9) == "woocommerce shows 9, should show 7"


# -- first link -------------------------------------------------------------------------------


def obs(channel: str, qty: int | None, loc: str | None, minute: int = 0) -> Observation:
    return Observation(channel, "TEE", "VAR1" if channel == "square" else "10", loc, qty, at(minute))


SEED_ORDER = ("square", "woocommerce")  # as bridge.ownership.seed_order gives it: per-location counts first


def test_initial_count_is_seeded_from_square_locations_when_square_is_present() -> None:
    counts = [obs("woocommerce", 12, None), obs("square", 4, "main"), obs("square", 6, "north")]
    seeded = initial_entries("TEE", counts, policy=POLICY, locations=LOCS, prefer=SEED_ORDER)
    assert [(e.source_id, e.location, e.delta) for e in seeded] == [
        ("square:initial:TEE:main", "main", 4),
        ("square:initial:TEE:north", "north", 6),
    ]
    assert all(e.kind is StockEventKind.INITIAL for e in seeded)
    again = initial_entries("TEE", counts, policy=POLICY, locations=LOCS, prefer=SEED_ORDER)
    assert again == seeded  # stable ids


def test_initial_count_from_woocommerce_goes_to_the_default_location() -> None:
    seeded = initial_entries(
        "TEE", [obs("woocommerce", 12, None)], policy=POLICY, locations=LOCS, prefer=SEED_ORDER
    )
    assert [(e.location, e.delta) for e in seeded] == [("main", 12)]
    forced = initial_entries(
        "TEE", [obs("woocommerce", 12, None), obs("square", 1, "main")], policy=POLICY, locations=LOCS,
        prefer=("woocommerce",),
    )  # fmt: skip
    assert [(e.channel, e.delta) for e in forced] == [("woocommerce", 12)]
    assert choose_seed_channel(["woocommerce", "ebay"], SEED_ORDER) == "woocommerce"
    assert choose_seed_channel(["woocommerce", "ebay"], ()) == "ebay"  # none preferred: the first by name


def test_observations_translate_stock_levels() -> None:
    levels = [
        StockLevel(channel="square", variant_id="VAR1", location_id="LNORTH", quantity=3, observed_at=at(1)),
        StockLevel(channel="woocommerce", variant_id="10", location_id=None, quantity=7, observed_at=at(1)),
        StockLevel(
            channel="woocommerce", variant_id="unlinked", location_id=None, quantity=1, observed_at=at(1)
        ),
    ]
    got = observations(levels, skus=SKUS, locations=LOCS)
    assert [(o.channel, o.location, o.quantity) for o in got] == [
        ("square", "north", 3),
        ("woocommerce", None, 7),
    ]


# -- manual changes ---------------------------------------------------------------------------

WRITTEN = {
    ("square", "TEE", "main"): Written("square", "TEE", "main", 10, at(0)),
    ("woocommerce", "TEE", None): Written("woocommerce", "TEE", None, 10, at(0)),
}
READ_ALL = {"square": at(60), "woocommerce": at(60)}


def detect(
    observed: list[Observation], entries: list[LedgerEntry], read: dict[str, datetime] | None = None
) -> list[LedgerEntry]:
    until = READ_ALL if read is None else read
    return detect_manual_changes(
        observed, WRITTEN, entries, events_read_until=until, policy=POLICY, locations=LOCS
    )


def test_a_count_explained_by_the_channels_own_sale_is_not_manual() -> None:
    sold = [entry("square:change:1", "square", -1, 5)]
    assert detect([obs("square", 9, "main", 10)], sold) == []


def test_an_unexplained_count_is_an_adjustment_of_the_difference() -> None:
    sold = [entry("square:change:1", "square", -1, 5)]
    (adj,) = detect([obs("square", 6, "main", 10)], sold)
    assert adj.kind is StockEventKind.ADJUSTMENT
    assert (adj.delta, adj.location, adj.channel) == (-3, "main", "square")
    assert adj.source_id.startswith("square:manual:VAR1:main:")


def test_other_channels_sales_do_not_explain_a_count() -> None:
    web = [entry("woocommerce:order:1", "woocommerce", -2, 5)]
    (adj,) = detect([obs("square", 8, "main", 10)], web)
    assert adj.delta == -2


def test_manual_detection_is_stable_on_reread_and_not_repeated_once_recorded() -> None:
    first = detect([obs("square", 7, "main", 10)], [])
    again = detect([obs("square", 7, "main", 20)], [])  # re-read before recording: same event
    assert first == [first[0]] and again[0].source_id == first[0].source_id
    assert detect([obs("square", 7, "main", 30)], first) == []  # recorded: nothing new


def test_a_second_change_from_the_same_baseline_gets_a_new_id() -> None:
    (down,) = detect([obs("square", 8, "main", 10)], [])
    (up,) = detect([obs("square", 10, "main", 20)], [down])
    assert up.delta == 2 and up.source_id != down.source_id
    (down_again,) = detect([obs("square", 8, "main", 30)], [down, up])
    assert down_again.source_id not in {down.source_id, up.source_id}


def test_counts_newer_than_the_events_read_are_not_judged() -> None:
    assert detect([obs("square", 6, "main", 10)], [], read={"square": at(5)}) == []
    assert detect([obs("square", 6, "main", 10)], [], read={}) == []


def test_counts_without_baseline_or_older_than_the_write_are_not_judged() -> None:
    other = Observation("square", "TEE", "VAR1", "north", 5, at(10))
    stale = Observation("square", "TEE", "VAR1", "main", 5, at(0) - timedelta(minutes=1))
    assert detect([other, stale], []) == []


def test_web_manual_change_lands_at_the_default_location() -> None:
    (adj,) = detect([obs("woocommerce", 13, None, 10)], [entry("woocommerce:order:1", "woocommerce", -1, 5)])
    assert (adj.delta, adj.location) == (4, "main")


# -- property: order and duplicates do not matter ---------------------------------------------

event_spec = st.tuples(
    st.sampled_from(["woocommerce", "woocommerce-cancelled", "square-main", "square-north"]),
    st.integers(min_value=-3, max_value=2).filter(lambda d: d != 0),
    st.integers(min_value=0, max_value=500),
)
START = {"main": 10, "north": 5}


def make_events(specs: list[tuple[str, int, int]]) -> list[StockEvent]:
    """Till sales and returns at each location, web sales and refunds, cancelled web orders."""
    out = []
    for i, (where, delta, minute) in enumerate(specs):
        if where.startswith("woocommerce"):
            source = f"woocommerce:order:{i}:line:1" if delta < 0 else f"woocommerce:refund:{i}:line:1"
            out.append(sale(source, "woocommerce", delta, minute))
            if where == "woocommerce-cancelled" and delta < 0:
                out.append(
                    StockEvent(
                        source_id=f"{source}:cancel",
                        channel="woocommerce",
                        kind=StockEventKind.CANCEL,
                        delta=-delta,
                        occurred_at=at(minute + 30),
                        variant_id="10",
                    )
                )
        else:
            loc = "LMAIN" if where == "square-main" else "LNORTH"
            out.append(sale(f"square:change:{i}", "square", delta, minute, loc))
    return out


def apply_in_batches(
    events: list[StockEvent], cuts: list[int], policy: SyncPolicy
) -> tuple[dict[tuple[str, str], int], list[LedgerEntry]]:
    """What the daemon does: seed, then per sync read a batch, resolve it against the ledger, record."""
    recorded = [initial(loc, qty, minute=-1) for loc, qty in START.items()]
    bounds = sorted({0, len(events), *(c % (len(events) + 1) for c in cuts)})
    for lo, hi in itertools.pairwise(bounds):
        res = resolve_events(
            events[lo:hi], skus=SKUS, locations=LOCS, policy=policy, known={e.source_id for e in recorded}
        )
        recorded.extend(res.entries)
    return on_hand(recorded, policy, LOCS), recorded[len(START) :]


POLICIES = [
    POLICY,
    PRIORITY,
    SyncPolicy(online_allocation="priority", allocation_priority=["main", "north"]),
]


@settings(max_examples=150, deadline=None)
@given(specs=st.lists(event_spec, max_size=25), policy=st.sampled_from(POLICIES), data=st.data())
def test_any_interleaving_and_replay_gives_the_same_stock_and_projections(
    specs: list[tuple[str, int, int]], policy: SyncPolicy, data: st.DataObject
) -> None:
    """The same set of events, read in any batches in any order (some twice), gives the same
    per-location on-hand and channel projections as reading them all at once, under either rule."""
    events = make_events(specs)
    reference, _ = apply_in_batches(events, [], policy)

    replayed = events + data.draw(st.lists(st.sampled_from(events), max_size=10)) if events else []
    shuffled = data.draw(st.permutations(replayed))
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=40), max_size=4))
    got, recorded = apply_in_batches(list(shuffled), cuts, policy)

    assert got == reference
    assert len(recorded) == len(events)
    assert sum(got.values()) == sum(START.values()) + sum(e.delta for e in events)
    for channel, has_locations in (("square", True), ("woocommerce", False)):
        assert project("TEE", channel, got, policy, LOCS, has_locations=has_locations) == project(
            "TEE", channel, reference, policy, LOCS, has_locations=has_locations
        )
