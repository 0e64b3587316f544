"""Our Square webhook subscription, through Square's Webhook Subscriptions API.

``shopbridge webhooks register`` calls :func:`ensure_subscription` (through
``SquareAdapter.ensure_webhook_subscription``): it lists the subscriptions first (disabled ones
too) and updates the one delivering to our notification URL, or creates one with a deterministic
idempotency key, so running it twice, or again after an answer was lost, never makes a second
subscription. Square answers the signature key on create and on retrieve (the spec's examples;
list and update leave it out), so it is read back after an update to hand to the caller.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from adapters.base import PermanentError

__all__ = ["SQUARE_WEBHOOK_EVENTS", "SubscriptionResult", "ensure_subscription", "idempotency_key"]

JSON = dict[str, Any]
Request = Callable[[str, str, JSON | None, JSON | None], JSON]
"""``SquareAdapter._request``: method, path, body, query parameters -> the JSON answer."""

SQUARE_WEBHOOK_EVENTS = (
    "catalog.version.updated",
    "customer.created",
    "customer.deleted",
    "customer.updated",
    "inventory.count.updated",
    "order.created",
    "order.updated",
)
"""What the sync reads: stock counts, catalogue versions, orders (``order.created`` fires only for
API-created orders, so POS sales arrive as ``inventory.count.updated``) and customers."""

SUBSCRIPTION_NAME = "shopbridge"
PATH = "v2/webhooks/subscriptions"


@dataclass(frozen=True)
class SubscriptionResult:
    """What was done, to which subscription, and the signature key Square answered (if any)."""

    action: Literal["created", "updated", "unchanged"]
    subscription_id: str
    notification_url: str
    event_types: tuple[str, ...]
    signature_key: str | None = field(default=None, repr=False)


def idempotency_key(notification_url: str, attempt: str = "") -> str:
    """The same key for the same URL (at most 45 characters, Square's limit for this call)."""
    digest = hashlib.sha256(f"{notification_url}|{attempt}".encode()).hexdigest()
    return "shopbridge-" + digest[:32]


def find_subscription(request: Request, notification_url: str) -> JSON | None:
    """The subscription (enabled or not) that delivers to exactly ``notification_url``."""
    cursor: str | None = None
    while True:
        params: JSON = {"include_disabled": "true"} | ({"cursor": cursor} if cursor else {})
        page = request("GET", PATH, None, params)
        for sub in page.get("subscriptions") or []:
            if sub.get("notification_url") == notification_url:
                return dict(sub)
        cursor = page.get("cursor")
        if not cursor:
            return None


def _retrieve(request: Request, sub_id: str) -> JSON | None:
    """The subscription, or None when Square no longer has it (404)."""
    try:
        return dict(request("GET", f"{PATH}/{sub_id}", None, None)["subscription"])
    except PermanentError as exc:
        if exc.status == 404:
            return None
        raise


def _create(request: Request, notification_url: str, events: tuple[str, ...], api_version: str) -> JSON:
    """Create the subscription. A key Square already answered for a subscription deleted since
    would replay that dead one, so a second attempt uses a key derived from the dead id."""
    attempt = ""
    for _ in range(2):
        body: JSON = {
            "idempotency_key": idempotency_key(notification_url, attempt),
            "subscription": {
                "name": SUBSCRIPTION_NAME,
                "event_types": list(events),
                "notification_url": notification_url,
                "api_version": api_version,
            },
        }
        sub: JSON = dict(request("POST", PATH, body, None)["subscription"])
        if _retrieve(request, str(sub["id"])) is not None:
            return sub
        attempt = str(sub["id"])
    raise RuntimeError("Square keeps answering a deleted webhook subscription")


def ensure_subscription(
    request: Request,
    notification_url: str,
    api_version: str,
    events: tuple[str, ...] = SQUARE_WEBHOOK_EVENTS,
) -> SubscriptionResult:
    """Make exactly one enabled subscription deliver ``events`` to ``notification_url``."""
    existing = find_subscription(request, notification_url)
    if existing is None:
        sub = _create(request, notification_url, events, api_version)
        return SubscriptionResult(
            "created",
            str(sub["id"]),
            notification_url,
            tuple(sub.get("event_types") or events),
            sub.get("signature_key"),
        )
    sub_id = str(existing["id"])
    have = set(existing.get("event_types") or ())
    action: Literal["updated", "unchanged"] = "unchanged"
    if not existing.get("enabled", True) or not set(events) <= have:
        changes = {"enabled": True, "event_types": sorted(have | set(events))}
        request("PUT", f"{PATH}/{sub_id}", {"subscription": changes}, None)
        action = "updated"
    current = _retrieve(request, sub_id) or existing
    return SubscriptionResult(
        action,
        sub_id,
        notification_url,
        tuple(current.get("event_types") or ()),
        current.get("signature_key"),
    )
