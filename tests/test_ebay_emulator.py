"""The eBay emulator behaves as eBay documents it: inventory and offers by SKU, the bulk quantity
write (25 at most, 207 for partial failures, both quantity levels, 250 revisions a listing a day,
quantity 0), orders by lastmodifieddate with paging and cancellations. Every answer here is also
validated against eBay's contracts by the fixture (tests/ebay_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from ebay_helpers import Api, catalogue, running_emulator

from sandbox.ebay import EbayEmulator
from sandbox.ebay.wire import fmt_time

INV = "/sell/inventory/v1"
ORDERS = "/sell/fulfillment/v1/order"


@pytest.fixture
def emulator() -> Iterator[EbayEmulator]:
    yield from running_emulator()


def update(api: Api, *entries: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    answer = api.post(INV + "/bulk_update_price_quantity", {"requests": list(entries)})
    return answer.status_code, answer.json().get("responses") or answer.json().get("errors")


def quantity_entry(em: EbayEmulator, sku: str, quantity: int) -> dict[str, Any]:
    offer_id = em.offer_of(sku)["offerId"]
    return {
        "sku": sku,
        "shipToLocationAvailability": {"quantity": quantity},
        "offers": [{"offerId": offer_id, "availableQuantity": quantity}],
    }


def test_inventory_items_page_by_limit_and_offset_following_next(emulator: EbayEmulator) -> None:
    emulator.seed(catalogue(60))
    api = Api(emulator)
    seen: list[str] = []
    url: str | None = emulator.base_url + INV + "/inventory_item?limit=25"
    pages = 0
    while url:
        body = api.session.get(url, timeout=10).json()
        seen += [item["sku"] for item in body["inventoryItems"]]
        assert body["total"] == 60
        url = body.get("next")
        pages += 1
    assert pages == 3
    assert seen == sorted(f"MUG-{n:03d}" for n in range(60))
    assert api.get(INV + "/inventory_item", limit=201).json()["errors"][0]["errorId"] == 25706
    assert api.get(INV + "/inventory_item", limit=200).json()["size"] == 60


def test_bulk_get_reads_up_to_25_skus_and_reports_unknown_ones_in_a_207(emulator: EbayEmulator) -> None:
    emulator.seed(catalogue(30))
    api = Api(emulator)
    answer = api.post(INV + "/bulk_get_inventory_item", {"requests": [{"sku": "MUG-001"}, {"sku": "NOPE"}]})
    assert answer.status_code == 207
    by_sku = {r["sku"]: r for r in answer.json()["responses"]}
    assert by_sku["MUG-001"]["inventoryItem"]["availability"]["shipToLocationAvailability"]["quantity"] == 10
    assert by_sku["NOPE"]["errors"][0]["errorId"] == 25702
    too_many = [{"sku": f"MUG-{n:03d}"} for n in range(26)]
    refused = api.post(INV + "/bulk_get_inventory_item", {"requests": too_many})
    assert (refused.status_code, refused.json()["errors"][0]["errorId"]) == (400, 25727)
    assert api.get(INV + "/inventory_item/MUG-002").json()["sku"] == "MUG-002"
    assert api.get(INV + "/inventory_item/NOPE").json()["errors"][0]["errorId"] == 25702


def test_offers_by_sku_carry_their_listing(emulator: EbayEmulator) -> None:
    listings = emulator.seed(catalogue(2))
    api = Api(emulator)
    offers = api.get(INV + "/offer", sku="MUG-000").json()["offers"]
    assert [o["listing"]["listingId"] for o in offers] == [listings["MUG-000"]]
    assert offers[0]["listing"]["listingStatus"] == "ACTIVE"
    again = api.get(INV + "/offer/" + offers[0]["offerId"]).json()
    assert again["pricingSummary"]["price"] == {"value": "14.99", "currency": "USD"}
    assert api.get(INV + "/offer", sku="NOPE").json()["errors"][0]["errorId"] == 25713


def test_bulk_update_takes_at_most_25_and_one_bad_sku_fails_alone_with_207(emulator: EbayEmulator) -> None:
    emulator.seed(catalogue(30))
    api = Api(emulator)
    status, errors = update(api, *[quantity_entry(emulator, f"MUG-{n:03d}", 3) for n in range(26)])
    assert (status, errors[0]["errorId"]) == (400, 25002)
    assert emulator.quantity("MUG-000") == 10
    status, responses = update(
        api,
        quantity_entry(emulator, "MUG-000", 4),
        {"sku": "GONE", "shipToLocationAvailability": {"quantity": 1}},
    )
    assert status == 207
    assert [(r["sku"], r["statusCode"]) for r in responses] == [("MUG-000", 200), ("GONE", 404)]
    assert responses[1]["errors"][0]["errorId"] == 25702
    assert emulator.quantity("MUG-000") == 4
    status, responses = update(api, {"sku": "MUG-001", "shipToLocationAvailability": {"quantity": -1}})
    assert (status, responses[0]["errors"][0]["errorId"]) == (207, 25709)


def test_a_listing_shows_the_smaller_of_the_item_and_offer_quantities(emulator: EbayEmulator) -> None:
    emulator.seed(catalogue(1))
    api = Api(emulator)
    offer_id = emulator.offer_of("MUG-000")["offerId"]
    assert update(api, {"sku": "MUG-000", "shipToLocationAvailability": {"quantity": 40}})[0] == 200
    assert (
        update(api, {"sku": "MUG-000", "offers": [{"offerId": offer_id, "availableQuantity": 5}]})[0] == 200
    )
    assert emulator.quantity("MUG-000") == 5
    assert update(api, {"sku": "MUG-000", "shipToLocationAvailability": {"quantity": 2}})[0] == 200
    assert emulator.quantity("MUG-000") == 2


def test_250_revisions_a_listing_a_calendar_day_then_error_25002_until_the_next_day(
    emulator: EbayEmulator,
) -> None:
    listings = emulator.seed(catalogue(2))
    api = Api(emulator)
    listing = listings["MUG-000"]
    assert update(api, quantity_entry(emulator, "MUG-000", 9))[0] == 200
    assert emulator.revisions_today(listing) == 1
    emulator.set_revisions_today(listing, 249)
    assert update(api, quantity_entry(emulator, "MUG-000", 8))[0] == 200
    status, responses = update(
        api, quantity_entry(emulator, "MUG-000", 0), quantity_entry(emulator, "MUG-001", 0)
    )
    assert status == 207
    assert responses[0]["errors"][0]["errorId"] == 25002 and "250" in responses[0]["errors"][0]["message"]
    assert responses[1]["statusCode"] == 200
    assert emulator.quantity("MUG-000") == 8  # nothing of the refused entry was applied
    emulator.advance(86400)  # the next day (the day's access token has expired too)
    assert update(Api(emulator), quantity_entry(emulator, "MUG-000", 0))[0] == 200
    assert emulator.revisions_today(listing) == 1


def test_quantity_zero_leaves_the_listing_out_of_stock_by_default(emulator: EbayEmulator) -> None:
    emulator.seed(catalogue(1))
    api = Api(emulator)
    assert update(api, quantity_entry(emulator, "MUG-000", 0))[0] == 200
    offer = api.get(INV + "/offer", sku="MUG-000").json()["offers"][0]
    assert offer["listing"]["listingStatus"] == "OUT_OF_STOCK"
    assert update(api, quantity_entry(emulator, "MUG-000", 2))[0] == 200
    assert api.get(INV + "/offer", sku="MUG-000").json()["offers"][0]["listing"]["listingStatus"] == "ACTIVE"


def test_an_account_without_out_of_stock_control_refuses_zero_with_25004() -> None:
    for em in running_emulator(zero_quantity="refuse"):
        em.seed(catalogue(1))
        status, responses = update(Api(em), quantity_entry(em, "MUG-000", 0))
        assert (status, responses[0]["errors"][0]["errorId"]) == (207, 25004)
        assert em.quantity("MUG-000") == 10


def test_orders_by_lastmodifieddate_window_with_paging(emulator: EbayEmulator) -> None:
    emulator.seed(catalogue(3))
    api = Api(emulator)
    start = fmt_time(emulator.now() - 1)
    bought = [emulator.buy("MUG-000")["orderId"] for _ in range(5)]
    emulator.buy("MUG-001", checkout_complete=False)  # never listed
    assert emulator.quantity("MUG-000") == 5
    window = f"lastmodifieddate:[{start}..]"
    first = api.get(ORDERS, filter=window, limit=2).json()
    assert first["total"] == 5 and len(first["orders"]) == 2
    ids: list[str] = []
    url: str | None = first["href"]
    while url:
        page = api.session.get(url, timeout=10).json()
        ids += [o["orderId"] for o in page["orders"]]
        url = page.get("next")
    assert ids == bought
    later = fmt_time(emulator.now() + 0.5)
    emulator.advance(1)
    assert api.get(ORDERS, filter=f"lastmodifieddate:[{later}..]").json()["total"] == 0
    assert api.get(ORDERS, filter="lastmodifieddate:[yesterday..]").json()["errors"][0]["errorId"] == 30810
    assert api.get(ORDERS, filter="colour:{RED}").json()["errors"][0]["errorId"] == 30700
    assert api.get(ORDERS, limit=201).json()["errors"][0]["errorId"] == 31100
    line = api.get(ORDERS + "/" + bought[0]).json()["lineItems"][0]
    assert (line["sku"], line["quantity"]) == ("MUG-000", 1)


def test_a_cancellation_gives_units_back_once_and_shows_in_the_next_window(emulator: EbayEmulator) -> None:
    emulator.seed(catalogue(1))
    api = Api(emulator)
    order = emulator.buy("MUG-000", 3)
    assert emulator.quantity("MUG-000") == 7
    emulator.advance(5)
    after_sale = fmt_time(emulator.now())
    emulator.advance(1)
    emulator.cancel(order["orderId"])
    emulator.cancel(order["orderId"])
    assert emulator.quantity("MUG-000") == 10
    seen = api.get(ORDERS, filter=f"lastmodifieddate:[{after_sale}..]").json()["orders"]
    assert [(o["orderId"], o["cancelStatus"]["cancelState"]) for o in seen] == [
        (order["orderId"], "CANCELED")
    ]
    not_started = api.get(ORDERS, filter="orderfulfillmentstatus:{NOT_STARTED|IN_PROGRESS}").json()
    assert [o["orderId"] for o in not_started["orders"]] == [order["orderId"]]


def test_a_withdrawn_offer_is_not_buyable_and_publishing_it_again_is_a_new_listing(
    emulator: EbayEmulator,
) -> None:
    emulator.seed(catalogue(1))
    api = Api(emulator)
    offer_id = emulator.offer_of("MUG-000")["offerId"]
    first = emulator.listing_of("MUG-000")
    ended = api.post(INV + f"/offer/{offer_id}/withdraw", None)
    assert (ended.status_code, ended.json()["listingId"]) == (200, first)
    offer = api.get(INV + f"/offer/{offer_id}").json()
    assert offer["status"] == "UNPUBLISHED" and "listing" not in offer  # the offer remains
    assert not emulator.is_listed("MUG-000") and emulator.quantity("MUG-000") == 0
    with pytest.raises(ValueError):
        emulator.buy("MUG-000")
    relisted = api.post(INV + f"/offer/{offer_id}/publish", None)
    assert relisted.status_code == 200 and relisted.json()["listingId"] != first
    assert emulator.listing_of("MUG-000") == relisted.json()["listingId"]
    assert emulator.quantity("MUG-000") == 10
    again = api.post(INV + f"/offer/{offer_id}/publish", None)  # live already: a revision, same id
    assert again.json()["listingId"] == relisted.json()["listingId"]
    assert emulator.revisions_today(relisted.json()["listingId"]) == 1


def test_an_offer_with_nothing_to_sell_is_not_published() -> None:
    for em in running_emulator(zero_quantity="refuse"):
        em.seed(catalogue(1, stock=0))
        offer_id = em.offer_of("MUG-000")["offerId"]
        api = Api(em)
        assert api.post(INV + f"/offer/{offer_id}/withdraw", None).status_code == 200
        refused = api.post(INV + f"/offer/{offer_id}/publish", None)
        assert (refused.status_code, refused.json()["errors"][0]["errorId"]) == (400, 25004)
        assert not em.is_listed("MUG-000")
