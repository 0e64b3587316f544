"""Links whose channel object is gone for good, found when a live object takes over their SKU.

WooCommerce's permanent delete (``force=true``, or emptying the trash) leaves nothing to read: no
listing shows the product, no webhook fires (issue #28541), so the link stays on it. When the owner
then makes the product again under the same SKU, the new one was refused ("already linked") on every
sync and the till's sales stopped reaching the shop. A trashed product is read (as archived) and its
live successor is linked instead (``bridge.linking``); this does the same for one deleted for good.

A link is given up only when both hold: a variant read in this sync carries the link's SKU on the
link's channel, and the linked product is gone (a full read did not see it; otherwise the channel
says it no longer has it, :meth:`adapters.base.ChannelAdapter.missing`). A link whose product is
merely absent from an incremental read is left alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from itertools import islice

from adapters.base import ChannelAdapter
from bridge.store import Store
from bridge.store.staging import Staging

__all__ = ["vanished_links"]

Guard = Callable[[str], AbstractContextManager[None]]


def vanished_links(
    store: Store, staging: Staging, adapters: Mapping[str, ChannelAdapter], *, full: bool, guard: Guard
) -> set[tuple[str, str]]:
    """``(channel, variant id)`` of the links to give up (see the module docstring); ``guard(channel)``
    wraps each channel's call (turning its failure into a read failure)."""
    suspects: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    # Only what this read read: copies kept from earlier reads (staged beside it) say nothing of now.
    read = ((channel, vid, sku) for _, channel, vid, sku in staging.read_variants())
    for batch in _batched(read, 500):
        fresh = {(channel, sku): vid for channel, vid, sku in batch if sku}
        for row in store.links_by_key("variant", sorted({sku for _, sku in fresh})):
            channel, vid = row["channel"], row["channel_id"]
            reader = fresh.get((channel, row["canonical_key"]))
            if reader is None or reader == vid or staging.has_variant(channel, vid, read_only=True):
                continue
            suspects[channel][row["parent_id"] or vid].append(vid)
    gone: set[tuple[str, str]] = set()
    for channel, by_product in sorted(suspects.items()):
        if full:
            missing = set(by_product)
        else:
            with guard(channel):
                missing = adapters[channel].missing(sorted(by_product))
        gone |= {(channel, vid) for pid in missing for vid in by_product.get(pid, ())}
    return gone


def _batched(
    items: Iterator[tuple[str, str, str | None]], size: int
) -> Iterator[list[tuple[str, str, str | None]]]:
    while batch := list(islice(items, size)):
        yield batch
