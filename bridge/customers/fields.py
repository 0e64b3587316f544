"""The contact fields of a person, as plain JSON-able values read from a channel's record.

A field's value is a string, or for ``address`` the dict of a :class:`~bridge.models.CustomerAddress`;
``None`` means the channel holds nothing there. Marketing consent is deliberately not a field: the
sync never grants it (see :func:`opted_out`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bridge.models import ChannelCustomer, normalise_email, normalise_phone

__all__ = ["EPOCH", "FIELDS", "changed_at", "field_values", "normalised_phone", "opted_out"]

FIELDS: tuple[str, ...] = (
    "given_name",
    "family_name",
    "email",
    "phone",
    "company",
    "note",
    "birthday",
    "address",
)
"""Every field merged across channels, in the order ``customer show`` prints them."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The modification time of a record that carries none: older than any real change."""


def normalised_phone(phone: str | None, default_country: str) -> str | None:
    """``phone`` in E.164; a number without a country code is read in ``default_country``."""
    return normalise_phone(phone, default_country)


def field_values(record: ChannelCustomer, default_country: str) -> dict[str, Any]:
    """The record's fields as comparable values (email case-folded, phone in E.164)."""
    values: dict[str, Any] = {name: getattr(record, name) for name in FIELDS if name != "address"}
    values["email"] = normalise_email(record.email)
    values["phone"] = normalised_phone(record.phone, default_country)
    values["address"] = record.address.model_dump() if record.address is not None else None
    return values


def changed_at(record: ChannelCustomer) -> datetime:
    """The channel's own time of the record's last change (its creation time when it has no
    modification time): what decides whose change is the most recent."""
    when = record.modified_at or record.created_at or EPOCH
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def opted_out(record: ChannelCustomer) -> bool:
    """Whether the channel says this person asked for no marketing email. Only an opt-out is ever
    carried: an absent or false flag never grants consent."""
    return record.email_unsubscribed is True
