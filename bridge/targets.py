"""Targeted reads: what a webhook names, and what re-reading just that told us.

A verified delivery names a resource (an order, a product, an inventory count). The daemon's event
path (:mod:`bridge.events`) asks the channel's adapter to re-read just those resources
(``ChannelAdapter.read_targets``) instead of waiting for a whole poll: the payload is a hint, never
state. These types are the bridge's, like :mod:`bridge.writes`, so that the core plans from them
without importing any adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.models import ChannelProduct, StockEvent

__all__ = ["TargetRef", "Targets"]


@dataclass(frozen=True)
class TargetRef:
    """One resource to re-read: ``resource`` is a webhook's (``order``, ``product``, ``inventory``)
    or ``variant`` (a variant whose stock a targeted sync must re-read, ``parent_id`` its product
    when the channel needs it to find the variant)."""

    resource: str
    resource_id: str
    parent_id: str | None = None


@dataclass
class Targets:
    """What re-reading some resources of one channel told us.

    ``products``: the products re-read now (fresh counts, for a channel whose stock is in its
    catalogue); ``events``: the stock events of the resources re-read (an order's lines), with the
    same source ids as polling; ``variant_ids``: every variant whose stock the resources touch;
    ``missing``: the resources the channel no longer has (harmless: nothing to do for them)."""

    products: list[ChannelProduct] = field(default_factory=list)
    events: list[StockEvent] = field(default_factory=list)
    variant_ids: set[str] = field(default_factory=set)
    missing: list[TargetRef] = field(default_factory=list)
    calls: int = 0
