"""eBay in the channel contract: the eBay emulator and adapter (see harness.py).

eBay never takes new products from us (``creates_products`` False): the contract's create cases
are skipped for it. A product with variations is an inventory item group there (one
multi-variation listing), read back as one product.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from adapters.base import ChannelAdapter
from adapters.ebay import EbayAdapter
from adapters.ebay_auth import EbayAuth
from adapters.ebay_client import EbayClient
from sandbox.ebay import EbayEmulator
from sandbox.http import FaultRule
from sandbox.seed import SeedProduct, SeedVariant
from tests.contract.harness import ChannelHarness, Delivery, EmulatorBeside, wait_until
from tests.ebay_helpers import NotificationEndpoint, check_recorded

__all__ = ["HARNESS", "EbayHarness"]

_PROBE = SeedProduct("Webhook Probe", (SeedVariant("HOOK-PROBE", Decimal("1.00"), stock=5),))


class EbayHarness(EmulatorBeside):
    """A fresh :class:`EbayEmulator` per test (every answer checked against eBay's contracts at
    the end), driven in its state where Seller Hub or a buyer would act."""

    name = "ebay"
    catalog_read_path = r"/inventory_item$"
    create_path = r"/bulk_update_price_quantity$"
    known_violations: Mapping[str, str] = {}

    def __init__(self) -> None:
        self.emulator = EbayEmulator(retry_schedule=(0.05, 0.1))
        self.emulator.recorded = []
        self.receiver = NotificationEndpoint()
        self._refresh_token: str | None = None

    def stop(self) -> None:
        super().stop()
        check_recorded(self.emulator)

    def adapter(self, *, max_attempts: int = 5, valid_credentials: bool = True) -> ChannelAdapter:
        if self._refresh_token is None:
            self._refresh_token = self.emulator.issue_refresh_token()
        secret = self.emulator.client_secret if valid_credentials else "PRD-wrong"
        root = self.emulator.base_url
        auth = EbayAuth(root, self.emulator.client_id, secret, self._refresh_token, timeout=10)
        client = EbayClient(root, auth, timeout=10, max_attempts=max_attempts)
        return EbayAdapter(client, sync_price=True)  # prices on: the fields eBay can hold are written

    def seed(self, products: Sequence[SeedProduct]) -> None:
        self.emulator.seed(products)

    def reprice(self, sku: str, price: Decimal) -> None:
        self.emulator.reprice(sku, price)

    def sell(self, sku: str, quantity: int) -> None:
        self.emulator.buy(sku, quantity)

    def delete(self, product_id: str) -> None:
        self.emulator.end_listing(product_id)

    def corrupt(self, sku: str) -> str:
        def rewrite(body: Any) -> Any:
            for item in body.get("inventoryItems") or []:
                if item.get("sku") == sku:
                    item["availability"]["shipToLocationAvailability"]["quantity"] = "abc"
            return body

        self.faults.add(FaultRule(kind="rewrite", path=self.catalog_read_path, times=None, rewrite=rewrite))
        return "availability.shipToLocationAvailability.quantity"

    def signed_delivery(self) -> Delivery:
        self.emulator.add_destination(self.receiver.url, self.receiver.verification_token)
        self.emulator.seed([_PROBE])
        self.emulator.buy("HOOK-PROBE", 1)  # eBay announces the order (ORDER_CONFIRMATION)
        wait_until(lambda: bool(self.receiver.posts), "a signed notification")
        headers, body = self.receiver.posts[0]
        return Delivery(headers, body, self.receiver.url)


HARNESS: type[ChannelHarness] = EbayHarness
