"""eBay as the third channel, end to end over loopback: the web shop, the till and an eBay store on
one stock, synced by the real sync engine through the real adapters into a real SQLite file.

What a shop owner would notice: an eBay sale lowers the shop and the till, a till sale lowers eBay,
a burst of till sales costs one eBay revision, a listing near eBay's daily revision limit only gets
the update that prevents overselling, an expired eBay token is renewed without a trace in the logs,
an order read twice counts once, and a cancelled order gives its units back once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from adapters.ebay import EbayAdapter
from adapters.ebay_orders import cursor_at, parse_time
from bridge.store import Store
from bridge.sync import SyncRunner
from sandbox.ebay import EbayEmulator
from sandbox.launch import Sandbox
from tests.ebay_helpers import check_recorded, ebay_adapter
from tests.sync_helpers import make_runner, square_stock

TRIO = ["woocommerce", "square", "ebay"]


@pytest.fixture
def trio() -> Iterator[Sandbox]:
    """The shop, the till (one location) and an eBay store listing the shared catalogue."""
    with Sandbox(products=12, locations=1, channels=TRIO) as sandbox:
        ebay(sandbox).recorded = []
        yield sandbox
        check_recorded(ebay(sandbox))  # every eBay answer of the test matches eBay's contracts


def ebay(box: Sandbox) -> EbayEmulator:
    emulator = box.emulators["ebay"]
    assert isinstance(emulator, EbayEmulator)
    return emulator


def runner_for(box: Sandbox, store: Store) -> tuple[SyncRunner, EbayAdapter]:
    runner = make_runner(box, store)
    adapter = ebay_adapter(ebay(box))
    runner.adapters["ebay"] = adapter
    return runner, adapter


def synced(box: Sandbox, store: Store) -> tuple[SyncRunner, EbayAdapter]:
    """A runner after the first sync (everything linked, counts agreed)."""
    runner, adapter = runner_for(box, store)
    _plans, report = runner.run()
    assert not report.failed and not report.errors, report
    return runner, adapter


def run(runner: SyncRunner) -> None:
    _plans, report = runner.run()
    assert not report.failed and not report.errors, report


def shown_everywhere(box: Sandbox, sku: str) -> tuple[int | None, int, int]:
    return box.woocommerce.stock_of(sku), square_stock(box, sku), ebay(box).quantity(sku)


def sales_recorded(store: Store, sku: str, prefix: str) -> list[tuple[str, int]]:
    rows = store.ledger_rows([sku])
    return [(r["source_id"], r["delta"]) for r in rows if r["source_id"].startswith(prefix)]


def test_the_first_sync_links_ebay_by_sku_and_creates_nothing_there(trio: Sandbox, store: Store) -> None:
    runner, _ = runner_for(trio, store)
    plan = runner.prepare().plan.to_json()
    assert not [c for c in plan["changes"] if c["channel"] == "ebay"]  # counts agree; no listing made
    assert any(c["channel"] == "square" and c["action"] == "create" for c in plan["changes"])
    run(runner)
    sku = trio.catalogues.shared_skus[0]
    links = {r["channel"] for r in store.links_by_key("variant", [sku])}
    assert links == {"woocommerce", "square", "ebay"}
    assert runner.prepare().plan.empty


def test_an_ebay_sale_lowers_woocommerce_and_square(trio: Sandbox, store: Store) -> None:
    runner, _ = synced(trio, store)
    sku = trio.catalogues.shared_skus[0]
    before = ebay(trio).quantity(sku)
    ebay(trio).buy(sku, 2)
    run(runner)
    assert shown_everywhere(trio, sku) == (before - 2, before - 2, before - 2)
    assert runner.prepare().plan.empty


def test_a_till_sale_lowers_ebay(trio: Sandbox, store: Store) -> None:
    runner, _ = synced(trio, store)
    sku = trio.catalogues.shared_skus[1]
    before = ebay(trio).quantity(sku)
    variation = trio.square.variation_by_sku(sku)
    assert variation is not None
    trio.square.simulate_sale(variation["id"], 1)
    run(runner)
    assert shown_everywhere(trio, sku) == (before - 1, before - 1, before - 1)


def test_a_burst_of_30_till_sales_within_a_sync_costs_one_ebay_revision(trio: Sandbox, store: Store) -> None:
    runner, _ = synced(trio, store)
    sku = next(s for s in trio.catalogues.shared_skus if square_stock(trio, s) >= 30)
    listing = ebay(trio).listing_of(sku)
    before = ebay(trio).quantity(sku)
    assert ebay(trio).revisions_today(listing) == 0
    variation = trio.square.variation_by_sku(sku)
    assert variation is not None
    for _ in range(30):
        trio.square.simulate_sale(variation["id"], 1)
    run(runner)
    assert ebay(trio).quantity(sku) == before - 30
    assert ebay(trio).revisions_today(listing) == 1
    assert ebay(trio).updates_seen[-1] == [sku]


def test_a_sku_at_249_revisions_only_gets_its_going_to_zero_update(
    trio: Sandbox, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    runner, adapter = synced(trio, store)
    sku, other = [s for s in trio.catalogues.shared_skus if ebay(trio).group_of(s) is None][2:4]
    listing = ebay(trio).listing_of(sku)
    ebay(trio).set_revisions_today(listing, 249)  # eBay's count of today, and ours:
    store.add_write_counts("ebay", adapter.budget.today(), {sku: 249})
    variation = trio.square.variation_by_sku(sku)
    other_variation = trio.square.variation_by_sku(other)
    assert variation is not None and other_variation is not None
    left = square_stock(trio, sku)
    assert left > 3

    trio.square.simulate_sale(variation["id"], 1)  # a small change: held back
    trio.square.simulate_sale(other_variation["id"], 1)  # another SKU, far from its limit: sent
    with caplog.at_level(logging.WARNING):
        _plans, report = runner.run()
    assert not report.errors and not report.failed  # held, not a failure: kept queued
    assert dict(report.held) == {"ebay": 1} and report.held_until["ebay"].endswith("T00:00:00+00:00")
    assert ebay(trio).quantity(sku) == left  # not revised
    assert ebay(trio).quantity(other) == square_stock(trio, other)
    assert trio.woocommerce.stock_of(sku) == left - 1  # the other channels are not held back
    assert f"{sku}: 249 of eBay's 250 revisions a day used" in caplog.text

    trio.square.simulate_sale(variation["id"], left - 1)  # sold out: this one goes
    run(runner)
    assert ebay(trio).quantity(sku) == 0
    assert ebay(trio).offer_of(sku)["listing"]["listingStatus"] == "OUT_OF_STOCK"
    assert ebay(trio).revisions_today(listing) == 250
    assert store.write_counts_of("ebay", adapter.budget.today(), [sku]) == {sku: 250}


def test_an_expired_access_token_is_renewed_transparently_and_never_logged(
    trio: Sandbox, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    runner, adapter = synced(trio, store)
    first = adapter.client.auth.access_token()
    ebay(trio).expire_access_tokens()  # eBay says 401 to it now, before our clock thinks so
    sku = trio.catalogues.shared_skus[0]
    ebay(trio).buy(sku, 1)
    run(runner)
    assert adapter.client.auth.renewals == 2
    second = adapter.client.auth.access_token()
    assert second != first
    assert trio.woocommerce.stock_of(sku) == ebay(trio).quantity(sku)
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert "ebay access token renewed" in logged
    assert first not in logged and second not in logged


def sold_and_synced(
    box: Sandbox, store: Store, quantity: int
) -> tuple[SyncRunner, EbayAdapter, str, int, dict[str, Any]]:
    """After a first sync, an eBay buyer orders ``quantity`` of a SKU and a sync reads it:
    the runner, the adapter, the SKU, what eBay listed before and the order."""
    runner, adapter = synced(box, store)
    sku = next(s for s in box.catalogues.shared_skus if ebay(box).quantity(s) > quantity)
    before = ebay(box).quantity(sku)
    order = ebay(box).buy(sku, quantity)
    run(runner)
    return runner, adapter, sku, before, order


def test_an_order_read_twice_or_in_overlapping_windows_counts_once(trio: Sandbox, store: Store) -> None:
    runner, adapter, sku, before, order = sold_and_synced(trio, store, 3)
    run(runner)  # the cursor's window overlaps the last one: the order is read again
    created = parse_time(order["creationDate"])
    assert created is not None
    again = adapter.read_stock_events(cursor_at(created - timedelta(minutes=1)))  # an older window
    assert [e.source_id for e in again.items] == [f"ebay:order:{order['orderId']}:line:{line_id(order)}"]
    assert shown_everywhere(trio, sku) == (before - 3, before - 3, before - 3)
    assert sales_recorded(store, sku, "ebay:order:") == [
        (f"ebay:order:{order['orderId']}:line:{line_id(order)}", -3)
    ]


def test_a_cancelled_ebay_order_gives_its_units_back_once(trio: Sandbox, store: Store) -> None:
    runner, _, sku, before, order = sold_and_synced(trio, store, 2)
    assert trio.woocommerce.stock_of(sku) == before - 2
    ebay(trio).cancel(order["orderId"])
    ebay(trio).cancel(order["orderId"])  # cancelled again: nothing more comes back
    run(runner)
    run(runner)
    assert shown_everywhere(trio, sku) == (before, before, before)
    source = f"ebay:order:{order['orderId']}:line:{line_id(order)}"
    assert sales_recorded(store, sku, "ebay:order:") == [(source, -2), (source + ":cancel", 2)]


def test_a_product_not_listed_on_ebay_is_reported_once_not_every_sync(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    with Sandbox(products=6, locations=1, channels=TRIO) as box:
        sku = box.catalogues.shared_skus[0]
        ebay(box).end_listing(sku)
        runner, _ = runner_for(box, store)
        with caplog.at_level(logging.INFO):
            run(runner)
            run(runner)
        mentions = [r for r in caplog.records if "no live listing" in r.getMessage()]
        assert len(mentions) == 1 and sku in mentions[0].getMessage()
        plan = runner.prepare().plan.to_json()
        assert not [c for c in plan["changes"] if c["channel"] == "ebay"]


def line_id(order: dict[str, object]) -> str:
    lines = order["lineItems"]
    assert isinstance(lines, list) and len(lines) == 1
    return str(lines[0]["lineItemId"])


def test_max_listed_quantity_lists_at_most_that_many_and_a_sale_tops_it_up(
    trio: Sandbox, store: Store
) -> None:
    """A shop lists 5 of its stock on eBay: eBay shows 5, an eBay sale lowers the others by what
    was sold and eBay is topped up to 5 again; the capped count is never taken for a manual edit."""
    sku = next(s for s in trio.catalogues.shared_skus if square_stock(trio, s) > 7)
    runner = make_runner(trio, store)
    runner.adapters["ebay"] = ebay_adapter(ebay(trio), listed_caps={sku: 5})
    stock = square_stock(trio, sku)
    plan = runner.prepare().plan
    [capped] = [c for c in plan.changes if c.channel == "ebay"]
    assert (capped.sku, capped.after) == (
        sku,
        5,
    ) and "listed at most 5 (max_listed_quantity)" in capped.reason
    run(runner)
    assert shown_everywhere(trio, sku) == (stock, stock, 5)

    ebay(trio).buy(sku, 2)
    run(runner)
    assert shown_everywhere(trio, sku) == (stock - 2, stock - 2, 5)
    assert not [r for r in store.ledger_rows([sku]) if r["kind"] == "adjustment"]
    assert runner.prepare().plan.empty
