"""WooCommerce orders read as stock effects: what WooCommerce holds reduced for each order line now.

Each order line's ``_reduced_stock`` meta (shown in the REST ``meta_data``) is what WooCommerce holds
reduced for it, whatever path the order took; the sync records only its change
(:mod:`bridge.effects`), not a sale, cancel or return per event. Orders are polled like the
catalogue, through the moving-list read and the cursor of :mod:`adapters.woocommerce_cursor`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.base import Page
from adapters.issues import ReadIssue
from adapters.woocommerce_client import WooCommerceClient
from adapters.woocommerce_cursor import PollCursor, item_key, parse_gmt
from adapters.woocommerce_wire import DATE_FMT, checked_order, checked_refunds
from bridge.models import Effect, StockEvent, StockEventKind

__all__ = ["WooCommerceOrders"]

REDUCED_STOCK = "_reduced_stock"
"""Line-item meta where WooCommerce keeps the units it holds reduced (``wc-stock-functions.php``)."""
HOLDS_NOTHING = {"pending", "cancelled", "failed", "checkout-draft", "auto-draft"}
"""Statuses whose orders hold no reduced stock on WooCommerce's standard paths (used only when a
payload lacks the line meta)."""


def _meta_number(meta: Sequence[Any], key: str) -> int | None:
    """The whole number a line meta ``key`` holds: 0 when the line has no such meta (WooCommerce's
    own reading of an absent ``_reduced_stock``), None when its value is not a number."""
    for item in meta:
        if isinstance(item, Mapping) and item.get("key") == key:
            try:
                return int(Decimal(str(item.get("value") or 0)))
            except (InvalidOperation, ValueError, OverflowError):
                return None
    return 0


class WooCommerceOrders(WooCommerceClient):
    """Stock events of :class:`adapters.woocommerce.WooCommerceAdapter`, read from orders."""

    def order_events(
        self, order: Mapping[str, Any], refunds: Sequence[Mapping[str, Any]] = ()
    ) -> list[StockEvent]:
        """Per order line, the stock WooCommerce holds reduced for it *now*, as an :class:`Effect`.

        WooCommerce's own bookkeeping is the line's ``_reduced_stock`` meta, which the REST API
        returns in ``line_items[].meta_data``: set to the quantity when stock is reduced
        (``wc_reduce_stock_levels``), lowered by each restocking refund (``wc_restock_refunded_items``),
        deleted when stock is restored (``wc_increase_stock_levels``). The line's effect is minus that
        value (no meta: nothing reduced), whatever path the order took; the sync records only its
        change (:mod:`bridge.effects`). A payload without ``meta_data`` falls back to the status:
        pending, cancelled, failed and draft hold nothing, any other status holds the whole quantity
        (refunds taken as not restocked, the reading that can only under-promise); a trashed order
        without it is not read. ``refunds`` only name the ids older versions recorded refund lines
        under (``_refunded_item_id``), so that those entries count as part of the effect.
        """
        status = str(order.get("status") or "")
        oid = order["id"]
        paid = parse_gmt(order.get("date_paid_gmt"))
        modified = (
            parse_gmt(order.get("date_modified_gmt")) or paid or parse_gmt(order.get("date_created_gmt"))
        )
        assert modified is not None
        legacy = self._refund_line_ids(refunds)
        events: list[StockEvent] = []
        for line in order.get("line_items") or []:
            amount = self._line_effect(line, status)
            qty = int(line.get("quantity") or 0)
            if amount is None or (qty <= 0 and not amount):
                continue
            key = f"woocommerce:order:{oid}:line:{line['id']}"
            events.append(
                StockEvent(
                    source_id=key,
                    channel=self.name,
                    kind=StockEventKind.SALE,
                    delta=amount,
                    occurred_at=modified,
                    variant_id=str(line.get("variation_id") or line.get("product_id")),
                    sku=line.get("sku") or None,
                    reason=f"woocommerce order {oid} line {line['id']} ({status})",
                    effect=Effect(
                        key=key,
                        amount=amount,
                        taken=max(qty - self._restocked(line), 0),
                        taken_at=paid,
                        legacy=tuple(legacy.get(str(line["id"]), ())),
                    ),
                )
            )
        return events

    @staticmethod
    def _line_effect(line: Mapping[str, Any], status: str) -> int | None:
        """Minus the units WooCommerce holds reduced for ``line`` (None: not knowable from the payload).

        Without readable line meta, the status decides (see :meth:`order_events`)."""
        meta = line.get("meta_data")
        if isinstance(meta, list):
            reduced = _meta_number(meta, REDUCED_STOCK)
            if reduced is not None:
                return -reduced
        if status == "trash":
            return None
        return 0 if status in HOLDS_NOTHING else -int(line.get("quantity") or 0)

    @staticmethod
    def _restocked(line: Mapping[str, Any]) -> int:
        """Units restocked by refunds (``_restock_refunded_items``): a count taken before any change
        seen later is assumed to hold the paid quantity less these, which can only under-promise."""
        meta = line.get("meta_data")
        return (_meta_number(meta, "_restock_refunded_items") or 0) if isinstance(meta, list) else 0

    @staticmethod
    def _refund_line_ids(refunds: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
        """Order line id → the ids older versions gave its refund lines (``woocommerce:refund:…``)."""
        out: dict[str, list[str]] = {}
        for refund in refunds:
            for line in refund.get("line_items") or []:
                for item in line.get("meta_data") or []:
                    if isinstance(item, Mapping) and item.get("key") == "_refunded_item_id":
                        source = f"woocommerce:refund:{refund['id']}:line:{line['id']}"
                        out.setdefault(str(item.get("value")), []).append(source)
        return out

    def events_cursor_at(self, when: datetime) -> str | None:
        return PollCursor(newest=when.astimezone(UTC)).dump(self.overlap)

    def read_stock_events(self, cursor: str | None = None) -> Page[StockEvent]:
        start = self.calls
        poll = PollCursor.load(cursor)
        params: dict[str, Any] = {"orderby": "modified", "order": "asc"}
        if poll.newest is not None:
            params.update(
                modified_after=(poll.newest - self.overlap).strftime(DATE_FMT), dates_are_gmt="true"
            )
        events: list[StockEvent] = []
        issues: list[ReadIssue] = []
        self._read_started = None
        pages = self._get_since("orders", params) if poll.newest else self._pages("orders", params)
        for raw in (order for page in pages for order in page):
            order, skipped = checked_order(raw)
            if order is None or not poll.is_new(key := item_key("o", raw)):
                issues.extend(skipped if order is None else ())
                continue
            issues.extend(skipped)
            refunds: list[dict[str, Any]] = []
            if order.get("refunds"):
                refunds, skipped = checked_refunds(
                    order["id"], self._get_all(f"orders/{order['id']}/refunds", {})
                )
                issues.extend(skipped)
            events.extend(self.order_events(order, refunds))
            poll.record(key, order.get("date_modified_gmt"))
        poll.caught_up(self._read_started)
        # The counts of the catalogue read before this one were served before its first answer:
        # every sale in them is in this read (or an earlier one).
        return Page(
            items=events,
            cursor=poll.dump(self.overlap),
            calls=self.calls - start,
            issues=issues,
            read_until=self._read_started,
        )
