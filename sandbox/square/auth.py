"""Authentication both ways: the bearer access token (and the ``Square-Version`` header's format) on
every ``/v2`` request, and the signature on every webhook the emulator sends.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from sandbox.http import Request, Response
from sandbox.square.errors import error_response
from sandbox.square.state import SquareState

_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def webhook_signature(signature_key: str, notification_url: str, body: bytes) -> str:
    """``x-square-hmacsha256-signature``: base64 HMAC-SHA256, keyed with the subscription's signature
    key, over the notification URL followed by the raw body."""
    digest = hmac.new(signature_key.encode(), notification_url.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class SquareAuth(SquareState):
    """Check each ``/v2`` request's token and version header before it is routed."""

    def _authenticate(self, request: Request, path: str) -> Response | None:
        if not path.startswith("/v2/"):
            return None
        auth = request.headers.get("authorization", "")
        if not hmac.compare_digest(auth.encode(), f"Bearer {self.access_token}".encode()):
            return error_response(
                401,
                [
                    {
                        "category": "AUTHENTICATION_ERROR",
                        "code": "UNAUTHORIZED",
                        "detail": "This request could not be authorized.",
                    }
                ],
            )
        version = request.headers.get("square-version")
        if version is not None and not _VERSION_RE.match(version):
            return error_response(
                400,
                [
                    {
                        "category": "INVALID_REQUEST_ERROR",
                        "code": "INVALID_SQUARE_VERSION_FORMAT",
                        "detail": f"Invalid Square-Version format: {version}",
                    }
                ],
            )
        return None
