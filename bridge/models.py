"""Canonical models: the one vocabulary every adapter translates into and the engine reasons about.

Adapters turn each channel's wire format into these types and back; the engine (linking, ledger,
reconciliation) sees nothing else. They are immutable pydantic models so that a value read from a
channel cannot be changed behind the engine's back, and so that they validate at the boundary.

Identity rules worth knowing:

* A variant is identified across channels by its SKU (exact after trimming), then by GTIN; the store
  keeps the resulting links.  ``ChannelVariant.channel_id`` is the channel's own id for the sellable
  unit (a WooCommerce product id for a simple product, a variation id otherwise; a Square
  ``ITEM_VARIATION`` id).
* Money is ``Decimal`` in major units with an ISO 4217 currency: never a float.
* Emails are compared trimmed and case-folded; phones in E.164 (the adapter parses them with the
  configured default country).
"""

from __future__ import annotations

import enum
import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "ChannelCustomer",
    "ChannelLocation",
    "ChannelOrder",
    "ChannelProduct",
    "ChannelVariant",
    "CustomerAddress",
    "Effect",
    "Money",
    "OrderItem",
    "ProductStatus",
    "StockEvent",
    "StockEventKind",
    "StockLevel",
    "WebhookEvent",
    "content_hash",
    "normalise_email",
    "normalise_phone",
    "normalise_sku",
]


