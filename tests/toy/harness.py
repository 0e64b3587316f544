"""The toy channel in the channel contract (see tests/contract/harness.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from adapters.base import ChannelAdapter
from sandbox.http import FaultRule
from sandbox.seed import SeedProduct
from tests.contract.harness import ChannelHarness, Delivery, EmulatorBeside, wait_until
from tests.toy.adapter import ToyAdapter
from tests.toy.emulator import ToyEmulator
from tests.webhook_receiver import Receiver


class ToyHarness(EmulatorBeside):
    """A fresh :class:`ToyEmulator` per test, driven in its state as its owner's tools would."""

    name = "toy"
    catalog_read_path = r"/api/products$"
    create_path = r"/api/products$"
    known_violations: Mapping[str, str] = {}

    def __init__(self) -> None:
        self.emulator = ToyEmulator()
        self.receiver = Receiver()

    def adapter(self, *, max_attempts: int = 5, valid_credentials: bool = True) -> ChannelAdapter:
        token = self.emulator.token if valid_credentials else "toy_wrong"
        return ToyAdapter(self.emulator.url, token, self.emulator.webhook_secret, max_attempts=max_attempts)

    def seed(self, products: Sequence[SeedProduct]) -> None:
        self.emulator.seed(products)

    def reprice(self, sku: str, price: Decimal) -> None:
        self.emulator.reprice(sku, price)

    def sell(self, sku: str, quantity: int) -> None:
        self.emulator.sell(sku, quantity)

    def delete(self, product_id: str) -> None:
        self.emulator.delete(product_id)

    def corrupt(self, sku: str) -> str:
        def rewrite(body: Any) -> Any:
            for product in body.get("products") or []:
                for variant in product.get("variants") or []:
                    if variant.get("sku") == sku:
                        variant["stock"] = "abc"
            return body

        self.faults.add(FaultRule(kind="rewrite", path=self.catalog_read_path, times=None, rewrite=rewrite))
        return "stock"

    def signed_delivery(self) -> Delivery:
        self.emulator.subscribers.append(self.receiver.url)
        self.emulator.seed([SeedProduct("Webhook Probe", ())])
        wait_until(lambda: bool(self.receiver.deliveries), "a signed delivery")
        headers, body = self.receiver.deliveries[0]
        return Delivery(headers, body, self.receiver.url)


HARNESS: type[ChannelHarness] = ToyHarness
