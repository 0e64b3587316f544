"""The shop's side of the demo: customers, staff and the owner acting on the channels' public APIs.

Everything here is what a real shop does through WooCommerce's REST API and Square's API (a
checkout, a refund, an edit in wp-admin, a sale and a stock count at the till); nothing reaches
into the emulators' memory or into shopbridge. Each call returns once the channel acknowledged it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import requests

__all__ = ["ShopFront", "Till", "WebOrder"]

WOO_API = "/wp-json/wc/v3"
TIMEOUT = 10.0


class ShopActionFailed(RuntimeError):
    """A channel refused one of the demo's actions (it would refuse a real shop's the same way)."""


def _answer(response: requests.Response, what: str) -> Any:
    if response.status_code >= 300:
        raise ShopActionFailed(f"{what}: HTTP {response.status_code}: {response.text[:200]}")
    return response.json()


@dataclass(frozen=True)
class WebOrder:
    order_id: int
    line_id: int
    sku: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class WooProduct:
    product_id: int
    parent_id: int

    @property
    def path(self) -> str:
        if self.parent_id:
            return f"products/{self.parent_id}/variations/{self.product_id}"
        return f"products/{self.product_id}"


class ShopFront:
    """The WooCommerce shop: a customer checking out, the manager refunding and editing prices."""

    def __init__(self, session: requests.Session, url: str) -> None:
        self.session = session
        self.base = url.rstrip("/") + WOO_API

    def sell(self, sku: str, quantity: int) -> WebOrder:
        """A paid checkout (status ``processing``): WooCommerce reduces the stock."""
        body = {
            "status": "processing",
            "set_paid": True,
            "billing": {"email": "shopper@example.com", "first_name": "Demo", "last_name": "Shopper"},
            "line_items": [{"sku": sku, "quantity": quantity}],
        }
        order = _answer(self.session.post(f"{self.base}/orders", json=body, timeout=TIMEOUT), "checkout")
        line = order["line_items"][0]
        return WebOrder(order["id"], line["id"], sku, quantity, Decimal(str(line["price"])))

    def refund(self, order: WebOrder, quantity: int) -> int:
        """The manager refunds ``quantity`` units of the order's line, putting them back in stock."""
        body = {
            "api_restock": True,
            "reason": "returned by the customer",
            "line_items": [
                {"id": order.line_id, "quantity": quantity, "refund_total": str(order.unit_price * quantity)}
            ],
        }
        url = f"{self.base}/orders/{order.order_id}/refunds"
        refund = _answer(self.session.post(url, json=body, timeout=TIMEOUT), "refund")
        return int(refund["id"])

    def set_price(self, product: WooProduct, price: Decimal) -> None:
        """The owner edits the regular price in wp-admin (WooCommerce owns the catalogue here)."""
        url = f"{self.base}/{product.path}"
        _answer(self.session.put(url, json={"regular_price": str(price)}, timeout=TIMEOUT), "price edit")


class Till:
    """Square Point of Sale: a sale at a location and a stock count typed in by staff."""

    def __init__(self, session: requests.Session, base_url: str) -> None:
        self.session = session
        self.base = base_url.rstrip("/") + "/v2"

    def sell(self, variation_id: str, location_id: str, quantity: int) -> str:
        body = {
            "idempotency_key": uuid.uuid4().hex,
            "order": {
                "location_id": location_id,
                "state": "COMPLETED",
                "source": {"name": "Square Point of Sale"},
                "line_items": [{"catalog_object_id": variation_id, "quantity": str(quantity)}],
            },
        }
        order = _answer(self.session.post(f"{self.base}/orders", json=body, timeout=TIMEOUT), "till sale")
        return str(order["order"]["id"])

    def count(self, variation_id: str, location_id: str, quantity: int) -> None:
        """A physical count: Square's count at the location becomes ``quantity``."""
        now = datetime.now(tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        body = {
            "idempotency_key": uuid.uuid4().hex,
            "changes": [
                {
                    "type": "PHYSICAL_COUNT",
                    "physical_count": {
                        "catalog_object_id": variation_id,
                        "location_id": location_id,
                        "state": "IN_STOCK",
                        "quantity": str(quantity),
                        "occurred_at": now,
                    },
                }
            ],
        }
        url = f"{self.base}/inventory/changes/batch-create"
        _answer(self.session.post(url, json=body, timeout=TIMEOUT), "till count")
