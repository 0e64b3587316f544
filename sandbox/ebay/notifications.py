"""Signed push notifications (the Notification API's ``ORDER_CONFIRMATION``) and the public key that
verifies them.

The emulator holds an ECDSA P-256 key made at start. Each notification body is signed over its raw
bytes (SHA-256, DER signature) and sent with ``X-EBAY-SIGNATURE``: base64 of
``{"alg": "ecdsa", "kid": ..., "signature": base64(DER), "digest": "SHA256"}``. A receiver fetches the
key by ``kid`` from ``GET /commerce/notification/v1/public_key/{kid}`` (PEM in ``key``). A destination is
only added once its endpoint answers eBay's challenge: ``GET <url>?challenge_code=C`` must answer
``{"challengeResponse": hex(SHA-256(C + verificationToken + url))}``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sandbox.ebay.errors import NOTIFICATION, EbayError
from sandbox.ebay.state import Destination, EbayState
from sandbox.ebay.wire import JSON, fmt_time
from sandbox.http import Request


def challenge_response(challenge_code: str, verification_token: str, endpoint: str) -> str:
    """What an endpoint must answer to ``challenge_code`` (eBay's endpoint validation)."""
    return hashlib.sha256((challenge_code + verification_token + endpoint).encode()).hexdigest()


class EndpointRefused(RuntimeError):
    """The endpoint did not answer the challenge as eBay requires: no destination was added."""


class EbayNotifications(EbayState):
    """The signing key, destinations and the notifications sent to them."""

    def _init_signing(self) -> None:
        self._private_key = ec.generate_private_key(ec.SECP256R1())
        self.key_id = uuid.uuid4().hex
        self.notifications_sent: list[JSON] = []

    def public_key_pem(self) -> str:
        pem = self._private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return pem.decode()

    def _get_public_key(self, request: Request) -> JSON:
        if request.params["public_key_id"] != self.key_id:
            raise EbayError(404, 195001, "The specified key id is invalid.", domain=NOTIFICATION)
        return {"algorithm": "ECDSA", "digest": "SHA256", "key": self.public_key_pem()}

    def signature_header(self, body: bytes) -> str:
        signature = self._private_key.sign(body, ec.ECDSA(hashes.SHA256()))
        header = {
            "alg": "ecdsa",
            "kid": self.key_id,
            "signature": base64.b64encode(signature).decode(),
            "digest": "SHA256",
        }
        return base64.b64encode(json.dumps(header).encode()).decode()

    def add_destination(self, url: str, verification_token: str) -> None:
        """(Test API) Register an endpoint, after the challenge eBay sends to it (EndpointRefused)."""
        code = secrets.token_hex(16)
        try:
            answer = requests.get(url, params={"challenge_code": code}, timeout=10)
            given = answer.json().get("challengeResponse") if answer.status_code == 200 else None
        except (requests.RequestException, ValueError, AttributeError):
            given = None
        if given != challenge_response(code, verification_token, url):
            raise EndpointRefused(f"{url} did not answer the challenge")
        with self.lock:
            self._destinations.append(Destination(url, verification_token))

    def _notify_order(self, order: JSON) -> None:
        """One ORDER_CONFIRMATION per line item to every destination (eBay sends one per line)."""
        for line in order["lineItems"]:
            now = fmt_time(self.now())
            message: JSON = {
                "metadata": {"topic": "ORDER_CONFIRMATION", "schemaVersion": "1.0", "deprecated": False},
                "notification": {
                    "notificationId": str(uuid.uuid4()),
                    "eventDate": order["creationDate"],
                    "publishDate": now,
                    "publishAttemptCount": 1,
                    "data": {
                        "orderId": order["orderId"],
                        "lineItemId": line["lineItemId"],
                        "sellerId": order["sellerId"],
                    },
                },
            }
            body = json.dumps(message).encode()
            self.notifications_sent.append(message)
            headers = {"Content-Type": "application/json", "X-EBAY-SIGNATURE": self.signature_header(body)}
            for destination in self._destinations:
                if "ORDER_CONFIRMATION" in destination.topics:
                    self.webhooks.send(destination.url, body, headers)
