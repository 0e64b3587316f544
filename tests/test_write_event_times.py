"""Which moment a stock write's propagation time runs from (the outbox entry's ``event_at``).

The propagation histogram (``bridge/metrics.py``) measures from the earliest stock event this sync
recorded for the write's SKU on *another* channel; an initial count is no event, and the write's
own channel's sales are not what it propagates.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridge.ledger import LedgerEntry
from bridge.models import StockEventKind
from bridge.plan import Action, Change
from bridge.sync import _first_event_elsewhere, _first_events

T0 = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def entry(
    n: int, channel: str, sku: str, minutes: int, kind: StockEventKind = StockEventKind.SALE
) -> LedgerEntry:
    return LedgerEntry(f"src-{n}", channel, kind, sku, "L1", -1, T0 + timedelta(minutes=minutes))


def change(channel: str, sku: str, action: Action = "set_stock") -> Change:
    return Change(channel=channel, action=action, sku=sku, reason="", key=f"{channel}-{sku}")


ENTRIES = [
    entry(1, "square", "A", 5),
    entry(2, "square", "A", 3),
    entry(3, "woocommerce", "A", 1),  # the write's own channel: not what it propagates
    entry(4, "ebay", "A", 4),
    entry(5, "square", "A", 0, StockEventKind.INITIAL),  # a count read, not an event
    entry(6, "square", "B", 2),
]


def test_a_stock_write_runs_from_the_earliest_event_on_another_channel() -> None:
    first = _first_events(ENTRIES)
    assert _first_event_elsewhere(first, change("woocommerce", "A")) == T0 + timedelta(minutes=3)
    assert _first_event_elsewhere(first, change("square", "A")) == T0 + timedelta(minutes=1)
    assert _first_event_elsewhere(first, change("woocommerce", "B")) == T0 + timedelta(minutes=2)


def test_no_event_elsewhere_or_no_stock_write_has_no_moment() -> None:
    first = _first_events(ENTRIES)
    assert _first_event_elsewhere(first, change("square", "B")) is None
    assert _first_event_elsewhere(first, change("woocommerce", "C")) is None
    assert _first_event_elsewhere(first, change("woocommerce", "A", action="update")) is None
