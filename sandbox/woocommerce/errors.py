"""WooCommerce's REST errors: ``{"code", "message", "data": {"status", ...}}`` and WP core's
``rest_invalid_param``, plus the bodies the server answers for routing failures and injected faults.
"""

from __future__ import annotations

from typing import Any

from sandbox.http import Response, json_response


class WooApiError(Exception):
    """A WooCommerce REST error; rendered as ``{"code", "message", "data": {"status", ...}}``."""

    def __init__(self, code: str, message: str, status: int = 400, **data: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.data = data

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}}

    def response(self, headers: dict[str, str] | None = None) -> Response:
        return json_response(self.body(), self.status, headers)


def invalid_param(name: str, message: str, detail_code: str, detail_data: Any = None) -> WooApiError:
    """WP core's ``rest_invalid_param`` (schema validation) error."""
    return WooApiError(
        "rest_invalid_param",
        f"Invalid parameter(s): {name}",
        400,
        params={name: message},
        details={name: {"code": detail_code, "message": message, "data": detail_data}},
    )


def woo_error_body(status: int, message: str) -> Response:
    """Error bodies for routing failures and injected faults, in WordPress' shape."""
    if status in (404, 405):
        return WooApiError(
            "rest_no_route", "No route was found matching the URL and request method.", 404
        ).response()
    if status == 401:
        return WooApiError(
            "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401
        ).response()
    if status == 429:
        return WooApiError("too_many_requests", "Too many requests. " + message, 429).response()
    if status >= 500:
        return WooApiError(
            "internal_server_error", "There has been a critical error on this website. " + message, status
        ).response()
    return WooApiError("rest_error", message, status).response()
