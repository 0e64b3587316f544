"""The demo's eBay store: what its listings show, read through eBay's API with the seller's keys
(a refresh token, as consent gives one), and a buyer purchasing on it.

eBay is a pooled channel like the web shop: each listing should show the sum of the locations.
A listing shows the smaller of its inventory item's quantity and its offer's ``availableQuantity``
(shopbridge writes both). eBay answers no modification stamp, so the stamp the echo check compares
is the listing's revision count today, as eBay counts it (the emulator's own counter, which
stands for eBay's): a write shows as a revision even when the number stays the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests

from sandbox.ebay import EbayEmulator

__all__ = ["EBAY", "EbayStore"]

EBAY = "ebay"
"""Its column in the demo's table."""
INVENTORY = "/sell/inventory/v1"
TIMEOUT = 10.0


class EbayStore:
    def __init__(self, emulator: EbayEmulator) -> None:
        self.emulator = emulator
        self.base = emulator.base_url.rstrip("/")
        self._refresh_token = emulator.issue_refresh_token()
        self._session = requests.Session()
        self._listing: dict[str, str] = {}

    def _renew(self) -> None:
        answer = requests.post(
            self.base + "/identity/v1/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": self._refresh_token},
            auth=(self.emulator.client_id, self.emulator.client_secret),
            timeout=TIMEOUT,
        )
        answer.raise_for_status()
        self._session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        for _ in range(2):
            answer = self._session.get(self.base + path, params=params, timeout=TIMEOUT)
            if answer.status_code != 401:
                break
            self._renew()  # the first call, or a token that lived its two hours
        answer.raise_for_status()
        return answer.json()

    def read(self, skus: Sequence[str]) -> tuple[dict[str, int | None], dict[str, str]]:
        """Per SKU what its listing shows buyers and its revisions today (one call per SKU and one more)."""
        items = {sku: self._get(f"{INVENTORY}/inventory_item/{sku}") for sku in skus}
        shown: dict[str, int | None] = {}
        stamps: dict[str, str] = {}
        for sku in skus:
            offers = [
                o for o in self._get(f"{INVENTORY}/offer", {"sku": sku}).get("offers", []) if o.get("listing")
            ]
            if not offers:
                shown[sku], stamps[sku] = None, ""
                continue
            offer = offers[0]
            listing = str(offer["listing"]["listingId"])
            ship = (items[sku].get("availability") or {}).get("shipToLocationAvailability") or {}
            quantity = int(ship.get("quantity") or 0)
            cap = offer.get("availableQuantity")
            shown[sku] = min(quantity, cap) if isinstance(cap, int) else quantity
            stamps[sku] = str(self.emulator.revisions_today(listing))
        return shown, stamps

    def sell(self, sku: str, quantity: int) -> str:
        """A buyer checks out ``quantity`` of the listing; the order's id."""
        return str(self.emulator.buy(sku, quantity)["orderId"])
