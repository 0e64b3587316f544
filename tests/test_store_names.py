"""The store's names say what they hold: each rename is a migration, and a store file written by
the schema before it opens with its data where the new name says it is."""

from __future__ import annotations

import json
from pathlib import Path

from bridge.memory import Wanted, WriteRecord
from bridge.policy import SyncPolicy
from bridge.storage import BaselineRow
from bridge.store import Store
from bridge.sync import PLANNED_MARK, SYNCED_MARK, SyncRunner
from tests.store_helpers import old_store


def test_the_projections_of_an_old_store_are_its_baselines(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = old_store(path, before="m007_baselines")
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
        assert sorted(store.baselines(["TEE"]), key=lambda r: r.channel) == [
            BaselineRow(channel="square", sku="TEE", location="north", quantity=3, held_at="2026-01-02"),
            BaselineRow(channel="woocommerce", sku="TEE", location="", quantity=7, held_at="2026-01-01"),
        ]
        store.forget_baselines("square", ["TEE"])
        assert [r.channel for r in store.baselines()] == ["woocommerce"]


def test_the_engine_marks_of_an_old_store_leave_the_cursors_for_their_own_table(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = old_store(path, before="m008_marks")
    old["cursors"].insert_all(
        [
            {"channel": "_shopbridge", "stream": "synced", "value": "2026-01-01T00:00:00", "updated_at": "x"},
            {
                "channel": "_shopbridge",
                "stream": "dry_run",
                "value": "2026-01-02T00:00:00",
                "updated_at": "x",
            },
            {
                "channel": "square",
                "stream": "catalog",
                "value": "c7",
                "updated_at": "x",
                "last_success_at": "y",
            },
        ]
    )
    old.close()

    with Store(path) as store:
        assert store.get_mark(SYNCED_MARK) == "2026-01-01T00:00:00"
        assert store.get_mark("dry_run") == "2026-01-02T00:00:00"
        assert store.get_mark(PLANNED_MARK) is None
        assert store.get_cursor("square", "catalog") == "c7"
        assert store.get_cursor("_shopbridge", "synced") is None
        assert store.figures()["last_poll"] == {"square:catalog": "y"}


def test_a_store_whose_sync_committed_is_not_at_its_first_sync_after_the_marks_move(tmp_path: Path) -> None:
    """The mark is what says so once catalogue cursors are cleared (a link changed by hand)."""
    path = tmp_path / "old.db"
    old = old_store(path, before="m008_marks")
    old["cursors"].insert(
        {"channel": "_shopbridge", "stream": "synced", "value": "2026-01-01", "updated_at": "x"}
    )
    old.close()

    with Store(path) as store:
        runner = SyncRunner(store, {}, SyncPolicy())
        assert runner.first_sync() is False
        store.db.execute("DELETE FROM marks")
        assert runner.first_sync() is True


def test_the_version_of_an_old_link_is_its_channel_version_as_opaque_text(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = old_store(path, before="m009_links_channel_version")
    old.execute(
        "INSERT INTO links (entity, canonical_key, channel, channel_id, version, last_written_hash) VALUES "
        "('variant', 'TEE', 'woocommerce', '12', '2026-01-01T10:00:00', 'h1'), "
        "('variant', 'TEE', 'square', 'SQ1', 1733045200000, 'h2')"
    )
    old.conn.commit()
    old.close()

    with Store(path) as store:
        by_channel = {r["channel"]: r for r in store.links_by_key("variant", ["TEE"])}
        assert by_channel["woocommerce"]["channel_version"] == "2026-01-01T10:00:00"
        assert by_channel["square"]["channel_version"] == "1733045200000"  # text, never a number
        assert "version" not in store.db["links"].columns_dict
        store.record_write(
            WriteRecord(
                channel="square",
                op="update",
                key="k",
                sku="TEE",
                channel_version="1733045200001",
                written_hash="h3",
            )
        )
        store.record_write(
            WriteRecord(
                channel="woocommerce",
                op="update",
                key="k2",
                sku="TEE",
                channel_version=None,
                written_hash="h4",
            )
        )
        by_channel = {r["channel"]: r for r in store.links_by_key("variant", ["TEE"])}
        assert (by_channel["square"]["channel_version"], by_channel["square"]["last_written_hash"]) == (
            "1733045200001",
            "h3",
        )
        # An answer without a version keeps the one known.
        assert by_channel["woocommerce"]["channel_version"] == "2026-01-01T10:00:00"


def test_the_canonical_table_of_an_old_store_is_its_agreed_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = old_store(path, before="m010_agreed_catalogue")
    fields = {"name": "Tee", "description": "", "price": "12.5 USD", "gtin": None, "status": "active"}
    old["canonical"].insert({"sku": "TEE", "data": json.dumps(fields, sort_keys=True), "updated_at": "x"})
    old.close()

    with Store(path) as store:
        assert "canonical" not in store.db.table_names()
        assert store.agreed_catalogue(["TEE"]) == {"TEE": fields}
        memory = store.memory(Wanted(skus=frozenset({"TEE"}), members=frozenset()))
        assert memory.catalogue == {"TEE": fields}  # what the engine tells an edit from an echo by
