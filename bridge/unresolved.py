"""Stock events that could not be placed in the ledger yet, said in words a shop owner can act on.

A sale of a variant shopbridge does not know (not linked, without a SKU, an id it never read), or at
a location it does not map, cannot be put in the ledger: there is no SKU or location to put it at.
Dropping it would lose a unit for good, because the channel's event cursor moves past it. So the
sync keeps it (the store's ``unresolved_events``), reports it in the plan and in ``shopbridge
status``, and tries it again whenever its variant (or SKU) is planned: once linked, it enters the
ledger under its own source id, so exactly once however often it is tried.

Pure: these functions only describe events.
"""

from __future__ import annotations

import re
from typing import Any

from bridge.models import StockEvent

__all__ = ["describe", "order_and_line"]

_ORDER = re.compile(r"(?:^|:)order:([^:]+)")
_LINE = re.compile(r"(?:^|:)line:([^:]+)")


def order_and_line(event: StockEvent) -> tuple[str | None, str | None]:
    """The channel's order id and order line id the event comes from, when it says.

    From the event itself (``order_id``), else from its source id (WooCommerce's
    ``woocommerce:order:<order>:line:<line>``)."""
    order = event.order_id or _first(_ORDER, event.source_id)
    return order, _first(_LINE, event.source_id)


def describe(event: StockEvent, why: str) -> dict[str, Any]:
    """A JSON-able report of a held event: where it comes from, what it moved, why it waits, and a
    one-line ``summary`` (``woocommerce order 1042 line 3: sale -2 of variant 55 (no SKU): ...``)."""
    order, line = order_and_line(event)
    where = f"order {order}" if order else event.source_id
    if line:
        where += f" line {line}"
    variant = f"variant {event.variant_id}" if event.variant_id else "an unknown variant"
    sku = f"SKU {event.sku}" if event.sku else "no SKU"
    return {
        "channel": event.channel,
        "source_id": event.source_id,
        "order": order,
        "line": line,
        "variant_id": event.variant_id,
        "sku": event.sku,
        "location_id": event.location_id,
        "kind": event.kind.value,
        "delta": event.delta,
        "occurred_at": event.occurred_at.isoformat(),
        "why": why,
        "summary": (
            f"{event.channel} {where}: {event.kind.value} {event.delta:+d} of {variant} ({sku}): {why}; "
            "kept, and counted once it is linked"
        ),
    }


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    found = pattern.search(text)
    return found.group(1) if found else None
