"""WooCommerce in the channel contract: the WooCommerce emulator and adapter (see harness.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from adapters.base import ChannelAdapter
from adapters.woocommerce import WooCommerceAdapter
from sandbox.http import FaultRule
from sandbox.seed import SeedProduct, SeedVariant
from sandbox.woocommerce import WooCommerceEmulator
from tests.contract.harness import ChannelHarness, Delivery, EmulatorBeside, wait_until
from tests.webhook_receiver import Receiver
from tests.woo_helpers import woo_rest

__all__ = ["HARNESS", "WooCommerceHarness"]

_PROBE = SeedProduct("Webhook Probe", (SeedVariant("HOOK-PROBE", Decimal("1.00"), stock=1),))


class WooCommerceHarness(EmulatorBeside):
    """A fresh :class:`WooCommerceEmulator` per test, driven over its REST API where a shop owner
    or a customer would act (orders, trash), straight in its state where wp-admin would."""

    name = "woocommerce"
    catalog_read_path = r"/wc/v3/products$"
    create_path = r"/wc/v3/products/batch$"
    known_violations: Mapping[str, str] = {}

    def __init__(self) -> None:
        self.emulator = WooCommerceEmulator()
        self.receiver = Receiver()

    def adapter(self, *, max_attempts: int = 5, valid_credentials: bool = True) -> ChannelAdapter:
        info = self.emulator.connection_info()
        secret = info["consumer_secret"] if valid_credentials else "cs_wrong"
        return WooCommerceAdapter(
            info["url"], info["consumer_key"], secret, info["webhook_secret"], max_attempts=max_attempts
        )

    def _rest(self, method: str, path: str, body: Any = None) -> Any:
        return woo_rest(self.emulator, method, path, body)

    def seed(self, products: Sequence[SeedProduct]) -> None:
        self.emulator.seed(products)

    def reprice(self, sku: str, price: Decimal) -> None:
        held = self.emulator.product_by_sku(sku)
        if held.get("parent_id"):
            self._rest(
                "PUT", f"products/{held['parent_id']}/variations/{held['id']}", {"regular_price": str(price)}
            )
        else:
            self._rest("PUT", f"products/{held['id']}", {"regular_price": str(price)})

    def sell(self, sku: str, quantity: int) -> None:
        self.emulator.simulate_sale([(sku, quantity)])

    def delete(self, product_id: str) -> None:
        self._rest("DELETE", f"products/{product_id}")  # no force: to the trash, as wp-admin does

    def corrupt(self, sku: str) -> str:
        def rewrite(items: Any) -> Any:
            for item in items if isinstance(items, list) else ():
                if item.get("sku") == sku:
                    item["stock_quantity"] = "abc"
            return items

        listings = r"/wc/v3/(products|variations|products/\d+/variations)$"
        self.faults.add(FaultRule(kind="rewrite", path=listings, times=None, rewrite=rewrite))
        return "stock_quantity"

    # -- customers -----------------------------------------------------------------------------

    customer_create_path = r"/wc/v3/customers$"

    def watch_customers(self) -> None:
        for topic in ("customer.created", "customer.updated", "customer.deleted"):
            hook = {"topic": topic, "delivery_url": self.receiver.url, "secret": self.emulator.webhook_secret}
            self._rest("POST", "webhooks", hook)

    def add_customer(self, email: str, given_name: str, phone: str = "") -> str:
        return str(self.emulator.add_customer(email, given_name, phone=phone))

    def edit_customer(self, customer_id: str, given_name: str) -> None:
        self.emulator.advance(2)  # a later second than the last read (dates to the second)
        self._rest("PUT", f"customers/{customer_id}", {"first_name": given_name})

    def delete_customer(self, customer_id: str) -> None:
        woo_rest(self.emulator, "DELETE", f"customers/{customer_id}", params={"force": "true"})

    def sell_to(self, customer_id: str, sku: str, quantity: int) -> None:
        email = self.emulator.customers[int(customer_id)]["email"]
        self.emulator.simulate_sale([(sku, quantity)], email=email, customer_id=int(customer_id))

    def corrupt_customer(self, customer_id: str) -> str:
        def rewrite(items: Any) -> Any:
            for item in items if isinstance(items, list) else ():
                if str(item.get("id")) == customer_id:
                    item["email"] = 42
            return items

        self.faults.add(FaultRule(kind="rewrite", path=r"/wc/v3/customers$", times=None, rewrite=rewrite))
        return "email"

    def customer_deliveries(self) -> list[Delivery]:
        signed = [(h, b) for h, b in list(self.receiver.deliveries) if "x-wc-webhook-signature" in h]
        return [Delivery(h, b, self.receiver.url) for h, b in signed]

    def signed_delivery(self) -> Delivery:
        self.emulator.seed([_PROBE])
        self._rest(
            "POST",
            "webhooks",
            {
                "topic": "product.updated",
                "delivery_url": self.receiver.url,
                "secret": self.emulator.webhook_secret,
            },
        )
        self.emulator.manual_stock_edit("HOOK-PROBE", 5)

        def signed() -> list[tuple[dict[str, str], bytes]]:  # the ping on creation is not signed
            return [(h, b) for h, b in self.receiver.deliveries if "x-wc-webhook-signature" in h]

        wait_until(lambda: bool(signed()), "a signed product.updated delivery")
        headers, body = signed()[0]
        return Delivery(headers, body, self.receiver.url)


HARNESS: type[ChannelHarness] = WooCommerceHarness
