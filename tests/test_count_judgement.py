"""The manual-change rule (:func:`bridge.ledger.judge_counts`): each count is placed against the
channel's own events around *that* count and around its baseline, and a write is only ever computed
from a count and a ledger that describe the same moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridge.ledger import (
    CountJudgement,
    LedgerEntry,
    LocationMap,
    Observation,
    Written,
    detect_manual_changes,
    judge_counts,
)
from bridge.models import StockEventKind
from bridge.policy import SyncPolicy

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LOCS = LocationMap(keys=("main",), channel_ids={("square", "main"): "LMAIN"})
POLICY = SyncPolicy(default_location="main")
WOO_DATES = {"woocommerce": timedelta(seconds=1)}  # WooCommerce dates orders and answers to the second


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def sale(
    source: str, channel: str, delta: int, second: float, *, received: float | None = None
) -> LedgerEntry:
    return LedgerEntry(
        source,
        channel,
        StockEventKind.SALE,
        "TEE",
        "main",
        delta,
        at(second),
        received_at=None if received is None else at(received),
    )


def woo_count(quantity: int, second: float) -> Observation:
    return Observation("woocommerce", "TEE", "10", None, quantity, at(second))


def till_count(quantity: int, second: float) -> Observation:
    return Observation("square", "TEE", "VAR1", "main", quantity, at(second))


def judge(
    counts: list[Observation],
    entries: list[LedgerEntry],
    baseline: Written,
    *,
    read_until: float = 3600,
) -> CountJudgement:
    key = (baseline.channel, baseline.sku, baseline.location)
    return judge_counts(
        counts,
        {key: baseline},
        entries,
        events_read_until={"woocommerce": at(read_until), "square": at(read_until)},
        policy=POLICY,
        locations=LOCS,
        resolution=WOO_DATES,
    )


WOO_BASE = Written("woocommerce", "TEE", None, 10, at(0))
TILL_BASE = Written("square", "TEE", "main", 10, at(0))


def test_a_second_manual_count_right_after_a_detected_one_is_judged_too() -> None:
    """8 typed after 10, then 5: the first adjustment is dated at the count that revealed it, which
    is the new baseline; it must not make the next count undecidable."""
    first = judge([woo_count(8, 10)], [], WOO_BASE)
    (down,) = first.adjustments
    assert down.delta == -2
    (baseline,) = first.baselines
    rebased = Written("woocommerce", "TEE", None, baseline.quantity or 0, baseline.observed_at)
    second = judge([woo_count(5, 20)], [down], rebased)
    assert [a.delta for a in second.adjustments] == [-3]
    assert not second.unsettled


def test_a_sale_just_after_the_baseline_does_not_blind_a_later_count() -> None:
    """The old rule refused any count while an own sale lay within 2 s of its baseline."""
    sold = [sale("woocommerce:order:1:line:1", "woocommerce", -1, 2)]
    got = judge([woo_count(6, 60)], sold, WOO_BASE)
    assert [a.delta for a in got.adjustments] == [-3]  # 10 - 1 sold = 9 expected; 6 counted


def test_a_count_in_the_second_of_a_sale_explained_either_way_is_not_a_manual_change() -> None:
    sold = [sale("woocommerce:order:1:line:1", "woocommerce", -1, 30)]
    for shown in (9, 10):  # with the sale in it, or not yet
        got = judge([woo_count(shown, 30)], sold, WOO_BASE)
        assert got.adjustments == [] and not got.unsettled
        # Remembered as read, at its own moment: the sale stays "in it or not" for the next count.
        assert got.baselines == [woo_count(shown, 30)]


def test_the_next_count_weighs_a_doubtful_sale_both_ways_against_that_baseline() -> None:
    sold = [sale("woocommerce:order:1:line:1", "woocommerce", -1, 30)]
    rebased = Written("woocommerce", "TEE", None, 10, at(30))  # the count taken in the sale's second
    for shown in (9, 10):  # the sale was not in it (the shop now shows 9), or it was (still 10)
        assert judge([woo_count(shown, 90)], sold, rebased).adjustments == []
    assert [a.delta for a in judge([woo_count(3, 90)], sold, rebased).adjustments] == [-7]


def test_an_entry_dated_finer_than_the_channel_is_uncertain_in_the_second_after_too() -> None:
    """An entry recorded at our clock (microseconds) 0.4 s after a WooCommerce count dated to its
    second may still be in that count."""
    sold = [sale("woocommerce:order:1:line:1", "woocommerce", -1, 30.4)]
    for shown in (9, 10):
        assert judge([woo_count(shown, 30)], sold, WOO_BASE).adjustments == []


def test_a_count_in_the_second_of_a_sale_that_nothing_explains_takes_the_lower_reading() -> None:
    """10 before, a sale of 1 in the count's second, 4 counted: a manual change of -6 (the sale not
    in the count yet) or -5 (in it). The ledger takes -6: it ends at 3, never above the shelf."""
    sold = [sale("woocommerce:order:1:line:1", "woocommerce", -1, 30)]
    got = judge([woo_count(4, 30)], sold, WOO_BASE)
    assert [a.delta for a in got.adjustments] == [-6]
    assert got.baselines == [woo_count(4, 30)] and not got.unsettled


def test_a_doubt_at_the_baseline_only_reads_the_change_that_under_promises() -> None:
    """The sale may be in the baseline (written in its second) or not: the later count 5 is a
    manual change of -4 or -5; the ledger takes -5 (it can only show less than the shelf)."""
    sold = [sale("woocommerce:order:1:line:1", "woocommerce", -1, 0)]
    got = judge([woo_count(5, 60)], sold, WOO_BASE)
    assert [a.delta for a in got.adjustments] == [-5]
    assert [b.quantity for b in got.baselines] == [5]


def test_a_count_holding_changes_not_read_yet_is_neither_judged_nor_written_from() -> None:
    """The till's count is newer than the events read: it holds a sale the ledger lacks. Judging it
    would double the sale; writing from it would put the unit back (a positive adjustment)."""
    got = judge([till_count(9, 50)], [], TILL_BASE, read_until=40)
    assert got.adjustments == [] and got.baselines == []
    assert got.unsettled == {("square", "TEE", "main")}


def test_a_till_sale_received_after_the_count_is_added_to_it_not_judged_twice() -> None:
    """Square dates each change by its receipt: a sale received after the count's moment is in the
    ledger but not in the count; the count is brought forward to the ledger's moment."""
    later = sale("square:change:9", "square", -1, 45, received=45)
    got = judge([till_count(10, 40)], [later], TILL_BASE)
    assert got.adjustments == []
    (current,) = got.current
    assert (current.quantity, current.observed_at) == (9, at(45))
    assert got.baselines == [current]


