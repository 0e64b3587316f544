"""The store's flow figures (bridge/store/flow.py) on a real SQLite file: what came in per channel,
what went out by outcome, what waits, and how long a stock event took to be written elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridge.ledger import LedgerEntry
from bridge.models import StockEventKind
from bridge.store import Store
from bridge.store.flow import summarise


def entry(source: str, channel: str, kind: StockEventKind, delta: int) -> LedgerEntry:
    return LedgerEntry(source, channel, kind, "SKU-1", "main", delta, datetime(2026, 1, 1, tzinfo=UTC))


def queue(store: Store, key: str, channel: str, event_at: datetime | None = None) -> int:
    meta = {"event_at": event_at.isoformat()} if event_at else {}
    store.outbox_enqueue(
        [{"channel": channel, "idempotency_key": key, "action": "set_stock", "op": {"meta": meta}}]
    )
    return store.outbox_due(channel)[-1].id


def test_events_writes_and_queues_are_counted_per_channel(store: Store) -> None:
    store.record_stock_events(
        [
            entry("seed", "woocommerce", StockEventKind.INITIAL, 10),  # a starting count, not an event
            entry("sale-1", "square", StockEventKind.SALE, -1),
            entry("sale-2", "square", StockEventKind.SALE, -2),
            entry("order-1", "woocommerce", StockEventKind.SALE, -1),
        ]
    )
    for event_id in ("a", "b"):
        store.inbox_put("square", event_id, topic="t", resource="order", resource_id="1", body=b"{}")
    store.inbox_mark_processed_through(datetime.now(UTC).isoformat(timespec="microseconds"))
    store.inbox_put("square", "c", topic="t", resource="order", resource_id="2", body=b"{}")
    applied, failed, retrying = (queue(store, key, "woocommerce") for key in ("k1", "k2", "k3"))
    queue(store, "k4", "square")
    store.outbox_done(applied, {"key": "k1", "ok": True})
    store.outbox_failed(failed, "refused")
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat(timespec="microseconds")
    store.outbox_retry_later(retrying, "503", later)

    flow = store.flow_figures()

    assert flow["events_processed"] == {
        "square": {"stock": 2, "webhook": 2},
        "woocommerce": {"stock": 1, "webhook": 0},
    }
    assert flow["writes"] == {
        "square": {"applied": 0, "failed": 0, "queued": 1, "retrying": 0},
        "woocommerce": {"applied": 1, "failed": 1, "queued": 1, "retrying": 1},
    }
    assert flow["queues"] == {
        "square": {"inbox": 1, "outbox": 1, "outbox_due": 1},
        "woocommerce": {"inbox": 0, "outbox": 1, "outbox_due": 0},  # the retry is an hour away
    }


def test_propagation_runs_from_the_event_on_its_channel_to_the_write_acknowledged(store: Store) -> None:
    now = datetime.now(UTC)
    slow = queue(store, "slow", "woocommerce", event_at=now - timedelta(seconds=30))
    quick = queue(store, "quick", "woocommerce", event_at=now)
    untimed = queue(store, "catalogue", "woocommerce")  # a price change carries no stock event
    refused = queue(store, "refused", "square", event_at=now - timedelta(seconds=5))
    for entry_id in (slow, quick, untimed):
        store.outbox_done(entry_id, {"ok": True})
    store.outbox_failed(refused, "refused")  # never acknowledged: no propagation time

    propagation = store.flow_figures()["propagation"]

    assert list(propagation) == ["woocommerce"]
    figures = propagation["woocommerce"]
    assert figures["count"] == 2
    assert 30 <= figures["max"] < 90, figures
    assert 0 <= figures["p50"] < 30, figures


def test_percentiles_are_nearest_rank() -> None:
    figures = summarise([float(n) for n in range(100, 0, -1)])
    assert (figures["count"], figures["p50"], figures["p95"], figures["p99"], figures["max"]) == (
        100,
        50.0,
        95.0,
        99.0,
        100.0,
    )
    assert summarise([0.2])["p99"] == 0.2
