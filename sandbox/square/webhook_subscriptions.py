"""Square's Webhook Subscriptions API: create, list, retrieve, update, rotate the signature key,
delete and test subscriptions, and list the event types a subscription may name.

Per the spec (``WebhookSubscription`` and the ``*WebhookSubscription*`` request/response schemas):
the signature key is Square-generated, answered by create (and retrieve, as the spec's example
shows) but not by list or update; ``idempotency_key`` is at most 45 characters; list pages by
``cursor`` with ``limit`` at most 100 and hides disabled subscriptions unless ``include_disabled``.
The test operation posts one signed sample event at once and answers the status the URL gave.

The docs require the notification URL to "use the HTTPS protocol"; the emulator also accepts plain
``http://`` to a loopback host (127.0.0.1, ::1, localhost), because its callers are tests and local
demos that have no certificate. Real Square would refuse those, and anything else non-HTTPS here is
refused as Square does (``400 INVALID_VALUE``).
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import uuid
from typing import Any
from urllib.parse import urlsplit

import requests

from sandbox.http import Request
from sandbox.square.errors import SquareError
from sandbox.square.event_types import EVENT_TYPES
from sandbox.square.paging import next_cursor, page_limit, page_offset
from sandbox.square.state import Subscription
from sandbox.square.webhooks import SquareWebhooks
from sandbox.square.wire import JSON, fmt_ms

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TEST_TIMEOUT = 10.0
"""Square waits this long for a notification URL's 2xx (docs webhooks-api/delivery-sla)."""


def check_notification_url(value: Any) -> str:
    """``value`` when it is an absolute HTTPS URL (or HTTP to loopback); ``INVALID_VALUE`` otherwise."""
    field = "subscription.notification_url"
    if not isinstance(value, str) or not value:
        raise SquareError(400, "INVALID_VALUE", "notification_url must be a URL.", field=field)
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return value
    if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
        return value
    raise SquareError(400, "INVALID_VALUE", "notification_url must use the HTTPS protocol.", field=field)


def check_event_types(value: Any) -> frozenset[str]:
    """The event types named, each one Square knows; ``INVALID_VALUE`` naming the first unknown one."""
    field = "subscription.event_types"
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise SquareError(400, "INVALID_VALUE", "event_types must be a non-empty list of names.", field=field)
    unknown = [name for name in value if name not in EVENT_TYPES]
    if unknown:
        raise SquareError(400, "INVALID_VALUE", f"Unknown event type: {unknown[0]}.", field=field)
    return frozenset(value)


def subscription_changes(data: JSON) -> dict[str, Any]:
    """The writable fields of a request's ``subscription``, validated, as ``Subscription`` fields."""
    changes: dict[str, Any] = {}
    if data.get("name") is not None:
        if not isinstance(data["name"], str) or len(data["name"]) > 64:
            raise SquareError(
                400, "VALUE_TOO_LONG", "name is at most 64 characters.", field="subscription.name"
            )
        changes["name"] = data["name"]
    if data.get("enabled") is not None:
        if not isinstance(data["enabled"], bool):
            raise SquareError(
                400, "INVALID_VALUE", "enabled must be a boolean.", field="subscription.enabled"
            )
        changes["enabled"] = data["enabled"]
    if data.get("event_types") is not None:
        changes["event_types"] = check_event_types(data["event_types"])
    if data.get("notification_url") is not None:
        changes["url"] = check_notification_url(data["notification_url"])
    if data.get("api_version") is not None:
        if not isinstance(data["api_version"], str) or not _VERSION_RE.match(data["api_version"]):
            raise SquareError(
                400,
                "INVALID_VALUE",
                "api_version must look like 2025-08-20.",
                field="subscription.api_version",
            )
        changes["api_version"] = data["api_version"]
    return changes


def subscription_view(sub: Subscription, *, with_key: bool) -> JSON:
    """The ``WebhookSubscription`` Square answers (the signature key only where ``with_key``)."""
    out: JSON = {
        "id": sub.id,
        "enabled": sub.enabled,
        "event_types": sorted(sub.event_types or ()),
        "notification_url": sub.url,
        "api_version": sub.api_version,
        "created_at": sub.created_at,
        "updated_at": sub.updated_at,
    }
    if sub.name is not None:
        out["name"] = sub.name
    if with_key:
        out["signature_key"] = sub.signature_key
    return out


