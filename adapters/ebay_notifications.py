"""Verifying eBay's push notifications: the ECDSA signature in ``X-EBAY-SIGNATURE`` checked with the
public key eBay serves by ``kid``, and the answer to eBay's endpoint challenge.

The header is base64 of ``{"alg": "ecdsa", "kid": ..., "signature": base64(DER), "digest": "SHA256"}``;
the key comes from the Notification API's ``getPublicKey`` (PEM) and is cached by ``kid``, so a
burst of notifications costs one key read. A delivery that fails any check is
:class:`adapters.base.WebhookRejected` (answered 4xx, stored nowhere); one that passes gives its
``notificationId``, the inbox key that makes a redelivery a no-op. A notification only wakes the
loop: the order itself is read through getOrders.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from adapters.base import WebhookRejected
from adapters.ebay_client import EbayClient, EbayRequestError

__all__ = ["Notification", "NotificationVerifier", "challenge_answer"]

_KID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_DIGESTS = {"SHA256": hashes.SHA256, "SHA1": hashes.SHA1}


def challenge_answer(challenge_code: str, verification_token: str, endpoint_url: str) -> dict[str, str]:
    """The body to answer ``GET <endpoint>?challenge_code=...`` with (eBay's endpoint validation)."""
    digest = hashlib.sha256((challenge_code + verification_token + endpoint_url).encode()).hexdigest()
    return {"challengeResponse": digest}


@dataclass(frozen=True)
class Notification:
    notification_id: str
    topic: str
    data: dict[str, Any]


def _header(headers: Mapping[str, str]) -> dict[str, Any]:
    raw = next((v for k, v in headers.items() if k.lower() == "x-ebay-signature"), None)
    if not raw:
        raise WebhookRejected("no X-EBAY-SIGNATURE header")
    try:
        parsed = json.loads(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError):
        raise WebhookRejected("X-EBAY-SIGNATURE is not base64 JSON") from None
    if not isinstance(parsed, dict) or str(parsed.get("alg", "")).lower() != "ecdsa":
        raise WebhookRejected("X-EBAY-SIGNATURE is not an ECDSA signature")
    if not _KID.match(str(parsed.get("kid", ""))) or str(parsed.get("digest")) not in _DIGESTS:
        raise WebhookRejected("X-EBAY-SIGNATURE names no usable key id or digest")
    return parsed


class NotificationVerifier:
    """Checks deliveries; public keys are fetched through ``client`` once per ``kid``."""

    def __init__(self, client: EbayClient) -> None:
        self.client = client
        self._keys: dict[str, ec.EllipticCurvePublicKey] = {}
        self._lock = threading.Lock()

    def _key(self, kid: str) -> ec.EllipticCurvePublicKey:
        with self._lock:
            if kid in self._keys:
                return self._keys[kid]
        try:
            answer = self.client.request("GET", f"/commerce/notification/v1/public_key/{kid}")
        except EbayRequestError:
            raise WebhookRejected(f"eBay knows no public key {kid}") from None
        try:
            key = serialization.load_pem_public_key(str(answer.get("key", "")).encode())
        except ValueError:
            raise WebhookRejected(f"public key {kid} is not PEM") from None
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise WebhookRejected(f"public key {kid} is not an elliptic-curve key")
        with self._lock:
            self._keys[kid] = key
        return key

    def verify(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """The notification, once its signature over the raw ``body`` checks out."""
        header = _header(headers)
        try:
            signature = base64.b64decode(str(header.get("signature", "")), validate=True)
        except binascii.Error:
            raise WebhookRejected("the signature is not base64") from None
        key = self._key(str(header["kid"]))
        try:
            key.verify(signature, body, ec.ECDSA(_DIGESTS[str(header["digest"])]()))
        except InvalidSignature:
            raise WebhookRejected("the signature does not match the body") from None
        try:
            message = json.loads(body)
            inner = message["notification"]
            return Notification(
                str(inner["notificationId"]), str(message["metadata"]["topic"]), dict(inner["data"])
            )
        except (ValueError, KeyError, TypeError):
            raise WebhookRejected("a signed body that is not an eBay notification") from None
