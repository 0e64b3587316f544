"""Outgoing webhooks: every subscription gets each event it asked for, signed as ``auth``
says (``x-square-hmacsha256-signature``), and retried on the dispatcher's schedule.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from sandbox.square.auth import webhook_signature
from sandbox.square.state import SquareState, Subscription
from sandbox.square.wire import JSON


class SquareWebhooks(SquareState):
    """Subscriptions and the signed deliveries every change queues."""

    def subscribe(
        self, url: str, *, signature_key: str | None = None, event_types: Iterable[str] | None = None
    ) -> Subscription:
        """Deliver events to ``url`` signed with ``signature_key`` (default: the emulator's key)."""
        sub = Subscription(
            id="wbhk_" + uuid.uuid4().hex,
            url=url,
            signature_key=signature_key or self.signature_key,
            event_types=frozenset(event_types) if event_types is not None else None,
        )
        with self.lock:
            self.subscriptions.append(sub)
        return sub

    def _emit(self, event_type: str, data: JSON, *, location_id: str | None = None) -> None:
        """Queue ``event_type`` to every enabled subscription that asked for it."""
        for sub in self.subscriptions:
            if not sub.enabled or (sub.event_types is not None and event_type not in sub.event_types):
                continue
            raw, headers = self._signed(sub, self._envelope_of(event_type, data, location_id))
            self.webhooks.send(sub.url, raw, headers)

    def _envelope_of(self, event_type: str, data: JSON, location_id: str | None) -> JSON:
        """The event notification body Square posts (a fresh ``event_id`` for each one)."""
        envelope: JSON = {
            "merchant_id": self.merchant_id,
            "type": event_type,
            "event_id": str(uuid.uuid4()),
            "created_at": datetime.now(tz=UTC).isoformat().replace("+00:00", "Z"),
            "data": data,
        }
        if location_id:
            envelope["location_id"] = location_id
        return envelope

    def _signed(self, sub: Subscription, envelope: JSON) -> tuple[bytes, dict[str, str]]:
        """The raw body and headers of a delivery to ``sub``, signed over its URL + the raw body."""
        raw = json.dumps(envelope).encode()
        headers = {
            "Content-Type": "application/json",
            "x-square-hmacsha256-signature": webhook_signature(sub.signature_key, sub.url, raw),
            "square-environment": "Sandbox",
            "square-initial-delivery-timestamp": envelope["created_at"],
            "square-subscription-id": sub.id,
            "square-version": sub.api_version,
            "User-Agent": "Square Connect v2",
        }
        return raw, headers
