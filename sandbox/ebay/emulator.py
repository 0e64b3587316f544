"""The eBay emulator itself: state, routes and OAuth on a loopback server, plus the test API
(seeding listings, buyers' purchases and cancellations)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from decimal import Decimal

from sandbox.ebay.errors import ebay_error_body
from sandbox.ebay.routes import EbayRoutes
from sandbox.ebay.state import Group, Item, Offer, ZeroQuantity
from sandbox.ebay.wire import JSON, fmt_time, new_digits
from sandbox.http import EmulatorServer, Router
from sandbox.seed import SeedProduct


def group_key(name: str) -> str:
    """A seeded product's inventory item group key (letters and digits of its name)."""
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").upper() or "GROUP"


def _axes(product: SeedProduct) -> dict[str, list[str]]:
    axes: dict[str, list[str]] = {}
    for variant in product.variants:
        for name, value in variant.options.items():
            if value not in axes.setdefault(name, []):
                axes[name].append(value)
    return axes


class EbayEmulator(EbayRoutes):
    """eBay's Sell Inventory, Fulfillment, Notification (public key) and OAuth token endpoints.

    ``EbayEmulator(access_token_seconds=..., zero_quantity=..., revision_limit=...)`` then
    :meth:`start` (or a context manager). Seed with :meth:`seed`; get a refresh token with
    :meth:`issue_refresh_token` (or :meth:`consent` for the code grant); buyers act through
    :meth:`buy` and :meth:`cancel`. Set ``recorded = []`` to keep every answer for the conformance
    tests; ``server.faults`` injects faults.
    """

    def __init__(
        self,
        *,
        client_id: str = "ShopBrid-emulator-PRD-0a1b2c3d4-5e6f7a8b",
        client_secret: str | None = None,
        access_token_seconds: int = 7200,
        zero_quantity: ZeroQuantity = "out_of_stock",
        revision_limit: int = 250,
        retry_schedule: tuple[float, ...] = (0.2, 0.5, 1.0),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(
            client_id=client_id,
            client_secret=client_secret or "PRD-" + secrets.token_hex(12),
            access_token_seconds=access_token_seconds,
            zero_quantity=zero_quantity,
            revision_limit=revision_limit,
            retry_schedule=retry_schedule,
        )
        self._init_signing()
        self.verification_token = "sandbox-" + secrets.token_hex(20)
        """The verification token the sandbox's config gives the receiver (see :meth:`add_destination`)."""
        self.router = Router()
        self._routes()
        self.server = EmulatorServer(
            self.router,
            error_body=ebay_error_body,
            before=self._authenticate,
            host=host,
            port=port,
            clock=self.now,
        )

    def start(self) -> EbayEmulator:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
        self.webhooks.close()

    def __enter__(self) -> EbayEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def connection_info(self) -> JSON:
        """What an adapter needs: the API root, the app's client id and secret."""
        return {"base_url": self.base_url, "client_id": self.client_id, "client_secret": self.client_secret}

    def seed(
        self,
        products: Sequence[SeedProduct],
        *,
        currency: str = "USD",
        unlisted: Sequence[str] = (),
        grouped: bool = True,
    ) -> dict[str, str]:
        """Inventory items and one published fixed-price offer for every SKU'd variant (no HTTP).

        A product with options (``grouped``) is an inventory item group, one multi-variation
        listing: its variants' offers share one listing id. ``unlisted`` SKUs get an item and no
        offer (not on eBay). Returns SKU -> listing id."""
        listings: dict[str, str] = {}
        with self.lock:
            for product in products:
                skus = [v.sku for v in product.variants if v.sku]
                group = group_key(product.name) if grouped and not product.is_simple and skus else None
                if group is not None:
                    self._groups[group] = Group(
                        group, product.name, product.description, skus, _axes(product)
                    )
                shared = new_digits(12)
                for variant in product.variants:
                    if not variant.sku:
                        continue
                    name = " / ".join([product.name, *variant.options.values()])
                    self._items[variant.sku] = Item(variant.sku, name, int(variant.stock or 0), group=group)
                    if variant.sku in unlisted:
                        continue
                    listing_id = shared if group else new_digits(12)
                    offer = Offer(
                        new_digits(11), variant.sku, Decimal(variant.price), currency, None, listing_id
                    )
                    self._add_offer(offer)
                    listings[variant.sku] = listing_id
        return listings

    def group_of(self, sku: str) -> str | None:
        """(Test API) The inventory item group the SKU is a variation of."""
        with self.lock:
            return self._items[sku].group

    def quantity(self, sku: str) -> int:
        """(Test API) What the SKU's listing shows buyers now (min of item and offer quantity); 0
        when it has no live listing (withdrawn or ended: nothing to buy)."""
        with self.lock:
            offer = next((o for o in self._offers_of(sku) if o.listing_id), None)
            return 0 if offer is None else self._shown(offer)

    def reprice(self, sku: str, price: Decimal) -> None:
        """(Test API) The seller changes the SKU's price in Seller Hub."""
        with self.lock:
            for offer in self._offers_of(sku):
                offer.price = price

    def end_listing(self, sku: str) -> None:
        """(Test API) The seller ends the SKU's listing in Seller Hub (``sku`` a group's key: the
        group's multi-variation listing): its offers are unpublished."""
        with self.lock:
            group = self._groups.get(sku)
            for one in group.skus if group else [sku]:
                for offer in self._offers_of(one):
                    offer.listing_id = None

    def listing_of(self, sku: str) -> str:
        """(Test API) The listing id of the SKU's live listing."""
        with self.lock:
            return str(next(o.listing_id for o in self._offers_of(sku) if o.listing_id))

    def offer_of(self, sku: str) -> JSON:
        """(Test API) The SKU's live offer as getOffer answers it (else its first offer)."""
        with self.lock:
            offers = self._offers_of(sku)
            return self._offer_json(next((o for o in offers if o.listing_id), offers[0]))

    def is_listed(self, sku: str) -> bool:
        """(Test API) Whether buyers can find the SKU (a live listing, even out of stock)."""
        with self.lock:
            return any(o.listing_id for o in self._offers_of(sku))

    def buy(self, sku: str, quantity: int = 1, *, checkout_complete: bool = True) -> JSON:
        """(Test API) A buyer purchases ``quantity`` of a listed SKU; notified once checkout completes."""
        with self.lock:
            if self.quantity(sku) < quantity:
                raise ValueError(f"{sku}: only {self.quantity(sku)} listed")
            order = self._new_order([(sku, quantity)], checkout_complete=checkout_complete)
            self._orders[order["orderId"]] = order
            self._move_stock(order, -1)
            if checkout_complete:
                self._notify_order(order)
            return dict(order)

    def cancel(self, order_id: str) -> JSON:
        """(Test API) The order is cancelled: its units go back to the listing, once."""
        with self.lock:
            order = self._orders[order_id]
            if order["cancelStatus"]["cancelState"] != "CANCELED":
                now = fmt_time(self.now())
                order["cancelStatus"] = {
                    "cancelState": "CANCELED",
                    "cancelledDate": now,
                    "cancelRequests": [],
                }
                order["lastModifiedDate"] = now
                self._move_stock(order, +1)
            return dict(order)
