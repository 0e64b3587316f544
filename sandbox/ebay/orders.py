"""Orders: buyers' purchases (test API) and the Fulfillment API's getOrders / getOrder.

Only orders whose checkout completed are listed (the Fulfillment API "only lists orders that
completed checkout"); a sale takes its units off the item and the offer and adds them to the
listing's ``soldQuantity``. A cancellation puts the units back once and moves ``lastModifiedDate``,
so a poll by ``lastmodifieddate`` sees it. Orders are listed oldest first by ``creationDate``, so a
new order never moves an earlier page. With no filter, the last 90 days.
"""

from __future__ import annotations

from decimal import Decimal

from sandbox.ebay.errors import FULFILLMENT, EbayError
from sandbox.ebay.order_filter import OrderFilter, parse_filter
from sandbox.ebay.paging import limit_offset, page_links, window
from sandbox.ebay.views import EbayViews
from sandbox.ebay.wire import JSON, amount, fmt_time, new_digits, parse_time
from sandbox.http import Request

FULFILLMENT_BASE = "/sell/fulfillment/v1"
NINETY_DAYS = 90 * 86400


class EbayOrders(EbayViews):
    """Sales, cancellations and their reading."""

    def _new_order(self, lines: list[tuple[str, int]], *, checkout_complete: bool) -> JSON:
        now = fmt_time(self.now())
        order_id = f"{new_digits(2)}-{new_digits(5)}-{new_digits(5)}"
        line_items: list[JSON] = []
        total = Decimal(0)
        currency = "USD"
        for sku, quantity in lines:
            offer = next(o for o in self._offers_of(sku) if o.listing_id)
            currency = offer.currency
            cost = offer.price * quantity
            total += cost
            line_items.append(
                {
                    "lineItemId": new_digits(11),
                    "legacyItemId": str(offer.listing_id),
                    "sku": sku,
                    "title": self._items[sku].title,
                    "quantity": quantity,
                    "lineItemCost": amount(cost, currency),
                    "total": amount(cost, currency),
                    "soldFormat": "FIXED_PRICE",
                    "listingMarketplaceId": offer.marketplace_id,
                    "purchaseMarketplaceId": offer.marketplace_id,
                    "lineItemFulfillmentStatus": "NOT_STARTED",
                }
            )
        return {
            "orderId": order_id,
            "creationDate": now,
            "lastModifiedDate": now,
            "orderFulfillmentStatus": "NOT_STARTED",
            "orderPaymentStatus": "PAID" if checkout_complete else "PENDING",
            "sellerId": "shopbridge_seller",
            "buyer": {"username": "buyer_" + new_digits(4)},
            "pricingSummary": {"total": amount(total, currency)},
            "cancelStatus": {"cancelState": "NONE_REQUESTED", "cancelRequests": []},
            "lineItems": line_items,
        }

    def _move_stock(self, order: JSON, sign: int) -> None:
        """A sale (``sign`` -1) or its cancellation (+1) on each line's item and listing."""
        for line in order["lineItems"]:
            item = self._items[line["sku"]]
            offer = next(o for o in self._offers_of(line["sku"]) if o.listing_id == line["legacyItemId"])
            quantity = int(line["quantity"])
            item.quantity = max(0, item.quantity + sign * quantity)
            if offer.available is not None:
                offer.available = max(0, offer.available + sign * quantity)
            offer.sold = max(0, offer.sold - sign * quantity)

    def _get_orders(self, request: Request) -> JSON:
        limit, offset = limit_offset(
            request, default=50, maximum=200, error_id=31100, offset_error=31000, domain=FULFILLMENT
        )
        ids = request.arg("orderIds")
        if ids:
            wanted = [i for i in ids.split(",") if i]
            if len(wanted) > 50:
                raise EbayError(
                    400,
                    30900,
                    "Exceeded maximum number of order IDs (the current limit is 50)",
                    domain=FULFILLMENT,
                )
            rows = [self._orders[i] for i in wanted if i in self._orders and self._listed(self._orders[i])]
        else:
            rows = self._matching(parse_filter(request.arg("filter"), self.now()))
        params = {k: v for k in ("filter", "orderIds") if (v := request.arg(k))}
        links = page_links(self.base_url, FULFILLMENT_BASE + "/order", params, limit, offset, len(rows))
        return links | {"offset": offset, "orders": window(rows, limit, offset), "warnings": []}

    @staticmethod
    def _listed(order: JSON) -> bool:
        return bool(order["orderPaymentStatus"] == "PAID")

    def _matching(self, wanted: OrderFilter) -> list[JSON]:
        now = self.now()
        rows = []
        for order in self._orders.values():
            if not self._listed(order):
                continue
            if wanted.statuses is not None and order["orderFulfillmentStatus"] not in wanted.statuses:
                continue
            if wanted.field is None:
                if parse_time(order["creationDate"]) < now - NINETY_DAYS:
                    continue
            else:
                stamp = parse_time(order[wanted.field])
                if stamp < (wanted.start or 0) or (wanted.end is not None and stamp > wanted.end):
                    continue
            rows.append(order)
        return sorted(rows, key=lambda o: o["creationDate"])  # stable: ties stay in the order placed

    def _get_order(self, request: Request) -> JSON:
        order: JSON | None = self._orders.get(request.params["orderId"])
        if order is None or not self._listed(order):
            raise EbayError(404, 32100, f"Invalid order ID: {request.params['orderId']}", domain=FULFILLMENT)
        return order
