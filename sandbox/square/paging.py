"""Offset cursors, ``limit`` bounds and time filters shared by the inventory, customer and order
endpoints (the catalogue pages by keyset instead, in ``catalog_search``).
"""

from __future__ import annotations

import base64
from typing import Any

from sandbox.square.errors import SquareError
from sandbox.square.wire import JSON, parse_ms


def page_offset(cursor: Any) -> int:
    """The offset an opaque cursor of ours encodes (0 without one); ``INVALID_CURSOR`` otherwise."""
    if not cursor:
        return 0
    try:
        return int(base64.urlsafe_b64decode(str(cursor).encode()).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise SquareError(400, "INVALID_CURSOR", "The cursor is not valid.", field="cursor") from exc


def next_cursor(offset: int, limit: int, total: int) -> str | None:
    """The cursor of the next page, or None on the last one."""
    end = offset + limit
    return base64.urlsafe_b64encode(str(end).encode()).decode() if end < total else None


def page_limit(value: Any, default: int, maximum: int) -> int:
    """``limit`` as the endpoint accepts it: ``default`` when absent, an error outside 1..``maximum``."""
    if value is None:
        return default
    if not isinstance(value, int) or value < 1:
        raise SquareError(400, "VALUE_TOO_LOW", "limit is too low.", field="limit")
    if value > maximum:
        raise SquareError(400, "VALUE_TOO_HIGH", f"limit must be at most {maximum}.", field="limit")
    return value


def time_filter(body: JSON, name: str) -> int | None:
    """The RFC 3339 time ``body[name]`` in epoch milliseconds (None when absent), ``INVALID_TIME`` if bad."""
    if not body.get(name):
        return None
    try:
        return parse_ms(str(body[name]))
    except ValueError as exc:
        raise SquareError(400, "INVALID_TIME", f"Invalid {name}.", field=name) from exc
