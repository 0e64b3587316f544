"""eBay's notifications at shopbridge's receiver, over loopback: the endpoint answers eBay's
``challenge_code`` check (so eBay adds it as a destination), a signed ``ORDER_CONFIRMATION`` is
committed to the inbox under its ``notificationId`` and wakes the loop once, a redelivery is a
duplicate, and a body that is not what eBay signed is refused and stored nowhere."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from bridge.server import WebhookServer
from bridge.store import Store
from sandbox.ebay import EbayEmulator, EndpointRefused
from tests.contract.harness import wait_until
from tests.ebay_helpers import catalogue, ebay_adapter

TOKEN = "shopbridge-verification-token-0123456789abcdef"


@pytest.fixture
def woken() -> list[str]:
    return []


@pytest.fixture
def receiver(ebay_emulator: EbayEmulator, store: Store, woken: list[str]) -> Iterator[WebhookServer]:
    adapter = ebay_adapter(ebay_emulator)
    adapter.verification_token = TOKEN
    server = WebhookServer(store, {"ebay": adapter}, port=0, on_event=woken.append).start()
    yield server
    server.stop()


def inbox(store: Store) -> list[tuple[str, str, str | None]]:
    return [(d["event_id"], d["resource"] or "", d["resource_id"]) for d in store.inbox_pending()]


def test_the_endpoint_answers_ebays_challenge_and_a_signed_order_is_committed_once(
    ebay_emulator: EbayEmulator, store: Store, receiver: WebhookServer, woken: list[str]
) -> None:
    ebay_emulator.seed(catalogue(1))
    url = receiver.url + "/webhooks/ebay"
    ebay_emulator.add_destination(url, TOKEN)  # eBay's GET ?challenge_code=... answered by the receiver

    order = ebay_emulator.buy("MUG-000", 1)
    wait_until(lambda: bool(inbox(store)), "the notification in the inbox")
    [message] = ebay_emulator.notifications_sent
    event_id = message["notification"]["notificationId"]
    assert inbox(store) == [(event_id, "order", order["orderId"])]
    assert woken == ["ebay"]  # it only wakes the loop: the order is read through getOrders

    # eBay redelivers the same notification (its answer was lost): a duplicate, nothing more.
    body = json.dumps(message).encode()
    signed = {"X-EBAY-SIGNATURE": ebay_emulator.signature_header(body), "Content-Type": "application/json"}
    again = requests.post(url, data=body, headers=signed, timeout=10)
    assert again.status_code == 200 and again.json() == {"received": True, "duplicate": True}
    assert len(inbox(store)) == 1 and woken == ["ebay"]

    altered = requests.post(url, data=body + b" ", headers=signed, timeout=10)
    assert altered.status_code == 401 and len(inbox(store)) == 1


def test_a_wrong_token_fails_ebays_challenge_and_other_gets_are_not_found(
    ebay_emulator: EbayEmulator, receiver: WebhookServer
) -> None:
    url = receiver.url + "/webhooks/ebay"
    with pytest.raises(EndpointRefused):
        ebay_emulator.add_destination(url, TOKEN + "-not-ours")
    assert requests.get(url, timeout=10).status_code == 404  # no challenge_code: not a check
    assert requests.get(receiver.url + "/webhooks/nope?challenge_code=x", timeout=10).status_code == 404
