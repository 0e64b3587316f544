"""How Square writes times and quantities, read and written the same way everywhere in the adapter."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["JSON", "later", "now_rfc3339", "object_version", "parse_time", "quantity", "rfc3339_ms"]

JSON = dict[str, Any]
"""A Square payload as read: JSON objects are read as Square documents them, not through SDK models."""


def parse_time(value: str | None) -> datetime | None:
    """RFC 3339 to an aware datetime; nanosecond fractions (webhooks) are cut to microseconds."""
    if not value:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.replace("z", "Z"))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def later(candidate: str, current: str | None) -> bool:
    """Whether timestamp ``candidate`` is after ``current`` (``None`` is before everything)."""
    if current is None:
        return True
    a, b = parse_time(candidate), parse_time(current)
    return a is not None and (b is None or a > b)


def rfc3339_ms(when: datetime) -> str:
    """``when`` in UTC as Square writes timestamps: RFC 3339 to the millisecond, ``Z``."""
    at = when.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def now_rfc3339() -> str:
    return rfc3339_ms(datetime.now(tz=UTC))


def quantity(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)


def object_version(obj: JSON) -> str | None:
    """A catalogue object's ``version``: the integer Square raises on every write and checks on an
    upsert (``VERSION_MISMATCH``), as text (a WooCommerce item's version is a date)."""
    return str(obj.get("version")) if obj.get("version") is not None else None
