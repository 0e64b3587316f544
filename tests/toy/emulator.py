"""The toy channel's emulator: a small JSON shop API on loopback (tests only).

Deliberately simple, but it behaves as a real channel does where the engine cares: every change
bumps a sequence number that incremental reads start from, a deleted product stays as an
``archived`` tombstone, a sale is an event with an id of its own, stock is one absolute count per
variant (no locations), a create carrying a key it has seen answers as the first time,
and a change is announced by a webhook signed with HMAC-SHA256 over the raw body.

Routes (``Authorization: Bearer <token>``): ``GET /api/me``, ``GET /api/products?since=N``,
``POST /api/products``, ``PUT /api/products/<id>``, ``PUT /api/variants/<id>``, ``GET /api/stock``,
``PUT /api/stock``, ``GET /api/events?since=N``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sandbox.http import EmulatorServer, Request, Response, Router, WebhookDispatcher, json_response
from sandbox.seed import SeedProduct

JSON = dict[str, Any]


def _error(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class ToyEmulator:
    """The toy shop: products with variants, one count per variant, sale events, webhooks."""

    def __init__(self) -> None:
        self.token = "toy_" + secrets.token_hex(8)
        self.webhook_secret = "toyhook_" + secrets.token_hex(8)
        self.lock = threading.RLock()
        self.seq = 0
        self.products: dict[str, JSON] = {}
        self.events: list[JSON] = []
        self.subscribers: list[str] = []
        self._made_by_key: dict[str, str] = {}
        self._ids = 0
        self.webhooks = WebhookDispatcher()
        router = Router()
        router.add("GET", r"/api/me", self._me)
        router.add("GET", r"/api/products", self._list)
        router.add("POST", r"/api/products", self._create)
        router.add("PUT", r"/api/products/(?P<id>[\w-]+)", self._update_product)
        router.add("PUT", r"/api/variants/(?P<id>[\w-]+)", self._update_variant)
        router.add("GET", r"/api/stock", self._stock)
        router.add("PUT", r"/api/stock", self._set_stock)
        router.add("GET", r"/api/events", self._events)
        self.server = EmulatorServer(router, error_body=_error, before=self._authenticate)

    # -- lifecycle and what the sandbox and the tests drive directly ---------------------------

    def start(self) -> ToyEmulator:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
        self.webhooks.close()

    @property
    def url(self) -> str:
        return self.server.url

    def connection_info(self) -> dict[str, str]:
        return {"url": self.url, "token": self.token, "webhook_secret": self.webhook_secret}

    def seed(self, products: Sequence[SeedProduct]) -> None:
        """Products as the owner adds them by hand (no webhooks)."""
        with self.lock:
            for seed in products:
                self._add(
                    seed.name,
                    [
                        {"sku": v.sku, "price": str(v.price), "gtin": v.gtin, "stock": v.stock}
                        for v in seed.variants
                    ],
                )

    def variant_by_sku(self, sku: str) -> JSON:
        with self.lock:
            return next(v for p in self.products.values() for v in p["variants"] if v["sku"] == sku)

    def product_of(self, variant_id: str) -> JSON:
        with self.lock:
            return next(
                p for p in self.products.values() if any(v["id"] == variant_id for v in p["variants"])
            )

    def sell(self, sku: str, quantity: int) -> None:
        """A customer buys ``quantity`` of ``sku``: the count drops and a sale event is logged."""
        with self.lock:
            variant = self.variant_by_sku(sku)
            variant["stock"] = int(variant["stock"]) - quantity
            self.events.append(
                {
                    "id": f"sale-{len(self.events) + 1}",
                    "variant_id": variant["id"],
                    "delta": -quantity,
                    "at": _now(),
                }
            )
            self._touch(self.product_of(variant["id"]))

    def delete(self, product_id: str) -> None:
        """The owner deletes a product: it stays as an archived tombstone."""
        with self.lock:
            product = self.products[product_id]
            product["status"] = "archived"
            for variant in product["variants"]:
                variant["status"] = "archived"
            self._touch(product)

    def reprice(self, sku: str, price: Decimal) -> None:
        with self.lock:
            variant = self.variant_by_sku(sku)
            variant["price"] = str(price)
            self._touch(self.product_of(variant["id"]))

    # -- state -----------------------------------------------------------------------------------

    def _next_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{self._ids}"

    def _add(self, name: str, variants: Sequence[JSON], description: str | None = None) -> JSON:
        product = {
            "id": self._next_id("p"),
            "name": name,
            "description": description,
            "status": "active",
            "variants": [
                {
                    "id": self._next_id("v"),
                    "sku": v.get("sku"),
                    "price": v.get("price"),
                    "gtin": v.get("gtin"),
                    "status": "active",
                    "stock": v.get("stock") or 0,
                }
                for v in variants
            ],
        }
        self.products[product["id"]] = product
        self._touch(product)
        return product

    def _touch(self, product: JSON) -> None:
        """A change: the product's version and the shop's sequence move on; subscribers hear of it."""
        self.seq += 1
        product["seq"] = self.seq
        product["version"] = product.get("version", 0) + 1
        body = json.dumps({"event_id": f"evt-{self.seq}", "topic": "product.updated", "id": product["id"]})
        signature = base64.b64encode(
            hmac.new(self.webhook_secret.encode(), body.encode(), hashlib.sha256).digest()
        ).decode()
        for url in self.subscribers:
            self.webhooks.send(
                url, body.encode(), {"Content-Type": "application/json", "X-Toy-Signature": signature}
            )

    # -- routes ------------------------------------------------------------------------------------

    def _authenticate(self, request: Request, path: str) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, "invalid token")
        return None

    def _me(self, request: Request) -> Response:
        return json_response({"shop": "Toy shop", "products": len(self.products)})

    def _list(self, request: Request) -> Response:
        since = int(request.arg("since") or 0)
        with self.lock:
            changed = [p for p in self.products.values() if p["seq"] > since]
            if not since:
                changed = [p for p in changed if p["status"] != "archived"]
            return json_response({"products": json.loads(json.dumps(changed)), "seq": self.seq, "at": _now()})

    def _create(self, request: Request) -> Response:
        """A batch of creates; a product whose ``key`` was seen is answered, not made again."""
        with self.lock:
            made = []
            for wanted in (request.json() or {}).get("products", []):
                key = wanted.get("key") or ""
                if key not in self._made_by_key:
                    product = self._add(
                        wanted["name"], wanted.get("variants") or [], wanted.get("description")
                    )
                    self._made_by_key[key] = product["id"] if key else ""
                    made.append(product)
                else:
                    made.append(self.products[self._made_by_key[key]])
            return json_response({"products": made})

    def _update_product(self, request: Request) -> Response:
        with self.lock:
            product = self.products.get(request.params["id"])
            if product is None:
                return _error(404, "no such product")
            product.update(
                {k: v for k, v in (request.json() or {}).items() if k in ("name", "description", "status")}
            )
            self._touch(product)
            return json_response(product)

    def _update_variant(self, request: Request) -> Response:
        with self.lock:
            try:
                product = self.product_of(request.params["id"])
            except StopIteration:
                return _error(404, "no such variant")
            variant = next(v for v in product["variants"] if v["id"] == request.params["id"])
            variant.update(
                {k: v for k, v in (request.json() or {}).items() if k in ("sku", "gtin", "price", "status")}
            )
            self._touch(product)
            return json_response({**variant, "version": product["version"]})

    def _stock(self, request: Request) -> Response:
        wanted = set((request.arg("ids") or "").split(",")) - {""}
        with self.lock:
            levels = [
                {"variant_id": v["id"], "quantity": v["stock"]}
                for p in self.products.values()
                for v in p["variants"]
                if not wanted or v["id"] in wanted
            ]
            return json_response({"levels": levels, "at": _now()})

    def _set_stock(self, request: Request) -> Response:
        with self.lock:
            done = []
            for level in (request.json() or {}).get("levels", []):
                try:
                    product = self.product_of(level["variant_id"])
                except StopIteration:
                    return _error(404, f"no such variant {level['variant_id']}")
                variant = next(v for v in product["variants"] if v["id"] == level["variant_id"])
                variant["stock"] = int(level["quantity"])
                self._touch(product)
                done.append(
                    {"variant_id": variant["id"], "quantity": variant["stock"], "version": product["version"]}
                )
            return json_response({"levels": done})

    def _events(self, request: Request) -> Response:
        since = int(request.arg("since") or 0)
        with self.lock:
            return json_response({"events": self.events[since:], "next": len(self.events), "at": _now()})
