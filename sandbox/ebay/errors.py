"""eBay's errors: ``{"errors": [{"errorId", "domain", "category", "message", ...}]}`` (the contracts'
``Error`` schema), with the error ids each contract documents for the operations emulated."""

from __future__ import annotations

from sandbox.ebay.wire import JSON
from sandbox.http import Response, json_response

INVENTORY = "API_INVENTORY"
FULFILLMENT = "API_FULFILLMENT"
NOTIFICATION = "API_NOTIFICATION"

INVALID_ACCESS_TOKEN: JSON = {
    "errorId": 1001,
    "domain": "OAuth",
    "category": "REQUEST",
    "message": "Invalid access token",
    "longMessage": "Invalid access token. Check the value of the Authorization HTTP request header.",
}
"""What every eBay REST API answers (401) to a missing, unknown or expired user token."""


class EbayError(Exception):
    """Raised inside handlers; becomes ``{"errors": [error]}`` with ``status``."""

    def __init__(self, status: int, error_id: int, message: str, *, domain: str = INVENTORY) -> None:
        super().__init__(message)
        self.status = status
        self.error = error_body(error_id, message, domain=domain)


def error_body(error_id: int, message: str, *, domain: str = INVENTORY, category: str = "REQUEST") -> JSON:
    return {"errorId": error_id, "domain": domain, "category": category, "message": message}


def error_response(status: int, errors: list[JSON]) -> Response:
    return json_response({"errors": errors}, status)


def ebay_error_body(status: int, message: str) -> Response:
    """An eBay-shaped error for a bare status (404/405/injected faults): a system error above 499."""
    if status >= 500:
        return error_response(status, [error_body(25001, message, category="APPLICATION")])
    return error_response(status, [error_body(25710 if status == 404 else 25002, message)])
