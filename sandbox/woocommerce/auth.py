"""Authentication both ways: requests checked as ``WC_REST_Authentication`` does it (API keys over
Basic auth or the query string, or one-legged OAuth 1.0a: signature, timestamp window, nonce), and
the signature on every webhook delivery; plus signing a URL the way a client does, for tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from sandbox.http import Request, Response
from sandbox.woocommerce.errors import WooApiError
from sandbox.woocommerce.state import WooState
from sandbox.woocommerce.wire import PREFIX

AUTH_REALM = (
    'Basic realm="WooCommerce API. Use a consumer key in the username field and a consumer secret '
    'in the password field."'
)


def webhook_signature(secret: str, body: bytes) -> str:
    """``X-WC-Webhook-Signature``: base64 HMAC-SHA256 of the delivered body, keyed with the webhook's
    secret (``WC_Webhook::generate_signature``)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def php_rawurlencode(value: str) -> str:
    """PHP ``rawurlencode`` (RFC 3986): what WooCommerce uses to build the OAuth base string."""
    return quote(value, safe="-_.~")


def oauth_query(
    url: str, method: str, consumer_key: str, consumer_secret: str, *, algo: str = "HMAC-SHA1"
) -> str:
    """A signed OAuth 1.0a URL (for tests that want HMAC-SHA1, which the Python client never sends)."""
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    params.update(
        oauth_consumer_key=consumer_key,
        oauth_timestamp=str(int(time.time())),
        oauth_nonce=hashlib.sha1(str(time.time_ns()).encode(), usedforsecurity=False).hexdigest(),
        oauth_signature_method=algo,
    )
    items = sorted(params.items(), key=lambda kv: kv[0].encode())
    query = "%26".join(php_rawurlencode(f"{php_rawurlencode(k)}={php_rawurlencode(v)}") for k, v in items)
    base = php_rawurlencode(f"{parts.scheme}://{parts.netloc}{parts.path}")
    digest = hashlib.sha1 if algo == "HMAC-SHA1" else hashlib.sha256
    sig = base64.b64encode(
        hmac.new(
            (consumer_secret + "&").encode(), f"{method.upper()}&{base}&{query}".encode(), digest
        ).digest()
    ).decode()
    params["oauth_signature"] = sig
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(params)}"


class WooAuth(WooState):
    """Check each ``/wp-json/wc/v3`` request's credentials before it is routed."""

    def _authenticate(self, request: Request, path: str) -> Response | None:
        if not path.startswith(PREFIX):
            return None
        try:
            self._check_credentials(request)
        except WooApiError as exc:
            headers = (
                {"WWW-Authenticate": AUTH_REALM} if exc.message == "Consumer secret is invalid." else None
            )
            return exc.response(headers)
        return None

    def _check_credentials(self, request: Request) -> None:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError as exc:
                raise WooApiError(
                    "woocommerce_rest_authentication_error", "Consumer key is invalid.", 401
                ) from exc
            return self._check_key_secret(user, password)
        ck = request.query.get("consumer_key")
        cs = request.query.get("consumer_secret")
        if ck and cs:
            return self._check_key_secret(ck[-1], cs[-1])
        if "oauth_signature" in request.query or "oauth_consumer_key" in request.query:
            return self._check_oauth(request)
        if request.method in ("GET", "HEAD"):
            raise WooApiError("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401)
        raise WooApiError(
            "woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources.", 401
        )

    def _check_key_secret(self, key: str, secret: str) -> None:
        if not hmac.compare_digest(key.encode(), self.consumer_key.encode()):
            raise WooApiError("woocommerce_rest_authentication_error", "Consumer key is invalid.", 401)
        if not hmac.compare_digest(secret.encode(), self.consumer_secret.encode()):
            raise WooApiError("woocommerce_rest_authentication_error", "Consumer secret is invalid.", 401)

    def _check_oauth(self, request: Request) -> None:
        """One-legged OAuth 1.0a as ``WC_REST_Authentication::check_oauth_signature`` does it."""
        params = {k: v[-1] for k, v in request.query.items()}  # PHP $_GET: the last duplicate wins
        for name in (
            "oauth_consumer_key",
            "oauth_timestamp",
            "oauth_nonce",
            "oauth_signature",
            "oauth_signature_method",
        ):
            if not params.get(name):
                raise WooApiError(
                    "woocommerce_rest_authentication_missing_parameter",
                    f"Missing OAuth parameter {name}",
                    401,
                )
        if not hmac.compare_digest(params["oauth_consumer_key"].encode(), self.consumer_key.encode()):
            raise WooApiError("woocommerce_rest_authentication_error", "Consumer key is invalid.", 401)
        if not self.verify_oauth:
            return
        method = params["oauth_signature_method"]
        algos: dict[str, Callable[..., Any]] = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}
        if method not in algos:
            raise WooApiError(
                "woocommerce_rest_authentication_error",
                "Invalid signature - signature method is invalid.",
                401,
            )
        signature = params.pop("oauth_signature").replace(" ", "+")
        items = sorted(params.items(), key=lambda kv: kv[0].encode())
        normalised = [(php_rawurlencode(k), php_rawurlencode(v)) for k, v in items]
        query = "%26".join(php_rawurlencode(f"{k}={v}") for k, v in normalised)
        host = request.headers.get("host", urlsplit(self.url).netloc)
        base_uri = php_rawurlencode(f"http://{host}{request.path}")
        to_sign = f"{request.method.upper()}&{base_uri}&{query}"
        mine = base64.b64encode(
            hmac.new((self.consumer_secret + "&").encode(), to_sign.encode(), algos[method]).digest()
        ).decode()
        if not hmac.compare_digest(mine, signature):
            raise WooApiError(
                "woocommerce_rest_authentication_error",
                "Invalid signature - provided signature does not match.",
                401,
            )
        self._check_oauth_nonce(params["oauth_nonce"], params["oauth_timestamp"])

    def _check_oauth_nonce(self, nonce: str, timestamp: str) -> None:
        """The timestamp within 15 minutes of now, and the nonce not used with it in that window."""
        try:
            stamp = int(timestamp)
        except ValueError:
            stamp = 0
        if abs(time.time() - stamp) > 15 * 60:
            raise WooApiError("woocommerce_rest_authentication_error", "Invalid timestamp.", 401)
        with self.lock:
            cutoff = time.time() - 15 * 60
            if len(self._nonces) > 10000:
                self._nonces = {n: t for n, t in self._nonces.items() if t > cutoff}
            key = nonce + timestamp
            if key in self._nonces and self._nonces[key] > cutoff:
                raise WooApiError(
                    "woocommerce_rest_authentication_error",
                    "Invalid nonce - nonce has already been used.",
                    401,
                )
            self._nonces[key] = time.time()
