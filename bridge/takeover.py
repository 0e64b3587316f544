"""A variant taking over a link from another object of its channel: its history is in its count.

A till item deleted and made again, or a WooCommerce product trashed and made again under the same
SKU, takes over the old one's link (:mod:`bridge.linking`, :mod:`bridge.vanished`). The new
object's change log starts from nothing, not from the ledger: its events up to the count read are
already in that count. Pure: used by :mod:`bridge.engine`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime

from bridge.linking import ExistingLink, LinkGroup
from bridge.models import StockEvent

__all__ = ["before_takeover", "successors"]


def successors(links: Iterable[ExistingLink], groups: Iterable[LinkGroup]) -> set[tuple[str, str]]:
    """``(channel, variant id)`` of the variants taking over a link (``links``: the store's links
    for the chunk) from another object of the same channel (deleted, trashed or archived)."""
    before = {(ex.channel, ex.sku): ex.variant_id for ex in links}
    return {
        (ch, m.variant_id)
        for g in groups
        for ch, m in g.members.items()
        if before.get((ch, g.sku), m.variant_id) != m.variant_id
    }


def before_takeover(
    events: Iterable[StockEvent], taking_over: Collection[tuple[str, str]], counted_at: Mapping[str, datetime]
) -> tuple[list[StockEvent], set[str]]:
    """``events`` without those of a variant taking over a link (``taking_over``) on a channel
    counted per location, up to that channel's count read (``counted_at``, per channel), and the
    source ids left out. Such a variant's change log starts from nothing, not from the ledger: a
    till item deleted and made again with the 7 units on the shelf counted in shows +7. Its history
    before the take-over is in the count it is judged by instead."""
    kept: list[StockEvent] = []
    in_count: set[str] = set()
    for ev in events:
        counted = counted_at.get(ev.channel)
        if (
            (ev.channel, ev.variant_id or "") in taking_over
            and counted is not None
            and ev.occurred_at <= counted
        ):
            in_count.add(ev.source_id)
        else:
            kept.append(ev)
    return kept, in_count
