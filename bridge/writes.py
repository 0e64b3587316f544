"""The write operations the engine plans and the adapters perform, and what became of each.

They belong to the bridge, not to any adapter: the engine (:mod:`bridge.plan`,
:mod:`bridge.reconcile`) builds them and the outbox stores them, while each adapter only translates
them to its channel's calls. Keeping them here lets the engine stay free of ``adapters/`` (and of
what the adapters carry: HTTP clients, retries, randomness).

Write operations carry an idempotency ``key`` derived from the outbox entry that produced them, so
a retried write is recognised (by the channel where it supports keys, e.g. Square; by our outbox
otherwise). Results come back per operation: one bad item never sinks a batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from bridge.models import ChannelCustomer, ChannelProduct

__all__ = [
    "AdjustStock",
    "ArchiveProduct",
    "CreateCustomer",
    "CreateProduct",
    "EndedListing",
    "EndedListings",
    "SetStock",
    "UpdateCustomer",
    "UpdateProduct",
    "UpdateVariant",
    "WriteCounts",
    "WriteOp",
    "WriteResult",
]


class _Op(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    """Deterministic idempotency key (from the outbox entry): the same change always has the same key."""


class CreateProduct(_Op):
    """Create ``product`` (ids in it are ignored). The result maps each variant SKU to its new id."""

    op: Literal["create_product"] = "create_product"
    product: ChannelProduct


class UpdateProduct(_Op):
    """Sparse update of group-level fields (``name``, ``description``, ``status``)."""

    op: Literal["update_product"] = "update_product"
    product_id: str
    fields: dict[str, Any]
    version: str | None = None


class UpdateVariant(_Op):
    """Sparse update of variant fields (``sku``, ``gtin``, ``price`` as Money, ``name``, ``status``)."""

    op: Literal["update_variant"] = "update_variant"
    product_id: str
    variant_id: str
    fields: dict[str, Any]
    version: str | None = None


class ArchiveProduct(_Op):
    """Hide a product from sale without deleting it (WooCommerce: not published; Square: archived)."""

    op: Literal["archive_product"] = "archive_product"
    product_id: str


class SetStock(_Op):
    """Absolute on-hand write, for channels without relative adjustments (WooCommerce).

    ``product_id`` is the parent when the variant's stock is managed by its parent product.
    """

    op: Literal["set_stock"] = "set_stock"
    product_id: str
    variant_id: str
    quantity: int


class AdjustStock(_Op):
    """Relative change of on-hand at a location (Square ``ADJUSTMENT``); ``delta`` may be negative."""

    op: Literal["adjust_stock"] = "adjust_stock"
    variant_id: str
    location_id: str
    delta: int


class CreateCustomer(_Op):
    """Create ``customer`` on the channel (its ``channel``/``channel_id`` are ignored).

    ``key`` must be derived from the person (e.g. ``customer:<person id>:<channel>``): Square gets
    it as the ``idempotency_key``, so a retry after a lost answer returns the same customer. A
    channel that refuses a second account for the email (WooCommerce ``registration-error-email-
    exists``) is looked up by that email and the existing customer returned: the result is then
    ``ok`` with ``code="EXISTING"`` and that customer's ``channel_id`` (link it, do not create).
    Marketing consent is never sent (Square's ``email_unsubscribed`` is read-only).
    """

    op: Literal["create_customer"] = "create_customer"
    customer: ChannelCustomer


class UpdateCustomer(_Op):
    """Sparse update of a customer's contact fields.

    ``fields`` maps :class:`bridge.models.ChannelCustomer` field names (``email``, ``phone``,
    ``given_name``, ``family_name``, ``company``, ``note``, ``birthday``, ``address`` as a
    ``CustomerAddress`` or its dict) to new values. ``version`` is the channel's version we last read:
    Square refuses a stale one (result ``ok`` False, ``code="VERSION_MISMATCH"``, not retryable: read
    again and re-plan). The result's ``version`` is the record's new version.
    """

    op: Literal["update_customer"] = "update_customer"
    customer_id: str
    fields: dict[str, Any]
    version: str | None = None


CUSTOMER_OPS = (CreateCustomer, UpdateCustomer)
"""The customer write operations (what a channel without customer capability refuses)."""


WriteOp = Annotated[
    CreateProduct
    | UpdateProduct
    | UpdateVariant
    | ArchiveProduct
    | SetStock
    | AdjustStock
    | CreateCustomer
    | UpdateCustomer,
    Field(discriminator="op"),
]


class WriteResult(BaseModel):
    """What became of one write operation.

    ``ok`` False with ``retryable`` True means "keep it queued"; False/False means the channel refused
    it (``error`` holds the channel's message, ``code`` its error code).  ``ids`` maps SKU to the
    channel id created for it (for :class:`CreateProduct`); ``version`` is the entity's new version.
    """

    model_config = ConfigDict(frozen=True)

    key: str
    ok: bool
    retryable: bool = False
    error: str | None = None
    code: str | None = None
    channel_id: str | None = None
    version: str | None = None
    ids: dict[str, str] = Field(default_factory=dict)
    written: dict[str, Any] = Field(default_factory=dict)
    """What the channel now holds for the fields we wrote, for the echo-suppression hash."""
    held_until: str | None = None
    """Set when the channel's own budget holds the write back (eBay's daily revisions): it was not
    sent, stays queued without using up an attempt, and may go once the budget resets at this
    moment (ISO 8601, UTC). Not a failure."""


class WriteCounts(Protocol):
    """One channel's writes sent per SKU and calendar day, kept by the store: what a channel that
    caps revisions a day (eBay's 250 per listing) budgets its writes with. ``day`` is the
    channel's calendar day as ``YYYY-MM-DD``."""

    def of(self, day: str, skus: Sequence[str]) -> dict[str, int]:
        """The writes sent on ``day`` for each of ``skus`` (absent: none)."""
        ...

    def add(self, day: str, counts: Mapping[str, int]) -> None:
        """Add ``counts`` (SKU -> writes sent) to ``day``'s."""
        ...

    def at_least(self, day: str, counts: Mapping[str, int]) -> None:
        """Make ``day``'s counts at least ``counts`` (the channel said a budget is spent)."""
        ...


@dataclass(frozen=True)
class EndedListing:
    """A listing we ended at a sell-out: the offer to publish again, the listing it was, when."""

    offer_id: str
    listing_id: str | None
    ended_at: str


class EndedListings(Protocol):
    """One channel's listings ended by us (a marketplace account that refuses a quantity of 0
    sells out by ending the listing), kept by the store so that the SKU stays linked while ended,
    a restock knows which offer to list again, and what the account refuses is learned once."""

    def ended(self) -> dict[str, EndedListing]:
        """SKU -> its listing ended by us and not listed again yet."""
        ...

    def end(self, sku: str, offer_id: str, listing_id: str | None) -> None:
        """Record that ``sku``'s listing was ended (nothing new if it is already)."""
        ...

    def relist(self, sku: str, listing_id: str | None) -> None:
        """Record that ``sku`` is listed again, as the new listing ``listing_id``."""
        ...

    def refuses_zero(self) -> bool:
        """Whether this channel's account was found to refuse a quantity of 0."""
        ...

    def learn_refuses_zero(self) -> None:
        """Remember that this channel's account refuses a quantity of 0."""
        ...
