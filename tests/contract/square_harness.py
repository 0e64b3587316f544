"""Square in the channel contract: the Square emulator and adapter (see harness.py).

Two locations, so that a stock write or a sale at one is seen not to leak into the other. Every
answer the emulator gave during a test is checked against Square's OpenAPI spec when it stops.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import requests

from adapters.base import ChannelAdapter
from adapters.square import SquareAdapter
from sandbox.http import FaultInjector, FaultRule
from sandbox.seed import SeedProduct
from sandbox.square import SquareEmulator
from tests.contract.harness import ChannelHarness, Delivery, wait_until
from tests.square_helpers import check_recorded
from tests.webhook_receiver import Receiver

__all__ = ["HARNESS", "SquareHarness"]


class SquareHarness:
    """A fresh :class:`SquareEmulator` per test, driven over its API as the Dashboard and the till
    would (deletes, sales, counts)."""

    name = "square"
    catalog_read_path = r"/v2/catalog/search$"
    create_path = r"/v2/catalog/batch-upsert$"
    known_violations: Mapping[str, str] = {}

    def __init__(self) -> None:
        self.emulator = SquareEmulator(retry_schedule=(0.05, 0.1))
        self.emulator.recorded = []
        self.receiver = Receiver()

    def start(self) -> None:
        self.emulator.start()
        self.receiver.start()
        self.emulator.add_locations(["Shop", "Market Stall"])
        self.emulator.subscribe(self.receiver.url)

    def stop(self) -> None:
        self.receiver.stop()
        self.emulator.stop()
        check_recorded(self.emulator)

    @property
    def faults(self) -> FaultInjector:
        return self.emulator.server.faults

    def adapter(self, *, max_attempts: int = 5, valid_credentials: bool = True) -> ChannelAdapter:
        info = self.emulator.connection_info()
        return SquareAdapter(
            info["access_token"] if valid_credentials else "EAAAwrong",
            base_url=info["base_url"],
            signature_key=info["signature_key"],
            notification_url=self.receiver.url,
            location_ids=info["location_ids"],
            max_attempts=max_attempts,
        )

    def _api(self, method: str, path: str, body: Any = None) -> Any:
        answer = requests.request(
            method,
            self.emulator.base_url + path,
            json=body,
            headers={"Authorization": f"Bearer {self.emulator.access_token}"},
            timeout=10,
        )
        answer.raise_for_status()
        return answer.json()

    def _variation_id(self, sku: str) -> str:
        variation = self.emulator.variation_by_sku(sku)
        assert variation is not None, f"no Square variation with SKU {sku}"
        return str(variation["id"])

    def seed(self, products: Sequence[SeedProduct]) -> None:
        self.emulator.seed(products)

    def reprice(self, sku: str, price: Decimal) -> None:
        variation = self.emulator.variation_by_sku(sku)
        assert variation is not None, f"no Square variation with SKU {sku}"
        money = variation["item_variation_data"]["price_money"]
        money["amount"] = int(price * 100)
        self._api(
            "POST",
            "/v2/catalog/batch-upsert",
            {"idempotency_key": uuid.uuid4().hex, "batches": [{"objects": [variation]}]},
        )

    def sell(self, sku: str, quantity: int) -> None:
        self.emulator.simulate_sale(self._variation_id(sku), quantity)

    def delete(self, product_id: str) -> None:
        self._api("DELETE", f"/v2/catalog/object/{product_id}")  # the item and its variations

    def corrupt(self, sku: str) -> str:
        def rewrite(body: Any) -> Any:
            for obj in body.get("objects") or []:
                for variation in (obj.get("item_data") or {}).get("variations") or []:
                    if (variation.get("item_variation_data") or {}).get("sku") == sku:
                        variation.pop("id", None)
            return body

        self.faults.add(FaultRule(kind="rewrite", path=self.catalog_read_path, times=None, rewrite=rewrite))
        return "id"

    # -- customers -----------------------------------------------------------------------------

    customer_create_path = r"/v2/customers$"

    def watch_customers(self) -> None:
        """Subscribed to every event from the start."""

    def add_customer(self, email: str, given_name: str, phone: str = "") -> str:
        body = {
            "given_name": given_name,
            "email_address": email,
            **({"phone_number": phone} if phone else {}),
        }
        return str(self._api("POST", "/v2/customers", body)["customer"]["id"])

    def edit_customer(self, customer_id: str, given_name: str) -> None:
        version = self._api("GET", f"/v2/customers/{customer_id}")["customer"]["version"]
        self._api("PUT", f"/v2/customers/{customer_id}", {"given_name": given_name, "version": version})

    def delete_customer(self, customer_id: str) -> None:
        self._api("DELETE", f"/v2/customers/{customer_id}")

    def sell_to(self, customer_id: str, sku: str, quantity: int) -> None:
        self.emulator.simulate_sale(self._variation_id(sku), quantity, customer_id=customer_id)

    def corrupt_customer(self, customer_id: str) -> str:
        def rewrite(body: Any) -> Any:
            for customer in body.get("customers") or []:
                if customer.get("id") == customer_id:
                    customer["email_address"] = 42
            return body

        self.faults.add(FaultRule(kind="rewrite", path=r"/v2/customers/search$", times=None, rewrite=rewrite))
        return "email_address"

    def customer_deliveries(self) -> list[Delivery]:
        return [Delivery(h, b, self.receiver.url) for h, b in list(self.receiver.deliveries)]

    def signed_delivery(self) -> Delivery:
        self._api(
            "POST",
            "/v2/customers",
            {"given_name": "Webhook", "family_name": "Probe", "email_address": "probe@example.com"},
        )
        wait_until(lambda: bool(self.receiver.deliveries), "a signed delivery")
        headers, body = self.receiver.deliveries[0]
        return Delivery(headers, body, self.receiver.url)


HARNESS: type[ChannelHarness] = SquareHarness
