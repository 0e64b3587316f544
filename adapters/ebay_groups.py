"""eBay's multi-variation listings: an inventory item group read as ONE product with its variants.

An inventory item in a group names it in ``groupIds``; ``getInventoryItemGroup`` gives the group's
title and ``variantSKUs``, and its variants' offers share one listing (so one revision budget:
:mod:`adapters.ebay_revisions` counts a grouped SKU's revisions under its group). The product's id
is the group's key; each variant keeps its SKU as id, so stock writes stay per SKU. A variant that
cannot be read skips its whole group (the issue names every SKU of it, held back that round).

Reading a group is a call per group, and a quiet poll should cost none: :class:`GroupCache`
remembers each group with a digest of its items as last read, and reads a group again only when
one of its items changed (or joined or left it). Their quantities are left out of the digest: a
sale or our own write changes an item's availability, never the group it belongs to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from adapters.ebay_client import EbayClient, EbayRequestError
from bridge.issues import ReadIssue
from bridge.models import ChannelProduct, ChannelVariant, ProductStatus, content_hash

__all__ = ["GroupCache", "group_key", "group_product", "held_group"]

GROUP_PATH = "/sell/inventory/v1/inventory_item_group/"


def group_key(item: Mapping[str, Any]) -> str | None:
    """The group an inventory item is a variation of (``groupIds``), if any."""
    ids = item.get("groupIds")
    return str(ids[0]) if isinstance(ids, list) and ids else None


@dataclass
class GroupCache:
    """Each group as last read, with the digest of its items then (see the module's docstring)."""

    groups: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    reads: int = 0
    """``getInventoryItemGroup`` calls made (what a quiet poll should not add to)."""

    def get(self, client: EbayClient, key: str, items: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
        """The group ``key`` (None if eBay does not have it), read only if its ``items`` changed."""
        shapes = [{k: v for k, v in i.items() if k != "availability"} for i in items]
        digest = content_hash(sorted(shapes, key=lambda i: str(i.get("sku"))))
        cached = self.groups.get(key)
        if cached is not None and cached[0] == digest:
            return cached[1]
        self.reads += 1
        try:
            group = client.request("GET", GROUP_PATH + key)
        except EbayRequestError:
            return None  # not readable as a group: its items are read as products of their own
        self.groups[key] = (digest, group)
        return group


def group_product(key: str, group: Mapping[str, Any], variants: Sequence[ChannelVariant]) -> ChannelProduct:
    """One product of the group's listed variants, in the group's order of ``variantSKUs``."""
    order = {str(sku): n for n, sku in enumerate(group.get("variantSKUs") or [])}
    ordered = sorted(variants, key=lambda v: (order.get(v.channel_id, len(order)), v.channel_id))
    return ChannelProduct(
        channel="ebay",
        channel_id=key,
        kind="variable",
        name=str(group.get("title") or key),
        status=ProductStatus.ACTIVE,
        variants=tuple(ordered),
    )


def held_group(issue: ReadIssue, key: str, skus: Sequence[str]) -> ReadIssue:
    """A variant's issue widened to its whole group: the product holding it is skipped whole."""
    return replace(issue, parent=key, skus=tuple(skus), variant_ids=tuple(skus))