def test_an_offline_sale_counts_by_when_the_till_received_it() -> None:
    """Occurred before the baseline, uploaded after it: the baseline did not hold it, the count does."""
    offline = sale("square:change:7", "square", -2, -600, received=20)
    got = judge([till_count(8, 30)], [offline], TILL_BASE)
    assert got.adjustments == [] and not got.unsettled


def test_a_count_older_than_the_baseline_is_not_judged_nor_remembered() -> None:
    got = judge([woo_count(3, -60)], [], WOO_BASE)
    assert got.adjustments == [] and got.baselines == [] and not got.unsettled


# The same rule through ``detect_manual_changes`` (the interface before ``judge_counts``; these two
# fail on the rule that compared every own event with the baseline's moment).


def _detect(count: Observation, entries: list[LedgerEntry], baseline: Written) -> list[int]:
    found = detect_manual_changes(
        [count],
        {(baseline.channel, baseline.sku, baseline.location): baseline},
        entries,
        events_read_until={"woocommerce": at(3600)},
        policy=POLICY,
        locations=LOCS,
        ambiguity=timedelta(seconds=2),
    )
    return [a.delta for a in found]


def test_detect_two_manual_counts_in_a_row() -> None:
    (down,) = detect_manual_changes(
        [woo_count(8, 10)],
        {("woocommerce", "TEE", None): WOO_BASE},
        [],
        events_read_until={"woocommerce": at(3600)},
        policy=POLICY,
        locations=LOCS,
        ambiguity=timedelta(seconds=2),
    )
    assert _detect(woo_count(5, 20), [down], Written("woocommerce", "TEE", None, 8, at(10))) == [-3]


def test_detect_a_count_long_after_a_sale_near_its_baseline() -> None:
    sold = [sale("woocommerce:order:1:line:1", "woocommerce", -1, 2)]
    assert _detect(woo_count(6, 60), sold, WOO_BASE) == [-3]


def test_a_burst_of_web_sales_in_the_second_of_the_baseline_is_not_a_manual_change() -> None:
    """Thirteen web orders in the very second we wrote the count (WooCommerce dates both to the
    second), then the shop shows 13 fewer: every sale explains it. Weighing only the first twelve
    doubtful sales read the thirteenth as a manual drop, counting every sale twice (found by the
    event path's burst test: the web shop and the till both ended 13 under the shelf)."""
    sold = [sale(f"woocommerce:order:{n}:line:1", "woocommerce", -1, 0.1 * n) for n in range(13)]
    got = judge([woo_count(87, 1)], sold, Written("woocommerce", "TEE", None, 100, at(0)))
    assert got.adjustments == [] and not got.unsettled


def test_a_thousand_doubtful_sales_are_weighed_without_enumerating_their_subsets() -> None:
    """Every subset of a thousand sales cannot be listed; the sums they can make can: a count that
    any number of them explains is not a manual change, and one above them all (a delivery typed
    in) still is."""
    sold = [sale(f"woocommerce:order:{n}:line:1", "woocommerce", -1, 0.0005 * n) for n in range(1000)]
    base = Written("woocommerce", "TEE", None, 2000, at(0))
    assert judge([woo_count(1400, 0.5)], sold, base).adjustments == []
    assert [a.delta for a in judge([woo_count(2100, 0.5)], sold, base).adjustments] == [100]
