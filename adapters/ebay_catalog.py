"""Reading eBay's side of the catalogue: inventory items by SKU and the offers that list them, as
channel models.

eBay is never the system of record: what it has is linked by SKU to the catalogue. An item with a
published offer is a listed variant whose ``stock`` is what the listing shows buyers, the smaller of
the item's ship-to-home quantity and the offer's ``availableQuantity`` (eBay's bulk-updates guide);
an item with no published offer is not on eBay and comes back apart, in ``Listings.unlisted``. The
offers found are kept (SKU -> offer ids) because a quantity write must name them.

A SKU whose listing shopbridge ended at a sell-out (``ended``, see :mod:`adapters.ebay_listing_ends`)
reads as a listed variant showing 0 while its offer is unpublished: it is sold out on eBay, not
gone. Found live again, its listing id comes back in ``Listings.relisted``.

Variations of an inventory item group are read as one product (:mod:`adapters.ebay_groups`).

Calls: one ``getInventoryItems`` page per 200 items (the limit's maximum), one ``getOffers`` per
SKU, since eBay has no bulk read of offers, and one ``getInventoryItemGroup`` per group whose items
changed since it was last read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.ebay_client import EbayClient, EbayRequestError
from adapters.ebay_groups import GroupCache, group_key, group_product, held_group
from bridge.issues import ReadIssue
from bridge.models import ChannelProduct, ChannelVariant, Money, ProductStatus
from bridge.writes import EndedListing

__all__ = ["ITEMS_PAGE", "Listings", "read_listings"]

INVENTORY = "/sell/inventory/v1"
ITEMS_PAGE = 200


@dataclass
class Listings:
    """The listed SKUs as products, the SKUs with no live listing, and each SKU's published offers."""

    products: list[ChannelProduct] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    offer_ids: dict[str, list[str]] = field(default_factory=dict)
    issues: list[ReadIssue] = field(default_factory=list)
    """Items that could not be read (a quantity that is not a whole number): skipped, reported."""
    relisted: dict[str, str] = field(default_factory=dict)
    """SKUs recorded as ended by us whose offer is live again -> that listing's id."""
    group_of: dict[str, str] = field(default_factory=dict)
    """A grouped SKU -> its group's key (the product id; its listing is shared)."""
    held: set[str] = field(default_factory=set)
    """Products (groups) skipped whole for an issue of one of their variants."""


def _price(offer: dict[str, Any]) -> Money | None:
    price = (offer.get("pricingSummary") or {}).get("price") or {}
    try:
        return Money(amount=Decimal(str(price["value"])), currency=str(price["currency"]))
    except (KeyError, InvalidOperation, ValueError):
        return None


def _item_quantity(item: dict[str, Any]) -> int:
    ship = (item.get("availability") or {}).get("shipToLocationAvailability") or {}
    quantity = ship.get("quantity")
    return quantity if isinstance(quantity, int) else 0


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def item_issue(item: dict[str, Any], offers: list[dict[str, Any]]) -> ReadIssue | None:
    """Why an item (or its listing) cannot be read: a count read as 0 would pass for a sell-out."""
    sku = str(item.get("sku") or "")
    ship = (item.get("availability") or {}).get("shipToLocationAvailability") or {}
    problems = (
        []
        if "quantity" not in ship or _whole(ship["quantity"])
        else [("availability.shipToLocationAvailability.quantity", ship["quantity"])]
    )
    problems += [
        ("availableQuantity", o["availableQuantity"])
        for o in offers
        if "availableQuantity" in o and not _whole(o["availableQuantity"])
    ]
    if not problems:
        return None
    where, value = problems[0]
    return ReadIssue(
        "ebay",
        "inventory item",
        sku,
        where,
        f"is {value!r}, not a whole number",
        skus=(sku,),
        variant_ids=(sku,),
        hint="fix the quantity in Seller Hub",
        holds=True,
    )


def listed_quantity(item_quantity: int, offer: dict[str, Any]) -> int:
    """What a listing shows: the item's quantity, capped by the offer's own when it has one."""
    cap = offer.get("availableQuantity")
    return max(0, min(item_quantity, cap) if isinstance(cap, int) else item_quantity)


