"""What a skipped item holds back: the SKUs linked to a catalogue item a channel served unreadable.

An adapter skips an item it cannot read and reports it (:class:`adapters.issues.ReadIssue`). The
item is not gone: for the round, nothing is planned for the SKUs it holds (no product created in
its place, nothing archived, no stock written) and its channel's count of them is not judged (a
stale count from an earlier read would pass for a manual change). Its links stay as they are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from bridge.issues import ReadIssue
from bridge.store import Store

__all__ = ["held_skus", "unread_sales"]


def held_skus(store: Store, issues: Iterable[ReadIssue]) -> dict[str, set[str]]:
    """Per channel, the SKUs held back by its skipped catalogue items: the SKUs still readable in
    them, and the canonical SKUs linked to their variants (the ids read, and the variants the store's
    last read holds under a product id read)."""
    held: dict[str, set[str]] = defaultdict(set)
    for issue in issues:
        if not issue.holds:
            continue
        held[issue.channel].update(issue.skus)
        variants = set(issue.variant_ids)
        for object_id in issue.variant_ids:
            rows = store.last_read_variants(issue.channel, variant_id=object_id, product_id=object_id)
            variants.update(r.variant_id for r in rows)
        links = store.links_of_groups("variant", [(issue.channel, v) for v in sorted(variants)])
        held[issue.channel].update(r["canonical_key"] for r in links)
    return dict(held)


def unread_sales(issues: Iterable[ReadIssue]) -> dict[str, set[str]]:
    """Per channel, the SKUs of sales (order lines) it served unreadable.

    The channel's own count of such a SKU already holds a move we could not read: judged, it would
    turn that sale into a manual change (counted again once the line is fixed); written over, it
    would be raised by the units sold. So that channel's count of it is neither judged nor written
    that round; the other channels still get what the readable moves say."""
    unread: dict[str, set[str]] = defaultdict(set)
    for issue in issues:
        if not issue.holds and issue.kind == "order line":
            unread[issue.channel].update(issue.skus)
    return dict(unread)
