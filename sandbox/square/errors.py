"""Square's errors: ``{"errors": [{"category", "code", "detail", "field"}]}`` with the
category and code Square uses for each HTTP status.
"""

from __future__ import annotations

from collections.abc import Sequence

from sandbox.http import Response, json_response
from sandbox.square.wire import JSON

_CATEGORY_FOR_STATUS = {
    400: ("INVALID_REQUEST_ERROR", "BAD_REQUEST"),
    401: ("AUTHENTICATION_ERROR", "UNAUTHORIZED"),
    403: ("AUTHENTICATION_ERROR", "FORBIDDEN"),
    404: ("INVALID_REQUEST_ERROR", "NOT_FOUND"),
    405: ("INVALID_REQUEST_ERROR", "METHOD_NOT_ALLOWED"),
    409: ("INVALID_REQUEST_ERROR", "CONFLICT"),
    429: ("RATE_LIMIT_ERROR", "RATE_LIMITED"),
    500: ("API_ERROR", "INTERNAL_SERVER_ERROR"),
    503: ("API_ERROR", "SERVICE_UNAVAILABLE"),
    504: ("API_ERROR", "GATEWAY_TIMEOUT"),
}


class SquareError(Exception):
    """Raised inside handlers; becomes Square's ``{"errors": [...]}`` body."""

    def __init__(
        self, status: int, code: str, detail: str, *, field: str | None = None, category: str | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field
        self.category = category or _CATEGORY_FOR_STATUS.get(status, ("INVALID_REQUEST_ERROR", ""))[0]

    def as_error(self) -> JSON:
        err: JSON = {"category": self.category, "code": self.code, "detail": self.detail}
        if self.field:
            err["field"] = self.field
        return err


def error_response(status: int, errors: Sequence[JSON]) -> Response:
    return json_response({"errors": list(errors)}, status)


def square_error_body(status: int, message: str) -> Response:
    """Square-shaped error for a bare status (404/405/injected faults)."""
    category, code = _CATEGORY_FOR_STATUS.get(status, ("API_ERROR", "INTERNAL_SERVER_ERROR"))
    return error_response(status, [{"category": category, "code": code, "detail": message}])
