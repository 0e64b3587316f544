"""The eBay adapter against the eBay emulator over loopback: quantity writes in calls of at most
25 SKUs at both levels, a 207 retrying only the SKUs that failed, quantity 0, what eBay never
takes from us, prices only with ``sync_price``, and a malformed item skipped and reported."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from adapters.base import CreateProduct, SetStock, UpdateProduct, UpdateVariant
from adapters.ebay_listing_ends import MemoryEnded
from bridge.models import ChannelProduct, Money
from sandbox.ebay import EbayEmulator
from sandbox.http import FaultRule
from tests.ebay_helpers import Api, catalogue, ebay_adapter, running_emulator

INV = "/sell/inventory/v1"


@pytest.fixture
def refusing_zero() -> Iterator[EbayEmulator]:
    yield from running_emulator(zero_quantity="refuse")


def set_stock(sku: str, quantity: int) -> SetStock:
    return SetStock(key=f"test:{sku}:{quantity}", product_id=sku, variant_id=sku, quantity=quantity)


def test_a_207_with_one_failed_sku_retries_only_that_sku(ebay_emulator: EbayEmulator) -> None:
    ebay_emulator.seed(catalogue(30, stock=10))
    adapter = ebay_adapter(ebay_emulator)
    adapter.read_catalog()
    ebay_emulator.fail_next_update("MUG-007")  # eBay's side fails this entry once; the others are applied

    results = adapter.apply([set_stock(f"MUG-{n:03d}", 20 + n) for n in range(30)])

    assert all(r.ok for r in results), results
    assert [len(call) for call in ebay_emulator.updates_seen] == [25, 5, 1]  # at most 25 a call
    assert ebay_emulator.updates_seen[-1] == ["MUG-007"]  # only the failed SKU sent again
    assert [ebay_emulator.quantity(f"MUG-{n:03d}") for n in range(30)] == [20 + n for n in range(30)]
    offer = ebay_emulator.offer_of("MUG-007")
    assert offer["availableQuantity"] == 27  # both levels: the listing shows the smaller


def test_a_sku_failing_on_ebays_side_every_time_stays_queued(ebay_emulator: EbayEmulator) -> None:
    ebay_emulator.seed(catalogue(2))
    adapter = ebay_adapter(ebay_emulator)
    adapter.read_catalog()
    ebay_emulator.fail_next_update("MUG-001", times=10)
    results = adapter.apply([set_stock("MUG-000", 4), set_stock("MUG-001", 5)])
    assert results[0].ok and not results[1].ok and results[1].retryable  # kept queued, not refused
    assert ebay_emulator.updates_seen == [["MUG-000", "MUG-001"], ["MUG-001"], ["MUG-001"]]  # bounded retries
    assert (ebay_emulator.quantity("MUG-000"), ebay_emulator.quantity("MUG-001")) == (4, 10)


def test_a_burst_of_writes_of_one_sku_is_one_entry(ebay_emulator: EbayEmulator) -> None:
    ebay_emulator.seed(catalogue(1))
    adapter = ebay_adapter(ebay_emulator)
    adapter.read_catalog()
    results = adapter.apply([set_stock("MUG-000", q) for q in (9, 8, 7)])
    assert [r.ok for r in results] == [True, True, True]
    assert ebay_emulator.updates_seen == [["MUG-000"]]
    assert ebay_emulator.quantity("MUG-000") == 7
    assert ebay_emulator.revisions_today(ebay_emulator.listing_of("MUG-000")) == 1


def test_quantity_0_keeps_the_listing_alive_as_out_of_stock(ebay_emulator: EbayEmulator) -> None:
    ebay_emulator.seed(catalogue(1))
    [result] = ebay_adapter(ebay_emulator).apply([set_stock("MUG-000", 0)])
    assert result.ok
    assert ebay_emulator.quantity("MUG-000") == 0
    assert ebay_emulator.offer_of("MUG-000")["listing"]["listingStatus"] == "OUT_OF_STOCK"


def test_an_account_refusing_0_gets_a_refusal_naming_the_preference_when_told_never_to_end(
    refusing_zero: EbayEmulator,
) -> None:
    refusing_zero.seed(catalogue(1))
    [result] = ebay_adapter(refusing_zero, zero_quantity="out_of_stock").apply([set_stock("MUG-000", 0)])
    assert not result.ok and not result.retryable and result.code == "25004"
    assert result.error is not None and "Out-of-Stock control" in result.error
    assert refusing_zero.quantity("MUG-000") == 10


def test_ebay_takes_no_catalogue_changes_and_prices_only_with_sync_price(ebay_emulator: EbayEmulator) -> None:
    ebay_emulator.seed(catalogue(1))
    price = UpdateVariant(
        key="test:price",
        product_id="MUG-000",
        variant_id="MUG-000",
        fields={"price": Money(amount=Decimal("12.50"), currency="USD")},
    )
    rename = UpdateProduct(key="test:name", product_id="MUG-000", fields={"name": "Renamed"})
    create = CreateProduct(key="test:create", product=ChannelProduct(channel="x", channel_id="n", name="New"))
    results = ebay_adapter(ebay_emulator).apply([price, rename, create])
    assert [(r.ok, r.retryable, r.code) for r in results] == [(False, False, "NOT_SUPPORTED")] * 3
    assert (
        ebay_emulator.updates_seen == []
        and ebay_emulator.offer_of("MUG-000")["pricingSummary"]["price"]["value"] == "14.99"
    )

    [priced] = ebay_adapter(ebay_emulator, sync_price=True).apply([price])
    assert priced.ok
    assert ebay_emulator.offer_of("MUG-000")["pricingSummary"]["price"]["value"] == "12.50"
    assert ebay_emulator.quantity("MUG-000") == 10  # a price alone leaves the quantity as it is


def test_a_malformed_item_is_skipped_and_reported(ebay_emulator: EbayEmulator) -> None:
    ebay_emulator.seed(catalogue(3))

    def rewrite(body: dict[str, list[dict[str, dict[str, dict[str, object]]]]]) -> object:
        for item in body.get("inventoryItems") or []:
            if item.get("sku") == "MUG-001":
                item["availability"]["shipToLocationAvailability"]["quantity"] = "abc"
        return body

    ebay_emulator.server.faults.add(
        FaultRule(kind="rewrite", path=r"/inventory_item$", times=None, rewrite=rewrite)
    )
    page = ebay_adapter(ebay_emulator).read_catalog()
    ebay_emulator.server.faults.clear()
    ebay_emulator.recorded = []  # the rewritten answers are ours, not the emulator's
    assert sorted(p.channel_id for p in page.items) == ["MUG-000", "MUG-002"]
    [issue] = page.issues
    assert issue.object_id == "MUG-001" and issue.holds and issue.skus == ("MUG-001",)
    assert issue.field == "availability.shipToLocationAvailability.quantity"


def test_an_incremental_read_returns_what_changed_and_an_ended_listing_archived(
    ebay_emulator: EbayEmulator,
) -> None:
    ebay_emulator.seed(catalogue(3))
    adapter = ebay_adapter(ebay_emulator)
    first = adapter.read_catalog()
    assert len(first.items) == 3
    assert adapter.read_catalog(first.cursor).items == []
    ebay_emulator.buy("MUG-000", 1)
    ebay_emulator.end_listing("MUG-002")
    since = adapter.read_catalog(first.cursor)
    by_id = {p.channel_id: p for p in since.items}
    assert sorted(by_id) == ["MUG-000", "MUG-002"]
    assert by_id["MUG-000"].variants[0].stock == 9
    assert by_id["MUG-002"].status.value == "archived"
    assert adapter.read_catalog(since.cursor).items == []


def test_a_sell_out_on_an_account_refusing_0_ends_the_listing_and_a_restock_lists_it_anew(
    refusing_zero: EbayEmulator,
) -> None:
    refusing_zero.seed(catalogue(2))
    adapter = ebay_adapter(refusing_zero)
    adapter.read_catalog()
    first = refusing_zero.listing_of("MUG-000")

    [sold_out] = adapter.apply([set_stock("MUG-000", 0)])  # eBay says 25004: learned, ended at once
    assert sold_out.ok, sold_out
    assert not refusing_zero.is_listed("MUG-000") and adapter.ends.refuses_zero()
    assert refusing_zero.is_listed("MUG-001")  # only the sold-out SKU
    [shown] = [p for p in adapter.read_catalog().items if p.channel_id == "MUG-000"]
    assert shown.variants[0].stock == 0  # sold out on eBay, still linked: not gone

    [other] = adapter.apply([set_stock("MUG-001", 0)])  # known now: no 0 sent to be refused
    assert other.ok and refusing_zero.updates_seen == [["MUG-000"]]
    assert refusing_zero.withdrawn == [refusing_zero.offer_of(s)["offerId"] for s in ("MUG-000", "MUG-001")]

    [restocked] = adapter.apply([set_stock("MUG-000", 6)])
    assert restocked.ok
    relisted = refusing_zero.listing_of("MUG-000")
    assert relisted != first and refusing_zero.quantity("MUG-000") == 6
    assert isinstance(adapter.ends, MemoryEnded) and adapter.ends.history == [("MUG-000", relisted)]
    assert [p.variants[0].stock for p in adapter.read_catalog().items if p.channel_id == "MUG-000"] == [6]


def test_a_lost_answer_to_a_withdraw_or_a_publish_is_not_sent_twice(refusing_zero: EbayEmulator) -> None:
    refusing_zero.seed(catalogue(1))
    adapter = ebay_adapter(refusing_zero, zero_quantity="end_listing")
    adapter.read_catalog()
    faults = refusing_zero.server.faults
    faults.add(FaultRule(kind="apply_then_reset", method="POST", path=r"/withdraw$", times=1))
    [ended] = adapter.apply([set_stock("MUG-000", 0)])
    assert ended.ok and len(refusing_zero.withdrawn) == 1  # the offer was read, not withdrawn again
    assert "MUG-000" in adapter.ends.ended()

    faults.add(FaultRule(kind="apply_then_reset", method="POST", path=r"/publish$", times=1))
    [relisted] = adapter.apply([set_stock("MUG-000", 3)])
    assert relisted.ok and len(refusing_zero.published) == 1
    assert isinstance(adapter.ends, MemoryEnded)
    assert adapter.ends.history == [("MUG-000", refusing_zero.listing_of("MUG-000"))]


def test_a_write_tried_in_an_earlier_run_reads_the_offer_before_withdrawing(
    refusing_zero: EbayEmulator,
) -> None:
    refusing_zero.seed(catalogue(1))
    adapter = ebay_adapter(refusing_zero, zero_quantity="end_listing")
    adapter.read_catalog()
    Api(refusing_zero).post(INV + f"/offer/{refusing_zero.offer_of('MUG-000')['offerId']}/withdraw", None)
    op = set_stock("MUG-000", 0)
    adapter.mark_uncertain([op.key])  # as the relay does for an entry sent before
    [result] = adapter.apply([op])
    assert result.ok and len(refusing_zero.withdrawn) == 1 and "MUG-000" in adapter.ends.ended()
