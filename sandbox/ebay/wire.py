"""The lowest layer of eBay's wire format, shared by every part of the eBay emulator.

Timestamps are ISO 8601 in UTC with milliseconds (``2026-12-02T11:32:00.000Z``, as the Fulfillment
API writes ``creationDate``); amounts are ``{"value": "14.99", "currency": "USD"}``; ids are digits.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

JSON = dict[str, Any]


def fmt_time(epoch: float) -> str:
    ms = int(epoch * 1000)
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_time(value: str) -> float:
    """Epoch seconds of an ISO 8601 UTC timestamp ending in ``Z``; ValueError otherwise."""
    if not value.endswith("Z"):
        raise ValueError("not a UTC timestamp")
    return datetime.fromisoformat(value[:-1] + "+00:00").timestamp()


def utc_day(epoch: float) -> str:
    """The calendar day a revision counts against (the emulator's clock, UTC)."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d")


def amount(value: Decimal, currency: str) -> JSON:
    return {"value": format(value.quantize(Decimal("0.01")), "f"), "currency": currency}


def new_digits(length: int = 12) -> str:
    return str(secrets.randbelow(9 * 10 ** (length - 1)) + 10 ** (length - 1))
