"""``withdrawOffer`` and ``publishOffer``: ending a single-variation listing and listing its offer again.

Per the contract: withdrawing ends the listing of a published offer; the offer object remains,
``UNPUBLISHED``, and its listing is no longer buyable. Publishing an unpublished offer makes a live
listing with a **new** ``listingId`` (a relisted item is a new listing on eBay); publishing one
that is already live revises that listing (same id, one revision of its daily 250). Both answer
``{"listingId": ...}`` (``WithdrawResponse`` / ``PublishResponse``).

A multi-variation listing (an inventory item group) is ended and listed again as a whole:
``withdrawOfferByInventoryItemGroup`` (204 No Content; 25725 when the group has no live offer) and
``publishOfferByInventoryItemGroup`` (a new listing id shared by all its variants' offers; 25004
when no variation has anything to sell), each naming ``inventoryItemGroupKey`` and
``marketplaceId`` in its body. ``withdrawOffer`` refuses a variation's offer (25002).

Errors: 25713 (no such offer), 25002 (withdrawing an offer that is not published), 25004
(publishing with nothing to sell: the listing would show 0, which eBay refuses to list).
"""

from __future__ import annotations

from sandbox.ebay.errors import EbayError
from sandbox.ebay.state import Offer
from sandbox.ebay.views import EbayViews
from sandbox.ebay.wire import JSON, new_digits, utc_day
from sandbox.http import Request


class EbayListings(EbayViews):
    """withdrawOffer, publishOffer, withdrawOfferByInventoryItemGroup, publishOfferByInventoryItemGroup."""

    def _group_offers(self, request: Request) -> list[Offer]:
        body = request.json() or {}
        group = self._groups.get(str(body.get("inventoryItemGroupKey") or ""))
        if group is None:
            raise EbayError(400, 25725, "No offer found")
        return [o for sku in group.skus for o in self._offers_of(sku)]

    def _withdraw_by_group(self, request: Request) -> JSON:
        live = [o for o in self._group_offers(request) if o.listing_id]
        if not live:
            raise EbayError(400, 25725, "No offer found")
        for offer in live:
            offer.listing_id = None
            self.withdrawn.append(offer.offer_id)
        return {"__status__": 204}

    def _publish_by_group(self, request: Request) -> JSON:
        offers = self._group_offers(request)
        if not offers:
            raise EbayError(400, 25725, "No offer found")
        if all(self._shown(o) <= 0 for o in offers):
            raise EbayError(400, 25004, "Invalid quantity. No variation has a quantity to list")
        listing_id = next((o.listing_id for o in offers if o.listing_id), None) or new_digits(12)
        for offer in offers:
            offer.listing_id = listing_id
            self.published.append(offer.offer_id)
        return {"listingId": listing_id, "warnings": []}

    def _offer_named(self, request: Request) -> Offer:
        offer = self._offers.get(request.params["offerId"])
        if offer is None:
            raise EbayError(404, 25713, f"This Offer is not available : {request.params['offerId']}.")
        return offer

    def _withdraw_offer(self, request: Request) -> JSON:
        offer = self._offer_named(request)
        if not offer.listing_id:
            raise EbayError(400, 25002, f"Any User error. Offer {offer.offer_id} is not published")
        if self._items[offer.sku].group:
            raise EbayError(
                400, 25002, "Any User error. A multiple-variation listing is ended by inventory item group"
            )
        ended = offer.listing_id
        offer.listing_id = None
        self.withdrawn.append(offer.offer_id)
        return {"listingId": ended, "warnings": []}

    def _publish_offer(self, request: Request) -> JSON:
        offer = self._offer_named(request)
        if self._shown(offer) <= 0:
            raise EbayError(400, 25004, "Invalid quantity. The quantity must be greater than 0 to list")
        if offer.listing_id:  # already live: a revision of that listing
            key = (offer.listing_id, utc_day(self.now()))
            self._revisions[key] = self._revisions.get(key, 0) + 1
        else:
            offer.listing_id = new_digits(12)
        self.published.append(offer.offer_id)
        return {"listingId": offer.listing_id, "warnings": []}
