"""Links changed by hand (``shopbridge link`` and ``unlink``): the checks and the one transaction.

The linker reports what it cannot decide (a SKU used twice, a GTIN that disagrees) instead of
guessing; a human settles it by linking a SKU to a channel's variant, or unlinking one. Either is
refused, with why, unless it is safe: the variant must be one shopbridge has read (a typo would
link nothing), and a link in the way is only replaced when asked. The change, its audit line and
the dropped catalogue cursors are one transaction: a changed link is only seen by a sync that reads
its products again, so the next sync reads every catalogue in full.

The CLI parses the arguments and renders :class:`Linked` / :class:`LinkRefused`; nothing here
prints.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.storage import LinkRow, SeenVariant, Storage

__all__ = ["LinkRefused", "Linked", "Unlinked", "link_by_hand", "unlink_by_hand"]


class LinkRefused(Exception):
    """Nothing was changed: ``problems`` say why (one line each), ``hint`` what was found instead."""

    def __init__(self, *problems: str, hint: str | None = None) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
        self.hint = hint


@dataclass(frozen=True)
class Linked:
    """``sku`` is linked to ``channel``'s variant ``channel_id`` (``already``: it was, untouched);
    ``displaced`` are the ``(sku, variant id)`` links it replaced there."""

    sku: str
    channel: str
    channel_id: str
    sku_there: str | None
    already: bool = False
    displaced: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Unlinked:
    sku: str
    channel: str
    channel_id: str


def link_by_hand(
    store: Storage, sku: str, channel: str, channel_id: str, *, product_id: str | None, replace: bool
) -> Linked:
    """Link ``sku`` to ``channel``'s variant ``channel_id`` (of ``product_id``, default: as last
    read), replacing the links in the way only with ``replace``; raises :class:`LinkRefused`."""
    seen = _seen_variant(store, channel, channel_id)
    if product_id is not None and product_id != seen.product_id:
        raise LinkRefused(
            f"{channel} variant {channel_id} belongs to product {seen.product_id}, "
            f"not {product_id} (leave out --product-id to use the one last read)"
        )
    if any(
        r["channel"] == channel and r["channel_id"] == channel_id
        for r in store.links_by_key("variant", [sku])
    ):
        return Linked(sku, channel, channel_id, seen.sku, already=True)
    in_way = store.variant_links_in_way(sku, channel, channel_id)
    if in_way and not replace:
        raise LinkRefused(*(_in_way(sku, channel, channel_id, r) for r in in_way))
    with store.transaction():
        displaced = store.link_variant_by_hand(sku, channel, channel_id, seen.product_id)
        replaced = tuple((r["canonical_key"], r["channel_id"]) for r in displaced)
        store.audit(
            channel,
            "link",
            sku,
            {"channel_id": channel_id, "by": "user", "replaced": [list(pair) for pair in replaced]},
        )
        store.forget_catalog_cursors()
    return Linked(sku, channel, channel_id, seen.sku, displaced=replaced)


def unlink_by_hand(store: Storage, sku: str, channel: str) -> Unlinked:
    """Forget ``sku``'s link on ``channel`` (the channel's product is untouched) and what we last
    wrote there for it; raises :class:`LinkRefused` if there is none."""
    links = [r for r in store.links_by_key("variant", [sku]) if r["channel"] == channel]
    if not links:
        raise LinkRefused(f"{sku} is not linked on {channel}")
    channel_id = links[0]["channel_id"]
    with store.transaction():
        store.delete_link("variant", sku, channel)
        store.forget_baselines(channel, [sku])
        store.audit(channel, "unlink", sku, {"channel_id": channel_id, "by": "user"})
        store.forget_catalog_cursors()
    return Unlinked(sku, channel, channel_id)


def _seen_variant(store: Storage, channel: str, channel_id: str) -> SeenVariant:
    """The variant ``channel_id`` in ``channel``'s last read, or why it cannot be linked."""
    read_at = store.last_read_at(channel)
    if read_at is None:
        raise LinkRefused(
            f"shopbridge has never read {channel}, so it cannot check variant {channel_id!r}: "
            "run a first `shopbridge sync` (review it with `shopbridge sync --dry-run`), then link"
        )
    rows = store.last_read_variants(channel, variant_id=channel_id, product_id=channel_id)
    found = [r for r in rows if r.variant_id == channel_id]
    if found:
        return found[0]
    hint = None
    if rows:
        variants = ", ".join(f"{r.variant_id} (SKU {r.sku or 'none'})" for r in rows)
        hint = f"{channel_id} is a product on {channel}; its variants: {variants}"
    raise LinkRefused(
        f"{channel} has no variant {channel_id!r} in its last read ({read_at[:19]}Z): check the id, "
        "or if the variant is new, let `shopbridge sync` read it first (`sync --dry-run` records nothing)",
        hint=hint,
    )


def _in_way(sku: str, channel: str, channel_id: str, link: LinkRow) -> str:
    if link["canonical_key"] == sku:
        what = f"{sku} is already linked to {channel} variant {link['channel_id']}"
    else:
        what = f"{channel} variant {channel_id} is linked to {link['canonical_key']}"
    unlink = f"shopbridge unlink {link['canonical_key']} --channel {channel}"
    return f"{what}: run `{unlink}` first, or pass --replace"
