"""The store's customer tables (issue 13): added by a migration of their own to a file of any older
schema, and the file holding them readable by its owner only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from bridge.store import Store
from tests.store_helpers import old_store

CUSTOMER_TABLES = {"people", "person_links", "customer_fields", "purchases", "customer_conflicts"}


def test_an_older_store_gains_the_customer_tables_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = old_store(path, before="m006_customers")
    old["cursors"].insert({"channel": "square", "stream": "catalog", "value": "c1", "updated_at": "x"})
    old.close()
    with Store(path) as store:
        assert CUSTOMER_TABLES <= set(store.db.table_names())
        assert store.get_cursor("square", "catalog") == "c1"
        assert store.figures()["customers"] == 0


def test_the_store_file_is_created_0600_and_a_readable_one_is_tightened(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.db"
    Store(fresh).close()
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o600
    loose = tmp_path / "loose.db"
    Store(loose).close()
    os.chmod(loose, 0o644)
    with Store(loose) as store:
        store.set_cursor("square", "customers", "x")
    assert stat.S_IMODE(os.stat(loose).st_mode) == 0o600


def test_a_stages_changed_persons_come_back_once_each_in_order_apart_from_another_stage(
    tmp_path: Path,
) -> None:
    """A stage's changed persons are kept in the store file's connection, not in memory: each
    once, in the order first changed, a chunk at a time; a stage running at once (the event
    path beside the poll) has its own; closing one forgets its ids, and the file keeps no table."""
    with Store(tmp_path / "s.db") as store:
        poll, event = store.customers.touched(), store.customers.touched()
        poll.update(["7", "3", "7"])
        event.update(["3", "9"])
        poll.update(["12", "3", "1"])
        assert list(poll.chunks(2)) == [["7", "3"], ["12", "1"]]
        assert list(event.chunks(10)) == [["3", "9"]]
        poll.close()
        assert list(poll.chunks(10)) == []
        assert list(event.chunks(10)) == [["3", "9"]]
        event.close()
        assert "customers_touched" not in store.db.table_names()
