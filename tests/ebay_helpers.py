"""Shared pieces of the eBay tests: an emulator whose every answer is checked against eBay's own
contracts (trimmed copies in tests/data/ebay, origin and licence in tests/data/README.md), the
schema validator itself, a token helper and a notification endpoint that answers eBay's challenge.

eBay's schemas declare no ``required`` fields and allow any extra property, so a plain validation
would pass almost anything. The validator here is stricter than the contracts in one way only: an
object that lists ``properties`` may carry no other (``additionalProperties: false``), so a field the
emulator invents or misspells fails the test that produced it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jsonschema
import requests
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from adapters.ebay import EbayAdapter
from adapters.ebay_auth import EbayAuth
from adapters.ebay_client import EbayClient
from adapters.ebay_listing_ends import ZeroQuantity
from adapters.ebay_notifications import challenge_answer
from sandbox.ebay import EbayEmulator, RecordedExchange
from sandbox.seed import SeedProduct, SeedVariant
from tests.recording import recorded_run
from tests.webhook_receiver import Receiver

DATA = Path(__file__).resolve().parent / "data" / "ebay"
CONTRACTS = {
    "urn:ebay-inventory": "sell_inventory.json",
    "urn:ebay-fulfillment": "sell_fulfillment.json",
    "urn:ebay-notification": "commerce_notification.json",
}
DERIVED = {
    "getToken": ("oauth_token.response.schema.json", "oauth_error.response.schema.json"),
}


def _strict(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: _strict(v) for k, v in value.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(value, list):
        return [_strict(v) for v in value]
    return value


@cache
def contract(uri: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / CONTRACTS[uri]).read_text())
    return data


@cache
def _registry() -> Registry:  # type: ignore[type-arg]
    registry: Registry = Registry()  # type: ignore[type-arg]
    for uri in CONTRACTS:
        strict = _strict(copy.deepcopy(contract(uri)))
        registry = registry.with_resource(uri, Resource.from_contents(strict, default_specification=DRAFT4))
    return registry


@cache
def operations() -> dict[str, tuple[str, dict[str, Any]]]:
    """operationId -> (contract uri, operation object)."""
    out = {}
    for uri in CONTRACTS:
        for methods in contract(uri)["paths"].values():
            for op in methods.values():
                if isinstance(op, dict) and "operationId" in op:
                    out[op["operationId"]] = (uri, op)
    return out


def response_schema(operation_id: str) -> dict[str, str]:
    uri, op = operations()[operation_id]
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    return {"$ref": uri + ref}


def error_schema(operation_id: str) -> dict[str, Any]:
    uri = operations()[operation_id][0] if operation_id in operations() else "urn:ebay-inventory"
    return {
        "type": "object",
        "required": ["errors"],
        "additionalProperties": False,
        "properties": {
            "errors": {"type": "array", "minItems": 1, "items": {"$ref": f"{uri}#/components/schemas/Error"}}
        },
    }


def derived(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "derived-from-docs" / name).read_text())
    return data


def validate(instance: Any, schema: dict[str, Any]) -> None:
    jsonschema.Draft4Validator(schema, registry=_registry()).validate(instance)


def validate_exchange(exchange: RecordedExchange) -> None:
    """A 200/207 body against the operation's response schema, an error body against ``{"errors":
    [Error]}`` of its contract; the token endpoint against the schemas written from eBay's docs."""
    if exchange.operation_id in DERIVED:
        good, bad = DERIVED[exchange.operation_id]
        validate(exchange.body, derived(good if exchange.status == 200 else bad))
    elif exchange.status == 204:
        assert exchange.body is None, f"{exchange.operation_id}: 204 No Content with a body"
        assert "204" in operations()[exchange.operation_id][1]["responses"], exchange.operation_id
    elif exchange.status in (200, 207):
        validate(exchange.body, response_schema(exchange.operation_id))
    else:
        validate(exchange.body, error_schema(exchange.operation_id))


def check_recorded(emulator: EbayEmulator) -> set[tuple[str, int]]:
    """Validate every recorded answer; the (operation, status) pairs seen."""
    seen = set()
    for exchange in list(emulator.recorded or []):
        try:
            validate_exchange(exchange)
        except jsonschema.ValidationError as exc:
            raise AssertionError(
                f"{exchange.method} {exchange.path} ({exchange.operation_id}) -> {exchange.status} "
                f"does not match the contract: {exc.message} at {list(exc.absolute_path)}"
            ) from exc
        seen.add((exchange.operation_id, exchange.status))
    return seen


def running_emulator(**kwargs: Any) -> Iterator[EbayEmulator]:
    """(Fixture body) A running emulator; every answer is checked against the contracts at teardown."""
    yield from recorded_run(EbayEmulator(retry_schedule=(0.05, 0.1), **kwargs), check_recorded)


def catalogue(count: int = 3, stock: int = 10) -> list[SeedProduct]:
    return [
        SeedProduct(f"Mug {n}", (SeedVariant(f"MUG-{n:03d}", price=Decimal("14.99"), stock=stock),))
        for n in range(count)
    ]


def user_token(em: EbayEmulator) -> str:
    """An access token through the refresh-token grant, as the adapter gets one."""
    answer = requests.post(
        em.base_url + "/identity/v1/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": em.issue_refresh_token()},
        auth=(em.client_id, em.client_secret),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


class Api:
    """Direct calls to the emulator with a user token (as another app of the seller would make)."""

    def __init__(self, em: EbayEmulator) -> None:
        self.em = em
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {user_token(em)}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.em.base_url + path, params=params, timeout=10)

    def post(self, path: str, body: Any) -> requests.Response:
        return self.session.post(self.em.base_url + path, json=body, timeout=10)


@dataclass
class NotificationEndpoint(Receiver):
    """A loopback endpoint as the adapter's receiver will be: answers the challenge with the
    adapter's :func:`challenge_answer` (so the emulator's check tests it), records POSTs."""

    verification_token: str = "shopbridge-verification-token-0123456789abcdef"
    path: str = "/webhooks/ebay"
    answer_wrong: bool = False

    def __post_init__(self) -> None:
        self.answer_get = self._challenge

    def _challenge(self, query: str) -> bytes:
        code = parse_qs(query).get("challenge_code", [""])[0]
        token = self.verification_token + ("x" if self.answer_wrong else "")
        return json.dumps(challenge_answer(code, token, self.url)).encode()

    @property
    def posts(self) -> list[tuple[dict[str, str], bytes]]:
        """Every notification received: headers (lower-cased) and raw body."""
        with self.lock:
            return list(self.deliveries)


def ebay_adapter(
    em: EbayEmulator,
    *,
    sync_price: bool = False,
    max_attempts: int = 5,
    listed_caps: dict[str, int] | None = None,
    zero_quantity: ZeroQuantity = "auto",
) -> EbayAdapter:
    """The adapter as ``[channels.ebay]`` builds it, against the emulator, with a fresh consent."""
    root = em.base_url
    auth = EbayAuth(root, em.client_id, em.client_secret, em.issue_refresh_token(), timeout=10)
    client = EbayClient(root, auth, timeout=10, max_attempts=max_attempts, backoff=0.01, backoff_cap=0.05)
    return EbayAdapter(client, sync_price=sync_price, listed_caps=listed_caps, zero_quantity=zero_quantity)
