"""eBay OAuth for the adapter: the user access token, renewed from the refresh token before it expires.

eBay's user tokens last about two hours; the refresh token (long-lived, from the one consent a user
gives in a browser) mints new ones at ``POST /identity/v1/oauth2/token`` with the app's client id and
secret as Basic auth. The refresh token and client secret come from the configuration's secrets (env,
file or systemd credential, like every channel's); a renewed access token is registered with
:func:`bridge.logs.register_secret` the moment it arrives, so no log line can ever carry it, and it is
never logged on purpose. A refused refresh token (``invalid_grant``) or client (``invalid_client``) is
an :class:`adapters.base.AuthError` that says to consent again: writes stay queued meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import requests

from adapters.base import AuthError, TransientError
from bridge.logs import register_secret

__all__ = ["API_ROOTS", "SCOPES", "EbayAuth", "consent_url"]

log = logging.getLogger(__name__)

TOKEN_PATH = "/identity/v1/oauth2/token"  # noqa: S105 (a path, not a password)
API_ROOTS = {"production": "https://api.ebay.com", "sandbox": "https://api.sandbox.ebay.com"}
_CONSENT_ROOTS = {"production": "https://auth.ebay.com", "sandbox": "https://auth.sandbox.ebay.com"}
SCOPES = (
    "https://api.ebay.com/oauth/api_scope/sell.inventory",
    "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
)
"""What the channel needs: inventory items and offers (read and write) and orders."""
RENEW_MARGIN = 300.0
"""Renew this many seconds before the access token expires, so no call goes out with a dying one."""
CONSENT_AGAIN = (
    "eBay refused the refresh token ({reason}): consent again (run `shopbridge init` for the consent "
    "URL, or paste a new refresh token into the secret channels.ebay.refresh_token names)"
)


def consent_url(client_id: str, ru_name: str, *, environment: str = "production", state: str = "") -> str:
    """The page a user opens once to grant the scopes; eBay redirects to ``ru_name`` with a code."""
    query = {
        "client_id": client_id,
        "redirect_uri": ru_name,
        "response_type": "code",
        "scope": " ".join(SCOPES),
    }
    if state:
        query["state"] = state
    return f"{_CONSENT_ROOTS[environment]}/oauth2/authorize?{urlencode(query)}"


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float
    """Epoch seconds (our clock at the answer plus ``expires_in``)."""


class EbayAuth:
    """A thread-safe holder of the current access token, renewing it when needed."""

    def __init__(
        self,
        api_root: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        *,
        scopes: Sequence[str] = SCOPES,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        for secret in (client_secret, refresh_token):
            register_secret(secret)  # the configuration registers them too; a test or tool may not
        self.token_url = api_root.rstrip("/") + TOKEN_PATH
        self._client = (client_id, client_secret)
        self._refresh_token = refresh_token
        self.scopes = tuple(scopes)
        self._session = session or requests.Session()
        self._timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._current: AccessToken | None = None
        self.renewals = 0
        """Access tokens minted so far (the doctor and the tests read it)."""

    @property
    def expires_at(self) -> float | None:
        """When the current access token expires (None before the first renewal)."""
        current = self._current
        return current.expires_at if current else None

    def access_token(self) -> str:
        """A token good for at least :data:`RENEW_MARGIN` seconds, renewed first if need be."""
        with self._lock:
            current = self._current
            if current is None or current.expires_at - self._clock() <= RENEW_MARGIN:
                current = self._renew()
            return current.value

    def invalidate(self, token: str) -> None:
        """eBay said 401 to ``token`` (revoked, or its clock differs): the next call renews."""
        with self._lock:
            if self._current is not None and self._current.value == token:
                self._current = None

    def _renew(self) -> AccessToken:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh_token,
            "scope": " ".join(self.scopes),
        }
        asked_at = self._clock()
        try:
            answer = self._session.post(self.token_url, data=form, auth=self._client, timeout=self._timeout)
        except requests.RequestException as exc:
            raise TransientError(f"eBay token endpoint unreachable: {type(exc).__name__}") from None
        body = _json(answer)
        if answer.status_code >= 500 or answer.status_code == 429:
            raise TransientError(
                f"eBay token endpoint answered {answer.status_code}", status=answer.status_code
            )
        if answer.status_code != 200:
            reason = str(body.get("error") or answer.status_code)
            raise AuthError(CONSENT_AGAIN.format(reason=reason), code=reason, status=answer.status_code)
        value = body.get("access_token")
        expires_in = body.get("expires_in")
        if not isinstance(value, str) or not value or not isinstance(expires_in, int):
            raise TransientError("eBay token endpoint answered no usable token", status=answer.status_code)
        register_secret(value)
        self._current = AccessToken(value, asked_at + expires_in)
        self.renewals += 1
        log.info("ebay access token renewed", extra={"expires_in_seconds": expires_in})
        return self._current


def _json(answer: requests.Response) -> dict[str, object]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
