"""The WooCommerce emulator itself: the store, its routes and authentication on a loopback server,
plus the test API (seeding, shop-front sales, wp-admin stock edits).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sandbox.http import EmulatorServer, Router
from sandbox.seed import SeedProduct
from sandbox.woocommerce.auth import WooAuth
from sandbox.woocommerce.errors import WooApiError, woo_error_body
from sandbox.woocommerce.routes import WooRoutes
from sandbox.woocommerce.wire import PREFIX, money


class WooCommerceEmulator(WooRoutes, WooAuth):
    """An in-memory WooCommerce store served over loopback HTTP.

    Use as a context manager (or ``start()``/``stop()``). ``connection_info()`` gives the adapter
    its settings; ``seed()`` fills the catalogue quickly; ``simulate_sale()`` places a paid order
    through the REST API as the shop front would; ``manual_stock_edit()`` is a shop manager
    typing a new count in wp-admin. ``freeze_time()``/``advance()`` control the clock.
    """

    def __init__(
        self,
        *,
        consumer_key: str = "ck_sandbox_0123456789abcdef0123456789abcdef01234567",
        consumer_secret: str = "cs_sandbox_0123456789abcdef0123456789abcdef01234567",  # noqa: S107 (sandbox)
        webhook_secret: str = "whsec-sandbox-woocommerce",  # noqa: S107 (sandbox)
        utc_offset_hours: float = -3.0,
        currency: str = "USD",
        port: int = 0,
        verify_oauth: bool = True,
    ) -> None:
        super().__init__(
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            webhook_secret=webhook_secret,
            utc_offset_hours=utc_offset_hours,
            currency=currency,
            verify_oauth=verify_oauth,
        )
        router = Router()
        self._routes(router)
        self.server = EmulatorServer(
            router,
            error_body=woo_error_body,
            before=self._authenticate,
            port=port,
            clock=lambda: self.now().replace(tzinfo=UTC).timestamp(),
        )

    def start(self) -> WooCommerceEmulator:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
        self.dispatcher.close()

    def __enter__(self) -> WooCommerceEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def connection_info(self) -> dict[str, str]:
        """What the adapter needs: site URL, REST API keys and the secret our webhooks are signed with."""
        return {
            "url": self.url,
            "consumer_key": self.consumer_key,
            "consumer_secret": self.consumer_secret,
            "webhook_secret": self.webhook_secret,
        }

    def seed(self, products: Iterable[SeedProduct], *, manage_stock: bool = True) -> list[int]:
        """Insert products straight into memory (no HTTP, no webhooks); returns the new product ids.

        A one-variant product without options becomes a simple product; others become variable
        products whose variations manage their own stock.
        """
        ids: list[int] = []
        with self.lock:
            now = self.now()
            for seed in products:
                pid = self._post_id()
                simple = seed.is_simple
                product = self._new_product_record(pid, seed.name, "simple" if simple else "variable", now)
                product["description"] = seed.description
                if simple:
                    v = seed.variants[0]
                    product.update(
                        sku=v.sku or "",
                        regular_price=money(v.price),
                        gtin=v.gtin or "",
                        manage_stock=manage_stock and v.stock is not None,
                        stock_quantity=v.stock if manage_stock and v.stock is not None else None,
                    )
                    if v.sku:
                        self.sku_index[v.sku] = pid
                else:
                    self._seed_variations(product, seed, now, manage_stock=manage_stock)
                self.products[pid] = product
                ids.append(pid)
        return ids

    def _seed_variations(
        self, product: dict[str, Any], seed: SeedProduct, now: datetime, *, manage_stock: bool
    ) -> None:
        """A seeded variable product's attributes (one per option axis) and its variations."""
        axes: dict[str, list[str]] = {}
        for v in seed.variants:
            for key, value in v.options.items():
                axes.setdefault(key, [])
                if value not in axes[key]:
                    axes[key].append(value)
        product["attributes"] = [
            {
                "id": 0,
                "name": key,
                "slug": key.lower(),
                "position": n,
                "visible": True,
                "variation": True,
                "options": values,
            }
            for n, (key, values) in enumerate(axes.items())
        ]
        for v in seed.variants:
            vid = self._post_id()
            var = self._new_variation_record(vid, product["id"], now)
            var.update(
                sku=v.sku or "",
                regular_price=money(v.price),
                gtin=v.gtin or "",
                manage_stock=manage_stock and v.stock is not None,
                stock_quantity=v.stock if manage_stock and v.stock is not None else None,
                attributes=[{"id": 0, "name": k, "option": o} for k, o in v.options.items()],
            )
            self.products[vid] = var
            product["variations"].append(vid)
            if v.sku:
                self.sku_index[v.sku] = vid

    def add_customer(self, email: str, first_name: str = "", last_name: str = "", phone: str = "") -> int:
        """Insert a customer directly (no HTTP; fires customer.created like a sign-up); returns its id."""
        with self.lock:
            record = self._new_customer_record(
                {"email": email, "first_name": first_name, "last_name": last_name}
            )
            record["billing"]["phone"] = phone
            return int(record["id"])

    def simulate_sale(
        self,
        items: list[tuple[str, int]],
        *,
        status: str = "processing",
        email: str = "shopper@example.com",
        customer_id: int = 0,
        billing: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """A checkout on the shop front: a paid order for ``[(sku, qty), ...]``, made via the REST API,
        by a guest (``customer_id`` 0, known only by the order's billing details) or a customer.

        Goes through HTTP (so it is counted, signed and fires webhooks like any order) and
        returns the order JSON. Raises :class:`WooApiError` when WooCommerce would refuse it.
        """
        import requests

        body = {
            "status": status,
            "billing": {"email": email, "first_name": "Shop", "last_name": "Per", **(billing or {})},
            "line_items": [{"sku": sku, "quantity": qty} for sku, qty in items],
            "customer_id": customer_id,
        }
        answer = requests.post(
            f"{self.url}{PREFIX}/orders",
            json=body,
            auth=(self.consumer_key, self.consumer_secret),
            timeout=10,
        )
        data: dict[str, Any] = answer.json()
        if answer.status_code >= 400:
            raise WooApiError(data["code"], data["message"], answer.status_code)
        return data

    def manual_stock_edit(self, sku: str, quantity: int) -> None:
        """A shop manager typing a new stock count in wp-admin (bumps ``date_modified``, fires webhooks)."""
        with self.lock:
            target = self.products[self.sku_index[sku]]
            if target.get("parent_id") and not target["manage_stock"]:
                target = self.products[target["parent_id"]]
            target["manage_stock"] = True
            target["stock_quantity"] = int(quantity)
            self._touch(target)
            self._product_event(target, "updated")

    def share_parent_stock(self, product_id: int, quantity: int, skus: Iterable[str] | None = None) -> None:
        """A shop manager setting stock at product level in wp-admin: the variable product manages
        ``quantity`` units and its variations (those with ``skus``, default all) stop managing their
        own, so they inherit the parent's pool (``manage_stock: "parent"``)."""
        with self.lock:
            parent = self.products[product_id]
            parent["manage_stock"] = True
            parent["stock_quantity"] = int(quantity)
            self._touch(parent)
            wanted = set(skus) if skus is not None else None
            for vid in parent["variations"]:
                variation = self.products[vid]
                if wanted is None or variation["sku"] in wanted:
                    variation["manage_stock"] = False
                    variation["stock_quantity"] = None
                    self._touch(variation)

    def parent_stock(self, sku: str) -> int | None:
        """The ``stock_quantity`` of the product holding variation ``sku`` (its pool, if it keeps one)."""
        with self.lock:
            parent = self.products[self.products[self.sku_index[sku]]["parent_id"]]
            return parent["stock_quantity"] if parent["manage_stock"] else None

    def product_by_sku(self, sku: str) -> dict[str, Any]:
        """The REST representation of the product or variation with ``sku``."""
        with self.lock:
            return self._as_product_json(self.products[self.sku_index[sku]])

    def stock_of(self, sku: str) -> int | None:
        """The ``stock_quantity`` the REST API would show for ``sku``."""
        with self.lock:
            record = self.products[self.sku_index[sku]]
            return self._effective_stock(record)
