"""When orders move stock: WooCommerce's PHP rules, line by line.

``wc_maybe_reduce_stock_levels`` / ``wc_maybe_increase_stock_levels`` on status changes and
payment, the per-line ``_reduced_stock`` meta that makes them idempotent, restocking refunds and
``wc_order_fully_refunded`` (``wc-stock-functions.php``, ``wc-order-functions.php``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.woocommerce.errors import invalid_param
from sandbox.woocommerce.webhooks import WooWebhooks

REDUCING_STATUSES = {"processing", "on-hold", "completed"}
"""``wc_maybe_reduce_stock_levels`` is hooked on these ``woocommerce_order_status_<to>`` actions (and
``woocommerce_payment_complete``), ``wc-stock-functions.php``."""


RESTORING_STATUSES = {"cancelled", "pending"}
"""``wc_maybe_increase_stock_levels`` is hooked on these; ``failed`` and ``refunded`` restore nothing."""


REDUCED_STOCK = "_reduced_stock"


RESTOCKED = "_restock_refunded_items"


ORDER_STATUSES = {
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "trash",
    "checkout-draft",
}


def _php_truthy(value: str) -> bool:
    """PHP's truthiness of a meta string: ``""`` and ``"0"`` are false, anything else is true."""
    return value not in ("", "0")


def _meta_int(value: str) -> int:
    return int(Decimal(value or "0"))


class WooStockRules(WooWebhooks):
    """Order status transitions and the stock each one moves."""

    def _move_stock(self, line: dict[str, Any], delta: int) -> None:
        """``wc_update_product_stock``: relative and atomic (we hold the lock), then ``save()``."""
        record = self.products.get(line["variation_id"] or line["product_id"])
        if record is None:
            return
        owner = self._stock_owner(record)
        if owner is None:
            return
        owner["stock_quantity"] = int(owner["stock_quantity"] or 0) + delta
        self._touch(owner)
        self._product_event(owner, "updated")

    def _meta(self, line: dict[str, Any], key: str) -> str:
        """``$item->get_meta( $key, true )``: the value, or ``""`` when the line has none."""
        return next((str(m["value"]) for m in line["meta_data"] if m["key"] == key), "")

    def _set_meta(self, line: dict[str, Any], key: str, value: int | None) -> None:
        """``update_meta_data`` (``None``: ``delete_meta_data``); meta values are stored as strings."""
        line["meta_data"] = [m for m in line["meta_data"] if m["key"] != key or value is not None]
        for m in line["meta_data"]:
            if m["key"] == key:
                m["value"] = str(value)
                return
        if value is not None:
            self._next_meta_id += 1
            line["meta_data"].append({"id": self._next_meta_id, "key": key, "value": str(value)})

    def _manages_stock(self, line: dict[str, Any]) -> bool:
        record = self.products.get(line["variation_id"] or line["product_id"])
        return record is not None and self._stock_owner(record) is not None

    def _reduce_stock_levels(self, order: dict[str, Any]) -> None:
        """``wc_maybe_reduce_stock_levels``: once per order (``_order_stock_reduced``), and in
        ``wc_reduce_stock_levels`` once per line: a line whose ``_reduced_stock`` is set (PHP-truthy)
        or whose product does not manage stock is skipped; the others lose their quantity and get
        ``_reduced_stock = qty``."""
        if order["stock_reduced"]:
            return
        for line in order["line_items"]:
            if _php_truthy(self._meta(line, REDUCED_STOCK)) or not self._manages_stock(line):
                continue
            self._move_stock(line, -line["quantity"])
            self._set_meta(line, REDUCED_STOCK, line["quantity"])
        order["stock_reduced"] = True

    def _increase_stock_levels(self, order: dict[str, Any]) -> None:
        """``wc_maybe_increase_stock_levels`` (only if ``_order_stock_reduced``) and
        ``wc_increase_stock_levels``: each line gets back its ``_reduced_stock`` (skipped when that
        is empty or ``"0"``, e.g. after a full restocking refund), and the meta is deleted."""
        if not order["stock_reduced"]:
            return
        for line in order["line_items"]:
            reduced = self._meta(line, REDUCED_STOCK)
            if not _php_truthy(reduced) or not self._manages_stock(line):
                continue
            self._move_stock(line, _meta_int(reduced))
            self._set_meta(line, REDUCED_STOCK, None)
        order["stock_reduced"] = False

    def _restock_refunded_items(self, order: dict[str, Any], quantities: dict[int, int]) -> None:
        """``wc_restock_refunded_items`` (``wc-order-functions.php``): each refunded line with a
        quantity and a set ``_reduced_stock`` gets the refunded quantity back (not capped), its
        ``_reduced_stock`` lowered by it and ``_restock_refunded_items`` raised by it."""
        for line in order["line_items"]:
            qty = quantities.get(line["id"], 0)
            reduced = self._meta(line, REDUCED_STOCK)
            if not _php_truthy(reduced) or not qty or not self._manages_stock(line):
                continue
            self._move_stock(line, qty)
            self._set_meta(line, REDUCED_STOCK, _meta_int(reduced) - qty)
            self._set_meta(line, RESTOCKED, _meta_int(self._meta(line, RESTOCKED)) + qty)

    def _set_order_status(self, order: dict[str, Any], status: str) -> None:
        """``set_status`` then the ``woocommerce_order_status_<to>`` hooks that touch stock."""
        if status not in ORDER_STATUSES | self.custom_order_statuses:
            raise invalid_param(
                "status",
                "status is not one of "
                + ", ".join(sorted(ORDER_STATUSES | self.custom_order_statuses))
                + ".",
                "rest_not_in_enum",
            )
        order["status"] = status
        if status in ("processing", "completed") and order["date_paid"] is None:
            order["date_paid"] = self.now()
        if status == "completed" and order["date_completed"] is None:
            order["date_completed"] = self.now()
        if status in REDUCING_STATUSES:
            self._reduce_stock_levels(order)
        elif status in RESTORING_STATUSES:
            self._increase_stock_levels(order)
        elif status == "refunded":
            self._fully_refunded(order)

    def _payment_complete(self, order: dict[str, Any]) -> None:
        """``WC_Order::payment_complete``: ``date_paid``, the payment-complete status (a plugin's custom
        one included), then ``woocommerce_payment_complete``, which reduces stock whatever that is."""
        order["date_paid"] = order["date_paid"] or self.now()
        if order["status"] != self.payment_complete_status:
            self._set_order_status(order, self.payment_complete_status)
        self._reduce_stock_levels(order)

    def _fully_refunded(self, order: dict[str, Any]) -> None:
        """``wc_order_fully_refunded`` (on ``woocommerce_order_status_refunded``): a refund of what is
        left, without line items and without restock."""
        total = sum((Decimal(li["total"]) for li in order["line_items"]), Decimal(0))
        left = total - sum((self.refunds[r]["amount"] for r in order["refunds"]), Decimal(0))
        if left > 0:
            self._add_refund(order, left, "Order fully refunded.", [])
