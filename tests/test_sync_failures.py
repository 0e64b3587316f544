"""What a sync does when a channel cannot be read, refuses our credentials, or the config names a
location no channel has: over loopback against both emulators, with a real SQLite store."""

from __future__ import annotations

import pytest

from bridge.policy import SyncPolicy
from bridge.store import Store
from bridge.sync import LocationConfigError
from sandbox.launch import Sandbox
from tests.sync_helpers import make_runner, square_stock


def test_an_unreadable_channel_plans_nothing_but_queued_writes_still_go(box: Sandbox, store: Store) -> None:
    runner = make_runner(box, store)
    runner.run()
    sku = box.catalogues.shared_skus[0]
    before = square_stock(box, sku)
    # A web sale, whose write to Square fails and stays queued ...
    box.woocommerce.simulate_sale([(sku, 1)])
    box.square.server.faults.add(kind="status", status=503, path="changes/batch-create", times=None)
    _, report = runner.run()
    assert report.deferred["square"] >= 1 and square_stock(box, sku) == before
    # ... then WooCommerce stops answering reads while Square is back.
    box.square.server.faults.clear()
    box.woocommerce.server.faults.add(kind="status", status=503, method="GET", times=None)
    store.db.execute("UPDATE outbox SET next_attempt_at = '' WHERE done_at IS NULL")
    cursor = store.get_cursor("woocommerce", "events")
    box.woocommerce.simulate_sale([(sku, 2)])
    _, report = runner.run()  # no exception: reported
    assert report.unread == ["woocommerce"]
    assert any("woocommerce: read failed" in e for e in report.errors)
    assert square_stock(box, sku) == before - 1  # the queued write went out
    assert store.get_cursor("woocommerce", "events") == cursor  # the second sale is still to be read
    box.woocommerce.server.faults.clear()
    _, report = runner.run()
    assert report.unread == []
    assert square_stock(box, sku) == before - 3


def test_writes_refused_for_bad_credentials_stay_queued(box: Sandbox, store: Store) -> None:
    runner = make_runner(box, store)
    runner.run()
    sku = box.catalogues.shared_skus[0]
    before = square_stock(box, sku)
    box.woocommerce.simulate_sale([(sku, 1)])
    box.square.server.faults.add(kind="status", status=401, path="changes/batch-create", times=None)
    for _ in range(3):  # more rounds than one: attempts are not used up
        store.db.execute("UPDATE outbox SET next_attempt_at = '' WHERE done_at IS NULL")
        _, report = runner.run()
        assert report.failed.get("square", 0) == 0 and report.deferred["square"] >= 1
    rows = list(store.db.query("SELECT attempts, last_error FROM outbox WHERE done_at IS NULL"))
    assert rows and all(r["attempts"] == 0 for r in rows)
    box.square.server.faults.clear()  # credentials fixed
    store.db.execute("UPDATE outbox SET next_attempt_at = '' WHERE done_at IS NULL")
    runner.relay()
    assert square_stock(box, sku) == before - 1


def test_a_misnamed_location_in_the_config_stops_the_sync_before_anything_is_recorded(
    box: Sandbox, store: Store
) -> None:
    runner = make_runner(box, store, SyncPolicy(default_location="the-back-room"))
    with pytest.raises(LocationConfigError, match="default_location = 'the-back-room'"):
        runner.run(force=True)
    assert store.links("variant") == [] and store.figures()["outbox_pending"] == 0
    known = box.square.location_ids()[0]
    good = make_runner(box, store, SyncPolicy(default_location=known, allocation_priority=[known, "nope"]))
    with pytest.raises(LocationConfigError, match="allocation_priority = 'nope'"):
        good.prepare()
