"""The lowest layer of Square's wire format, shared by every part of the emulator.

RFC 3339 timestamps with milliseconds in UTC, quantities as decimal strings, and Square-like ids.
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

JSON = dict[str, Any]


def fmt_ms(ms: int) -> str:
    """RFC 3339 with millisecond precision in UTC, as Square's servers write timestamps."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_ms(value: str) -> int:
    """Milliseconds since the epoch of an RFC 3339 timestamp (offsets honoured); ValueError if invalid."""
    dt = datetime.fromisoformat(value.replace("z", "Z"))
    if dt.tzinfo is None:
        raise ValueError("timestamp without offset")
    return int(dt.timestamp() * 1000)


def fmt_qty(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def new_id() -> str:
    return base64.b32encode(secrets.token_bytes(15)).decode()
