"""The sync policy: the retailer's decisions the engine must not guess.

Which channel owns the catalogue (and which fields are owned elsewhere), what happens when a
non-owner edits an owned field, whether missing products are created, how online sales are
allocated to a physical location, which locations each channel sells from, how many units each
channel holds back, and the safety limits that stop a first sync (or a broken read) from rewriting
the whole shop.  It is the ``[sync]`` section of the TOML configuration; every field has a default
so an empty section is valid, and the engine reads it and nothing else.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from bridge import registry
from bridge.capabilities import CATALOGUE_FIELDS, CatalogueField

__all__ = ["CATALOGUE_FIELDS", "CatalogueField", "ChannelName", "SyncPolicy"]


def _registered(name: str) -> str:
    """A channel shopbridge has (the registry's), configured in the file or not."""
    if name not in registry.channels():
        known = " or ".join(repr(known) for known in registry.channel_names())
        raise ValueError(f"unknown channel {name!r}: should be {known}")
    return name


ChannelName = Annotated[str, AfterValidator(_registered)]
"""The name of a registered channel (:mod:`bridge.registry`)."""


def _registered_owner(name: str) -> str:
    """A field owner: a registered channel that may own (whether the file configures it and
    whether it keeps the field is checked against the file, :func:`bridge.ownership.owner_problems`)."""
    if name not in registry.channels():
        raise ValueError(registry.unknown_channel(name, registry.channel_names()))
    return _may_own(name)


def _may_own(name: str) -> str:
    """A channel declaring it never owns the catalogue (a marketplace) is refused as an owner."""
    spec = registry.channels().get(name)
    if spec is not None and not spec.capabilities.may_own:
        raise ValueError(
            f"{spec.title} never owns the catalogue: its listings are linked to another's by SKU"
        )
    return name


FieldOwner = Annotated[str, AfterValidator(_registered_owner)]
OwnerName = Annotated[str, AfterValidator(_registered), AfterValidator(_may_own)]
"""A registered channel that may own the catalogue (the system of record)."""


class SyncPolicy(BaseModel):
    """The ``[sync]`` section: ownership, allocation, projections and safety limits."""

    model_config = ConfigDict(extra="forbid")

    system_of_record: OwnerName = Field(
        "woocommerce",
        description="The channel that owns the catalogue: its edits propagate.",
    )
    field_owners: dict[CatalogueField, FieldOwner] = Field(
        default_factory=dict,
        description="Per-field owner overrides, e.g. {price = 'square'}; others follow system_of_record.",
    )
    on_non_owner_change: Literal["revert", "conflict"] = Field(
        "conflict",
        description="A non-owner edit of an owned field: 'revert' rewrites it, 'conflict' flags it.",
    )
    create_missing: bool = Field(
        True,
        description="Create products that exist on the catalogue owner but not on another channel.",
    )
    online_allocation: Literal["default_location", "priority"] = Field(
        "default_location",
        description=(
            "Where a sale without a location (web, marketplace) is taken from: always default_location, or "
            "the first location in allocation_priority that holds enough stock."
        ),
    )
    default_location: str | None = Field(
        None,
        description="Canonical location key for online sales and single-pool channels (None: first known).",
    )
    allocation_priority: list[str] = Field(
        default_factory=list,
        description="Canonical location keys, in the order online sales draw from them.",
    )
    source_locations: dict[str, list[str]] = Field(
        default_factory=dict,
        description=(
            "Per single-pool channel (woocommerce, ebay...): the canonical locations whose on-hand it shows, "
            "summed. A channel not listed shows the sum of every location."
        ),
    )
    buffers: dict[str, int] = Field(
        default_factory=dict,
        description=(
            "Units held back per single-pool channel: it shows max(0, on-hand - buffer). Default 0. "
            "Refused for a channel with locations (Square), whose count is the shelf."
        ),
    )
    max_change_share: float = Field(
        0.2,
        ge=0,
        le=1,
        description="A first sync changing more than this share of the catalogue needs --force.",
    )
    max_zeroed_share: float = Field(
        0.25,
        ge=0,
        le=1,
        description="A sync zeroing more than this share of stocked items needs --force.",
    )
    safety_min_items: int = Field(
        5,
        ge=0,
        description="The share limits only apply when more than this many items would change (tiny shops).",
    )
    currency: str = Field("USD", min_length=3, max_length=3, description="ISO 4217 currency of all prices.")

    @field_validator("currency")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("buffers")
    @classmethod
    def _non_negative(cls, value: dict[str, int]) -> dict[str, int]:
        bad = sorted(k for k, v in value.items() if v < 0)
        if bad:
            raise ValueError(f"buffers must be >= 0 (negative for {', '.join(bad)})")
        return value

    @model_validator(mode="after")
    def _priority_needed(self) -> SyncPolicy:
        if self.online_allocation == "priority" and not self.allocation_priority:
            raise ValueError("online_allocation = 'priority' needs allocation_priority")
        return self

    def buffer_for(self, channel: str) -> int:
        """Units ``channel`` holds back from sale."""
        return self.buffers.get(channel, 0)
