"""Stock events that could not be placed in the ledger yet, said in words a shop owner can act on.

A sale of a variant shopbridge does not know (not linked, without a SKU, an id it never read), or at
a location it does not map, cannot be put in the ledger: there is no SKU or location to put it at.
Dropping it would lose a unit for good, because the channel's event cursor moves past it. So the
sync keeps it (the store's ``unresolved_events``), reports it in the plan and in ``shopbridge
status``, and tries it again whenever its variant (or SKU) is planned: once linked, it enters the
ledger under its own source id, so exactly once however often it is tried.

Pure: these functions sort and describe events; the store keeps them, the sync asks.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any

from bridge.models import StockEvent, StockEventKind

__all__ = ["describe", "order_and_line", "released", "unclaimed", "unlinked"]

NOT_LINKED = "variant not linked"

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
        "summary": f"{event.channel} {where}: {event.kind.value} {event.delta:+d} of {variant} ({sku}): "
        f"{why}; {_remedy(event, why)}",
    }


def _remedy(event: StockEvent, why: str) -> str:
    if why == NOT_LINKED and event.variant_id:
        return (
            f"kept, and counted once linked (give it its SKU, or `shopbridge link SKU --channel "
            f"{event.channel} --id {event.variant_id}`)"
        )
    return "kept, and counted once it can be placed"


def unclaimed(events: Iterable[StockEvent], claimed: Collection[str]) -> list[StockEvent]:
    """The moves no planned SKU owned (initial counts aside: they are never events to place)."""
    return [ev for ev in events if ev.source_id not in claimed and ev.kind is not StockEventKind.INITIAL]


def unlinked(
    events: Iterable[StockEvent], linked: Collection[tuple[str, str]], linked_skus: Collection[str]
) -> list[tuple[StockEvent, str]]:
    """Of ``events``, those whose variant (``(channel, variant id)`` in ``linked``) and SKU are
    linked to nothing: a variant shopbridge does not know. (An event of a linked variant that no
    chunk planned is another matter: the read did not stage its SKU.)"""
    return [
        (ev, NOT_LINKED)
        for ev in events
        if (ev.channel, ev.variant_id or "") not in linked and (ev.sku is None or ev.sku not in linked_skus)
    ]


def released(
    held: Iterable[StockEvent], claimed: Collection[str], unresolved: Iterable[tuple[StockEvent, str]]
) -> list[str]:
    """Source ids of kept events a planned SKU now owns and that were placed (or found counted)."""
    still = {ev.source_id for ev, _ in unresolved}
    return [ev.source_id for ev in held if ev.source_id in claimed and ev.source_id not in still]


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    found = pattern.search(text)
    return found.group(1) if found else None
