"""The store's names say what they hold: each rename is a migration, and a store file written by
the schema before it opens with its data where the new name says it is."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from bridge.storage import BaselineRow
from bridge.store import MIGRATIONS, Store


def _old_store(path: Path, *, before: str) -> Database:
    """A store file as the shopbridge before migration ``before`` left it."""
    db = Database(sqlite3.connect(path))
    MIGRATIONS.apply(db, stop_before=before)
    return db


def test_the_projections_of_an_old_store_are_its_baselines(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = _old_store(path, before="m006_baselines")
    old["projections"].insert_all(
        [
            {
                "channel": "woocommerce",
                "sku": "TEE",
                "location": "",
                "quantity": 7,
                "written_at": "2026-01-01",
            },
            {
                "channel": "square",
                "sku": "TEE",
                "location": "north",
                "quantity": 3,
                "written_at": "2026-01-02",
            },
        ]
    )
    old.close()

    with Store(path) as store:
        assert "projections" not in store.db.table_names()
        assert sorted(store.baselines(["TEE"]), key=lambda r: r["channel"]) == [
            BaselineRow(channel="square", sku="TEE", location="north", quantity=3, held_at="2026-01-02"),
            BaselineRow(channel="woocommerce", sku="TEE", location="", quantity=7, held_at="2026-01-01"),
        ]
        store.forget_baselines("square", ["TEE"])
        assert [r["channel"] for r in store.baselines()] == ["woocommerce"]
