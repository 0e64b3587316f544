"""The webhook receiver over real HTTP: verify, store durably, then acknowledge; and the daemon loop."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from adapters.square import SquareAdapter
from adapters.woocommerce import WooCommerceAdapter
from bridge.daemon import Daemon, sd_notify
from bridge.server import WebhookServer
from bridge.store import Store

WOO_SECRET = "whsec-test-woo"
SQUARE_KEY = "square-signature-key"


@pytest.fixture
def server(store: Store) -> Iterator[WebhookServer]:
    adapters = {
        "woocommerce": WooCommerceAdapter("http://127.0.0.1:9", "ck_x", "cs_x", WOO_SECRET),
        "square": SquareAdapter("token", base_url="http://127.0.0.1:9", signature_key=SQUARE_KEY),
    }
    receiver = WebhookServer(store, adapters, port=0).start()
    yield receiver
    receiver.stop()


def woo_delivery(body: bytes, secret: str = WOO_SECRET, delivery: str = "101") -> dict[str, str]:
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "X-WC-Webhook-Source": "https://shop.example.com/",
        "X-WC-Webhook-Topic": "product.updated",
        "X-WC-Webhook-Resource": "product",
        "X-WC-Webhook-Event": "updated",
        "X-WC-Webhook-Signature": signature,
        "X-WC-Webhook-ID": "7",
        "X-WC-Webhook-Delivery-ID": delivery,
    }


def test_a_signed_delivery_is_stored_before_it_is_acknowledged(server: WebhookServer, store: Store) -> None:
    body = json.dumps({"id": 42, "name": "Mug", "date_modified_gmt": "2026-11-23T10:00:00"}).encode()
    answer = requests.post(
        server.notification_url("woocommerce"), data=body, headers=woo_delivery(body), timeout=5
    )
    assert answer.status_code == 200
    assert answer.json() == {"received": True, "duplicate": False}
    [row] = store.inbox_pending()
    assert row["channel"] == "woocommerce" and row["topic"] == "product.updated"
    assert row["resource_id"] == "42"
    assert row["body"] == body


def test_a_repeated_delivery_is_acknowledged_and_stored_once(server: WebhookServer, store: Store) -> None:
    body = json.dumps({"id": 42, "name": "Mug"}).encode()
    for _ in range(3):
        answer = requests.post(
            server.notification_url("woocommerce"), data=body, headers=woo_delivery(body), timeout=5
        )
        assert answer.status_code == 200
    assert answer.json()["duplicate"] is True
    assert len(store.inbox_pending()) == 1


@pytest.mark.parametrize("tamper", ["body", "secret"])
def test_a_bad_signature_is_refused_and_nothing_is_stored(
    server: WebhookServer, store: Store, tamper: str
) -> None:
    body = json.dumps({"id": 42}).encode()
    headers = woo_delivery(body, secret="wrong" if tamper == "secret" else WOO_SECRET)
    sent = body.replace(b"42", b"43") if tamper == "body" else body
    answer = requests.post(server.notification_url("woocommerce"), data=sent, headers=headers, timeout=5)
    assert answer.status_code == 401
    assert store.inbox_pending() == []


def test_square_signature_covers_the_notification_url(server: WebhookServer, store: Store) -> None:
    body = json.dumps(
        {
            "merchant_id": "M1",
            "type": "inventory.count.updated",
            "event_id": "ev-1",
            "created_at": "2026-11-23T10:00:00Z",
            "data": {"type": "inventory", "id": "x", "object": {}},
        }
    ).encode()
    url = server.notification_url("square")

    def signed(for_url: str) -> dict[str, str]:
        digest = hmac.new(SQUARE_KEY.encode(), for_url.encode() + body, hashlib.sha256).digest()
        return {
            "x-square-hmacsha256-signature": base64.b64encode(digest).decode(),
            "Content-Type": "application/json",
        }

    wrong = requests.post(
        url, data=body, headers=signed("https://elsewhere.example/webhooks/square"), timeout=5
    )
    assert wrong.status_code == 401
    right = requests.post(url, data=body, headers=signed(url), timeout=5)
    assert right.status_code == 200
    assert [r["event_id"] for r in store.inbox_pending()] == ["ev-1"]


def test_unknown_channel_oversized_body_and_health(server: WebhookServer, store: Store) -> None:
    assert requests.post(f"{server.url}/webhooks/ebay", data=b"{}", timeout=5).status_code == 404
    server.max_body_bytes = 10
    big = requests.post(server.notification_url("woocommerce"), data=b"x" * 100, timeout=5)
    assert big.status_code == 413
    assert requests.get(f"{server.url}/healthz", timeout=5).json() == {"ok": True}
    assert requests.get(f"{server.url}/readyz", timeout=5).json()["inbox_pending"] == 0


def test_daemon_marks_inbox_processed_only_after_a_successful_cycle(store: Store) -> None:
    store.inbox_put(
        "woocommerce", "e1", topic="product.updated", resource="product", resource_id="1", body=b"{}"
    )
    outcomes = iter([RuntimeError("channel down"), "ok"])

    def cycle() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    daemon = Daemon(store, cycle, interval=60)
    with pytest.raises(RuntimeError):
        daemon.run_once()
    assert len(store.inbox_pending()) == 1  # a failed cycle leaves the hint pending
    assert daemon.run_once() == "ok"
    assert store.inbox_pending() == []


def test_a_webhook_arriving_during_a_cycle_triggers_another_cycle(store: Store) -> None:
    """The cycle's reads may predate the delivery, so the daemon must not sleep through it."""
    calls: list[int] = []
    daemon: Daemon

    def cycle() -> str:
        calls.append(len(calls))
        if len(calls) == 1:
            daemon.wake("woocommerce")  # delivered while this cycle was reading
        else:
            daemon.stop()
        return "ok"

    daemon = Daemon(store, cycle, interval=60, debounce=0)
    thread = threading.Thread(target=daemon.run, daemon=True)  # a regression must not hang pytest
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive(), "the daemon slept through a wake-up received mid-cycle"
    assert calls == [0, 1]


def test_daemon_notifies_systemd_and_stops_on_request(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(5)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    daemon = Daemon(store, lambda: "3 changes", interval=60, debounce=0)
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    messages = [listener.recv(256).decode() for _ in range(3)]
    daemon.stop()
    thread.join(timeout=5)
    listener.close()
    assert messages == ["READY=1", "STATUS=3 changes", "WATCHDOG=1"]
    assert not thread.is_alive()
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert sd_notify("READY=1") is False  # not under systemd: a no-op
