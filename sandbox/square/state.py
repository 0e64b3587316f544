"""The emulator's in-memory state behind its one lock, and the clock every change ticks.

Locations, catalogue objects and their children, the inventory change log and the counts
derived from it, customers, orders, stored idempotent answers, webhook subscriptions and the
recorded exchanges. The other modules are mixins that read and change this state.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sandbox.http import EmulatorServer, RecordedExchange, Response, WebhookDispatcher
from sandbox.square.wire import JSON


@dataclass(frozen=True)
class Subscription:
    """A webhook subscription: where to POST, the key to sign with, and which event types (None: all,
    only for in-process test subscriptions); the rest is what the Webhook Subscriptions API shows."""

    id: str
    url: str
    signature_key: str
    event_types: frozenset[str] | None = None
    name: str | None = None
    enabled: bool = True
    api_version: str = "2025-08-20"
    created_at: str = ""
    updated_at: str = ""


class SquareState:
    """The state, the strictly increasing clock and the per-state-change query cache."""

    server: EmulatorServer
    """The loopback HTTP server (built by the emulator once its routes exist)."""

    def __init__(
        self,
        *,
        access_token: str | None = None,
        signature_key: str | None = None,
        merchant_id: str = "ML4JYBS1S3B5X",
        retry_schedule: Iterable[float] = (0.2, 0.5, 1.0),
        max_inventory_changes: int = 100,
    ) -> None:
        self.access_token = access_token or "EAAA" + secrets.token_hex(16)
        self.signature_key = signature_key or secrets.token_urlsafe(16)
        self.merchant_id = merchant_id
        self.max_inventory_changes = max_inventory_changes
        self.application_id = "sq0idp-shopbridge-emulator"
        self.lock = threading.RLock()
        self.recorded: list[RecordedExchange] | None = None
        self.after_request: Callable[[str], None] | None = None
        """Called with the operation id after each API request is handled (outside the store lock),
        before its response is sent: tests use it to land a sale between two reads of a sync."""
        self.webhooks = WebhookDispatcher(retry_schedule=retry_schedule)
        self.subscriptions: list[Subscription] = []
        self._last_ms = 0
        self._cache: dict[tuple[Any, ...], list[Any]] = {}
        self._locations: list[JSON] = []
        self._objects: dict[str, JSON] = {}
        self._children: dict[str, list[str]] = {}
        self._changes: list[JSON] = []
        self._changes_by_key: dict[tuple[str, str], list[JSON]] = {}
        self._counts: dict[tuple[str, str], tuple[Decimal, int]] = {}
        self._customers: dict[str, JSON] = {}
        self._merged_into: dict[str, str] = {}
        """Customer ids a merge retired -> the profile it created."""
        self._orders: dict[str, JSON] = {}
        self._idempotency: dict[tuple[str, str], tuple[str, Response]] = {}

    @property
    def base_url(self) -> str:
        return self.server.url

    def _tick(self) -> int:
        """A strictly increasing ms clock: catalogue versions and ``updated_at`` come from it."""
        now = int(time.time() * 1000)
        self._last_ms = max(now, self._last_ms + 1)
        self._cache.clear()  # every state change takes a tick: cached query results are stale now
        return self._last_ms

    def _cached(self, key: tuple[Any, ...], build: Callable[[], list[Any]]) -> list[Any]:
        """A query's full sorted result, reused while paging through it (until the next state change)."""
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]
