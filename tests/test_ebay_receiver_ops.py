"""What an operator sees of eBay's notifications at the receiver, over loopback: the challenge is
answered with exactly the documented hash as JSON (eBay checks both), and a forged, tampered or
unsigned notification is refused with its reason in the rejection metric and wakes nothing.
(tests/test_ebay_receiver.py covers the destination being added and the inbox's deduplication.)"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from bridge.metrics import Metrics
from bridge.server import WebhookServer
from bridge.store import Store
from sandbox.ebay import EbayEmulator
from tests.ebay_helpers import catalogue, ebay_adapter, running_emulator

TOKEN = "shopbridge_ebay_verification_0123456789-abcdef"


@pytest.fixture
def emulator() -> Iterator[EbayEmulator]:
    yield from running_emulator()


@pytest.fixture
def woken() -> list[str]:
    return []


@pytest.fixture
def receiver(emulator: EbayEmulator, store: Store, woken: list[str]) -> Iterator[WebhookServer]:
    adapter = ebay_adapter(emulator)
    adapter.verification_token = TOKEN
    server = WebhookServer(
        store, {"ebay": adapter}, port=0, metrics=Metrics(["ebay"]), on_event=woken.append
    ).start()
    yield server
    server.stop()


def rejected(server: WebhookServer, reason: str) -> float:
    labels = {"channel": "ebay", "operation": reason}
    return server.metrics.registry.get_sample_value("shopbridge_webhooks_rejected_total", labels) or 0.0


def wait_for(check: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_the_challenge_is_answered_with_the_documented_hash_as_json(receiver: WebhookServer) -> None:
    url = receiver.notification_url("ebay")
    answer = requests.get(url, params={"challenge_code": "a8628072-3d33-45ee"}, timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    expected = hashlib.sha256(("a8628072-3d33-45ee" + TOKEN + url).encode()).hexdigest()
    assert answer.json() == {"challengeResponse": expected}


def test_a_forged_tampered_or_unsigned_notification_is_refused_and_counted(
    emulator: EbayEmulator, store: Store, receiver: WebhookServer, woken: list[str]
) -> None:
    emulator.seed(catalogue(1))
    url = receiver.notification_url("ebay")
    emulator.add_destination(url, TOKEN)
    emulator.buy("MUG-000")
    wait_for(lambda: len(store.inbox_pending()) == 1)
    assert woken == ["ebay"]
    body = bytes(store.inbox_pending()[0]["body"])
    signed = {"X-EBAY-SIGNATURE": emulator.signature_header(body)}
    tampered = body.replace(b'"notificationId": "', b'"notificationId": "x')
    assert requests.post(url, data=tampered, headers=signed, timeout=5).status_code == 401
    assert requests.post(url, data=tampered, timeout=5).status_code == 401  # unsigned
    assert rejected(receiver, "signature") == 2
    assert len(store.inbox_pending()) == 1 and woken == ["ebay"]
