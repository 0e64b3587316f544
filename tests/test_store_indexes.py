"""The store's indexes answer what is asked on every ``/metrics`` scrape without reading whole
tables; a store file written by the schema before an index was added gains it when opened."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from bridge.store import MIGRATIONS, Store

_EVENTS_PER_CHANNEL = "SELECT channel, count(*) FROM stock_events WHERE kind != 'initial' GROUP BY channel"
"""The count :func:`bridge.store.flow.flow_figures` makes on each scrape (kept equal to its SQL)."""


def _plan(db: sqlite3.Connection, sql: str) -> str:
    return " | ".join(str(row[-1]) for row in db.execute(f"EXPLAIN QUERY PLAN {sql}"))


def test_the_metrics_count_of_stock_events_uses_an_index_on_an_old_store(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Database(sqlite3.connect(path))
    MIGRATIONS.apply(old, stop_before="m011_stock_events_channel_index")
    rows = [
        {
            "source_id": f"{channel}:sale:{i}",
            "channel": channel,
            "kind": "initial" if i % 10 == 0 else "sale",
            "sku": f"SKU-{i % 50}",
            "location": "",
            "delta": -1,
            "occurred_at": "2026-01-01T00:00:00+00:00",
            "recorded_at": "2026-01-01T00:00:00+00:00",
        }
        for channel in ("square", "woocommerce")
        for i in range(300)
    ]
    old["stock_events"].insert_all(rows)
    assert "USING COVERING INDEX" not in _plan(old.conn, _EVENTS_PER_CHANNEL)  # a scan before
    old.close()

    with Store(path) as store:
        assert "USING COVERING INDEX stock_events_channel_kind" in _plan(store.db.conn, _EVENTS_PER_CHANNEL)
        counted = store.flow_figures()["events_processed"]
        assert {channel: counts["stock"] for channel, counts in counted.items()} == {
            "square": 270,
            "woocommerce": 270,
        }


def test_flow_figures_still_count_with_the_sql_this_test_checks() -> None:
    """The query checked above is the one the figures run (a change there must come here too)."""
    source = Path(__file__).parent.parent / "bridge" / "store" / "flow.py"
    assert f'"{_EVENTS_PER_CHANNEL}"' in source.read_text()


_ERASED = "SELECT DISTINCT key FROM audit WHERE action = 'customer_erased' AND key IN (?, ?)"
"""What the purchase history asks for each page of orders it records (bridge/store/customers.py)."""


def test_the_histories_look_up_of_erased_records_uses_an_index_on_an_old_store(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Database(sqlite3.connect(path))
    MIGRATIONS.apply(old, stop_before="m015_audit_action_key_index")
    old["audit"].insert_all(
        {"at": "2026-01-01T00:00:00+00:00", "channel": "square", "action": action, "key": f"square:C{i}"}
        for i, action in enumerate(["customer_erased", "write_sent", "write_sent"] * 100)
    )
    args = ["square:C0", "square:C1"]
    assert "USING COVERING INDEX" not in _plan(old.conn, _ERASED.replace("?", "'x'"))  # a scan before
    old.close()

    with Store(path) as store:
        assert "USING COVERING INDEX audit_action_key" in _plan(store.db.conn, _ERASED.replace("?", "'x'"))
        assert [r[0] for r in store.db.execute(_ERASED, args)] == ["square:C0"]  # the rows kept


def test_the_erased_look_up_still_runs_the_sql_this_test_checks() -> None:
    source = Path(__file__).parent.parent / "bridge" / "store" / "customers.py"
    assert (
        "SELECT DISTINCT key FROM audit WHERE action = 'customer_erased' AND key IN {KEYS}"
        in source.read_text()
    )
