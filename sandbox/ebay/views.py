"""Wire views: the JSON eBay answers for stored inventory items, offers and their listings.

A listing shows the smaller of the item's ship-to-home quantity and the offer's own
``availableQuantity`` (eBay's bulk-updates guide: "the quantity specified on a listing will be the
minimum value between these two fields"); at 0 a published listing is ``OUT_OF_STOCK``, still alive.
"""

from __future__ import annotations

from sandbox.ebay.state import EbayState, Group, Item, Offer
from sandbox.ebay.wire import JSON, amount


class EbayViews(EbayState):
    """Render items and offers; work out what a listing shows."""

    def _shown(self, offer: Offer) -> int:
        item = self._items[offer.sku]
        cap = item.quantity if offer.available is None else offer.available
        return max(0, min(item.quantity, cap))

    @staticmethod
    def _item_json(item: Item) -> JSON:
        out: JSON = {
            "sku": item.sku,
            "locale": "en_US",
            "condition": item.condition,
            "product": {"title": item.title},
            "availability": {"shipToLocationAvailability": {"quantity": item.quantity}},
        }
        if item.group:
            out["groupIds"] = [item.group]  # returned only for an item in a group (the contract)
        return out

    @staticmethod
    def _group_json(group: Group) -> JSON:
        return {
            "inventoryItemGroupKey": group.key,
            "title": group.title,
            "description": group.description,
            "variantSKUs": list(group.skus),
            "variesBy": {
                "specifications": [{"name": name, "values": vs} for name, vs in group.varies_by.items()]
            },
        }

    def _offer_json(self, offer: Offer) -> JSON:
        out: JSON = {
            "offerId": offer.offer_id,
            "sku": offer.sku,
            "marketplaceId": offer.marketplace_id,
            "format": "FIXED_PRICE",
            "categoryId": "29792",
            "merchantLocationKey": "default",
            "pricingSummary": {"price": amount(offer.price, offer.currency)},
            "status": "PUBLISHED" if offer.listing_id else "UNPUBLISHED",
        }
        if offer.available is not None:
            out["availableQuantity"] = offer.available
        if offer.listing_id:
            out["listing"] = {
                "listingId": offer.listing_id,
                "listingOnHold": False,
                "listingStatus": "ACTIVE" if self._shown(offer) > 0 else "OUT_OF_STOCK",
                "soldQuantity": offer.sold,
            }
        return out
