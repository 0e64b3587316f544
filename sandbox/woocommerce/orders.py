"""The ``/orders`` and ``/orders/<id>/refunds`` resources; the stock they move is in ``stock_rules``."""

from __future__ import annotations

import copy
import hashlib
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.http import Request, Response, json_response
from sandbox.woocommerce.errors import WooApiError, invalid_param
from sandbox.woocommerce.state import BILLING_KEYS
from sandbox.woocommerce.stock_rules import WooStockRules
from sandbox.woocommerce.wire import PREFIX, is_int, money, truthy


class WooOrders(WooStockRules):
    """Orders and refunds: create, read, update, trash or delete, list."""

    def _resolve_line(self, item: dict[str, Any]) -> dict[str, Any]:
        """``get_product_id``: ``sku``, then ``product_id`` (without variation), then ``variation_id``."""
        record: dict[str, Any] | None = None
        if item.get("sku"):
            found = self.sku_index.get(str(item["sku"]))
            record = self.products.get(found) if found is not None else None
        elif item.get("product_id") and not item.get("variation_id"):
            record = self.products.get(int(item["product_id"]))
        elif item.get("variation_id"):
            record = self.products.get(int(item["variation_id"]))
        else:
            raise WooApiError(
                "woocommerce_rest_required_product_reference", "Product ID or SKU is required.", 400
            )
        if record is None or record["status"] == "trash":
            raise WooApiError("woocommerce_rest_invalid_product_id", "Product ID provided is invalid.", 400)
        return record

    def _order_line(self, item: dict[str, Any]) -> dict[str, Any]:
        record = self._resolve_line(item)
        qty = item.get("quantity", 1)
        if not is_int(qty) or int(qty) < 1:
            raise invalid_param("quantity", "quantity is not of type integer.", "rest_invalid_type")
        parent = self.products[record["parent_id"]] if record["parent_id"] else None
        unit = Decimal(self._price(record) or "0")
        total = item.get("total")
        return {
            "id": self._item_id(),
            "name": record.get("name") or (parent["name"] if parent else ""),
            "product_id": parent["id"] if parent else record["id"],
            "variation_id": record["id"] if parent else 0,
            "quantity": int(qty),
            "sku": record["sku"],
            "total": money(Decimal(total) if isinstance(total, str) and total else unit * int(qty)),
            "parent_name": parent["name"] if parent else None,
            "meta_data": [],
        }

    def _create_order(self, data: dict[str, Any]) -> dict[str, Any]:
        customer_id = int(data.get("customer_id") or 0)
        if customer_id and customer_id not in self.customers:  # 0 is a guest
            raise WooApiError("woocommerce_rest_invalid_customer_id", "Customer ID is invalid.", 400)
        lines = [self._order_line(i) for i in data.get("line_items") or []]
        now = self.now()
        oid = self._post_id()
        order: dict[str, Any] = {
            "id": oid,
            "order_key": "wc_order_"
            + hashlib.sha1(f"{oid}{now}".encode(), usedforsecurity=False).hexdigest()[:13],
            "created_via": "rest-api",
            "status": "pending",
            "currency": data.get("currency") or self.currency,
            "customer_id": customer_id,
            "customer_note": data.get("customer_note", ""),
            "billing": {**dict.fromkeys(BILLING_KEYS, ""), **(data.get("billing") or {})},
            "shipping": {
                **dict.fromkeys([k for k in BILLING_KEYS if k != "email"], ""),
                **(data.get("shipping") or {}),
            },
            "payment_method": data.get("payment_method", ""),
            "payment_method_title": data.get("payment_method_title", ""),
            "transaction_id": data.get("transaction_id", ""),
            "date_paid": None,
            "date_completed": None,
            "meta_data": copy.deepcopy(data.get("meta_data") or []),
            "line_items": lines,
            "refunds": [],
            "stock_reduced": False,
            "created": now,
            "modified": now,
        }
        self.orders[oid] = order
        status = data.get("status", "pending")
        if status != "pending":
            self._set_order_status(order, status)
        if data.get("set_paid") is True:
            self._payment_complete(order)
        self._emit("order", "created", oid, self._order_json(order))
        return self._order_json(order)

    def _order(self, oid: int, status: int = 404) -> dict[str, Any]:
        order = self.orders.get(oid)
        if order is None:
            raise WooApiError("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", status)
        return order

    def _update_order(self, oid: int, data: dict[str, Any]) -> dict[str, Any]:
        order = self._order(oid, 400)
        for name in ("billing", "shipping"):
            if isinstance(data.get(name), dict):
                order[name].update(data[name])
        for name in (
            "customer_note",
            "payment_method",
            "payment_method_title",
            "transaction_id",
            "meta_data",
        ):
            if name in data:
                order[name] = data[name]
        if "status" in data and data["status"] != order["status"]:
            self._set_order_status(order, data["status"])
        if data.get("set_paid") is True and order["status"] in ("pending", "failed", "on-hold"):
            self._payment_complete(order)
        self._touch(order)
        self._emit("order", "updated", oid, self._order_json(order))
        return self._order_json(order)

    def _list_orders(self, request: Request) -> Response:
        items = list(self.orders.values())
        statuses = self._list_arg(request, "status")
        if statuses and "any" not in statuses:
            items = [o for o in items if o["status"] in statuses]
        else:
            items = [o for o in items if o["status"] != "trash"]
        items = self._filter_modified(request, self._filter_ids(request, items))
        items = self._filter_customer(request, items)
        self._sort(request, items, "date", "desc")
        chunk, headers = self._paginate(request, items, "orders")
        return json_response([self._fields(request, self._order_json(o)) for o in chunk], 200, headers)

    def _filter_customer(self, request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``customer`` (the ``_customer_user`` id; 0 lists guest orders) and ``search`` as
        ``wc_order_search`` runs it: a ``LIKE %term%`` on the billing and shipping address indexes
        (every billing field, the email and phone among them) and the line items' names."""
        customer = self._arg(request, "customer")
        if customer is not None:
            if not is_int(customer):
                raise invalid_param("customer", "customer is not of type integer.", "rest_invalid_type")
            items = [o for o in items if o["customer_id"] == int(customer)]
        term = (self._arg(request, "search") or "").strip().lower()
        if term:
            items = [o for o in items if term in _search_index(o)]
        return items

    def _get_order(self, request: Request) -> dict[str, Any]:
        return self._fields(request, self._order_json(self._order(int(request.params["id"]))))

    def _create_order_http(self, request: Request) -> Response:
        data = self._create_order(self._body(request))
        return json_response(data, 201, {"Location": f"{self.url}{PREFIX}/orders/{data['id']}"})

    def _update_order_http(self, request: Request) -> dict[str, Any]:
        return self._update_order(int(request.params["id"]), self._body(request))

    def _delete_order_http(self, request: Request) -> dict[str, Any]:
        order = self._order(int(request.params["id"]))
        before = self._order_json(order)
        if truthy(self._arg(request, "force")):
            del self.orders[order["id"]]
            return before
        order["status"] = "trash"
        self._touch(order)
        self._emit("order", "deleted", order["id"], {"id": order["id"]})
        return self._order_json(order)

    def _create_refund_http(self, request: Request) -> Response:
        """``wc_create_refund`` with ``restock_items`` from ``api_restock`` (default true when not a
        boolean, ``RestApiParameterUtil::adjust_create_refund_request_parameters``)."""
        order = self._order(int(request.params["pid"]))
        data = self._body(request)
        restock = data.get("api_restock", True) is not False
        lines: list[dict[str, Any]] = []
        quantities: dict[int, int] = {}
        amount = Decimal(0)
        by_id = {li["id"]: li for li in order["line_items"]}
        for item in data.get("line_items") or []:
            line = by_id.get(int(item.get("id", 0))) if is_int(item.get("id", 0)) else None
            if line is None:
                raise WooApiError("woocommerce_rest_invalid_order_refund", "Invalid line item.", 400)
            qty = int(item.get("quantity") or 0)
            refund_total = Decimal(str(item.get("refund_total") or "0"))
            amount += refund_total
            quantities[line["id"]] = qty
            self._next_meta_id += 1
            lines.append(
                {
                    **line,
                    "id": self._item_id(),
                    "quantity": -qty,
                    "total": money(-refund_total),
                    "meta_data": [
                        {"id": self._next_meta_id, "key": "_refunded_item_id", "value": str(line["id"])}
                    ],
                }
            )
        if data.get("amount") not in (None, ""):
            try:
                amount = Decimal(str(data["amount"]))
            except InvalidOperation as exc:
                raise WooApiError(
                    "woocommerce_rest_invalid_order_refund", "Refund amount is invalid.", 400
                ) from exc
        if amount < 0:
            raise WooApiError(
                "woocommerce_rest_invalid_order_refund", "Refund amount must be greater than zero.", 400
            )
        refund = self._add_refund(order, amount, data.get("reason", ""), lines)
        if restock:
            self._restock_refunded_items(order, quantities)
        total = sum((Decimal(li["total"]) for li in order["line_items"]), Decimal(0))
        refunded = sum((self.refunds[r]["amount"] for r in order["refunds"]), Decimal(0))
        if total and refunded >= total and order["status"] != "refunded":
            self._set_order_status(order, "refunded")  # restocks nothing by itself
        self._touch(order)
        self._emit("order", "updated", order["id"], self._order_json(order))
        return json_response(self._refund_json(refund), 201)

    def _list_refunds(self, request: Request) -> Response:
        order = self._order(int(request.params["pid"]))
        items = [self.refunds[r] for r in order["refunds"] if r in self.refunds]
        chunk, headers = self._paginate(request, items, f"orders/{order['id']}/refunds")
        return json_response([self._refund_json(r) for r in chunk], 200, headers)

    def _get_refund(self, request: Request) -> dict[str, Any]:
        refund = self.refunds.get(int(request.params["id"]))
        if refund is None or refund["order_id"] != int(request.params["pid"]):
            raise WooApiError("woocommerce_rest_invalid_id", "Invalid resource ID.", 404)
        return self._refund_json(refund)


def _search_index(order: dict[str, Any]) -> str:
    """What ``wc_order_search`` matches an order's ``search`` against, lower-cased."""
    parts = [*order["billing"].values(), *order["shipping"].values()]
    parts += [line.get("name", "") for line in order["line_items"]]
    return " ".join(str(part) for part in parts).lower()
