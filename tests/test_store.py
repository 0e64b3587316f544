"""The mapping store on a real SQLite file: migrations, concurrent writers, crash safety, dedupe."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlite_utils import Database

from bridge.ledger import LedgerEntry
from bridge.models import StockEventKind
from bridge.store import MIGRATIONS, SCHEMA_VERSION, SchemaTooNew, Store
from tests.store_helpers import old_store


def test_fresh_store_is_at_the_current_schema_in_wal_mode(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        assert store.schema_version == SCHEMA_VERSION == len(MIGRATIONS._migrations)
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
        assert {
            "products",
            "variants",
            "links",
            "locations",
            "stock_events",
            "customers",
            "inbox",
            "outbox",
            "cursors",
            "conflicts",
            "audit",
            "baselines",
        } <= set(store.db.table_names())


def test_migrates_forward_from_an_older_schema_keeping_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = old_store(path, before="m002_projections_and_queue_indexes")
    old["cursors"].insert({"channel": "woocommerce", "stream": "catalog", "value": "c1", "updated_at": "x"})
    old.close()

    with Store(path) as store:
        assert store.schema_version == SCHEMA_VERSION == 16
        assert store.get_cursor("woocommerce", "catalog") == "c1"
        assert "baselines" in store.db.table_names()
        assert "last_success_at" in store.db["cursors"].columns_dict


def test_refuses_a_file_from_a_newer_shopbridge(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Store(path).close()
    db = Database(sqlite3.connect(path))
    db["_sqlite_migrations"].insert({"migration_set": "shopbridge", "name": "m999_future", "applied_at": "x"})
    db.close()
    with pytest.raises(SchemaTooNew):
        Store(path)


def _entry(source_id: str, delta: int) -> LedgerEntry:
    return LedgerEntry(
        source_id=source_id,
        channel=source_id.split(":")[0],
        kind=StockEventKind.SALE,
        sku="SKU-1",
        location="main",
        delta=delta,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_ledger_replay_adds_nothing(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        events = [_entry("woocommerce:order:1:line:1", -2), _entry("square:change:A", -1)]
        assert store.record_stock_events(events) == 2
        assert store.record_stock_events(events) == 0
        assert store.on_hand() == {("SKU-1", "main"): -3}


def test_inbox_and_outbox_deduplicate_by_key(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        kwargs = {"topic": "product.updated", "resource": "product", "resource_id": "7", "body": b"{}"}
        assert store.inbox_put("woocommerce", "d-1", **kwargs) is True
        assert store.inbox_put("woocommerce", "d-1", **kwargs) is False
        assert len(store.inbox_pending()) == 1
        entry = {"channel": "square", "idempotency_key": "k", "action": "adjust_stock", "op": {"delta": -1}}
        assert store.outbox_enqueue([entry, entry]) == 1
        [due] = store.outbox_due("square")
        store.outbox_done(due.id, {"ok": True})
        assert store.outbox_enqueue([entry]) == 0  # done work is never queued again
        assert store.outbox_due("square") == []


WRITER = textwrap.dedent(
    """
    import sys
    from bridge.store import Store
    store = Store(sys.argv[1], busy_timeout=30)
    tag = sys.argv[2]
    for i in range(int(sys.argv[3])):
        store.outbox_enqueue([{"channel": "c", "idempotency_key": f"{tag}-{i}", "action": "a", "op": {}}])
        store.set_cursor("c", tag, str(i))
    print("done")
    """
)


def test_two_processes_writing_at_once_both_succeed(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store(path).close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), tag, "300"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "database is locked" not in err
        assert out.strip() == "done"
    with Store(path) as store:
        assert store.db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 600


KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from bridge.store import Store
    store = Store(sys.argv[1])
    batch = 0
    while True:
        batch += 1
        with store.transaction() as db:
            for i in range(200):
                db.execute("INSERT INTO audit (at, channel, action, key, detail) "
                           "VALUES ('t', 'c', 'a', ?, ?)",
                           [str(batch), "x" * 200])
                if batch == 3 and i == 100:
                    print("inside", flush=True)
    """
)


def test_sigkill_mid_transaction_leaves_all_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store(path).close()
    for round_ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", KILLED_WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        if round_ == 0:
            # Kill exactly while a transaction is open (after 100 of its 200 inserts).
            assert proc.stdout.readline().strip() == "inside"
        else:
            time.sleep(0.3 + 0.2 * round_)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        with Store(path) as store:
            assert store.integrity_ok()
            sizes = store.db.execute("SELECT key, count(*) FROM audit GROUP BY at, key").fetchall()
            assert sizes, "some transactions should have committed"
            assert all(count % 200 == 0 for _, count in sizes), sizes


def test_an_older_store_gains_the_ended_listings_and_keeps_every_row(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old_store(path, before="m016_ended_listings").close()
    with Store(path) as store:
        listings = store.ended_listings("ebay")
        listings.end("MUG-1", "5001", "110001")
        listings.end("MUG-1", "5001", "110001")  # recorded once
        assert list(listings.ended()) == ["MUG-1"]
        listings.relist("MUG-1", "110002")
        listings.end("MUG-1", "5001", "110002")
        rows = store.ended_listing_rows("ebay")
        assert [(r["listing_id"], r["relisted_listing_id"]) for r in rows] == [
            ("110001", "110002"),
            ("110002", None),
        ]
        assert not listings.refuses_zero()
        listings.learn_refuses_zero()
        assert (
            store.ended_listings("ebay").refuses_zero() and not store.ended_listings("other").refuses_zero()
        )


def test_a_due_round_holds_at_most_the_given_customer_writes_and_any_stock_writes(tmp_path: Path) -> None:
    """Customer writes go one call each: the relay takes them a few hundred at a time (memory),
    while stock writes (batched) still come as many as the limit allows, in queue order."""
    with Store(tmp_path / "s.db") as store:
        entries = [
            {"channel": "square", "idempotency_key": f"k{n}", "action": action, "op": {"n": n}}
            for n, action in enumerate(["set_stock", "update_customer", "create_customer", "set_stock"] * 5)
        ]
        store.outbox_enqueue(entries)
        round_ = store.outbox_due("square", limit=100, singles=3)
        assert [e.op["n"] for e in round_] == [0, 1, 2, 3, 4, 5]  # cut before the 4th customer write
        assert len(store.outbox_due("square", limit=100)) == 20
        assert [e.op["n"] for e in store.outbox_due("square", limit=2, singles=3)] == [0, 1]
        assert [e.action for e in store.outbox_due("square", limit=100, singles=0)] == ["set_stock"]


def test_a_relay_bounded_by_an_entry_takes_nothing_queued_after_it(tmp_path: Path) -> None:
    """The writes sent beside a sync's customers stage are those queued up to its last chunk:
    an entry queued later (a customer write) is left for the sync's own relay."""
    with Store(tmp_path / "s.db") as store:
        store.outbox_enqueue(
            [
                {"channel": "square", "idempotency_key": f"k{n}", "action": "set_stock", "op": {"n": n}}
                for n in range(6)
            ]
        )
        first, *_, through = [e.id for e in store.outbox_due("square")]
        store.outbox_enqueue(
            [{"channel": "square", "idempotency_key": "later", "action": "update_customer", "op": {}}]
        )
        bounded = store.outbox_due("square", after_id=first, through_id=through)
        assert [e.op["n"] for e in bounded] == [1, 2, 3, 4, 5]
        assert store.outbox_due_count("square", after_id=first, through_id=through) == 5
        assert store.outbox_due_count("square", after_id=first) == 6
