"""The eBay emulator's in-memory state behind one lock, and its clock.

Inventory items by SKU, offers (each published one with its listing) and the per-listing revision
counts by calendar day, orders, OAuth clients, codes and tokens, the notification signing key and
destinations, and the recorded exchanges for the conformance tests. The other modules are mixins
that read and change it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from sandbox.http import EmulatorServer, RecordedExchange, WebhookDispatcher

ZeroQuantity = Literal["out_of_stock", "refuse"]


@dataclass
class Item:
    """An inventory item: the SKU's ship-to-home quantity (what ``shipToLocationAvailability`` shows)."""

    sku: str
    title: str
    quantity: int
    condition: str = "NEW"
    group: str | None = None
    """The inventory item group (multi-variation listing) it is a variation of, if any."""


@dataclass
class Group:
    """An inventory item group: one multi-variation listing of its variants' offers (they share
    its listing id), varying by the aspects named in ``varies_by`` (aspect -> values)."""

    key: str
    title: str
    description: str
    skus: list[str]
    varies_by: dict[str, list[str]]


@dataclass
class Offer:
    """An offer of a SKU on one marketplace; published, it is a listing. ``available`` is the offer's
    own cap (``availableQuantity``), ``None`` when unset: the listing shows the smaller of the two."""

    offer_id: str
    sku: str
    price: Decimal
    currency: str
    available: int | None
    listing_id: str | None
    sold: int = 0
    marketplace_id: str = "EBAY_US"


@dataclass
class Token:
    value: str
    expires_at: float
    scopes: tuple[str, ...]


@dataclass
class Destination:
    """A notification endpoint that passed the challenge, and the topics it gets."""

    url: str
    verification_token: str
    topics: frozenset[str] = field(default_factory=lambda: frozenset({"ORDER_CONFIRMATION"}))


class EbayState:
    """The state and the clock (``time.time`` plus ``advance``d seconds: tests expire tokens and
    cross calendar days without sleeping)."""

    server: EmulatorServer

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        access_token_seconds: int,
        zero_quantity: ZeroQuantity,
        revision_limit: int,
        retry_schedule: tuple[float, ...],
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.access_token_seconds = access_token_seconds
        self.zero_quantity: ZeroQuantity = zero_quantity
        """``out_of_stock``: 0 is accepted and the listing shows OUT_OF_STOCK (the Out-of-Stock control
        account preference); ``refuse``: an account without it refuses 0 with error 25004."""
        self.revision_limit = revision_limit
        self.lock = threading.RLock()
        self.recorded: list[RecordedExchange] | None = None
        self.after_request: Callable[[str], None] | None = None
        self.webhooks = WebhookDispatcher(retry_schedule=retry_schedule)
        self._offset = 0.0
        self._items: dict[str, Item] = {}
        self._offers: dict[str, Offer] = {}
        self._offer_ids_by_sku: dict[str, list[str]] = {}
        """SKU -> its offers' ids, so ``getOffers`` by SKU does not scan every offer (a full read of
        N listings would cost N² in the emulator and hide shopbridge's own figures in the bench)."""
        self._revisions: dict[tuple[str, str], int] = {}
        self._groups: dict[str, Group] = {}
        self._orders: dict[str, Any] = {}
        self._codes: dict[str, tuple[str, ...]] = {}
        self._refresh_tokens: dict[str, Token] = {}
        self._access_tokens: dict[str, Token] = {}
        self._destinations: list[Destination] = []
        self._failing: dict[str, tuple[int, int]] = {}
        """(Test API) SKU -> the status its next bulk update entries fail with, and how many."""
        self.updates_seen: list[list[str]] = []
        """(Test API) The SKUs of every bulkUpdatePriceQuantity call, in order."""
        self.withdrawn: list[str] = []
        """(Test API) The offers withdrawOffer ended, in order."""
        self.published: list[str] = []
        """(Test API) The offers publishOffer listed (or revised), in order."""

    @property
    def base_url(self) -> str:
        return self.server.url

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock on (token expiry, the next calendar day)."""
        with self.lock:
            self._offset += seconds

    def _add_offer(self, offer: Offer) -> None:
        self._offers[offer.offer_id] = offer
        self._offer_ids_by_sku.setdefault(offer.sku, []).append(offer.offer_id)

    def _offers_of(self, sku: str) -> list[Offer]:
        return [self._offers[offer_id] for offer_id in self._offer_ids_by_sku.get(sku, ())]
