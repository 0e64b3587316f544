"""eBay's OAuth 2.0: the token endpoint (authorization-code and refresh-token grants) and the user
access token every ``/sell`` and ``/commerce`` request must carry.

As documented (developer.ebay.com, oauth-auth-code-grant-request and oauth-refresh-token-request):
``POST /identity/v1/oauth2/token``, form-encoded, ``Authorization: Basic base64(client_id:secret)``.
The code grant answers an access token (``expires_in``, 7,200 s on eBay) and a long-lived refresh
token; the refresh grant answers a new access token only. An expired or unknown access token gets
eBay's 401 ``errorId`` 1001; a refused refresh token ``invalid_grant``. Consent itself (a user
logging in at ``auth.ebay.com``) cannot be emulated over HTTP: :meth:`EbayOAuth.consent` stands in
for it and returns the code eBay would redirect with.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from urllib.parse import parse_qs

from sandbox.ebay.errors import INVALID_ACCESS_TOKEN, error_response
from sandbox.ebay.state import EbayState, Token
from sandbox.http import Request, Response, json_response

TOKEN_PATH = "/identity/v1/oauth2/token"  # noqa: S105 (a path, not a password)
REFRESH_TOKEN_SECONDS = 47_304_000
"""The refresh token's ``refresh_token_expires_in`` (about 18 months, the commonly cited figure)."""
SCOPES = (
    "https://api.ebay.com/oauth/api_scope",
    "https://api.ebay.com/oauth/api_scope/sell.inventory",
    "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
)


def _oauth_error(status: int, error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, status)


class EbayOAuth(EbayState):
    """Codes, refresh tokens and access tokens, and the bearer check before routing."""

    def consent(self, scopes: tuple[str, ...] = SCOPES) -> str:
        """(Test API) The user granted ``scopes``: the one-use authorization code eBay redirects with."""
        code = "v^1.1#i^1#" + secrets.token_urlsafe(24)
        with self.lock:
            self._codes[code] = tuple(scopes)
        return code

    def issue_refresh_token(self, scopes: tuple[str, ...] = SCOPES) -> str:
        """(Test API) A refresh token as if consent had been given and its code exchanged."""
        with self.lock:
            return self._new_refresh(tuple(scopes)).value

    def revoke_refresh_tokens(self) -> None:
        """(Test API) The user withdrew consent (or the token lapsed): every refresh token is refused."""
        with self.lock:
            self._refresh_tokens.clear()

    def expire_access_tokens(self) -> None:
        """(Test API) Every access token issued so far has expired."""
        with self.lock:
            for token in self._access_tokens.values():
                token.expires_at = min(token.expires_at, self.now() - 1)

    def _new_refresh(self, scopes: tuple[str, ...]) -> Token:
        token = Token(
            "v^1.1#i^1#r^1#" + secrets.token_urlsafe(32), self.now() + REFRESH_TOKEN_SECONDS, scopes
        )
        self._refresh_tokens[token.value] = token
        return token

    def _new_access(self, scopes: tuple[str, ...]) -> Token:
        token = Token(
            "v^1.1#i^1#p^3#" + secrets.token_urlsafe(48), self.now() + self.access_token_seconds, scopes
        )
        self._access_tokens[token.value] = token
        return token

    def _client_ok(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            given = base64.b64decode(header[6:], validate=True)
        except (binascii.Error, ValueError):
            return False
        expected = f"{self.client_id}:{self.client_secret}".encode()
        return hmac.compare_digest(given, expected)

    def _token(self, request: Request) -> Response:
        """``POST /identity/v1/oauth2/token``."""
        if not self._client_ok(request):
            return _oauth_error(401, "invalid_client", "client authentication failed")
        form = {k: v[0] for k, v in parse_qs(request.body.decode(errors="replace")).items()}
        grant = form.get("grant_type")
        with self.lock:
            if grant == "authorization_code":
                scopes = self._codes.pop(form.get("code", ""), None)
                if scopes is None:
                    return _oauth_error(
                        400, "invalid_grant", "the provided authorization grant code is invalid"
                    )
                refresh = self._new_refresh(scopes)
                access = self._new_access(scopes)
                return json_response(
                    {
                        "access_token": access.value,
                        "expires_in": self.access_token_seconds,
                        "refresh_token": refresh.value,
                        "refresh_token_expires_in": REFRESH_TOKEN_SECONDS,
                        "token_type": "User Access Token",
                    }
                )
            if grant == "refresh_token":
                stored = self._refresh_tokens.get(form.get("refresh_token", ""))
                if stored is None or stored.expires_at <= self.now():
                    return _oauth_error(
                        400, "invalid_grant", "the provided authorization refresh token is invalid"
                    )
                asked = tuple(form["scope"].split()) if form.get("scope") else stored.scopes
                if not set(asked) <= set(stored.scopes):
                    return _oauth_error(400, "invalid_scope", "the requested scope is invalid")
                access = self._new_access(asked)
                return json_response(
                    {
                        "access_token": access.value,
                        "expires_in": self.access_token_seconds,
                        "token_type": "User Access Token",
                    }
                )
        return _oauth_error(400, "unsupported_grant_type", "the grant type is not supported")

    def _authenticate(self, request: Request, path: str) -> Response | None:
        """The user token on every API path (the token endpoint authenticates the client itself)."""
        if not path.startswith(("/sell/", "/commerce/")):
            return None
        header = request.headers.get("authorization", "")
        value = header[7:] if header.startswith("Bearer ") else ""
        with self.lock:
            token = self._access_tokens.get(value)
            if token is None or token.expires_at <= self.now():
                return error_response(401, [dict(INVALID_ACCESS_TOKEN)])
        return None

    def token_scopes(self, access_token: str) -> tuple[str, ...]:
        """(Test API) The scopes an access token carries."""
        with self.lock:
            return self._access_tokens[access_token].scopes
