"""eBay orders read as stock events: each line of an order that completed checkout is a sale, and a
cancelled order gives its units back once.

The Fulfillment API's ``getOrders`` is polled with ``lastmodifieddate:[<cursor>..]`` in overlapping
windows, eBay's own advice (poll from the last run minus a margin, eBay KB 1788): the cursor is the
latest ``lastModifiedDate`` read, less :data:`OVERLAP`, so an order eBay indexed a little late is
still found; the cursor also names the events it already returned from that overlap, so a read from
it returns each once (and one read twice anyway, from an older cursor, adds nothing: every event
has a stable id):

* ``ebay:order:<orderId>:line:<lineItemId>``, a SALE of the line's quantity, dated ``creationDate``;
* ``ebay:order:<orderId>:line:<lineItemId>:cancel``, its CANCEL (the units back), once the order's
  ``cancelStatus.cancelState`` is ``CANCELED``, dated ``cancelledDate``.

The cursor only moves once the page holding it is returned, so it never passes an event the sync
has not recorded (the sync stores the cursor after the events). Lines are read with the SKU as
the variant id (eBay keys inventory by SKU); location is left to the online-sale allocation rule.
Only orders whose checkout completed count (the API lists only those; a payment still pending or
failed is skipped as well, in case).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.base import Page
from adapters.ebay_client import EbayClient
from adapters.issues import ReadIssue
from bridge.models import StockEvent, StockEventKind

__all__ = ["ORDERS_PAGE", "OVERLAP", "cursor_at", "order_events", "read_order_events"]

ORDERS = "/sell/fulfillment/v1/order"
ORDERS_PAGE = 200
"""getOrders' maximum ``limit``."""
OVERLAP = timedelta(minutes=2)
"""How far each window reaches back before the latest modification already read."""
NOT_CHECKED_OUT = frozenset({"PENDING", "FAILED"})


def parse_time(value: Any) -> datetime | None:
    """An eBay timestamp (``2026-12-02T11:32:00.000Z``) as an aware datetime, None if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def fmt_time(when: datetime) -> str:
    """A datetime as eBay's filters take it (UTC, milliseconds, ``Z``)."""
    utc = when.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def cursor_at(when: datetime) -> str:
    """The events cursor for "orders modified from ``when`` on"."""
    return fmt_time(when)


def _issue(order_id: str, line: Mapping[str, Any], field: str, problem: str) -> ReadIssue:
    return ReadIssue(
        "ebay",
        "order line",
        str(line.get("lineItemId") or "") or None,
        field,
        problem,
        parent=f"order {order_id}",
        skus=(str(line["sku"]),) if isinstance(line.get("sku"), str) else (),
        hint="its stock shows in eBay's counts; check the order in Seller Hub",
    )


def order_events(order: Mapping[str, Any]) -> tuple[list[StockEvent], list[ReadIssue]]:
    """The stock events of one order (a sale per line, a give-back per line once cancelled)."""
    order_id = str(order.get("orderId") or "")
    created = parse_time(order.get("creationDate"))
    if not order_id or created is None or order.get("orderPaymentStatus") in NOT_CHECKED_OUT:
        return [], []
    cancel = order.get("cancelStatus") or {}
    cancelled = cancel.get("cancelState") == "CANCELED"
    cancelled_at = parse_time(cancel.get("cancelledDate")) or parse_time(order.get("lastModifiedDate"))
    events: list[StockEvent] = []
    issues: list[ReadIssue] = []
    for line in order.get("lineItems") or []:
        if not isinstance(line, Mapping):
            continue
        sku, quantity, line_id = line.get("sku"), line.get("quantity"), line.get("lineItemId")
        if not isinstance(sku, str) or not sku:
            issues.append(_issue(order_id, line, "sku", "is missing: the sale cannot be linked"))
            continue
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            issues.append(_issue(order_id, line, "quantity", f"is {quantity!r}, not a whole number"))
            continue
        source = f"ebay:order:{order_id}:line:{line_id}"
        common = {"channel": "ebay", "variant_id": sku, "sku": sku, "order_id": order_id}
        events.append(
            StockEvent(
                source_id=source,
                kind=StockEventKind.SALE,
                delta=-quantity,
                occurred_at=created,
                reason=f"eBay order {order_id}",
                **common,
            )
        )
        if cancelled:
            events.append(
                StockEvent(
                    source_id=source + ":cancel",
                    kind=StockEventKind.CANCEL,
                    delta=quantity,
                    occurred_at=cancelled_at or created,
                    reason=f"eBay order {order_id} cancelled",
                    **common,
                )
            )
    return events, issues


@dataclass(frozen=True)
class _Cursor:
    """Where the next window starts, and the events already returned from its overlap (so that a
    read from the cursor returns each event once, while still looking back :data:`OVERLAP`)."""

    start: str | None
    seen: frozenset[str] = frozenset()

    @staticmethod
    def parse(text: str | None) -> _Cursor:
        if not text:
            return _Cursor(None)
        start, _, seen = text.partition("|")
        return _Cursor(start or None, frozenset(s for s in seen.split(",") if s))

    def text(self) -> str | None:
        if self.start is None:
            return None
        return self.start + ("|" + ",".join(sorted(self.seen)) if self.seen else "")


def _filter(start: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": ORDERS_PAGE}
    if start:
        params["filter"] = f"lastmodifieddate:[{start}..]"
    return params


def _next_cursor(previous: _Cursor, read: Sequence[tuple[datetime, list[StockEvent]]]) -> _Cursor:
    """The latest modification read, less the overlap (never earlier than where this read began),
    with the events of the orders modified since that start."""
    if not read:
        return previous
    start = parse_time(previous.start) if previous.start else None
    moved = max(stamp for stamp, _ in read) - OVERLAP
    begin = max(moved, start) if start else moved
    seen = {ev.source_id for stamp, events in read if stamp >= begin for ev in events}
    return _Cursor(fmt_time(begin), frozenset(seen))


def read_order_events(client: EbayClient, cursor: str | None) -> Page[StockEvent]:
    """Every order modified since ``cursor`` (the last 90 days when None) as stock events, less
    those the cursor says were returned already."""
    calls_before = client.calls
    at = _Cursor.parse(cursor)
    events: dict[str, StockEvent] = {}
    issues: list[ReadIssue] = []
    read: list[tuple[datetime, list[StockEvent]]] = []
    for page in client.pages(ORDERS, _filter(at.start), "orders"):
        for order in page:
            if not isinstance(order, Mapping):
                continue
            found, bad = order_events(order)
            stamp = parse_time(order.get("lastModifiedDate"))
            if stamp is not None:
                read.append((stamp, found))
            events.update((ev.source_id, ev) for ev in found if ev.source_id not in at.seen)
            issues.extend(bad)
    return Page(
        items=sorted(events.values(), key=lambda ev: (ev.occurred_at, ev.source_id)),
        cursor=_next_cursor(at, read).text(),
        calls=client.calls - calls_before,
        issues=issues,
    )
