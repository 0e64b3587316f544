"""Store lookups by a list of keys work for any number of keys, whatever SQLite's variable limit.

SQLite refuses a statement with more ``?`` than its build allows (999 before 3.32, 32766 after,
more on some distributions). A catalogue of thousands of SKUs must not hit it: every ``IN (...)``
of the store goes through one chunking helper. The tests lower the limit on a real store file to
999 and ask with 1,200 keys.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.ledger import LedgerEntry
from bridge.models import ChannelProduct, ChannelVariant, StockEvent, StockEventKind
from bridge.store import Store

N = 1200
SKUS = [f"SKU-{i:05d}" for i in range(N)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "s.db") as opened:
        opened.db.conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
        yield opened


def _entry(sku: str) -> LedgerEntry:
    return LedgerEntry(
        source_id=f"square:change:{sku}",
        channel="square",
        kind=StockEventKind.INITIAL,
        sku=sku,
        location="main",
        delta=3,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def _products() -> list[ChannelProduct]:
    return [
        ChannelProduct(
            channel="square",
            channel_id=f"P{i}",
            name=sku,
            variants=(ChannelVariant(channel_id=f"V{i}", sku=sku),),
        )
        for i, sku in enumerate(SKUS)
    ]


def test_stock_on_hand_and_ledger_for_more_skus_than_sqlite_takes_at_once(store: Store) -> None:
    store.record_stock_events(_entry(sku) for sku in SKUS)
    assert store.on_hand(SKUS) == {(sku, "main"): 3 for sku in SKUS}
    assert {r["sku"] for r in store.ledger_rows(SKUS)} == set(SKUS)


def test_links_snapshots_and_baselines_for_more_keys_than_sqlite_takes_at_once(store: Store) -> None:
    store.upsert_links(
        {"entity": "variant", "canonical_key": sku, "channel": "square", "channel_id": f"V{i}"}
        for i, sku in enumerate(SKUS)
    )
    assert len(store.links_by_key("variant", SKUS)) == N
    assert len(store.links_of_groups("variant", [("square", f"V{i}") for i in range(N)])) == N
    assert store.save_last_read("square", _products()) == N
    assert store.save_last_read("square", _products()) == N  # replaces the rows of 1,200 products
    assert len(store.last_read("square", [f"V{i}" for i in range(N)])) == N
    assert len(store.last_read_with_skus(SKUS)["square"]) == N
    store.forget_baselines("square", SKUS)
    assert store.baselines(SKUS) == []


def test_queues_for_more_entries_than_sqlite_takes_at_once(store: Store) -> None:
    held = [
        (
            StockEvent(
                source_id=f"square:change:{sku}",
                channel="square",
                kind=StockEventKind.SALE,
                delta=-1,
                occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
                variant_id=f"V{i}",
            ),
            "variant not linked",
        )
        for i, sku in enumerate(SKUS)
    ]
    assert store.hold_unresolved(held) == N
    store.release_unresolved(ev.source_id for ev, _ in held)
    assert store.figures()["unresolved_count"] == 0
    store.outbox_enqueue(
        {"channel": "square", "idempotency_key": f"k{i}", "action": "adjust_stock", "op": {}}
        for i in range(N)
    )
    store.outbox_claim([e.id for e in store.outbox_due("square", limit=N)])
    assert {e.attempts for e in store.outbox_due("square", limit=N)} == {1}


def test_forgetting_what_was_written_or_read_for_more_keys_than_sqlite_takes_at_once(store: Store) -> None:
    store.upsert_links(
        {
            "entity": "variant",
            "canonical_key": sku,
            "channel": ch,
            "channel_id": f"{ch}-{i}",
            "last_written_hash": "h",
        }
        for i, sku in enumerate(SKUS)
        for ch in ("square", "woocommerce")
    )
    store.forget_written((sku, "square") for sku in SKUS)
    hashes = {(r["channel"], r["last_written_hash"]) for r in store.links_by_key("variant", SKUS)}
    assert hashes == {("square", None), ("woocommerce", "h")}  # only the channel named is forgotten
    store.save_last_read("square", _products())
    store.forget_last_read(("square", f"V{i}") for i in range(N - 1))
    assert [p.channel_id for p in store.last_read("square")] == [f"P{N - 1}"]
