"""The demo's actions: each one done on a channel as a shop does it, then added to the model and
tracked from the moment the channel acknowledged it. Also the scripted story and the random
stream of ``--forever``."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from decimal import Decimal

from bridge.demo.marketplace import EbayStore
from bridge.demo.model import Model
from bridge.demo.observe import Catalogue
from bridge.demo.shop import ShopFront, Till, WebOrder
from bridge.demo.tracker import Change, Tracker

__all__ = ["Actions"]

Step = list[Callable[[], Change]]
"""Actions played together (without waiting for the first to propagate)."""


class Actions:
    def __init__(
        self,
        shop: ShopFront,
        till: Till,
        catalogue: Catalogue,
        model: Model,
        tracker: Tracker,
        on_acted: Callable[[Change], None],
        ebay: EbayStore | None = None,
    ) -> None:
        self.ebay = ebay
        self.shop = shop
        self.till = till
        self.catalogue = catalogue
        self.model = model
        self.tracker = tracker
        self.on_acted = on_acted
        self.refundable: list[tuple[WebOrder, int]] = []
        """Web orders with units not yet refunded."""

    def _tracked(self, label: str, sku: str) -> Change:
        change = self.tracker.add(label, sku, time.monotonic())
        self.on_acted(change)
        return change

    def _where(self, location: str) -> str:
        return self.catalogue.locations[location]

    def web_sale(self, sku: str, quantity: int) -> Change:
        order = self.shop.sell(sku, quantity)
        self.model.web_sale(sku, quantity)
        self.refundable.append((order, quantity))
        return self._tracked(f"web sale: {quantity} x {sku} (order {order.order_id})", sku)

    def ebay_sale(self, sku: str, quantity: int) -> Change:
        assert self.ebay is not None
        order = self.ebay.sell(sku, quantity)
        self.model.marketplace_sale(sku, quantity)
        return self._tracked(f"eBay sale: {quantity} x {sku} (order {order})", sku)

    def till_sale(self, sku: str, location: str, quantity: int) -> Change:
        self.till.sell(self.catalogue.square[sku], location, quantity)
        self.model.till_sale(sku, location, quantity)
        return self._tracked(f"till sale: {quantity} x {sku} at {self._where(location)}", sku)

    def refund(self, order: WebOrder, quantity: int) -> Change:
        self.shop.refund(order, quantity)
        self.model.web_refund(order.sku, quantity)
        self.refundable = [
            (o, left - quantity if o == order else left)
            for o, left in self.refundable
            if o != order or left > quantity
        ]
        return self._tracked(
            f"refund: {quantity} x {order.sku} of order {order.order_id}, restocked", order.sku
        )

    def till_count(self, sku: str, location: str, quantity: int) -> Change:
        self.till.count(self.catalogue.square[sku], location, quantity)
        self.model.till_count(sku, location, quantity)
        return self._tracked(f"till count: {sku} at {self._where(location)} counted {quantity}", sku)

    def price_change(self, sku: str, price: Decimal) -> Change:
        self.shop.set_price(self.catalogue.woo[sku], price)
        self.model.price_change(sku, price)
        return self._tracked(f"price change at the owner (WooCommerce): {sku} now {price}", sku)

    # -- the story and the stream ------------------------------------------------------------------

    def script(self) -> list[Step]:
        """Sales on both channels (two of the same SKU at once), an eBay sale when eBay is in the
        sandbox, a refund, a till count, a price change.

        Tracked SKUs in order: A simple (sold on both sides at once, then refunded), B a variation
        (sold at the second till, then on eBay), C simple (sold on the web, then repriced), D a variation
        (counted at the second till), E untouched (it must not move).
        """
        a, b, c, d = list(self.model.truths)[:4]
        home, other = self.model.default_location, list(self.catalogue.locations)[1]

        def refund_first() -> Change:
            order, _ = self.refundable[0]
            return self.refund(order, 1)

        counted = max(self.model.truths[d].on_hand[other] - 3, 0)
        price = self.model.truths[c].price + Decimal("1.50")
        steps = [
            [lambda: self.web_sale(a, 2), lambda: self.till_sale(a, home, 1)],
            [lambda: self.till_sale(b, other, 1)],
            [lambda: self.web_sale(c, 3)],
            [refund_first],
            [lambda: self.till_count(d, other, counted)],
            [lambda: self.price_change(c, price)],
        ]
        if self.ebay is not None:  # a buyer on eBay: the shop and the till show it too
            steps.insert(2, [lambda: self.ebay_sale(b, 1)])
        return steps

    def random(self, rng: random.Random) -> Change:
        """One random action that keeps every count positive; a till count never races a pending change
        of its SKU (who counted first would be a matter of timing, not of the rules)."""
        skus = list(self.model.truths)
        sku = rng.choice(skus)
        locations = list(self.catalogue.locations)
        location = rng.choice(locations)
        kinds, weights = ["web", "till", "refund", "count", "price", "ebay"], [3, 3, 1, 1, 1, 2]
        kind = rng.choices(kinds, weights=weights if self.ebay else [*weights[:-1], 0])[0]
        on_hand = self.model.truths[sku].on_hand
        if kind == "refund" and self.refundable:
            order, left = rng.choice(self.refundable)
            return self.refund(order, rng.randint(1, left))
        if kind == "price":
            return self.price_change(sku, _price(rng))
        quantity = rng.randint(1, 3)
        if kind == "web" and on_hand[self.model.default_location] > quantity:
            return self.web_sale(sku, quantity)
        if kind == "ebay" and on_hand[self.model.default_location] > quantity:
            return self.ebay_sale(sku, quantity)
        if kind == "till" and on_hand[location] > quantity:
            return self.till_sale(sku, location, quantity)
        idle = [s for s in skus if s not in self.tracker.busy_skus()]
        if idle:
            return self.till_count(rng.choice(idle), location, rng.randint(10, 30))
        return self.price_change(sku, _price(rng))


def _price(rng: random.Random) -> Decimal:
    """A shop's kind of price: 5.00 to 50.00 in steps of 0.50."""
    return (Decimal(rng.randint(10, 100)) / 2).quantize(Decimal("0.01"))