class Frozen(BaseModel):
    """Base for immutable, strictly-keyed value objects."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Money(Frozen):
    """An amount in major units (``Decimal("12.50")``) and its ISO 4217 currency code."""

    amount: Decimal
    currency: str = Field(min_length=3, max_length=3)

    @field_validator("currency")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    def minor_units(self, exponent: int = 2) -> int:
        """The amount in the currency's smallest unit (Square's ``amount``), rounding half-even."""
        return int((self.amount * (10**exponent)).to_integral_value())

    @classmethod
    def from_minor_units(cls, amount: int, currency: str, exponent: int = 2) -> Money:
        return cls(amount=Decimal(amount).scaleb(-exponent), currency=currency)


class ProductStatus(enum.StrEnum):
    """Lifecycle of a product on a channel. ``ARCHIVED`` replaces deletion: we never hard-delete."""

    ACTIVE = "active"
    DRAFT = "draft"
    ARCHIVED = "archived"


def normalise_sku(sku: str | None) -> str | None:
    """The SKU as it is compared: surrounding whitespace removed, empty means none.

    Case is *kept*: SKUs that differ only by case are reported as suspicious by the linker rather
    than silently merged.
    """
    if sku is None:
        return None
    sku = sku.strip()
    return sku or None


def normalise_email(email: str | None) -> str | None:
    """Trimmed, case-folded email (how two spellings of one address are compared); ``None`` for empty."""
    if email is None:
        return None
    email = email.strip().casefold()
    return email or None


def normalise_phone(phone: str | None, default_region: str = "US") -> str | None:
    """E.164 form of ``phone`` (``+14155550123``), or ``None`` when it cannot be parsed as a number.

    ``default_region`` is used for numbers written without a country code.
    """
    if phone is None or not phone.strip():
        return None
    try:
        parsed = phonenumbers.parse(phone, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class ChannelVariant(Frozen):
    """One sellable unit as a channel holds it.

    ``stock`` is the channel's own count when the channel has a single stock pool (WooCommerce);
    per-location counts come as :class:`StockLevel` instead.  ``manage_stock`` is False when the
    channel does not track stock for it; ``stock_managed_by_parent`` is True for WooCommerce
    variations whose ``manage_stock`` is ``"parent"``: their units are drawn from the product's
    shared pool (:attr:`ChannelProduct.pool_stock`), so such a variant has no ``stock`` of its own
    (WooCommerce shows the whole pool on each of them; that is not this variant's count).
    """

    channel_id: str
    sku: str | None = None
    gtin: str | None = None
    name: str | None = None
    options: dict[str, str] = Field(default_factory=dict)
    price: Money | None = None
    status: ProductStatus = ProductStatus.ACTIVE
    manage_stock: bool = False
    stock_managed_by_parent: bool = False
    stock: int | None = None
    version: str | None = None
    modified_at: datetime | None = None
    counted_at: datetime | None = None
    """For a single-pool channel, the moment ``stock`` describes, in the channel's clock: when the
    answer that carried it was served (WooCommerce's ``Date`` header)."""

    @field_validator("sku", "gtin")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return normalise_sku(value)


class ChannelProduct(Frozen):
    """A product group (a WooCommerce product, a Square ``ITEM``) with its variants.

    A WooCommerce simple product is a group with one variant whose ``channel_id`` equals the
    group's.  ``kind`` keeps that distinction so writes go to the right endpoint.
    """

    channel: str
    channel_id: str
    kind: Literal["simple", "variable"] = "simple"
    name: str
    description: str | None = None
    status: ProductStatus = ProductStatus.ACTIVE
    variants: tuple[ChannelVariant, ...] = ()
    pool_stock: int | None = None
    """The count of a stock pool held on the product itself and shared by its variants whose
    ``stock_managed_by_parent`` is True (a WooCommerce variable product managing stock); None
    when the product holds no pool."""
    pool_counted_at: datetime | None = None
    """The moment ``pool_stock`` describes, in the channel's clock (see ``ChannelVariant.counted_at``)."""
    version: str | None = None
    modified_at: datetime | None = None


class ChannelLocation(Frozen):
    """A stock-holding place on a channel (a Square location; WooCommerce has a single implicit one)."""

    channel: str
    channel_id: str
    name: str
    active: bool = True


class StockLevel(Frozen):
    """A count a channel reports for one variant at one of its locations, at a moment."""

    channel: str
    variant_id: str
    location_id: str | None
    quantity: int | None
    observed_at: datetime


class StockEventKind(enum.StrEnum):
    """Why on-hand stock moved. ``INITIAL`` is the count taken when a SKU is first linked."""

    INITIAL = "initial"
    SALE = "sale"
    RETURN = "return"
    CANCEL = "cancel"
    ADJUSTMENT = "adjustment"


class Effect(Frozen):
    """What one source (a WooCommerce order line) does to stock *now*, read from the channel's state.

    A channel that keeps its own per-source bookkeeping (WooCommerce's ``_reduced_stock`` line meta)
    is read as a current effect rather than as moves: the sync records only how the effect changed
    since what the ledger holds for ``key`` (:mod:`bridge.effects`), so reading the source again, in
    any state and in any order, adds nothing.  ``taken``/``taken_at`` are the units the source took
    when it was paid, less what it gave back that may have been before a count, and when it was paid
    (None: never): what a count taken after the payment and before a later change is assumed to hold.
    ``legacy`` are ids that older versions recorded for part of this effect (refund lines read as
    returns); their entries count as recorded.
    """

    key: str
    amount: int
    taken: int = 0
    taken_at: datetime | None = None
    legacy: tuple[str, ...] = ()


class StockEvent(Frozen):
    """A relative move of on-hand stock, read from a channel, with a globally unique ``source_id``.

    ``source_id`` is deterministic from the channel's own identifiers, e.g.
    ``woocommerce:order:1042:line:3`` or ``square:change:ABC``, so that reading the same event twice
    is recognised and adds nothing to the ledger.  ``location_id`` is the channel's location id
    (``None`` for a channel without locations: the engine allocates it by the configured rule).
    ``variant_id`` is the channel's id of the variant when known; ``sku`` when the channel gives it.
    ``order_id`` is the channel's order the move comes from, when the source id does not say it
    (a Square change's ``transaction_id``): to report a sale that cannot be placed.
    """

    source_id: str
    channel: str
    kind: StockEventKind
    delta: int
    occurred_at: datetime
    variant_id: str | None = None
    sku: str | None = None
    location_id: str | None = None
    reason: str = ""
    effect: Effect | None = None
    """Set on a reading of a current effect (then ``delta`` is that effect, not a move)."""
    order_id: str | None = None
    received_at: datetime | None = None
    """When the channel received the change, in its clock, where it says (Square's ``created_at``):
    a count calculated at C holds exactly the changes received up to C."""


class CustomerAddress(Frozen):
    """A postal address as both channels can hold it (Square's ``address``, WooCommerce's billing
    block without the contact fields). Empty strings are read as ``None``."""

    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    """State, county or province (Square ``administrative_district_level_1``, Woo ``state``)."""
    postcode: str | None = None
    country: str | None = None
    """ISO 3166-1 alpha-2."""

    def is_empty(self) -> bool:
        return not any(self.model_dump().values())


class ChannelCustomer(Frozen):
    """A customer record as a channel holds it, email and phone normalised by the adapter.

    ``channel_id`` is the channel's own id; a WooCommerce guest (who exists only on orders) has the
    id ``guest:<normalised email>`` and ``guest`` True. ``None`` in a field means the channel holds
    nothing there (an empty value, which never overwrites a filled one). ``modified_at`` is the
    channel's own modification time of the record (Square ``updated_at``, Woo ``date_modified_gmt``,
    a guest's order ``date_modified_gmt``): what decides which side's change is the more recent.

    ``email_unsubscribed`` is the channel's marketing opt-out where it has one (Square
    ``preferences.email_unsubscribed``, read-only through Square's API), ``None`` where it has none.
    ``merged_from`` are ids the channel retired into this one (a Square merge); ``deleted`` marks a
    tombstone (the channel no longer has ``channel_id``; every other field empty).
    """

    channel: str
    channel_id: str
    email: str | None = None
    phone: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    company: str | None = None
    note: str | None = None
    birthday: str | None = None
    """``YYYY-MM-DD``, or ``0000-MM-DD`` when the year is unknown (Square's convention)."""
    address: CustomerAddress | None = None
    email_unsubscribed: bool | None = None
    guest: bool = False
    merged_from: tuple[str, ...] = ()
    deleted: bool = False
    version: str | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return normalise_email(value)

    @field_validator("given_name", "family_name", "company", "note", "birthday")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value.strip() or None

    @field_validator("address")
    @classmethod
    def _empty_address(cls, value: CustomerAddress | None) -> CustomerAddress | None:
        return None if value is None or value.is_empty() else value


class OrderItem(Frozen):
    """One line of a customer's order, as the purchase history shows it."""

    name: str
    quantity: Decimal
    sku: str | None = None
    total: Money | None = None


class ChannelOrder(Frozen):
    """One order of a customer on a channel, channel-neutral, for the purchase history only (never
    written to another channel: that would move stock).

    ``customer_id`` is the channel's customer id (``guest:<email>`` for a WooCommerce guest order);
    ``email`` the order's normalised billing email when it has one. ``location_id``/``location_name``
    say where it was bought (a Square location); both ``None`` means on the web.
    """

    channel: str
    order_id: str
    placed_at: datetime
    customer_id: str | None = None
    email: str | None = None
    location_id: str | None = None
    location_name: str | None = None
    items: tuple[OrderItem, ...] = ()
    total: Money | None = None
    status: str | None = None
    modified_at: datetime | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return normalise_email(value)


class WebhookEvent(Frozen):
    """A verified webhook reduced to what we act on: which resource changed, and the channel's event id.

    The payload is only a hint: the daemon re-reads the resource (or polls) before acting on it.
    ``event_id`` is the key of the durable inbox; for channels that do not send one, the adapter
    derives it deterministically from the delivery (delivery id, or a hash of the raw body).
    """

    channel: str
    event_id: str
    topic: str
    resource: Literal["product", "inventory", "order", "customer", "ping", "other"]
    resource_id: str | None = None
    occurred_at: datetime | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


def content_hash(value: Any) -> str:
    """A stable short hash of JSON-able data: what we wrote, compared with what comes back (echo check)."""
    encoded = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()[:32]
