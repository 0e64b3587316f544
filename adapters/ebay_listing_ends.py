"""Selling out on an eBay account that refuses a quantity of 0: the listing is ended and, at the
restock, listed again.

eBay's default we rely on is the Out-of-Stock control: a listing at 0 stays alive as
``OUT_OF_STOCK`` (its history and watchers kept), so 0 is written as 0. An account without that
preference refuses 0 with 25004, and then the only way not to oversell is to end the listing:
``withdrawOffer`` (the offer stays, unpublished, and is no longer buyable), and when the SKU is in
stock again ``publishOffer``, which makes a **new** listing (eBay gives it a new listing id). The
``zero_quantity`` setting chooses: ``auto`` (write 0; the first 25004 teaches us the account
refuses it, remembered per channel in the store, and the listing is ended at once), ``end_listing``
(always end at 0) or ``out_of_stock`` (always write 0; a refusal is reported naming the preference).

The ended listings are kept in the store (:class:`bridge.writes.EndedListings`): while ended, the
SKU still reads as a listed variant showing 0 (it is not gone from eBay, and the restock must know
which offer to publish); a listing found live again (a publish whose answer was lost, or the seller
relisting it in Seller Hub) closes its record with the listing id found.

Neither call is idempotent on eBay's side and an answer can be lost, so neither is sent again
blindly: each is sent once per try (no transport retry), and before a resend, or before the first
send of a write already tried in an earlier run (``uncertain``), the offer's status is read: an
offer already ``UNPUBLISHED`` is withdrawn, one already ``PUBLISHED`` is listed, and that is the
answer. Only the SKU's first published offer is ended and listed again (shopbridge links one
fixed-price listing per SKU).

A multi-variation listing (an inventory item group) lives while any variation has stock, and a
variation at 0 is written as 0. Only when every variation is at 0 on such an account is the whole
listing ended (``withdrawOfferByInventoryItemGroup``), each variant recorded as ended, and the
first restock lists the group again (``publishOfferByInventoryItemGroup``): one new listing id for
all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from adapters.base import TransientError
from adapters.ebay_client import EbayClient, EbayRequestError
from bridge.writes import EndedListing

__all__ = ["Acted", "MemoryEnded", "ZeroQuantity", "publish", "publish_group", "withdraw", "withdraw_group"]

ZeroQuantity = Literal["auto", "end_listing", "out_of_stock"]
OFFER = "/sell/inventory/v1/offer/"
ENDED_ALREADY = ("25002", "25725")
"""A withdraw refused because nothing is live (an offer not published; a group with no live offer)."""


@dataclass(frozen=True)
class Acted:
    """What a withdraw or a publish came to: done (with the listing id eBay named) or not."""

    ok: bool
    listing_id: str | None = None
    retryable: bool = False
    code: str | None = None
    error: str | None = None


@dataclass
class MemoryEnded:
    """Ended listings kept in memory (an adapter used without a store: tests, tools)."""

    listings: dict[str, EndedListing] = field(default_factory=dict)
    refused: bool = False
    history: list[tuple[str, str | None]] = field(default_factory=list)

    def ended(self) -> dict[str, EndedListing]:
        return dict(self.listings)

    def end(self, sku: str, offer_id: str, listing_id: str | None) -> None:
        self.listings.setdefault(sku, EndedListing(offer_id, listing_id, ""))

    def relist(self, sku: str, listing_id: str | None) -> None:
        if self.listings.pop(sku, None) is not None:
            self.history.append((sku, listing_id))

    def refuses_zero(self) -> bool:
        return self.refused

    def learn_refuses_zero(self) -> None:
        self.refused = True


def _status(client: EbayClient, offer_id: str) -> tuple[str, str | None]:
    """The offer's status and its live listing's id (getOffer)."""
    offer = client.request("GET", OFFER + offer_id)
    listing = offer.get("listing") or {}
    listing_id = listing.get("listingId") if isinstance(listing, dict) else None
    return str(offer.get("status") or ""), (str(listing_id) if listing_id else None)


def _ended_already(client: EbayClient, offer_id: str) -> bool:
    try:
        return _status(client, offer_id)[0] == "UNPUBLISHED"
    except TransientError:
        return False


def _act(
    client: EbayClient,
    offer_id: str,
    send: Callable[[], dict[str, Any]],
    what: str,
    done: str,
    uncertain: bool,
    attempts: int,
) -> Acted:
    """``send`` once per try; before a resend (or the first send, ``uncertain``) the status of
    ``offer_id`` says whether it is ``done`` already."""
    check = uncertain
    last = "eBay unreachable"
    for _ in range(max(1, attempts)):
        try:
            if check:
                status, listing_id = _status(client, offer_id)
                if status == done:
                    return Acted(True, listing_id)
            answer = send()
        except TransientError as exc:
            check, last = True, str(exc)  # it may have been applied: look before sending again
            continue
        except EbayRequestError as exc:
            if done == "UNPUBLISHED" and exc.code in ENDED_ALREADY and _ended_already(client, offer_id):
                return Acted(True)  # by a lost answer's call, or in Seller Hub
            return Acted(False, code=exc.code, error=f"eBay refused to {what}: {exc}")
        listing_id = answer.get("listingId")
        return Acted(True, str(listing_id) if listing_id else None)
    return Acted(False, retryable=True, error=f"{what} not confirmed: {last}")


def _post(client: EbayClient, path: str, body: dict[str, Any] | None = None) -> Callable[[], dict[str, Any]]:
    return lambda: client.request("POST", OFFER + path, body=body, attempts=1)


def withdraw(client: EbayClient, offer_id: str, *, uncertain: bool = False, attempts: int = 3) -> Acted:
    """End the offer's listing (``withdrawOffer``); ``listing_id`` is the listing ended."""
    send = _post(client, offer_id + "/withdraw")
    return _act(client, offer_id, send, f"withdraw offer {offer_id}", "UNPUBLISHED", uncertain, attempts)


def publish(client: EbayClient, offer_id: str, *, uncertain: bool = False, attempts: int = 3) -> Acted:
    """List the offer again (``publishOffer``); ``listing_id`` is its new listing."""
    send = _post(client, offer_id + "/publish")
    return _act(client, offer_id, send, f"publish offer {offer_id}", "PUBLISHED", uncertain, attempts)


def _group_body(key: str, marketplace: str) -> dict[str, Any]:
    return {"inventoryItemGroupKey": key, "marketplaceId": marketplace}


def withdraw_group(
    client: EbayClient, key: str, offer_id: str, *, marketplace: str = "EBAY_US", uncertain: bool = False
) -> Acted:
    """End a group's multi-variation listing (``withdrawOfferByInventoryItemGroup``); ``offer_id``,
    one of its variants' offers, tells whether a lost answer's call was applied."""
    send = _post(client, "withdraw_by_inventory_item_group", _group_body(key, marketplace))
    return _act(client, offer_id, send, f"withdraw group {key}", "UNPUBLISHED", uncertain, 3)


def publish_group(
    client: EbayClient, key: str, offer_id: str, *, marketplace: str = "EBAY_US", uncertain: bool = False
) -> Acted:
    """List a group again as one multi-variation listing (``publishOfferByInventoryItemGroup``)."""
    send = _post(client, "publish_by_inventory_item_group", _group_body(key, marketplace))
    return _act(client, offer_id, send, f"publish group {key}", "PUBLISHED", uncertain, 3)
