"""What each demo action should do to what every channel shows: the demo's own expectation.

It is deliberately independent of shopbridge's ledger (the thing under test): a few lines of
shop-keeping arithmetic. Stock lives in the Square locations (that is where the goods are); a web
sale takes from the default location and a restocking refund gives back there; a till count sets
one location; WooCommerce shows the sum of the locations, and so does every marketplace (eBay),
where a buyer's purchase takes from the default location like a web sale; the owner's price shows
on the shop and the till (eBay keeps its own price unless ``sync_price`` is on).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["Model", "Shows", "SkuTruth", "differences"]

Shows = dict[str, int | Decimal | None]
"""What one SKU shows, by column ("woocommerce", "square Location 1", ..., "woocommerce price")."""

WEB = "woocommerce"
WEB_PRICE = "woocommerce price"
TILL_PRICE = "square price"


@dataclass
class SkuTruth:
    on_hand: dict[str, int]
    """Units per Square location id."""
    price: Decimal


class Model:
    """The expected state of the tracked SKUs, advanced one acknowledged action at a time."""

    def __init__(
        self,
        truths: dict[str, SkuTruth],
        location_labels: dict[str, str],
        default_location: str,
        pooled: tuple[str, ...] = (),
    ) -> None:
        self.truths = truths
        self.pooled = pooled
        """Marketplace columns ("ebay"): each shows the sum of the locations, as the web shop does."""
        self.location_labels = location_labels
        """Square location id -> its column ("square Location 1"), in display order."""
        self.default_location = default_location

    @property
    def stock_columns(self) -> list[str]:
        return [WEB, *self.location_labels.values(), *self.pooled]

    @property
    def columns(self) -> list[str]:
        return [*self.stock_columns, WEB_PRICE, TILL_PRICE]

    def web_sale(self, sku: str, quantity: int) -> None:
        self.truths[sku].on_hand[self.default_location] -= quantity

    def marketplace_sale(self, sku: str, quantity: int) -> None:
        """An online sale without a location: taken from the default location, as a web sale."""
        self.web_sale(sku, quantity)

    def web_refund(self, sku: str, quantity: int) -> None:
        """A refund with restock gives the units back where the web sale took them from."""
        self.truths[sku].on_hand[self.default_location] += quantity

    def till_sale(self, sku: str, location: str, quantity: int) -> None:
        self.truths[sku].on_hand[location] -= quantity

    def till_count(self, sku: str, location: str, quantity: int) -> None:
        self.truths[sku].on_hand[location] = quantity

    def price_change(self, sku: str, price: Decimal) -> None:
        self.truths[sku].price = price

    def web_stock(self, sku: str) -> int:
        return sum(self.truths[sku].on_hand.values())

    def expected(self, sku: str) -> Shows:
        truth = self.truths[sku]
        shows: Shows = {WEB: self.web_stock(sku)}
        for location, label in self.location_labels.items():
            shows[label] = truth.on_hand[location]
        for column in self.pooled:
            shows[column] = self.web_stock(sku)
        shows[WEB_PRICE] = truth.price
        shows[TILL_PRICE] = truth.price
        return shows


def differences(expected: Shows, observed: Shows) -> list[str]:
    """Each column where the channel does not show what is expected, as ``"<column> shows X, expected Y"``."""
    return [
        f"{column} shows {_text(observed.get(column))}, expected {_text(value)}"
        for column, value in expected.items()
        if observed.get(column) != value
    ]


def _text(value: int | Decimal | None) -> str:
    return "nothing" if value is None else str(value)
