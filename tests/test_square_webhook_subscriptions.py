"""The Square emulator's Webhook Subscriptions API against Square's spec, and its deliveries to the
subscriptions made through it, which the daemon's receiver accepts with the key create answered.

Every answer here is also validated against the spec's response schemas by the emulator fixture
(``square_helpers.running_emulator``).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import requests
from square_helpers import (
    call,
    request_schema_name,
    spec,
    square_emulator,  # noqa: F401 - the emulator fixture
    wait_for,
)
from webhook_receiver import (
    Receiver,
    webhook_receiver,  # noqa: F401 - the receiver fixture
)

from adapters.square import SquareAdapter
from bridge.server import WebhookServer
from bridge.store import Store
from sandbox.seed import generate_catalog
from sandbox.square import SquareEmulator
from sandbox.square.auth import webhook_signature

OUR_EVENTS = ["catalog.version.updated", "inventory.count.updated", "order.created", "order.updated"]


def send(em: SquareEmulator, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(
        method,
        em.base_url + path,
        json=body,
        headers={"Authorization": f"Bearer {em.access_token}", "Square-Version": "2025-08-20"},
        timeout=10,
    )


def create(em: SquareEmulator, url: str, events: list[str], key: str = "k-1") -> dict[str, Any]:
    body = {
        "idempotency_key": key,
        "subscription": {"name": "shopbridge", "event_types": events, "notification_url": url},
    }
    answer = send(em, "POST", "/v2/webhooks/subscriptions", body)
    assert answer.status_code == 200, answer.text
    sub: dict[str, Any] = answer.json()["subscription"]
    return sub


def test_create_answers_a_signature_key_that_list_and_update_never_show(emulator: SquareEmulator) -> None:
    sub = create(emulator, "https://shop.example.com/webhooks/square", OUR_EVENTS)
    assert sub["enabled"] is True and sub["signature_key"] and sub["id"].startswith("wbhk_")
    assert sorted(sub["event_types"]) == sorted(OUR_EVENTS)
    [listed] = call(emulator, "GET", "/v2/webhooks/subscriptions")["subscriptions"]
    assert listed["id"] == sub["id"] and "signature_key" not in listed
    updated = call(
        emulator, "PUT", f"/v2/webhooks/subscriptions/{sub['id']}", {"subscription": {"name": "renamed"}}
    )
    assert updated["subscription"]["name"] == "renamed" and "signature_key" not in updated["subscription"]
    # The same idempotency key and body replays the first answer: one subscription, the same key.
    again = create(emulator, "https://shop.example.com/webhooks/square", OUR_EVENTS)
    assert again == sub
    assert len(call(emulator, "GET", "/v2/webhooks/subscriptions")["subscriptions"]) == 1


@pytest.mark.parametrize(
    ("subscription", "key", "code", "field"),
    [
        (
            {
                "event_types": ["inventory.count.updated", "stock.moved"],
                "notification_url": "https://x.example/h",
            },
            "a",
            "INVALID_VALUE",
            "subscription.event_types",
        ),
        (
            {"event_types": ["order.created"], "notification_url": "http://shop.example.com/h"},
            "b",
            "INVALID_VALUE",
            "subscription.notification_url",
        ),
        (
            {"event_types": ["order.created"]},
            "c",
            "MISSING_REQUIRED_PARAMETER",
            "subscription.notification_url",
        ),
        (
            {"event_types": ["order.created"], "notification_url": "https://x.example/h"},
            "k" * 46,
            "VALUE_TOO_LONG",
            "idempotency_key",
        ),
    ],
)
def test_invalid_subscriptions_are_refused_as_square_does(
    emulator: SquareEmulator, subscription: dict[str, Any], key: str, code: str, field: str
) -> None:
    answer = send(
        emulator, "POST", "/v2/webhooks/subscriptions", {"idempotency_key": key, "subscription": subscription}
    )
    assert answer.status_code == 400
    [error] = answer.json()["errors"]
    assert (error["category"], error["code"], error["field"]) == ("INVALID_REQUEST_ERROR", code, field)
    assert "subscriptions" not in call(emulator, "GET", "/v2/webhooks/subscriptions")


def test_plain_http_is_accepted_for_loopback_only(emulator: SquareEmulator) -> None:
    assert create(emulator, "http://127.0.0.1:8787/webhooks/square", ["order.created"])["enabled"] is True
    assert send(emulator, "GET", "/v2/webhooks/subscriptions/wbhk_nope").status_code == 404


def test_the_spec_request_examples_are_accepted(emulator: SquareEmulator) -> None:
    schemas = spec()["components"]["schemas"]
    example = copy.deepcopy(schemas[request_schema_name("CreateWebhookSubscription")]["example"])
    created = send(emulator, "POST", "/v2/webhooks/subscriptions", example)
    assert created.status_code == 200, created.text
    sub_id = created.json()["subscription"]["id"]
    for method, suffix, operation in (
        ("PUT", "", "UpdateWebhookSubscription"),
        ("POST", "/signature-key", "UpdateWebhookSubscriptionSignatureKey"),
    ):
        body = schemas[request_schema_name(operation)]["example"]
        answer = send(emulator, method, f"/v2/webhooks/subscriptions/{sub_id}{suffix}", body)
        assert answer.status_code == 200, (operation, answer.text)
    assert (
        send(emulator, "GET", f"/v2/webhooks/subscriptions/{sub_id}").json()["subscription"]["enabled"]
        is False
    )
    types = send(emulator, "GET", "/v2/webhooks/event-types").json()["event_types"]
    assert set(OUR_EVENTS) <= set(types) and "customer.created" in types
    assert send(emulator, "DELETE", f"/v2/webhooks/subscriptions/{sub_id}").json() == {}
    assert send(emulator, "GET", f"/v2/webhooks/subscriptions/{sub_id}").status_code == 404


def test_deliveries_follow_the_subscription_through_disable_and_key_rotation(
    emulator: SquareEmulator, receiver: Receiver
) -> None:
    var = next(iter(emulator.seed(generate_catalog(2), locations=1).values()))
    sub = create(emulator, receiver.url, ["order.created"])
    path = f"/v2/webhooks/subscriptions/{sub['id']}"
    call(emulator, "PUT", path, {"subscription": {"enabled": False}})
    emulator.simulate_sale(var, 1)
    assert "subscriptions" not in call(emulator, "GET", "/v2/webhooks/subscriptions")
    assert (
        len(call(emulator, "GET", "/v2/webhooks/subscriptions?include_disabled=true")["subscriptions"]) == 1
    )
    call(emulator, "PUT", path, {"subscription": {"enabled": True}})
    new_key = call(emulator, "POST", f"{path}/signature-key", {"idempotency_key": "rotate-1"})[
        "signature_key"
    ]
    assert new_key != sub["signature_key"]
    emulator.simulate_sale(var, 1)
    wait_for(lambda: len(receiver.deliveries) >= 1)
    emulator.webhooks.flush()
    [(headers, body)] = receiver.deliveries  # the sale while disabled was not sent
    assert headers["x-square-hmacsha256-signature"] == webhook_signature(new_key, receiver.url, body)
    assert headers["square-subscription-id"] == sub["id"]


def test_a_subscription_made_over_http_is_delivered_to_the_daemon_receiver(
    emulator: SquareEmulator, store: Store
) -> None:
    var = next(iter(emulator.seed(generate_catalog(2), locations=1).values()))
    server = WebhookServer(store, {}, port=0).start()
    try:
        url = server.notification_url("square")
        sub = create(emulator, url, ["inventory.count.updated", "order.created"])
        server.adapters["square"] = SquareAdapter(
            emulator.access_token, base_url=emulator.base_url, signature_key=sub["signature_key"]
        )
        test = call(
            emulator, "POST", f"/v2/webhooks/subscriptions/{sub['id']}/test", {"event_type": "order.created"}
        )
        assert test["subscription_test_result"]["status_code"] == 200
        emulator.simulate_sale(var, 1)
        call(emulator, "POST", "/v2/customers", {"given_name": "Not subscribed"})
        wait_for(lambda: len(store.inbox_pending()) >= 3)
        emulator.webhooks.flush()
        topics = sorted(row["topic"] for row in store.inbox_pending())
        assert topics == ["inventory.count.updated", "order.created", "order.created"]
        assert all(status == 200 for _, status in emulator.webhooks.delivered)
    finally:
        server.stop()
