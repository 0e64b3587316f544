"""Reading what each channel shows, the way anyone with the shop's API keys would: WooCommerce's
REST API, Square's API and eBay's (bridge/demo/marketplace.py) over HTTP. The demo judges
shopbridge only by these readings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests

from bridge.demo.marketplace import EBAY, EbayStore
from bridge.demo.model import TILL_PRICE, WEB, WEB_PRICE, Shows
from bridge.demo.shop import TIMEOUT, WOO_API, WooProduct

__all__ = ["Catalogue", "Observer", "Reading", "square_session", "woo_session"]


def woo_session(consumer_key: str, consumer_secret: str) -> requests.Session:
    session = requests.Session()
    session.auth = (consumer_key, consumer_secret)  # basic auth, as over HTTPS
    return session


def square_session(access_token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {access_token}"
    return session


@dataclass(frozen=True)
class Catalogue:
    """Where the tracked SKUs live on each channel, looked up once through the APIs."""

    woo: dict[str, WooProduct]
    square: dict[str, str]
    """SKU -> Square variation id."""
    locations: dict[str, str]
    """Square location id -> name, in Square's order."""


@dataclass(frozen=True)
class Reading:
    shows: dict[str, Shows]
    """SKU -> what each column shows."""
    stamps: dict[str, dict[str, str]]
    """SKU -> column -> the channel's modification stamp of it (WooCommerce's ``date_modified_gmt``,
    Square's catalogue version and count ``calculated_at``): a write changes it even when the value
    stays the same."""


class Observer:
    def __init__(
        self,
        woo: requests.Session,
        woo_url: str,
        square: requests.Session,
        square_url: str,
        ebay: EbayStore | None = None,
    ) -> None:
        self.ebay = ebay
        self.woo = woo
        self.woo_base = woo_url.rstrip("/") + WOO_API
        self.square = square
        self.square_base = square_url.rstrip("/") + "/v2"

    def _woo_get(self, path: str, params: dict[str, Any]) -> Any:
        answer = self.woo.get(f"{self.woo_base}/{path}", params=params, timeout=TIMEOUT)
        answer.raise_for_status()
        return answer.json()

    def _square_post(self, path: str, body: dict[str, Any]) -> Any:
        answer = self.square.post(f"{self.square_base}/{path}", json=body, timeout=TIMEOUT)
        answer.raise_for_status()
        return answer.json()

    def look_up(self, skus: Sequence[str]) -> Catalogue:
        products = self._woo_get("products", {"sku": ",".join(skus), "per_page": 100})
        found = {p["sku"]: WooProduct(int(p["id"]), int(p.get("parent_id") or 0)) for p in products}
        woo = {sku: found[sku] for sku in skus if sku in found}  # in the order asked for
        square: dict[str, str] = {}
        cursor: str | None = None
        while True:
            params = {"types": "ITEM", **({"cursor": cursor} if cursor else {})}
            answer = self.square.get(f"{self.square_base}/catalog/list", params=params, timeout=TIMEOUT)
            answer.raise_for_status()
            page = answer.json()
            for item in page.get("objects", []):
                for variation in item["item_data"].get("variations", []):
                    sku = variation["item_variation_data"].get("sku")
                    if sku in skus:
                        square[sku] = variation["id"]
            cursor = page.get("cursor")
            if not cursor:
                break
        answer = self.square.get(f"{self.square_base}/locations", timeout=TIMEOUT)
        answer.raise_for_status()
        locations = {loc["id"]: loc["name"] for loc in answer.json().get("locations", [])}
        missing = [sku for sku in skus if sku not in woo or sku not in square]
        if missing:
            raise LookupError(f"not on both channels: {', '.join(missing)}")
        return Catalogue(woo=woo, square=square, locations=locations)

    def read(self, catalogue: Catalogue, location_labels: dict[str, str]) -> Reading:
        """One reading of every tracked SKU on every channel (three API calls, and two a SKU on eBay)."""
        skus = list(catalogue.woo)
        products = self._woo_get("products", {"sku": ",".join(skus), "per_page": 100})
        web = {p["sku"]: p for p in products}
        ids = [catalogue.square[sku] for sku in skus]
        counts = self._square_post(
            "inventory/counts/batch-retrieve",
            {"catalog_object_ids": ids, "location_ids": list(location_labels), "states": ["IN_STOCK"]},
        ).get("counts", [])
        by_key = {(c["catalog_object_id"], c["location_id"]): c for c in counts}
        objects = self._square_post("catalog/batch-retrieve", {"object_ids": ids}).get("objects", [])
        variations = {o["id"]: o for o in objects}
        shows: dict[str, Shows] = {}
        stamps: dict[str, dict[str, str]] = {}
        for sku in skus:
            product = web.get(sku, {})
            variation = variations.get(catalogue.square[sku], {})
            row: Shows = {WEB: _int(product.get("stock_quantity"))}
            stamp = {WEB: str(product.get("date_modified_gmt")), TILL_PRICE: str(variation.get("version"))}
            for location, label in location_labels.items():
                count = by_key.get((catalogue.square[sku], location))
                row[label] = _int(count["quantity"]) if count else 0  # never counted: Square shows 0
                stamp[label] = str(count and count.get("calculated_at"))
            row[WEB_PRICE] = _price(product.get("regular_price"))
            row[TILL_PRICE] = _square_price(variation)
            shows[sku] = row
            stamps[sku] = stamp
        if self.ebay is not None:
            listed, revisions = self.ebay.read(skus)
            for sku in skus:
                shows[sku][EBAY] = listed[sku]
                stamps[sku][EBAY] = revisions[sku]
        return Reading(shows=shows, stamps=stamps)


def _int(value: Any) -> int | None:
    try:
        return int(Decimal(str(value)))
    except (ArithmeticError, ValueError):
        return None


def _price(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except ArithmeticError:
        return None


def _square_price(variation: dict[str, Any]) -> Decimal | None:
    money = variation.get("item_variation_data", {}).get("price_money")
    if not money or money.get("amount") is None:
        return None
    return Decimal(int(money["amount"])).scaleb(-2)
