"""``bulkUpdatePriceQuantity``: quantities and prices of up to 25 SKUs, at both levels, in one call.

Each entry of ``requests[]`` names a SKU, optionally its new ship-to-home quantity, and the offers to
change (``availableQuantity`` and/or ``price``). Entries succeed or fail on their own: all good is 200,
any failure 207 Multi-Status with a ``statusCode`` and ``errors`` per SKU/offer. Error ids are those
the contract documents for this call (25002 any user error, 25709 invalid value) plus 25702 (unknown
SKU), 25713 (offer not available) and 25004 (invalid quantity) from its sibling calls.

Revisions: every accepted change to a published offer's listing is one revision of that listing; a
listing has ``revision_limit`` (250) a calendar day (UTC, the emulator's clock); past it the entry
fails with 25002 and nothing of it is applied. Quantity 0: see ``EbayState.zero_quantity`` (a
variation of a multi-variation listing may be at 0 while another still has stock).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.ebay.errors import EbayError, error_body
from sandbox.ebay.inventory import BULK_LIMIT
from sandbox.ebay.state import Offer
from sandbox.ebay.views import EbayViews
from sandbox.ebay.wire import JSON, utc_day
from sandbox.http import Request


class EntryRefused(Exception):
    def __init__(self, status: int, error_id: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error_body(error_id, message)


def _quantity(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise EntryRefused(400, 25709, f"Invalid value for {field}. The quantity must be a whole number >= 0")
    return value


class EbayPriceQuantity(EbayViews):
    """The bulk price/quantity update and the per-listing daily revision counter."""

    def revisions_today(self, listing_id: str) -> int:
        """(Test API) Revisions of ``listing_id`` on the emulator's current calendar day."""
        with self.lock:
            return self._revisions.get((listing_id, utc_day(self.now())), 0)

    def set_revisions_today(self, listing_id: str, count: int) -> None:
        """(Test API) As if ``listing_id`` had already been revised ``count`` times today."""
        with self.lock:
            self._revisions[(listing_id, utc_day(self.now()))] = count

    def _bulk_update_price_quantity(self, request: Request) -> JSON:
        body = request.json() or {}
        entries = body.get("requests")
        if not isinstance(entries, list) or not entries:
            raise EbayError(400, 25709, "Invalid value for requests. At least one request is required")
        if len(entries) > BULK_LIMIT:
            raise EbayError(400, 25002, f"Any User error. The number of requests cannot exceed {BULK_LIMIT}")
        responses: list[JSON] = []
        self.updates_seen.append([str(e.get("sku") or "") for e in entries if isinstance(e, dict)])
        for entry in entries:
            responses.extend(self._apply_entry(entry if isinstance(entry, dict) else {}))
        failed = any(r["statusCode"] != 200 for r in responses)
        return {"__status__": 207 if failed else 200, "responses": responses}

    def _apply_entry(self, entry: JSON) -> list[JSON]:
        """One SKU's changes, all or nothing; its answers (one per offer, or one for the SKU)."""
        sku = str(entry.get("sku") or "")
        offer_changes = [o for o in entry.get("offers") or [] if isinstance(o, dict)]
        answer_ids: list[str | None] = [str(o.get("offerId") or "") for o in offer_changes] or [None]
        try:
            self._check_and_apply(sku, entry, offer_changes)
        except EntryRefused as refused:
            return [self._answer(sku, oid, refused.status, [refused.error]) for oid in answer_ids]
        return [self._answer(sku, oid, 200, []) for oid in answer_ids]

    @staticmethod
    def _answer(sku: str, offer_id: str | None, status: int, errors: list[JSON]) -> JSON:
        out: JSON = {"sku": sku, "statusCode": status, "errors": errors, "warnings": []}
        if offer_id is not None:
            out["offerId"] = offer_id
        return out

    def fail_next_update(self, sku: str, status: int = 500, times: int = 1) -> None:
        """(Test API) The next ``times`` entries for ``sku`` fail on eBay's side (a system error),
        unapplied."""
        with self.lock:
            self._failing[sku] = (status, times)

    def _check_and_apply(self, sku: str, entry: JSON, offer_changes: list[JSON]) -> None:
        status, times = self._failing.pop(sku, (0, 0))
        if times:
            if times > 1:
                self._failing[sku] = (status, times - 1)
            raise EntryRefused(status, 25001, "A system error has occurred. Try again later")
        item = self._items.get(sku)
        if item is None:
            raise EntryRefused(404, 25702, f"SKU {sku} is not available in the system")
        ship = entry.get("shipToLocationAvailability")
        new_quantity = item.quantity
        if isinstance(ship, dict) and "quantity" in ship:
            new_quantity = _quantity(ship["quantity"], "shipToLocationAvailability.quantity")
        planned: list[tuple[Offer, int | None, Decimal | None]] = []
        for change in offer_changes:
            offer = self._offers.get(str(change.get("offerId") or ""))
            if offer is None or offer.sku != sku:
                raise EntryRefused(404, 25713, f"This Offer is not available : {change.get('offerId')}.")
            cap = (
                _quantity(change["availableQuantity"], "availableQuantity")
                if "availableQuantity" in change
                else None
            )
            planned.append((offer, cap, self._price(change, offer)))
        listed = self._offers_of(sku) if isinstance(ship, dict) else [offer for offer, _, _ in planned]
        touched = {o.offer_id: o for o in listed if o.listing_id}
        self._check_zero(sku, new_quantity, planned)
        self._check_revisions(list(touched.values()))
        item.quantity = new_quantity
        for offer, cap, price in planned:
            offer.available = offer.available if cap is None else cap
            offer.price = offer.price if price is None else price
        for offer in touched.values():
            key = (str(offer.listing_id), utc_day(self.now()))
            self._revisions[key] = self._revisions.get(key, 0) + 1

    @staticmethod
    def _price(change: JSON, offer: Offer) -> Decimal | None:
        price = change.get("price")
        if price is None:
            return None
        try:
            value = Decimal(str(price.get("value"))) if isinstance(price, dict) else Decimal(-1)
        except InvalidOperation:
            value = Decimal(-1)
        if value <= 0 or (
            isinstance(price, dict) and price.get("currency", offer.currency) != offer.currency
        ):
            raise EntryRefused(
                400, 25709, "Invalid value for price. The price must be above 0 in the offer's currency"
            )
        return value

    def _check_zero(
        self, sku: str, quantity: int, planned: list[tuple[Offer, int | None, Decimal | None]]
    ) -> None:
        """An account without the Out-of-Stock control refuses a listing at 0; a variation of a
        multi-variation listing may be at 0 while another variation still has stock."""
        if self.zero_quantity != "refuse":
            return
        group = self._groups.get(self._items[sku].group or "")
        others = [o for s in group.skus if s != sku for o in self._offers_of(s)] if group else []
        if any(o.listing_id and self._shown(o) > 0 for o in others):
            return
        if quantity == 0 or any(cap == 0 for _, cap, _ in planned):
            raise EntryRefused(400, 25004, "Invalid quantity. This account does not allow a quantity of 0")

    def _check_revisions(self, listings: list[Offer]) -> None:
        day = utc_day(self.now())
        for offer in listings:
            if self._revisions.get((str(offer.listing_id), day), 0) >= self.revision_limit:
                raise EntryRefused(
                    400,
                    25002,
                    f"Any User error. Listing {offer.listing_id} can be revised up to {self.revision_limit} "
                    "times in one calendar day",
                )
