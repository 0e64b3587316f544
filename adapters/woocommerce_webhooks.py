"""WooCommerce webhook deliveries verified and read as hints.

Webhooks are signed (HMAC-SHA256 of the raw body, base64, in ``X-WC-Webhook-Signature``) but never
retried, and the delivery id is not unique, so the event id is derived from the body and polling
stays mandatory. WooCommerce's ping on creating a webhook is an unsigned form body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Literal

from adapters.base import WebhookRejected
from adapters.woocommerce_cursor import parse_gmt
from bridge.models import StockLevel, WebhookEvent

__all__ = ["claimed_counts", "verify_webhook"]

CHANNEL = "woocommerce"
_RESOURCES: dict[str, Literal["product", "order", "customer"]] = {
    "product": "product",
    "order": "order",
    "customer": "customer",
}
_PING_BODY = re.compile(rb"webhook_id=(\d+)")


def verify_webhook(secret: str, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
    """The event a delivery carries; :class:`WebhookRejected` when it is not signed with ``secret``
    (a ping is accepted unsigned: it carries nothing to act on)."""
    lower = {k.lower(): v for k, v in headers.items()}
    signature = lower.get("x-wc-webhook-signature")
    if not signature:
        ping = _PING_BODY.fullmatch(body.strip())
        if ping:  # deliver_ping(): unsigned form body, nothing to act on
            return WebhookEvent(
                channel=CHANNEL,
                event_id=f"woocommerce:ping:{ping.group(1).decode()}",
                topic="ping",
                resource="ping",
                resource_id=ping.group(1).decode(),
            )
        raise WebhookRejected("missing X-WC-Webhook-Signature")
    mine = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(mine.encode(), signature.strip().encode()):
        raise WebhookRejected("bad X-WC-Webhook-Signature")
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise WebhookRejected("webhook body is not JSON") from exc
    if not isinstance(payload, dict):
        raise WebhookRejected("webhook body is not a JSON object")
    topic = lower.get("x-wc-webhook-topic", "")
    resource = topic.partition(".")[0] or lower.get("x-wc-webhook-resource", "")
    webhook_id = lower.get("x-wc-webhook-id", "")
    # X-WC-Webhook-Delivery-ID repeats within a second, so the id is derived from the content.
    digest = hashlib.sha256(f"{webhook_id}|{topic}|".encode() + body).hexdigest()[:32]
    return WebhookEvent(
        channel=CHANNEL,
        event_id=f"woocommerce:{digest}",
        topic=topic,
        resource=_RESOURCES.get(resource, "other"),
        resource_id=str(payload["id"]) if payload.get("id") is not None else None,
        occurred_at=parse_gmt(payload.get("date_modified_gmt")),
        payload=payload,
    )


def claimed_counts(body: bytes, location: str) -> list[StockLevel] | None:
    """The stock a ``product.updated`` delivery (already verified) shows: WooCommerce sends the
    product (or the variation, ``woocommerce_update_product_variation``) as its REST API renders
    it, ``stock_quantity`` included when the item manages its own stock. ``None`` for anything
    else: an order, a variable product, a variation whose parent holds the stock
    (``manage_stock: "parent"``), a body that cannot be read whole (re-read as any other)."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("type") not in ("simple", "variation"):
        return None
    quantity, item_id = payload.get("stock_quantity"), payload.get("id")
    if payload.get("manage_stock") is not True or isinstance(quantity, bool) or not isinstance(quantity, int):
        return None
    try:
        modified = parse_gmt(payload.get("date_modified_gmt"))
    except (TypeError, ValueError):
        return None
    if modified is None or item_id is None:
        return None
    return [
        StockLevel(
            channel=CHANNEL,
            variant_id=str(item_id),
            location_id=location,
            quantity=quantity,
            observed_at=modified,
        )
    ]
