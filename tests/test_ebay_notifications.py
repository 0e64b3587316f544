"""eBay's push notifications as the adapter receives them: signed by the ebay_emulator with its ECDSA key,
verified with the key fetched by ``kid`` (once), tampered or forged deliveries rejected, and the
challenge answered so that eBay accepts the endpoint."""

from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from ebay_helpers import NotificationEndpoint, catalogue

from adapters.base import WebhookRejected
from adapters.ebay_auth import EbayAuth
from adapters.ebay_client import EbayClient
from adapters.ebay_notifications import NotificationVerifier
from sandbox.ebay import EbayEmulator, EndpointRefused


def verifier_for(em: EbayEmulator) -> NotificationVerifier:
    auth = EbayAuth(em.base_url, em.client_id, em.client_secret, em.issue_refresh_token())
    return NotificationVerifier(EbayClient(em.base_url, auth, backoff=0.01, backoff_cap=0.05))


def delivered(
    em: EbayEmulator, ebay_endpoint: NotificationEndpoint, count: int
) -> list[tuple[dict[str, str], bytes]]:
    em.add_destination(ebay_endpoint.url, ebay_endpoint.verification_token)
    for _ in range(count):
        em.buy("MUG-000")
    deadline = time.monotonic() + 5
    while len(ebay_endpoint.posts) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return list(ebay_endpoint.posts)


def test_signed_notifications_verify_with_one_key_read(
    ebay_emulator: EbayEmulator, ebay_endpoint: NotificationEndpoint
) -> None:
    ebay_emulator.seed(catalogue(1))
    posts = delivered(ebay_emulator, ebay_endpoint, 3)
    verifier = verifier_for(ebay_emulator)
    found = [verifier.verify(headers, body) for headers, body in posts]
    assert [n.topic for n in found] == ["ORDER_CONFIRMATION"] * 3
    assert len({n.notification_id for n in found}) == 3
    assert verifier.client.calls == 1  # the key, cached by kid


def test_tampered_forged_or_unsigned_deliveries_are_rejected(
    ebay_emulator: EbayEmulator, ebay_endpoint: NotificationEndpoint
) -> None:
    ebay_emulator.seed(catalogue(1))
    headers, body = delivered(ebay_emulator, ebay_endpoint, 1)[0]
    verifier = verifier_for(ebay_emulator)
    with pytest.raises(WebhookRejected, match="does not match"):
        verifier.verify(headers, body.replace(b'"orderId": "', b'"orderId": "9'))
    with pytest.raises(WebhookRejected, match="no X-EBAY-SIGNATURE"):
        verifier.verify({}, body)
    forger = ec.generate_private_key(ec.SECP256R1())
    claimed = json.loads(base64.b64decode(headers["x-ebay-signature"]))
    claimed["signature"] = base64.b64encode(forger.sign(body, ec.ECDSA(hashes.SHA256()))).decode()
    forged = {"X-EBAY-SIGNATURE": base64.b64encode(json.dumps(claimed).encode()).decode()}
    with pytest.raises(WebhookRejected, match="does not match"):
        verifier.verify(forged, body)
    claimed["kid"] = "0" * 32
    unknown = {"X-EBAY-SIGNATURE": base64.b64encode(json.dumps(claimed).encode()).decode()}
    with pytest.raises(WebhookRejected, match="no public key"):
        verifier.verify(unknown, body)


def test_the_emulator_accepts_the_adapters_challenge_answer_and_only_that(
    ebay_emulator: EbayEmulator, ebay_endpoint: NotificationEndpoint
) -> None:
    ebay_emulator.add_destination(
        ebay_endpoint.url, ebay_endpoint.verification_token
    )  # answered by challenge_answer
    with pytest.raises(EndpointRefused):
        ebay_emulator.add_destination(ebay_endpoint.url, "another-verification-token")
