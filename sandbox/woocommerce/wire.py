"""The lowest layer of WooCommerce's wire format, shared by every part of the emulator.

The REST prefix, money as two-decimal strings, dates without a zone at one-second resolution,
and how PHP reads integers and booleans out of request values.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

PREFIX = "/wp-json/wc/v3"


DATE_FMT = "%Y-%m-%dT%H:%M:%S"


def money(value: Decimal | str | None) -> str:
    if value is None or value == "":
        return ""
    return f"{Decimal(value):.2f}"


def fmt_date(dt: datetime | None) -> str | None:
    return dt.strftime(DATE_FMT) if dt else None


def is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None


def truthy(value: str | None) -> bool:
    return (value or "").lower() in {"1", "true", "yes"}
