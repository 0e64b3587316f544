"""Authentication: the bearer access token on every ``/v2`` request and the ``Square-Version``
header's format.
"""

from __future__ import annotations

import hmac
import re

from sandbox.http import Request, Response
from sandbox.square.errors import error_response
from sandbox.square.state import SquareState

_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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
