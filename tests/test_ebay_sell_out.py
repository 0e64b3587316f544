"""Selling out on an eBay account that refuses a quantity of 0 (no Out-of-Stock control), end to
end over loopback with the web shop and the till on one stock, a real SQLite store and the real
sync: the listing is ended (not left showing stock that is gone), the other channels still get
their counts, a restock lists it again under the new listing id eBay gives, and syncing again
changes nothing. The default account (0 accepted, shown out of stock) is in test_ebay_sync.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bridge.store import Store
from bridge.sync import SyncRunner
from sandbox.ebay import EbayEmulator
from sandbox.launch import Sandbox
from tests.ebay_helpers import check_recorded, ebay_adapter
from tests.sync_helpers import make_runner, square_stock

TRIO = ["woocommerce", "square", "ebay"]


@pytest.fixture
def refusing() -> Iterator[Sandbox]:
    with Sandbox(products=6, locations=1, channels=TRIO) as box:
        emulator = ebay(box)
        emulator.zero_quantity = "refuse"
        emulator.recorded = []
        yield box
        check_recorded(emulator)


def ebay(box: Sandbox) -> EbayEmulator:
    emulator = box.emulators["ebay"]
    assert isinstance(emulator, EbayEmulator)
    return emulator


def synced(box: Sandbox, store: Store) -> SyncRunner:
    runner = make_runner(box, store)
    runner.adapters["ebay"] = ebay_adapter(ebay(box))
    run(runner)
    return runner


def run(runner: SyncRunner) -> None:
    _plans, report = runner.run()
    assert not report.failed and not report.errors, report


def sell_out_at_the_till(box: Sandbox, sku: str) -> None:
    variation = box.square.variation_by_sku(sku)
    assert variation is not None
    box.square.simulate_sale(variation["id"], square_stock(box, sku))


def test_a_sell_out_ends_the_listing_and_the_restock_lists_it_again_under_its_new_id(
    refusing: Sandbox, store: Store
) -> None:
    runner = synced(refusing, store)
    sku = next(s for s in refusing.catalogues.shared_skus if square_stock(refusing, s) > 2)
    first = ebay(refusing).listing_of(sku)

    sell_out_at_the_till(refusing, sku)
    run(runner)
    assert not ebay(refusing).is_listed(sku)  # nobody can buy what is gone
    assert (refusing.woocommerce.stock_of(sku), square_stock(refusing, sku)) == (0, 0)
    [row] = store.ended_listing_rows("ebay")
    assert (row["sku"], row["listing_id"], row["relisted_at"]) == (sku, first, None)
    assert store.get_mark("ebay.zero_quantity") == "refused"  # learned from eBay's 25004, kept

    calls = len(ebay(refusing).recorded or [])
    run(runner)  # nothing changed: nothing written, the SKU not taken for gone
    assert runner.prepare().plan.empty
    written = [e.operation_id for e in (ebay(refusing).recorded or [])[calls:]]
    assert not {"bulkUpdatePriceQuantity", "withdrawOffer", "publishOffer"} & set(written)
    assert {r["channel"] for r in store.links_by_key("variant", [sku])} == {"woocommerce", "square", "ebay"}

    variation = refusing.square.variation_by_sku(sku)
    assert variation is not None
    refusing.square.manual_count(variation["id"], 4)  # restocked at the till
    run(runner)
    relisted = ebay(refusing).listing_of(sku)
    assert relisted != first and ebay(refusing).quantity(sku) == 4
    assert refusing.woocommerce.stock_of(sku) == 4
    [row] = store.ended_listing_rows("ebay")
    assert row["relisted_listing_id"] == relisted and row["relisted_at"] is not None
    run(runner)
    assert runner.prepare().plan.empty and len(ebay(refusing).published) == 1


def test_a_store_that_learned_the_account_refuses_0_ends_the_next_sell_out_without_trying_0(
    refusing: Sandbox, store: Store
) -> None:
    runner = synced(refusing, store)
    first, second = [s for s in refusing.catalogues.shared_skus if square_stock(refusing, s) > 0][:2]
    sell_out_at_the_till(refusing, first)
    run(runner)
    runner.adapters["ebay"] = ebay_adapter(ebay(refusing))  # a restarted daemon: a fresh adapter
    updates = len(ebay(refusing).updates_seen)
    sell_out_at_the_till(refusing, second)
    run(runner)
    assert not ebay(refusing).is_listed(second)
    assert len(ebay(refusing).updates_seen) == updates  # no 0 sent to be refused again
    assert [r["sku"] for r in store.ended_listing_rows("ebay")] == [first, second]


def test_a_multi_variation_listing_is_ended_only_when_every_variation_sold_out(
    refusing: Sandbox, store: Store
) -> None:
    runner = synced(refusing, store)
    emulator = ebay(refusing)
    grouped = [s for s in refusing.catalogues.shared_skus if emulator.group_of(s)]
    assert grouped, "the sandbox catalogue has a product with variations"
    key = emulator.group_of(grouped[0])
    members = [s for s in grouped if emulator.group_of(s) == key]
    for sku in members[:-1]:
        sell_out_at_the_till(refusing, sku)
    run(runner)
    assert emulator.is_listed(members[-1]) and emulator.withdrawn == []  # one variation still sells

    sell_out_at_the_till(refusing, members[-1])
    run(runner)
    assert not any(emulator.is_listed(s) for s in members)
    assert all(refusing.woocommerce.stock_of(s) == 0 for s in members)
    assert sorted(r["sku"] for r in store.ended_listing_rows("ebay")) == sorted(members)
    run(runner)
    assert runner.prepare().plan.empty

    variation = refusing.square.variation_by_sku(members[0])
    assert variation is not None
    refusing.square.manual_count(variation["id"], 3)
    run(runner)
    assert all(emulator.is_listed(s) for s in members) and emulator.quantity(members[0]) == 3
    listings = {r["relisted_listing_id"] for r in store.ended_listing_rows("ebay")}
    assert listings == {emulator.listing_of(members[0])}
    run(runner)
    assert runner.prepare().plan.empty
