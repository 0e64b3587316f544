"""Sell Inventory reads: inventory items by SKU (one, a page, or up to 25 in a bulk get) and the offers
of a SKU with their listings."""

from __future__ import annotations

from sandbox.ebay.errors import INVENTORY, EbayError, error_body
from sandbox.ebay.paging import limit_offset, page_links, window
from sandbox.ebay.views import EbayViews
from sandbox.ebay.wire import JSON
from sandbox.http import Request

INVENTORY_BASE = "/sell/inventory/v1"
BULK_LIMIT = 25


class EbayInventory(EbayViews):
    """getInventoryItems, getInventoryItem, bulkGetInventoryItem, getOffers, getOffer,
    getInventoryItemGroup."""

    def _get_inventory_item_group(self, request: Request) -> JSON:
        key = request.params["inventoryItemGroupKey"]
        group = self._groups.get(key)
        if group is None:
            raise EbayError(
                400, 25705, f"The Inventory Item Group named {key} could not be found or is not available."
            )
        return self._group_json(group)

    def _get_inventory_items(self, request: Request) -> JSON:
        limit, offset = limit_offset(request, default=25, maximum=200, error_id=25706, domain=INVENTORY)
        rows = sorted(self._items)
        page = [self._item_json(self._items[sku]) for sku in window(rows, limit, offset)]
        links = page_links(self.base_url, INVENTORY_BASE + "/inventory_item", {}, limit, offset, len(rows))
        return links | {"size": len(page), "inventoryItems": page}

    def _get_inventory_item(self, request: Request) -> JSON:
        item = self._items.get(request.params["sku"])
        if item is None:
            raise EbayError(
                404, 25702, f"{request.params['sku']} could not be found or is not available in the system."
            )
        return self._item_json(item)

    def _bulk_get_inventory_item(self, request: Request) -> JSON:
        body = request.json() or {}
        wanted = [
            str(entry.get("sku", "")) for entry in body.get("requests") or [] if isinstance(entry, dict)
        ]
        if not wanted:
            raise EbayError(400, 25709, "Invalid request. Invalid value for field requests")
        if len(wanted) > BULK_LIMIT:
            raise EbayError(
                400, 25727, f"The number of InventoryItems in the request cannot exceed {BULK_LIMIT}."
            )
        if len(set(wanted)) != len(wanted):
            raise EbayError(400, 25734, "SKU should be unique in the request.")
        responses: list[JSON] = []
        for sku in wanted:
            item = self._items.get(sku)
            if item is None:
                message = f"SKU {sku} is not available in the system"
                responses.append({"sku": sku, "statusCode": 404, "errors": [error_body(25702, message)]})
            else:
                responses.append({"sku": sku, "statusCode": 200, "inventoryItem": self._item_json(item)})
        failed = any(r["statusCode"] != 200 for r in responses)
        return {"__status__": 207 if failed else 200, "responses": responses}

    def _get_offers(self, request: Request) -> JSON:
        sku = request.arg("sku")
        if not sku:
            raise EbayError(400, 25709, "Invalid value for sku. The sku is required")
        limit, offset = limit_offset(request, default=100, maximum=200, error_id=25706, domain=INVENTORY)
        if sku not in self._items:
            raise EbayError(404, 25713, f"This Offer is not available : {sku}.")
        offers = sorted(self._offers_of(sku), key=lambda o: o.offer_id)
        page = [self._offer_json(o) for o in window(offers, limit, offset)]
        params = {"sku": sku}
        links = page_links(self.base_url, INVENTORY_BASE + "/offer", params, limit, offset, len(offers))
        return links | {"size": len(page), "offers": page}

    def _get_offer(self, request: Request) -> JSON:
        offer = self._offers.get(request.params["offerId"])
        if offer is None:
            raise EbayError(404, 25713, f"This Offer is not available : {request.params['offerId']}.")
        return self._offer_json(offer)
