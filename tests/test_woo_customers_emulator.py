"""The WooCommerce emulator's customers as the PHP has them: a second account for an email is
refused with ``registration-error-email-exists`` (``wc_create_new_customer``), the list has no
modified filter but pages by id, guests exist only on orders (``customer_id`` 0, billing details),
orders filter by ``customer`` and ``search`` (``wc_order_search`` over the address indexes), and
customer webhooks are signed like the others."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from webhook_receiver import (
    Receiver,
    webhook_receiver,  # noqa: F401 - the receiver fixture
)
from woo_helpers import small_catalog

from sandbox.woocommerce import WooCommerceEmulator

P = "/wp-json/wc/v3"


@pytest.fixture
def emulator() -> Iterator[WooCommerceEmulator]:
    with WooCommerceEmulator() as emu:
        yield emu


def rest(
    emu: WooCommerceEmulator, method: str, path: str, body: Any = None, **params: Any
) -> requests.Response:
    return requests.request(
        method,
        emu.url + P + path,
        json=body,
        params=params,
        auth=(emu.consumer_key, emu.consumer_secret),
        timeout=10,
    )


def test_a_second_account_for_an_email_is_refused(emulator: WooCommerceEmulator) -> None:
    assert (
        rest(emulator, "POST", "/customers", {"email": "ann@shop.test", "first_name": "Ann"}).status_code
        == 201
    )
    again = rest(emulator, "POST", "/customers", {"email": "ANN@shop.test"})
    assert again.status_code == 400 and again.json()["code"] == "registration-error-email-exists"
    found = rest(emulator, "GET", "/customers", email="ann@shop.test").json()
    assert [c["first_name"] for c in found] == ["Ann"]


def test_customers_page_by_id_and_have_no_modified_filter(emulator: WooCommerceEmulator) -> None:
    ids = [rest(emulator, "POST", "/customers", {"email": f"c{n}@shop.test"}).json()["id"] for n in range(3)]
    first = rest(emulator, "GET", "/customers", orderby="id", order="asc", per_page=2, page=1)
    second = rest(emulator, "GET", "/customers", orderby="id", order="asc", per_page=2, page=2)
    assert first.headers["X-WP-TotalPages"] == "2"
    assert [c["id"] for c in first.json() + second.json()] == ids
    # WordPress ignores query arguments a route does not declare: every customer comes back.
    since = rest(emulator, "GET", "/customers", modified_after="2999-01-01T00:00:00")
    assert len(since.json()) == 3


def test_guests_exist_only_on_orders(emulator: WooCommerceEmulator) -> None:
    emulator.seed(small_catalog())
    ann = rest(emulator, "POST", "/customers", {"email": "ann@shop.test"}).json()["id"]
    guest = emulator.simulate_sale(
        [("MUG-1", 1)], email="Guest@Shop.test", billing={"phone": "(415) 555-0123"}
    )
    theirs = emulator.simulate_sale([("MUG-1", 1)], email="ann@shop.test", customer_id=ann)
    assert guest["customer_id"] == 0 and guest["billing"]["phone"] == "(415) 555-0123"
    assert [c["email"] for c in rest(emulator, "GET", "/customers").json()] == ["ann@shop.test"]
    assert [o["id"] for o in rest(emulator, "GET", "/orders", customer=ann).json()] == [theirs["id"]]
    assert [o["id"] for o in rest(emulator, "GET", "/orders", customer=0).json()] == [guest["id"]]
    assert [o["id"] for o in rest(emulator, "GET", "/orders", search="guest@shop").json()] == [guest["id"]]
    bad = rest(emulator, "POST", "/orders", {"customer_id": 999, "billing": {"email": "x@shop.test"}})
    assert bad.status_code == 400 and bad.json()["code"] == "woocommerce_rest_invalid_customer_id"


def test_customer_webhooks_are_signed(emulator: WooCommerceEmulator, receiver: Receiver) -> None:
    for topic in ("customer.created", "customer.updated", "customer.deleted"):
        rest(
            emulator, "POST", "/webhooks", {"topic": topic, "delivery_url": receiver.url, "secret": "s3cret"}
        )
    receiver.wait(3)  # the pings
    cid = rest(emulator, "POST", "/customers", {"email": "ann@shop.test"}).json()["id"]
    rest(emulator, "PUT", f"/customers/{cid}", {"first_name": "Ann"})
    rest(emulator, "DELETE", f"/customers/{cid}", force="true")
    receiver.wait(6)
    deliveries = receiver.deliveries[3:]
    assert [h["x-wc-webhook-topic"] for h, _ in deliveries] == [
        "customer.created",
        "customer.updated",
        "customer.deleted",
    ]
    for headers, body in deliveries:
        expected = base64.b64encode(hmac.new(b"s3cret", body, hashlib.sha256).digest()).decode()
        assert headers["x-wc-webhook-signature"] == expected
    assert json.loads(deliveries[1][1])["first_name"] == "Ann"
    assert json.loads(deliveries[2][1]) == {"id": cid}
