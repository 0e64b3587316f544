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