class SquareWebhookSubscriptions(SquareWebhooks):
    """The ``/v2/webhooks`` endpoints over the same subscriptions :meth:`subscribe` adds to."""

    def _api_subscription(self, sub_id: str) -> Subscription:
        for sub in self.subscriptions:
            if sub.id == sub_id and sub.event_types is not None:
                return sub
        raise SquareError(404, "NOT_FOUND", f"Subscription {sub_id} not found.")

    def _replace_subscription(self, new: Subscription) -> None:
        self.subscriptions = [new if sub.id == new.id else sub for sub in self.subscriptions]

    def _create_webhook_subscription(self, request: Request) -> JSON:
        body: JSON = request.json()
        key = body.get("idempotency_key")
        if key is not None and (not isinstance(key, str) or len(key) > 45):
            raise SquareError(
                400, "VALUE_TOO_LONG", "idempotency_key is at most 45 characters.", field="idempotency_key"
            )
        data = body.get("subscription")
        if not isinstance(data, dict):
            raise SquareError(
                400, "MISSING_REQUIRED_PARAMETER", "subscription is required.", field="subscription"
            )
        for name in ("notification_url", "event_types"):
            if data.get(name) is None:
                raise SquareError(
                    400, "MISSING_REQUIRED_PARAMETER", f"{name} is required.", field=f"subscription.{name}"
                )
        stamp = fmt_ms(self._tick())
        changes = subscription_changes(data)
        sub = Subscription(
            id="wbhk_" + uuid.uuid4().hex,
            signature_key=secrets.token_urlsafe(16),
            created_at=stamp,
            updated_at=stamp,
            **changes,
        )
        self.subscriptions.append(sub)
        return {"subscription": subscription_view(sub, with_key=True)}

    def _list_webhook_subscriptions(self, request: Request) -> JSON:
        limit = page_limit(int(request.arg("limit") or 100), 100, 100)
        offset = page_offset(request.arg("cursor"))
        include_disabled = (request.arg("include_disabled") or "false").lower() == "true"
        rows = [
            sub
            for sub in sorted(self.subscriptions, key=lambda s: (s.created_at, s.id))
            if sub.event_types is not None and (sub.enabled or include_disabled)
        ]
        if request.arg("sort_order", "ASC") == "DESC":
            rows.reverse()
        out: JSON = {}
        page = rows[offset : offset + limit]
        if page:
            out["subscriptions"] = [subscription_view(sub, with_key=False) for sub in page]
        cursor = next_cursor(offset, limit, len(rows))
        if cursor:
            out["cursor"] = cursor
        return out

    def _retrieve_webhook_subscription(self, request: Request) -> JSON:
        return {
            "subscription": subscription_view(self._api_subscription(request.params["id"]), with_key=True)
        }

    def _update_webhook_subscription(self, request: Request) -> JSON:
        sub = self._api_subscription(request.params["id"])
        data = (request.json() or {}).get("subscription") or {}
        if not isinstance(data, dict):
            raise SquareError(400, "INVALID_VALUE", "subscription must be an object.", field="subscription")
        new = dataclasses.replace(sub, **subscription_changes(data), updated_at=fmt_ms(self._tick()))
        self._replace_subscription(new)
        return {"subscription": subscription_view(new, with_key=False)}

    def _rotate_signature_key(self, request: Request) -> JSON:
        sub = self._api_subscription(request.params["id"])
        key = (request.json() or {}).get("idempotency_key")
        if key is not None and (not isinstance(key, str) or len(key) > 45):
            raise SquareError(
                400, "VALUE_TOO_LONG", "idempotency_key is at most 45 characters.", field="idempotency_key"
            )
        new = dataclasses.replace(
            sub, signature_key=secrets.token_urlsafe(16), updated_at=fmt_ms(self._tick())
        )
        self._replace_subscription(new)
        return {"signature_key": new.signature_key}

    def _delete_webhook_subscription(self, request: Request) -> JSON:
        sub = self._api_subscription(request.params["id"])
        self.subscriptions = [other for other in self.subscriptions if other.id != sub.id]
        self._tick()
        return {}

    def _test_webhook_subscription(self, request: Request) -> JSON:
        """Post one signed sample event to the subscription now; answer what the URL said."""
        sub = self._api_subscription(request.params["id"])
        event_type = (request.json() or {}).get("event_type") or min(sub.event_types or ())
        if event_type not in (sub.event_types or ()):
            raise SquareError(
                400, "INVALID_VALUE", "event_type must be one of the subscription's.", field="event_type"
            )
        resource = event_type.split(".", 1)[0]
        envelope = self._envelope_of(event_type, {"type": resource, "id": "test-" + uuid.uuid4().hex}, None)
        raw, headers = self._signed(sub, envelope)
        stamp = fmt_ms(self._tick())
        result: JSON = {
            "id": envelope["event_id"],
            "payload": raw.decode(),
            "created_at": stamp,
            "updated_at": stamp,
        }
        try:
            result["status_code"] = requests.post(
                sub.url, data=raw, headers=headers, timeout=TEST_TIMEOUT
            ).status_code
        except requests.RequestException:
            pass  # no answer: Square leaves status_code out
        return {"subscription_test_result": result}

    def _list_webhook_event_types(self, request: Request) -> JSON:
        version = request.arg("api_version")
        if version is not None and not _VERSION_RE.match(version):
            raise SquareError(
                400, "INVALID_VALUE", "api_version must look like 2025-08-20.", field="api_version"
            )
        names = sorted(EVENT_TYPES)
        return {
            "event_types": names,
            "metadata": [{"event_type": name, "release_status": EVENT_TYPES[name]} for name in names],
        }
