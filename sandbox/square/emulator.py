"""The Square emulator itself: state, routes and authentication on a loopback server, plus the
test API (seeding, POS sales, staff counts).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal

import requests

from sandbox.http import EmulatorServer, Router
from sandbox.seed import SeedProduct, SeedVariant
from sandbox.square.auth import SquareAuth
from sandbox.square.errors import square_error_body
from sandbox.square.routes import SquareRoutes
from sandbox.square.wire import JSON, fmt_ms, fmt_qty, new_id


class SquareEmulator(SquareRoutes, SquareAuth):
    """Square ``/v2`` emulator on a loopback port.

    ``SquareEmulator(access_token=..., signature_key=..., retry_schedule=(...))`` then
    :meth:`start` (or use it as a context manager). Seed with :meth:`seed`, point the adapter at
    :meth:`connection_info`, subscribe a receiver with :meth:`subscribe`. ``server.faults`` injects
    faults; ``webhooks.duplicate`` / ``webhooks.hold_back`` switch duplicate and out-of-order
    delivery. Set ``recorded = []`` to keep every response for conformance checks.
    """

    def __init__(
        self,
        *,
        access_token: str | None = None,
        signature_key: str | None = None,
        merchant_id: str = "ML4JYBS1S3B5X",
        retry_schedule: Iterable[float] = (0.2, 0.5, 1.0),
        max_inventory_changes: int = 100,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(
            access_token=access_token,
            signature_key=signature_key,
            merchant_id=merchant_id,
            retry_schedule=retry_schedule,
            max_inventory_changes=max_inventory_changes,
        )
        self.router = Router()
        self._routes()
        self.server = EmulatorServer(
            self.router, error_body=square_error_body, before=self._authenticate, host=host, port=port
        )

    def start(self) -> SquareEmulator:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
        self.webhooks.close()

    def __enter__(self) -> SquareEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def connection_info(self) -> JSON:
        """What an adapter needs: ``base_url`` (host root, no ``/v2``), token, signing key, locations."""
        with self.lock:
            return {
                "base_url": self.base_url,
                "access_token": self.access_token,
                "signature_key": self.signature_key,
                "location_ids": [loc["id"] for loc in self._locations],
            }

    def seed(
        self,
        products: Sequence[SeedProduct],
        locations: int | Sequence[str] = 3,
        *,
        currency: str = "USD",
    ) -> dict[str, str]:
        """Put items, variations and stock straight into state (no HTTP, no webhooks).

        ``locations`` is a number of locations to create when none exist, or explicit names. Each
        variation gets ``stock`` as a physical count at *every* location (``None`` stock: not tracked).
        Returns SKU -> variation id (variations without SKU are left out).
        """
        with self.lock:
            if not self._locations or not isinstance(locations, int):
                names = (
                    [f"Location {n + 1}" for n in range(locations)]
                    if isinstance(locations, int)
                    else list(locations)
                )
                self.add_locations(names)
            loc_ids = [loc["id"] for loc in self._locations]
            now = self._tick()
            stamp = fmt_ms(now)
            # Counts are taken an hour ago, so test changes "in the last hour" land after them.
            counted = now - 3600 * 1000
            counted_stamp = fmt_ms(counted)
            sku_map: dict[str, str] = {}
            for product in products:
                item_id = new_id()
                var_ids: list[str] = []
                for n, variant in enumerate(product.variants):
                    var_id = self._seed_variation(item_id, n, variant, currency, now, stamp)
                    if variant.sku:
                        sku_map[variant.sku] = var_id
                    var_ids.append(var_id)
                    if variant.stock is not None:
                        self._seed_counts(var_id, Decimal(variant.stock), loc_ids, counted, counted_stamp)
                item_data: JSON = {"name": product.name, "product_type": "REGULAR", "is_archived": False}
                if product.description:
                    item_data["description"] = product.description
                    item_data["description_html"] = f"<p>{product.description}</p>"
                self._objects[item_id] = self._envelope("ITEM", item_id, now, stamp) | {
                    "item_data": item_data
                }
                self._children[item_id] = var_ids
            return sku_map

    def _seed_variation(
        self, item_id: str, n: int, variant: SeedVariant, currency: str, now: int, stamp: str
    ) -> str:
        """Store one seeded ITEM_VARIATION (tracked when it has stock); returns its id."""
        var_id = new_id()
        data: JSON = {
            "item_id": item_id,
            "name": " / ".join(variant.options.values()) or "Regular",
            "ordinal": n,
            "pricing_type": "FIXED_PRICING",
            "price_money": {
                "amount": int((variant.price * 100).to_integral_value()),
                "currency": currency,
            },
            "track_inventory": variant.stock is not None,
            "sellable": True,
            "stockable": True,
        }
        if variant.sku:
            data["sku"] = variant.sku
        if variant.gtin:
            data["upc"] = variant.gtin
        self._objects[var_id] = self._envelope("ITEM_VARIATION", var_id, now, stamp) | {
            "item_variation_data": data
        }
        return var_id

    def _seed_counts(
        self, var_id: str, qty: Decimal, loc_ids: list[str], counted: int, counted_stamp: str
    ) -> None:
        """A dashboard PHYSICAL_COUNT of ``qty`` at every location, the only change each count has."""
        for loc_id in loc_ids:
            change = {
                "type": "PHYSICAL_COUNT",
                "physical_count": {
                    "id": new_id(),
                    "catalog_object_id": var_id,
                    "catalog_object_type": "ITEM_VARIATION",
                    "state": "IN_STOCK",
                    "location_id": loc_id,
                    "quantity": fmt_qty(qty),
                    "occurred_at": counted_stamp,
                    "created_at": counted_stamp,
                    "source": {"product": "DASHBOARD", "name": "Seed"},
                },
                "_occurred": counted,
                "_created": counted,
            }
            self._changes.append(change)
            self._changes_by_key[(var_id, loc_id)] = [change]
            self._counts[(var_id, loc_id)] = (qty, counted)

    def count(self, variation_id: str, location_id: str) -> int:
        """The current IN_STOCK count (0 when never counted), read straight from state."""
        with self.lock:
            qty = self._counts.get((variation_id, location_id), (Decimal(0), 0))[0]
            return int(qty)

    def variation_by_sku(self, sku: str) -> JSON | None:
        with self.lock:
            for obj in self._objects.values():
                if obj["type"] == "ITEM_VARIATION" and obj["item_variation_data"].get("sku") == sku:
                    return self._render(obj)
        return None

    def _call(self, method: str, path: str, body: JSON) -> JSON:
        answer = requests.request(
            method,
            self.base_url + path,
            json=body,
            headers={"Authorization": f"Bearer {self.access_token}"},
            timeout=10,
        )
        result: JSON = answer.json()
        if answer.status_code >= 400:
            raise RuntimeError(f"emulator call failed: {answer.status_code} {result}")
        return result

    def simulate_sale(
        self,
        variation_id: str,
        quantity: int = 1,
        *,
        location_id: str | None = None,
        customer_id: str | None = None,
    ) -> JSON:
        """A POS sale: a COMPLETED order created through the API (stock drops by ``quantity``),
        to ``customer_id`` when the till names the customer."""
        loc = location_id or self.location_ids()[0]
        body: JSON = {
            "idempotency_key": uuid.uuid4().hex,
            "order": {
                "location_id": loc,
                "state": "COMPLETED",
                "source": {"name": "Square Point of Sale"},
                "line_items": [{"catalog_object_id": variation_id, "quantity": str(quantity)}],
            },
        }
        if customer_id:
            body["order"]["customer_id"] = customer_id
        order: JSON = self._call("POST", "/v2/orders", body)["order"]
        return order

    def manual_count(
        self,
        variation_id: str,
        quantity: int,
        *,
        location_id: str | None = None,
        occurred_at: str | None = None,
    ) -> JSON:
        """A stock count typed in by staff: a PHYSICAL_COUNT through the API."""
        loc = location_id or self.location_ids()[0]
        body = {
            "idempotency_key": uuid.uuid4().hex,
            "ignore_unchanged_counts": False,
            "changes": [
                {
                    "type": "PHYSICAL_COUNT",
                    "physical_count": {
                        "catalog_object_id": variation_id,
                        "location_id": loc,
                        "state": "IN_STOCK",
                        "quantity": str(quantity),
                        "reference_id": "manual-" + uuid.uuid4().hex[:8],
                        "occurred_at": occurred_at or fmt_ms(int(time.time() * 1000)),
                    },
                }
            ],
        }
        return self._call("POST", "/v2/inventory/changes/batch-create", body)
