"""Offset cursors, ``limit`` bounds and time filters shared by the inventory, customer and order
endpoints.
"""

from __future__ import annotations

import base64
from typing import Any

from sandbox.square.errors import SquareError
from sandbox.square.state import SquareState
from sandbox.square.wire import JSON, parse_ms


class SquarePaging(SquareState):
    """Cursor, limit and time-filter parsing (stateless)."""

    @staticmethod
    def _offset(cursor: Any) -> int:
        if not cursor:
            return 0
        try:
            return int(base64.urlsafe_b64decode(str(cursor).encode()).decode())
        except (ValueError, UnicodeDecodeError) as exc:
            raise SquareError(400, "INVALID_CURSOR", "The cursor is not valid.", field="cursor") from exc

    @staticmethod
    def _next_cursor(offset: int, limit: int, total: int) -> str | None:
        end = offset + limit
        return base64.urlsafe_b64encode(str(end).encode()).decode() if end < total else None

    @staticmethod
    def _limit(value: Any, default: int, maximum: int) -> int:
        if value is None:
            return default
        if not isinstance(value, int) or value < 1:
            raise SquareError(400, "VALUE_TOO_LOW", "limit is too low.", field="limit")
        if value > maximum:
            raise SquareError(400, "VALUE_TOO_HIGH", f"limit must be at most {maximum}.", field="limit")
        return value

    def _time_filter(self, body: JSON, name: str) -> int | None:
        if not body.get(name):
            return None
        try:
            return parse_ms(str(body[name]))
        except ValueError as exc:
            raise SquareError(400, "INVALID_TIME", f"Invalid {name}.", field=name) from exc
