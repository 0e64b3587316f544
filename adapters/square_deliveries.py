"""Square webhook deliveries verified (HMAC-SHA256 of notification URL + body) and read as hints.

(Our subscription, which makes Square deliver them, is :mod:`adapters.square_webhooks`.)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Literal

from square.utils.webhooks_helper import verify_signature

from adapters.base import WebhookRejected
from adapters.square_values import parse_time, quantity
from bridge.models import StockLevel, WebhookEvent
from bridge.targets import TargetRef

__all__ = ["claimed_counts", "delivery_targets", "verify_webhook"]

CHANNEL = "square"
_RESOURCES: dict[str, Literal["product", "inventory", "customer", "order"]] = {
    "catalog": "product",
    "inventory": "inventory",
    "customer": "customer",
    "order": "order",
}


def verify_webhook(
    signature_key: str | None, notification_url: str | None, headers: Mapping[str, str], body: bytes
) -> WebhookEvent:
    """The event a delivery carries; :class:`WebhookRejected` unless it is signed with
    ``signature_key`` for ``notification_url`` (where Square delivered it)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    signature = lowered.get("x-square-hmacsha256-signature")
    if not signature_key or not notification_url:
        raise WebhookRejected("no signature key or notification URL configured")
    if not signature or not body:
        raise WebhookRejected("missing signature or body")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookRejected("body is not UTF-8") from exc
    if not verify_signature(  # the SDK's check: HMAC-SHA256 of URL + body, constant-time compare
        request_body=text,
        signature_header=signature.strip(),
        signature_key=signature_key,
        notification_url=notification_url,
    ):
        raise WebhookRejected("signature mismatch")
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise WebhookRejected("body is not JSON") from exc
    if not isinstance(payload, dict) or not payload.get("event_id") or not payload.get("type"):
        raise WebhookRejected("not a Square event")
    topic = str(payload["type"])
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    resource_id: str | None = None
    prefix = topic.split(".", 1)[0]
    kind: Literal["product", "inventory", "customer", "order", "other"] = _RESOURCES.get(prefix, "other")
    if kind in ("customer", "order") and data:
        resource_id = str(data.get("id")) if data.get("id") else None
    elif kind == "inventory" and data:
        counts = ((data.get("object") or {}).get("inventory_counts")) or []
        if counts and isinstance(counts[0], dict):
            resource_id = counts[0].get("catalog_object_id")
    return WebhookEvent(
        channel=CHANNEL,
        event_id=str(payload["event_id"]),
        topic=topic,
        resource=kind,
        resource_id=resource_id,
        occurred_at=parse_time(payload.get("created_at")),
        payload=payload,
    )


def delivery_targets(body: bytes) -> list[TargetRef] | None:
    """Every variation an ``inventory.count.updated`` delivery names: Square lists in one
    delivery every count one change moved (a receipt of several items, up to 100 counts), while
    its event is filed under the first. ``None`` for any other delivery."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("type") != "inventory.count.updated":
        return None
    counts = (((payload.get("data") or {}).get("object") or {}).get("inventory_counts")) or []
    named = dict.fromkeys(
        str(count["catalog_object_id"])
        for count in counts
        if isinstance(count, dict) and count.get("catalog_object_id")
    )
    return [TargetRef("inventory", variation) for variation in named] or None


def claimed_counts(body: bytes) -> list[StockLevel] | None:
    """The in-stock counts an ``inventory.count.updated`` delivery (already verified) carries, as
    Square documents its ``data.object.inventory_counts``; ``None`` for any other delivery or one
    that cannot be read whole (then it is re-read as any other)."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("type") != "inventory.count.updated":
        return None
    counts = (((payload.get("data") or {}).get("object") or {}).get("inventory_counts")) or []
    levels: list[StockLevel] = []
    for count in counts:
        if not isinstance(count, dict) or not count.get("catalog_object_id") or not count.get("location_id"):
            return None
        if count.get("state", "IN_STOCK") != "IN_STOCK":
            continue
        at = parse_time(count.get("calculated_at"))
        if at is None or count.get("quantity") is None:
            return None
        held = int(quantity(count["quantity"]))
        levels.append(
            StockLevel(
                channel=CHANNEL,
                variant_id=str(count["catalog_object_id"]),
                location_id=str(count["location_id"]),
                quantity=held,
                observed_at=at,
            )
        )
    return levels or None
