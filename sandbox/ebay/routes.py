"""The route table and what every route shares: JSON parsing, eBay-shaped errors, the status a
handler asks for (207 Multi-Status) and recording for the conformance tests."""

from __future__ import annotations

from collections.abc import Callable

from sandbox.ebay.errors import EbayError, error_body, error_response
from sandbox.ebay.inventory import INVENTORY_BASE, EbayInventory
from sandbox.ebay.listings import EbayListings
from sandbox.ebay.notifications import EbayNotifications
from sandbox.ebay.oauth import TOKEN_PATH, EbayOAuth
from sandbox.ebay.orders import FULFILLMENT_BASE, EbayOrders
from sandbox.ebay.price_quantity import EbayPriceQuantity
from sandbox.ebay.wire import JSON
from sandbox.http import RecordedExchange, Request, Response, Router, json_response

NOTIFICATION_BASE = "/commerce/notification/v1"
SKU = r"(?P<sku>[^/]+)"
OFFER = r"/offer/(?P<offerId>[^/]+)"
BODILESS = frozenset({"withdrawOffer", "publishOffer"})
"""POST operations whose contract has no request body."""


class EbayRoutes(EbayInventory, EbayListings, EbayPriceQuantity, EbayOrders, EbayNotifications, EbayOAuth):
    """Register every emulated operation (named by the contracts' operationId)."""

    router: Router

    def _add(self, method: str, pattern: str, operation_id: str, handler: Callable[[Request], JSON]) -> None:
        def wrapped(request: Request) -> Response:
            response = self._handle(request, handler, body=operation_id not in BODILESS)
            if self.after_request is not None:
                self.after_request(operation_id)
            self._record(operation_id, request, response)
            return response

        self.router.add(method, pattern, wrapped, name=operation_id)

    def _record(self, operation_id: str, request: Request, response: Response) -> None:
        if self.recorded is not None:
            with self.lock:
                self.recorded.append(RecordedExchange.of(operation_id, request, response))

    def _handle(self, request: Request, handler: Callable[[Request], JSON], *, body: bool = True) -> Response:
        if request.method == "POST" and body:
            try:
                parsed = request.json()
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                return error_response(
                    400, [error_body(25709, "Invalid value for body. The body is not a JSON object")]
                )
        with self.lock:
            try:
                result = handler(request)
            except EbayError as exc:
                return error_response(exc.status, [exc.error])
            status = int(result.pop("__status__", 200))
            if status == 204:
                return Response(status=204)  # No Content: no body at all
            return json_response(result, status)

    def _token_route(self, request: Request) -> Response:
        response = self._token(request)
        self._record("getToken", request, response)
        return response

    def _routes(self) -> None:
        operations: list[tuple[str, str, str, Callable[[Request], JSON]]] = [
            ("GET", INVENTORY_BASE + "/inventory_item", "getInventoryItems", self._get_inventory_items),
            ("GET", INVENTORY_BASE + "/inventory_item/" + SKU, "getInventoryItem", self._get_inventory_item),
            (
                "POST",
                INVENTORY_BASE + "/bulk_get_inventory_item",
                "bulkGetInventoryItem",
                self._bulk_get_inventory_item,
            ),
            (
                "GET",
                INVENTORY_BASE + r"/inventory_item_group/(?P<inventoryItemGroupKey>[^/]+)",
                "getInventoryItemGroup",
                self._get_inventory_item_group,
            ),
            ("GET", INVENTORY_BASE + "/offer", "getOffers", self._get_offers),
            ("GET", INVENTORY_BASE + OFFER, "getOffer", self._get_offer),
            (
                "POST",
                INVENTORY_BASE + "/offer/withdraw_by_inventory_item_group",
                "withdrawOfferByInventoryItemGroup",
                self._withdraw_by_group,
            ),
            (
                "POST",
                INVENTORY_BASE + "/offer/publish_by_inventory_item_group",
                "publishOfferByInventoryItemGroup",
                self._publish_by_group,
            ),
            ("POST", INVENTORY_BASE + OFFER + "/withdraw", "withdrawOffer", self._withdraw_offer),
            ("POST", INVENTORY_BASE + OFFER + "/publish", "publishOffer", self._publish_offer),
            (
                "POST",
                INVENTORY_BASE + "/bulk_update_price_quantity",
                "bulkUpdatePriceQuantity",
                self._bulk_update_price_quantity,
            ),
            ("GET", FULFILLMENT_BASE + "/order", "getOrders", self._get_orders),
            ("GET", FULFILLMENT_BASE + r"/order/(?P<orderId>[^/]+)", "getOrder", self._get_order),
            (
                "GET",
                NOTIFICATION_BASE + r"/public_key/(?P<public_key_id>[^/]+)",
                "getPublicKey",
                self._get_public_key,
            ),
        ]
        for method, pattern, operation_id, handler in operations:
            self._add(method, pattern, operation_id, handler)
        self.router.add("POST", TOKEN_PATH, self._token_route, name="getToken")
