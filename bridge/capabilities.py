"""What the engine must know about a channel to plan for it, whatever the channel is.

A channel's adapter declares its capabilities; the engine reads only these (never the adapter), so
it plans for a channel it has never heard of the same way as for WooCommerce or Square. Among them
is where the channel keeps each catalogue field (:class:`FieldSplit`): once per product or on each
variant, which decides whether reconciliation writes it with ``UpdateProduct`` or ``UpdateVariant``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

__all__ = ["CATALOGUE_FIELDS", "Capabilities", "CatalogueField", "FieldSplit"]

CatalogueField = Literal["name", "description", "price", "gtin", "status"]
"""The catalogue fields shopbridge keeps agreed across channels (each has one owner)."""
CATALOGUE_FIELDS: tuple[CatalogueField, ...] = get_args(CatalogueField)


@dataclass(frozen=True)
class FieldSplit:
    """Where a channel keeps each catalogue field it holds: once on the product (a WooCommerce
    product's name, a Square item's description) or on each variant (a variation's price and
    GTIN). A field in neither is one the channel does not hold: never written there, never read
    from there as an owner's value. Declared by the channel (its bodies module), so the engine
    never guesses it from how one adapter happens to build its requests."""

    product: frozenset[CatalogueField] = frozenset({"name", "description", "status"})
    variant: frozenset[CatalogueField] = frozenset({"price", "gtin"})

    def __post_init__(self) -> None:
        unknown = sorted((self.product | self.variant) - set(CATALOGUE_FIELDS))
        if unknown:
            raise ValueError(f"not catalogue fields: {', '.join(unknown)}")
        both = sorted(self.product & self.variant)
        if both:
            raise ValueError(f"kept on both the product and the variant: {', '.join(both)}")

    def holds(self, field: CatalogueField) -> bool:
        """Whether the channel keeps ``field`` at all."""
        return field in self.product or field in self.variant

    def on_product(self, field: CatalogueField) -> bool:
        """Whether ``field`` is kept once per product (written with ``UpdateProduct``)."""
        return field in self.product

    def held(self) -> list[CatalogueField]:
        """The fields the channel keeps, in :data:`CATALOGUE_FIELDS` order."""
        return [f for f in CATALOGUE_FIELDS if self.holds(f)]


@dataclass(frozen=True)
class Capabilities:
    """What the engine must know about a channel to plan writes for it."""

    stock_mode: Literal["absolute", "relative"]
    has_locations: bool
    max_batch: int
    date_resolution: timedelta = timedelta(0)
    """How coarsely the channel dates its events against its counts: 0 when each event carries
    the exact time it reached the counts (Square's ``created_at`` against ``calculated_at``);
    WooCommerce dates orders and answers to the second."""
    customers: bool = False
    """The adapter reads and writes customers (``read_customers``, ``read_customers_by_id``,
    ``find_customers``, the purchase history: ``iter_purchases`` or ``Page.orders``,
    ``read_customer_orders``, :class:`bridge.writes.CreateCustomer` and
    :class:`bridge.writes.UpdateCustomer`)."""
    customer_fields: frozenset[str] = frozenset(
        ("given_name", "family_name", "email", "phone", "company", "note", "birthday", "address")
    )
    """The person's fields the channel's customers hold (what an update may send there): a channel
    without a note or a birthday declares the fields it has, so the sync never keeps sending them."""
    write_version: Literal["counter", "modified_date"] = "counter"
    """What the ``version`` of a write's answer is: an object version that says nothing of time
    (Square's counter), or when the channel applied the write (WooCommerce's ``date_modified_gmt``)."""
    creates_products: bool = True
    """The channel takes new products from us (``CreateProduct``); False (eBay: a listing needs
    business policies and a category) means a product missing there is simply not on it."""
    may_own: bool = True
    """The channel can be the system of record, or a field's owner; False (a marketplace) means
    its catalogue is always another's, linked by SKU."""
    listed_caps: tuple[tuple[str, int], ...] = ()
    """Per SKU, the most a single-pool channel lists of it (a shop listing 5 of its 40 on eBay:
    ``max_listed_quantity``), as ``(sku, cap)`` pairs; a SKU not named is listed in full."""
    fields: FieldSplit = FieldSplit()
    """Where it keeps each catalogue field (the default is the common shape: name, description
    and status on the product, price and GTIN on each variant)."""

    def listed_cap(self, sku: str) -> int | None:
        """The most this channel lists of ``sku`` (None: no cap)."""
        return next((cap for named, cap in self.listed_caps if named == sku), None)

    def written_at(self, version: str | None) -> str | None:
        """When the channel applied a write, as our ISO UTC text, if its answer's ``version`` says
        (only a ``modified_date`` version does; a counter is never read as a date)."""
        if self.write_version != "modified_date" or not version:
            return None
        try:
            value = datetime.fromisoformat(version.replace("Z", "+00:00"))
        except ValueError:
            return None
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="microseconds")
