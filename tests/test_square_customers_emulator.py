"""The Square emulator's customers as Square documents them: merges (a new profile, the old ones
deleted, the webhooks with ``event_context.merge``, old ids retrieving the new profile), birthdays,
search filters and SearchOrders' ``customer_filter``. Every answer is checked against the vendored
spec at teardown (``running_emulator``); the webhook bodies against the spec's event schemas."""

from __future__ import annotations

from typing import Any

import requests
from square_helpers import (
    call,
    square_emulator,  # noqa: F401 - the emulator fixture
    validate,
)
from webhook_receiver import (
    Receiver,
    webhook_receiver,  # noqa: F401 - the receiver fixture
)

from sandbox.seed import generate_catalog
from sandbox.square import SquareEmulator


def create(em: SquareEmulator, **fields: Any) -> dict[str, Any]:
    customer: dict[str, Any] = call(em, "POST", "/v2/customers", fields)["customer"]
    return customer


def raw(em: SquareEmulator, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(
        method,
        em.base_url + path,
        json=body,
        headers={"Authorization": f"Bearer {em.access_token}"},
        timeout=10,
    )


def test_a_merge_makes_a_new_profile_and_retires_the_old_ids(
    emulator: SquareEmulator, receiver: Receiver
) -> None:
    old = create(emulator, given_name="Ann", email_address="ann@shop.test", note="first")
    other = create(emulator, family_name="Lee", phone_number="+14155550123")
    call(emulator, "PUT", f"/v2/customers/{other['id']}", {"note": "newer note", "version": 0})
    emulator.subscribe(receiver.url)

    new_id = emulator.merge_customers([old["id"], other["id"]])

    receiver.wait(3)
    events = receiver.events()
    assert [e["type"] for e in events] == ["customer.created", "customer.deleted", "customer.deleted"]
    merge = {"from_customer_ids": [old["id"], other["id"]], "to_customer_id": new_id}
    for event in events:
        validate(
            event,
            {"customer.created": "CustomerCreatedEvent", "customer.deleted": "CustomerDeletedEvent"}[
                event["type"]
            ],
        )
        assert event["data"]["object"]["event_context"] == {"merge": merge}
    assert {e["data"]["id"] for e in events[1:]} == {old["id"], other["id"]}
    new = call(emulator, "GET", f"/v2/customers/{new_id}")["customer"]
    assert new["creation_source"] == "MERGE" and new["version"] == 0
    assert (new["given_name"], new["family_name"], new["note"]) == ("Ann", "Lee", "newer note")
    assert call(emulator, "GET", f"/v2/customers/{old['id']}")["customer"]["id"] == new_id
    listed = call(emulator, "POST", "/v2/customers/search", {})["customers"]
    assert [c["id"] for c in listed] == [new_id]
    assert raw(emulator, "PUT", f"/v2/customers/{old['id']}", {"note": "x"}).status_code == 404


def test_a_deletion_event_carries_the_deleted_profile(emulator: SquareEmulator, receiver: Receiver) -> None:
    customer = create(emulator, given_name="Gone", email_address="gone@shop.test")
    emulator.subscribe(receiver.url)
    call(emulator, "DELETE", f"/v2/customers/{customer['id']}")
    receiver.wait(1)
    (event,) = receiver.events()
    validate(event, "CustomerDeletedEvent")
    assert event["data"]["object"]["customer"]["email_address"] == "gone@shop.test"
    assert "event_context" not in event["data"]["object"]


def test_birthday_without_a_year_reads_back_as_year_zero(emulator: SquareEmulator) -> None:
    assert create(emulator, given_name="B", birthday="07-24")["birthday"] == "0000-07-24"
    assert create(emulator, given_name="C", birthday="1897-07-24")["birthday"] == "1897-07-24"
    bad = raw(emulator, "POST", "/v2/customers", {"given_name": "D", "birthday": "24/07/1897"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "INVALID_TIME"


def test_exact_and_fuzzy_together_are_refused(emulator: SquareEmulator) -> None:
    body = {"query": {"filter": {"email_address": {"exact": "a@b.test", "fuzzy": "b.test"}}}}
    answer = raw(emulator, "POST", "/v2/customers/search", body)
    assert answer.status_code == 400 and answer.json()["errors"][0]["code"] == "INVALID_VALUE"


def test_search_sorted_by_created_at_pages_with_a_cursor(emulator: SquareEmulator) -> None:
    ids = [create(emulator, given_name=name)["id"] for name in ("Zed", "Amy", "Mo")]
    body: dict[str, Any] = {"limit": 2, "query": {"sort": {"field": "CREATED_AT", "order": "ASC"}}}
    first = call(emulator, "POST", "/v2/customers/search", body)
    second = call(emulator, "POST", "/v2/customers/search", {**body, "cursor": first["cursor"]})
    assert [c["id"] for c in first["customers"] + second["customers"]] == ids and "cursor" not in second
    by_name = call(emulator, "POST", "/v2/customers/search", {"query": {"sort": {"field": "DEFAULT"}}})
    assert [c["given_name"] for c in by_name["customers"]] == ["Amy", "Mo", "Zed"]


def test_search_orders_by_customer(emulator: SquareEmulator) -> None:
    skus = emulator.seed(generate_catalog(2), locations=1)
    variation = next(iter(skus.values()))
    ann = create(emulator, given_name="Ann")["id"]
    mine = emulator.simulate_sale(variation, 1, customer_id=ann)
    emulator.simulate_sale(variation, 1)
    body = {
        "location_ids": emulator.location_ids(),
        "query": {"filter": {"customer_filter": {"customer_ids": [ann]}}},
    }
    found = call(emulator, "POST", "/v2/orders/search", body)
    assert [o["id"] for o in found["orders"]] == [mine["id"]] and found["orders"][0]["customer_id"] == ann
    too_many = {"query": {"filter": {"customer_filter": {"customer_ids": [f"c{n}" for n in range(11)]}}}}
    answer = raw(emulator, "POST", "/v2/orders/search", too_many)
    assert answer.status_code == 400 and answer.json()["errors"][0]["code"] == "ARRAY_LENGTH_TOO_LONG"


def test_search_orders_without_an_end_time_pages_up_to_the_first_request(emulator: SquareEmulator) -> None:
    """Square: "If the end time is absent, it defaults to the time of the first request for the
    cursor": an order made while a search is paged is in the next search, not in this one's pages."""
    skus = emulator.seed(generate_catalog(2), locations=1)
    variation = next(iter(skus.values()))
    made = [emulator.simulate_sale(variation, 1)["id"] for _ in range(2)]
    body: dict[str, Any] = {
        "location_ids": emulator.location_ids(),
        "limit": 1,
        "query": {
            "filter": {"date_time_filter": {"updated_at": {"start_at": "2000-01-01T00:00:00Z"}}},
            "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
        },
    }
    first = call(emulator, "POST", "/v2/orders/search", body)
    later = emulator.simulate_sale(variation, 1)["id"]
    second = call(emulator, "POST", "/v2/orders/search", {**body, "cursor": first["cursor"]})
    assert [o["id"] for o in first["orders"] + second["orders"]] == made and "cursor" not in second
    again = call(emulator, "POST", "/v2/orders/search", {**body, "limit": 10})
    assert [o["id"] for o in again["orders"]] == [*made, later]
