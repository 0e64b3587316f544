"""The model-based and soak tests' hands on the two emulators: what a shop front, a shop manager, a till
and its staff do, through each emulator's public REST API (or its documented helpers in
sandbox/), and what each channel shows, read back the same way.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import requests

from sandbox.launch import Sandbox
from tests.stock_model import WooLine, WooOrder

WOO_PREFIX = "/wp-json/wc/v3"


@dataclass(frozen=True)
class WooItem:
    """Where a SKU lives in WooCommerce: its product, and its variation id when it is one."""

    product_id: int
    variation_id: int = 0
    price: Decimal = Decimal(0)

    @property
    def path(self) -> str:
        if self.variation_id:
            return f"/products/{self.product_id}/variations/{self.variation_id}"
        return f"/products/{self.product_id}"


class Channels:
    """Both emulators of a running :class:`Sandbox`, spoken to over HTTP."""

    def __init__(self, box: Sandbox) -> None:
        self.box = box
        self.http = requests.Session()
        wc = box.woocommerce.connection_info()
        self.woo_url = wc["url"] + WOO_PREFIX
        self.woo_auth = (wc["consumer_key"], wc["consumer_secret"])
        self.square_url = box.square.base_url
        self.square_headers = {"Authorization": f"Bearer {box.square.access_token}"}
        self.items = self._woo_items()
        self.variations = self._square_variations()

    def close(self) -> None:
        self.http.close()

    # -- WooCommerce -----------------------------------------------------------------------------

    def woo(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        answer = self.http.request(
            method, self.woo_url + path, json=body, params=params, auth=self.woo_auth, timeout=10
        )
        if answer.status_code >= 400:
            raise AssertionError(f"WooCommerce {method} {path}: {answer.status_code} {answer.text[:300]}")
        return answer.json()

    def _woo_items(self) -> dict[str, WooItem]:
        items: dict[str, WooItem] = {}
        for product in self.woo("GET", "/products", per_page=100):
            if product["type"] == "variable":
                for variation in self.woo("GET", f"/products/{product['id']}/variations", per_page=100):
                    items[variation["sku"]] = WooItem(
                        product["id"], variation["id"], Decimal(variation["price"] or 0)
                    )
            elif product["sku"]:
                items[product["sku"]] = WooItem(product["id"], 0, Decimal(product["price"] or 0))
        return items

    def parent_key(self, sku: str) -> str:
        """The name a parent's pool goes by in the model."""
        return f"pool:{self.items[sku].product_id}"

    def make_pool(self, skus: list[str], quantity: int) -> str:
        """Turn the variations ``skus`` (of one product) into parent-managed stock: the parent manages
        ``quantity``, each variation ``manage_stock: false`` (WooCommerce then reports "parent")."""
        product_id = self.items[skus[0]].product_id
        self.woo("PUT", f"/products/{product_id}", {"manage_stock": True, "stock_quantity": quantity})
        for sku in skus:
            self.woo("PUT", self.items[sku].path, {"manage_stock": False})
        shown = self.woo("GET", self.items[skus[0]].path)
        assert shown["manage_stock"] == "parent", shown["manage_stock"]
        return self.parent_key(skus[0])

    def woo_order(self, lines: list[tuple[str, int]], status: str) -> WooOrder:
        """A checkout (or an order typed in the admin) at ``status``: the model's view of it."""
        body = {
            "status": status,
            "billing": {"email": "shopper@example.com", "first_name": "Model", "last_name": "Test"},
            "line_items": [
                {
                    "product_id": self.items[sku].product_id,
                    **(
                        {"variation_id": self.items[sku].variation_id} if self.items[sku].variation_id else {}
                    ),
                    "quantity": qty,
                }
                for sku, qty in lines
            ],
        }
        order = self.woo("POST", "/orders", body)
        by_position = [
            WooLine(li["id"], sku, qty) for li, (sku, qty) in zip(order["line_items"], lines, strict=True)
        ]
        return WooOrder(order["id"], "pending", by_position)

    def woo_status(self, order_id: int, status: str) -> str:
        return str(self.woo("PUT", f"/orders/{order_id}", {"status": status})["status"])

    def woo_refund(self, order: WooOrder, quantities: dict[int, int], *, restock: bool) -> None:
        """A refund typed in the admin: per line a quantity and its amount, restock ticked or not."""
        prices = {line.line_id: self.items[line.sku].price for line in order.lines}
        lines = [
            {"id": line_id, "quantity": qty, "refund_total": str(prices[line_id] * qty)}
            for line_id, qty in quantities.items()
            if qty > 0
        ]
        body = {"api_restock": restock, "api_refund": False, "line_items": lines, "reason": "model test"}
        self.woo("POST", f"/orders/{order.order_id}/refunds", body)

    def woo_order_status(self, order_id: int) -> str:
        return str(self.woo("GET", f"/orders/{order_id}")["status"])

    def woo_manual(self, sku: str, quantity: int) -> None:
        """A shop manager types a new stock count for ``sku`` (wp-admin saves it through the same API)."""
        self.woo("PUT", self.items[sku].path, {"stock_quantity": quantity})

    def woo_stock(self, owners: list[str]) -> dict[str, int | None]:
        """WooCommerce's ``stock_quantity`` per stock owner (a pool is read on its parent)."""
        out: dict[str, int | None] = {}
        for owner in owners:
            if owner.startswith("pool:"):
                out[owner] = self.woo("GET", f"/products/{owner.removeprefix('pool:')}")["stock_quantity"]
            else:
                out[owner] = self.woo("GET", self.items[owner].path)["stock_quantity"]
        return out

    # -- Square ------------------------------------------------------------------------------------

    def square(self, path: str, body: Any) -> Any:
        answer = self.http.post(self.square_url + path, json=body, headers=self.square_headers, timeout=10)
        if answer.status_code >= 400:
            raise AssertionError(f"Square {path}: {answer.status_code} {answer.text[:300]}")
        return answer.json()

    def _square_variations(self) -> dict[str, str]:
        found = self.square("/v2/catalog/search", {"object_types": ["ITEM_VARIATION"], "limit": 1000})
        return {
            obj["item_variation_data"]["sku"]: obj["id"]
            for obj in found.get("objects", [])
            if obj["item_variation_data"].get("sku")
        }

    def square_sale(self, sku: str, location: str, quantity: int) -> None:
        """A till sale (a COMPLETED order: Square moves IN_STOCK -> SOLD)."""
        self.box.square.simulate_sale(self.variations[sku], quantity, location_id=location)

    def square_adjust(self, sku: str, location: str, quantity: int, from_state: str, to_state: str) -> None:
        """A till or dashboard adjustment (a restocked return, received goods, breakage)."""
        change = {
            "type": "ADJUSTMENT",
            "adjustment": {
                "catalog_object_id": self.variations[sku],
                "location_id": location,
                "from_state": from_state,
                "to_state": to_state,
                "quantity": str(quantity),
                "occurred_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            },
        }
        self.square(
            "/v2/inventory/changes/batch-create", {"idempotency_key": uuid.uuid4().hex, "changes": [change]}
        )

    def square_count(self, sku: str, location: str, quantity: int) -> None:
        """Staff count the shelf (a PHYSICAL_COUNT)."""
        self.box.square.manual_count(self.variations[sku], quantity, location_id=location)

    def square_stock(self, skus: list[str], locations: list[str]) -> dict[tuple[str, str], int]:
        """Square's IN_STOCK count per (SKU, location); a never-counted one is 0."""
        by_id = {self.variations[sku]: sku for sku in skus}
        body: dict[str, Any] = {
            "catalog_object_ids": list(by_id),
            "location_ids": locations,
            "states": ["IN_STOCK"],
        }
        out: dict[tuple[str, str], int] = {}
        while True:
            answer = self.square("/v2/inventory/counts/batch-retrieve", body)
            for count in answer.get("counts", []):
                out[(by_id[count["catalog_object_id"]], count["location_id"])] = int(
                    Decimal(count["quantity"])
                )
            if not answer.get("cursor"):
                return out
            body["cursor"] = answer["cursor"]