def _offers(client: EbayClient, sku: str) -> list[dict[str, Any]]:
    try:
        return [o for page in client.pages(INVENTORY + "/offer", {"sku": sku}, "offers") for o in page]
    except EbayRequestError as exc:
        if exc.code == "25713":  # no offer for this SKU at all
            return []
        raise


def _live(offers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in offers if o.get("status") == "PUBLISHED" and o.get("listing")]


def _listing_id(offer: dict[str, Any]) -> str:
    return str((offer.get("listing") or {}).get("listingId") or "")


def _product(item: dict[str, Any], offers: list[dict[str, Any]], *, ended: bool = False) -> ChannelProduct:
    sku = str(item["sku"])
    title = str((item.get("product") or {}).get("title") or sku)
    first = offers[0]
    variant = ChannelVariant(
        channel_id=sku,
        sku=sku,
        name=title,
        price=_price(first),
        manage_stock=True,
        stock=0 if ended else listed_quantity(_item_quantity(item), first),
        version=str(first.get("offerId")),
        counted_at=datetime.now(UTC),
    )
    return ChannelProduct(
        channel="ebay",
        channel_id=sku,
        kind="simple",
        name=title,
        status=ProductStatus.ACTIVE,
        variants=(variant,),
    )


def read_listings(
    client: EbayClient,
    items: Iterable[dict[str, Any]] | None = None,
    ended: Mapping[str, EndedListing] | None = None,
    groups: GroupCache | None = None,
) -> Listings:
    """Every inventory item and its live listing (``items`` given: only those), the listings
    ``ended`` by us showing 0, the variations of a group as one product
    (:mod:`adapters.ebay_groups`; ``groups`` caches the groups read)."""
    found = Listings()
    ended = ended or {}
    grouped: dict[str, list[tuple[dict[str, Any], list[dict[str, Any]], bool]]] = {}
    if items is None:
        pages = client.pages(INVENTORY + "/inventory_item", {"limit": ITEMS_PAGE}, "inventoryItems")
        items = (item for page in pages for item in page)
    for item in items:
        sku = str(item.get("sku") or "")
        if not sku:
            continue
        every = _offers(client, sku)
        offers = _live(every)
        mine = ended.get(sku)
        if offers and mine is not None:
            found.relisted[sku] = _listing_id(offers[0])
        elif mine is not None:
            offers = [o for o in every if str(o.get("offerId")) == mine.offer_id]
        if not offers:
            found.unlisted.append(sku)
            continue
        shows_zero = mine is not None and sku not in found.relisted
        key = group_key(item)
        if key is not None:
            grouped.setdefault(key, []).append((item, offers, shows_zero))
            continue
        _add_single(found, item, offers, shows_zero)
    for key, members in grouped.items():
        _add_group(found, client, key, members, groups or GroupCache())
    return found


def _add_single(
    found: Listings, item: dict[str, Any], offers: list[dict[str, Any]], shows_zero: bool
) -> None:
    issue = item_issue(item, offers)
    if issue is not None:
        found.issues.append(issue)
        return
    found.offer_ids[str(item["sku"])] = [str(o["offerId"]) for o in offers]
    found.products.append(_product(item, offers, ended=shows_zero))


def _add_group(
    found: Listings,
    client: EbayClient,
    key: str,
    members: list[tuple[dict[str, Any], list[dict[str, Any]], bool]],
    groups: GroupCache,
) -> None:
    group = groups.get(client, key, [item for item, _, _ in members])
    if group is None:
        for item, offers, shows_zero in members:
            _add_single(found, item, offers, shows_zero)
        return
    skus = [str(item["sku"]) for item, _, _ in members]
    issues = [i for i in (item_issue(item, offers) for item, offers, _ in members) if i is not None]
    if issues:
        found.issues.append(held_group(issues[0], key, skus))
        found.held.add(key)
        return
    variants: list[ChannelVariant] = []
    for item, offers, shows_zero in members:
        sku = str(item["sku"])
        found.offer_ids[sku] = [str(o["offerId"]) for o in offers]
        found.group_of[sku] = key
        variants.extend(_product(item, offers, ended=shows_zero).variants)
    found.products.append(group_product(key, group, variants))
