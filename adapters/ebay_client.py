"""The eBay transport: REST calls with the user token, our retries and eBay's errors mapped.

Every call carries ``Authorization: Bearer`` from :class:`adapters.ebay_auth.EbayAuth`. A 401 (the
token expired early, or was revoked) renews the token once and resends the same request; a second
401 is an :class:`AuthError`. 429 and 5xx are transient (bounded, jittered retries honouring
``Retry-After``, the same body each time); other 4xx are :class:`EbayRequestError` with eBay's
``errorId``. A 207 Multi-Status is an answer, not an error: the caller reads each entry's ``statusCode``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import requests

from adapters.base import (
    AuthError,
    PermanentError,
    TransientError,
    answer_body,
    json_object,
    parse_retry_after,
    retrying,
)
from adapters.ebay_auth import EbayAuth

__all__ = ["EbayClient", "EbayRequestError", "map_status_error"]

JSON = dict[str, Any]


class EbayRequestError(PermanentError):
    """eBay refused the request; ``code`` is its ``errorId`` as text."""


def _first_error(body: Any) -> tuple[str | None, str]:
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        code = first.get("errorId")
        return (str(code) if code is not None else None), str(first.get("message") or "eBay error")
    return None, str(body)[:300] if body else "eBay error"


def map_status_error(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Exception:
    code, message = _first_error(body)
    if status in (401, 403):
        return AuthError(message, code=code, status=status)
    if status in (408, 429) or status >= 500:
        retry_after = parse_retry_after((headers or {}).get("Retry-After"))
        return TransientError(message, code=code, status=status, retry_after=retry_after)
    return EbayRequestError(message, code=code, status=status)


class EbayClient:
    """eBay's REST APIs under one root (``https://api.ebay.com`` or the emulator's)."""

    def __init__(
        self,
        api_root: str,
        auth: EbayAuth,
        *,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        max_attempts: int = 5,
        backoff: float = 0.5,
        backoff_cap: float = 30.0,
    ) -> None:
        self.api_root = api_root.rstrip("/")
        self.auth = auth
        self.session = session or requests.Session()
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self.calls = 0
        """HTTP requests sent to the APIs (retries and the resend after a 401 included)."""

    def request(
        self,
        method: str,
        path: str,
        *,
        body: JSON | None = None,
        params: JSON | None = None,
        attempts: int | None = None,
    ) -> JSON:
        """One call (``path`` under the root, or an absolute ``next`` link eBay gave) with retries
        (``attempts``: at most that many tries; 1 for a call whose resend must be checked first)."""
        url = path if path.startswith(("http://", "https://")) else self.api_root + path
        tries = self.max_attempts if attempts is None else max(1, attempts)
        result: JSON = retrying(tries, self.backoff, self.backoff_cap)(
            self._authorised, method, url, body, params
        )
        return result

    def _authorised(self, method: str, url: str, body: JSON | None, params: JSON | None) -> JSON:
        token = self.auth.access_token()
        try:
            return self._once(method, url, body, params, token)
        except AuthError as exc:
            if exc.status != 401:
                raise
        self.auth.invalidate(token)
        return self._once(method, url, body, params, self.auth.access_token())

    def _once(self, method: str, url: str, body: JSON | None, params: JSON | None, token: str) -> JSON:
        self.calls += 1
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            answer = self.session.request(
                method, url, json=body, params=params, headers=headers, timeout=self.timeout
            )
        except requests.Timeout:
            raise TransientError("eBay timed out") from None
        except requests.RequestException as exc:
            raise TransientError(f"eBay unreachable: {type(exc).__name__}") from None
        data = answer_body(answer)
        if answer.status_code >= 400:
            raise map_status_error(answer.status_code, data, answer.headers)
        return json_object(data, "eBay", answer.status_code)

    def pages(self, path: str, params: JSON, key: str) -> Iterator[list[JSON]]:
        """Each page's ``key`` list, following the ``next`` links eBay answers until there are none."""
        url: str | None = path
        query: JSON | None = params
        while url:
            page = self.request("GET", url, params=query)
            yield list(page.get(key) or [])
            url = page.get("next")
            query = None  # a next link carries its own query
