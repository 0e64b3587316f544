"""bridge.effects: a source's current stock effect becomes exactly the move from what the ledger holds.

Pure: readings and ledger entries in, moves out; the ledger is simulated by appending what comes out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.effects import effect_changes
from bridge.ledger import LedgerEntry, LocationMap, place
from bridge.models import Effect, StockEvent, StockEventKind
from bridge.policy import SyncPolicy

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
KEY = "woocommerce:order:7:line:3"
SKUS = {("woocommerce", "11"): "MUG"}


def _reading(
    amount: int, at: datetime, *, paid: datetime | None = T0, legacy: tuple[str, ...] = ()
) -> StockEvent:
    return StockEvent(
        source_id=KEY,
        channel="woocommerce",
        kind=StockEventKind.SALE,
        delta=amount,
        occurred_at=at,
        variant_id="11",
        sku="MUG",
        reason="woocommerce order 7 line 3",
        effect=Effect(key=KEY, amount=amount, taken=3, taken_at=paid, legacy=legacy),
    )


def _entry(source_id: str, delta: int, at: datetime = T0) -> LedgerEntry:
    kind = StockEventKind.SALE if delta <= 0 else StockEventKind.CANCEL
    return LedgerEntry(source_id, "woocommerce", kind, "MUG", "shop", delta, at)


def _sync(ledger: list[LedgerEntry], readings: list[StockEvent], seeded: datetime) -> list[LedgerEntry]:
    """What one sync records for ``readings`` (as the ledger would: unseen ids only)."""
    known = {e.source_id for e in ledger}
    moves = effect_changes(readings, ledger, initial_at={"MUG": seeded}, skus=SKUS)
    new = [_entry(m.source_id, m.delta, m.occurred_at) for m in moves if m.source_id not in known]
    return ledger + new


def _held(ledger: list[LedgerEntry]) -> int:
    return sum(e.delta for e in ledger)


def test_each_change_is_recorded_once_with_its_own_id() -> None:
    seeded = T0 - timedelta(days=1)
    ledger: list[LedgerEntry] = []
    for step, amount in enumerate((-3, -3, 0, -3, -2, 0, 0)):  # paid, reread, pending, paid, restock, cancel
        ledger = _sync(ledger, [_reading(amount, T0 + timedelta(minutes=step))], seeded)
        assert _held(ledger) == amount
    ids = [e.source_id for e in ledger]
    assert ids == [KEY, f"{KEY}:cancel", f"{KEY}:sale:2", f"{KEY}:cancel:3", f"{KEY}:cancel:4"]
    assert len(set(ids)) == len(ids)


def test_a_reading_of_an_unlinked_variant_is_passed_on_to_be_reported() -> None:
    (unlinked,) = effect_changes(
        [_reading(-3, T0).model_copy(update={"variant_id": "99", "sku": None})], [], initial_at={}, skus=SKUS
    )
    assert (unlinked.source_id, unlinked.delta, unlinked.effect) == (KEY, -3, None)
    pending = _reading(0, T0).model_copy(update={"variant_id": "99", "sku": None})
    assert effect_changes([pending], [], initial_at={}, skus=SKUS) == []


def test_a_give_back_goes_where_the_sale_was_placed() -> None:
    policy = SyncPolicy(online_allocation="priority", allocation_priority=("back", "front"))
    locations = LocationMap(keys=("front", "back"))
    stock = [
        LedgerEntry("square:initial:MUG:front", "square", StockEventKind.INITIAL, "MUG", "front", 5, T0),
        LedgerEntry("square:initial:MUG:back", "square", StockEventKind.INITIAL, "MUG", "back", 1, T0),
    ]
    moves = [
        LedgerEntry(KEY, "woocommerce", StockEventKind.SALE, "MUG", "*", -3, T0 + timedelta(1)),
        LedgerEntry(f"{KEY}:cancel", "woocommerce", StockEventKind.CANCEL, "MUG", "*", 1, T0 + timedelta(2)),
        LedgerEntry(
            f"{KEY}:cancel:2", "woocommerce", StockEventKind.CANCEL, "MUG", "*", 2, T0 + timedelta(3)
        ),
    ]
    placed = {e.source_id: e.location for e in place([*stock, *moves], policy, locations)}
    assert placed[KEY] == "front"  # the back holds 1, not 3
    assert placed[f"{KEY}:cancel"] == placed[f"{KEY}:cancel:2"] == "front"


def test_entries_of_older_versions_count_as_recorded() -> None:
    seeded = T0 - timedelta(days=1)
    refund = "woocommerce:refund:90:line:91"
    # An older version recorded the sale and, for a refund that did not restock, a return of 1.
    ledger = [_entry(KEY, -3), _entry(refund, 1)]
    ledger = _sync(ledger, [_reading(-3, T0 + timedelta(hours=1), legacy=(refund,))], seeded)
    assert _held(ledger) == -3  # the wrong return is taken back, once
    ledger = _sync(ledger, [_reading(-3, T0 + timedelta(hours=2), legacy=(refund,))], seeded)
    assert _held(ledger) == -3 and len(ledger) == 3
    # An older cancel (sale + cancel) of a line that now holds nothing adds nothing.
    old = [_entry(KEY, -3), _entry(f"{KEY}:cancel", 3)]
    assert _sync(old, [_reading(0, T0 + timedelta(hours=1))], seeded) == old


def test_what_the_initial_count_included_is_not_recorded_again() -> None:
    # Paid before the count and cancelled after it: the count lacked the 3, the cancel gives them back.
    seeded = T0 + timedelta(minutes=5)
    ledger = _sync([], [_reading(0, T0 + timedelta(minutes=10))], seeded)
    assert _held(ledger) == 3
    # Not modified since the count: all of it is in the count; a later change is recorded from there.
    ledger = _sync([], [_reading(-3, T0 + timedelta(minutes=1))], seeded)
    assert _held(ledger) == 0 and [e.source_id for e in ledger] == [f"{KEY}:counted:-3"]
    ledger = _sync(ledger, [_reading(0, T0 + timedelta(minutes=9))], seeded)
    assert _held(ledger) == 3
    ledger = _sync(ledger, [_reading(0, T0 + timedelta(minutes=12))], seeded)
    assert _held(ledger) == 3
    # Paid after the count: everything is new.
    assert (
        _held(_sync([], [_reading(-3, T0 + timedelta(minutes=9), paid=T0 + timedelta(minutes=8))], seeded))
        == -3
    )


@settings(max_examples=200, deadline=None)
@given(
    before=st.integers(min_value=0, max_value=3),
    after=st.lists(st.integers(min_value=-3, max_value=0), max_size=6),
    batches=st.lists(st.lists(st.integers(min_value=0, max_value=9), max_size=4), max_size=6),
)
def test_any_reads_of_any_states_end_at_what_woocommerce_did_since_the_count(
    before: int, after: list[int], batches: list[list[int]]
) -> None:
    """A line paid (3 units) ``before`` states ahead of the initial count, then changed through
    ``after``. Syncs read, in any order and any number of times, any state that was current at some
    moment after the count; a last sync reads the last state. The ledger then holds exactly what
    WooCommerce did after the count, reading again adds nothing, and every id is unique."""
    amounts = [-3] * before + after
    if not amounts:
        return
    states = [
        _reading(a, T0 + timedelta(minutes=i + 1), paid=T0 + timedelta(minutes=1))
        for i, a in enumerate(amounts)
    ]
    seeded = T0 + timedelta(minutes=before, seconds=30)
    visible = states[max(before - 1, 0) :]  # what a read after the count can see
    ledger: list[LedgerEntry] = []
    for batch in batches:
        ledger = _sync(ledger, [visible[i % len(visible)] for i in batch], seeded)
    ledger = _sync(ledger, [states[-1]], seeded)
    assert _held(ledger) == amounts[-1] - (-3 if before else 0)
    assert _sync(ledger, [states[-1], *visible], seeded) == ledger
    ids = [e.source_id for e in ledger]
    assert len(ids) == len(set(ids))
