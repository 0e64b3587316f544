"""``shopbridge webhooks register`` as a user runs it, against the Square emulator: it creates the
subscription through Square's Webhook Subscriptions API, keeps the signature key in a 0600 file
(never printed), and a sale is then delivered, signed with that key, to the receiver the daemon
runs, which accepts it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from square_helpers import (
    call,
    make_adapter,
    square_emulator,  # noqa: F401 - the emulator fixture
    wait_for,
)

from adapters.square_webhooks import SQUARE_WEBHOOK_EVENTS
from bridge.channels import build_adapters
from bridge.config import load_config
from bridge.server import WebhookServer
from bridge.store import Store
from sandbox.seed import generate_catalog
from sandbox.square import SquareEmulator
from tests.conftest import RunCli


@pytest.fixture
def receiver(store: Store) -> Iterator[WebhookServer]:
    server = WebhookServer(store, {}, port=0).start()
    yield server
    server.stop()


def write_config(tmp_path: Path, em: SquareEmulator, public_url: str, key_ref: str) -> Path:
    path = tmp_path / "shopbridge.toml"
    path.write_text(
        f'[server]\npublic_url = "{public_url}"\n\n'
        f'[channels.square]\nenvironment = "custom"\nbase_url = "{em.base_url}"\n'
        f'access_token = {{ value = "{em.access_token}" }}\n{key_ref}'
    )
    return path


def subscriptions(em: SquareEmulator) -> list[dict[str, object]]:
    found: list[dict[str, object]] = call(em, "GET", "/v2/webhooks/subscriptions").get("subscriptions", [])
    return found


def test_register_creates_the_subscription_and_a_sale_then_reaches_the_receiver(
    tmp_path: Path, run_cli: RunCli, emulator: SquareEmulator, receiver: WebhookServer, store: Store
) -> None:
    var = next(iter(emulator.seed(generate_catalog(2), locations=1).values()))
    config = write_config(tmp_path, emulator, receiver.url, 'signature_key = { file = "sq.key" }\n')
    first = run_cli("webhooks", "register")
    assert first.returncode == 0, first.stdout + first.stderr
    [sub] = subscriptions(emulator)
    url = receiver.notification_url("square")
    assert sub["notification_url"] == url and sorted(sub["event_types"]) == sorted(SQUARE_WEBHOOK_EVENTS)  # type: ignore[arg-type]
    assert f"square: created webhook subscription {sub['id']}" in first.stdout
    key = (tmp_path / "sq.key").read_text().strip()
    assert (tmp_path / "sq.key").stat().st_mode & 0o777 == 0o600
    assert key and key not in first.stdout + first.stderr
    assert emulator.subscriptions[0].signature_key == key
    # Again: the same subscription, found by its URL, not a second one.
    again = run_cli("webhooks", "register")
    assert again.returncode == 0, again.stderr
    assert "unchanged webhook subscription" in again.stdout and len(subscriptions(emulator)) == 1
    # The daemon's receiver, configured from that file, accepts the signed delivery of a sale.
    receiver.adapters = build_adapters(load_config(config))
    emulator.simulate_sale(var, 1)
    wait_for(lambda: any(row["topic"] == "inventory.count.updated" for row in store.inbox_pending()))
    emulator.webhooks.flush()
    assert all(status == 200 for _, status in emulator.webhooks.delivered)


def test_without_a_file_reference_register_says_what_to_put_in_the_config(
    tmp_path: Path, run_cli: RunCli, emulator: SquareEmulator
) -> None:
    write_config(
        tmp_path, emulator, "http://127.0.0.1:8787", 'signature_key = { env = "SQ_SIGNATURE_KEY" }\n'
    )
    result = run_cli("webhooks", "register")  # the env var is not set yet: the key is coming
    assert result.returncode == 0, result.stdout + result.stderr
    key_file = tmp_path / "square-signature-key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert 'put in [channels.square]: signature_key = { file = "square-signature-key" }' in result.stdout
    assert key_file.read_text().strip() not in result.stdout + result.stderr


def test_a_subscription_square_refuses_is_reported_not_a_traceback(
    tmp_path: Path, run_cli: RunCli, emulator: SquareEmulator
) -> None:
    write_config(tmp_path, emulator, "http://sync.example.com", "")
    result = run_cli("webhooks", "register")
    assert result.returncode == 1
    assert "square:" in result.stderr and "HTTPS" in result.stderr and "Traceback" not in result.stderr
    assert subscriptions(emulator) == []


def test_the_adapter_repairs_our_subscription_and_never_revives_a_deleted_one(
    emulator: SquareEmulator,
) -> None:
    adapter = make_adapter(emulator)
    url = "https://sync.example.com/webhooks/square"
    made = adapter.ensure_webhook_subscription(url)
    assert made.action == "created" and made.signature_key
    call(
        emulator,
        "PUT",
        f"/v2/webhooks/subscriptions/{made.subscription_id}",
        {"subscription": {"enabled": False, "event_types": ["order.created"]}},
    )
    repaired = adapter.ensure_webhook_subscription(url)
    assert (repaired.action, repaired.subscription_id) == ("updated", made.subscription_id)
    assert repaired.signature_key == made.signature_key
    [sub] = subscriptions(emulator)
    assert sub["enabled"] is True and set(SQUARE_WEBHOOK_EVENTS) <= set(sub["event_types"])  # type: ignore[call-overload]
    call(emulator, "DELETE", f"/v2/webhooks/subscriptions/{made.subscription_id}")
    remade = adapter.ensure_webhook_subscription(url)  # the first key would replay the deleted one
    assert remade.action == "created" and remade.subscription_id != made.subscription_id
    assert [s["id"] for s in subscriptions(emulator)] == [remade.subscription_id]
