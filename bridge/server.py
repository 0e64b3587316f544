"""The webhook receiver: verify, write to the durable inbox, commit, and only then acknowledge.

Webhooks are hints. WooCommerce never retries a failed delivery and Square retries for a while, so
what matters is that an acknowledged delivery is never lost (it is committed in the inbox before the
2xx goes out) and that a repeated one does nothing (the inbox is keyed by the channel's event id).
Processing is asynchronous: the receiver only wakes the daemon, whose event path
(:mod:`bridge.events`) re-reads the named resources from the channel at once (the payload itself
is never trusted as state).

Answers:

* 200 ``{"received": true, "duplicate": false}`` once the event is committed (also for duplicates);
* 401 when the signature is missing or wrong (nothing stored); 404 for an unknown channel;
* 413 for a body over ``max_body_bytes``; 503 when the inbox cannot be written (the channel retries).

``GET /webhooks/<channel>?...`` is a channel checking the endpoint before it delivers (eBay's
``challenge_code``): its adapter answers it (:meth:`ChannelAdapter.answer_challenge`), else 404.

``GET /healthz`` answers 200 while the process serves; ``GET /readyz`` reports queue depths;
``GET /metrics`` is the Prometheus text format (bridge/metrics.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from adapters.base import ChannelAdapter, WebhookRejected
from bridge.httpd import ServerThread
from bridge.metrics import CONTENT_TYPE_LATEST, Metrics
from bridge.store import Store

__all__ = ["WebhookServer"]

log = logging.getLogger(__name__)


class WebhookServer:
    """Serves ``POST /webhooks/<channel>`` for the given adapters on ``host:port`` in a thread.

    ``public_url`` is the externally visible base URL (Square signs the full notification URL, so
    the URL we verify against must be the one registered with Square, not our bind address).
    ``on_event`` is called after each newly committed event (the daemon wakes its event path).
    """

    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, ChannelAdapter],
        *,
        host: str = "127.0.0.1",
        port: int = 8787,
        public_url: str | None = None,
        notification_urls: Mapping[str, str] | None = None,
        max_body_bytes: int = 1_048_576,
        on_event: Callable[[str], None] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        # A connection of its own: the daemon's sync loop holds its store's connection for its
        # statements and transactions, and a delivery committed on that same connection in
        # between broke them (``no such savepoint``, answered 503). SQLite in WAL mode lets both
        # connections work at once; a write waits at most the busy timeout for the other's.
        self.store = Store(store.path)
        self.metrics = metrics or Metrics(adapters)
        self.metrics.read_store(self.store.flow_figures, self.store.figures)
        self.adapters = dict(adapters)
        self.max_body_bytes = max_body_bytes
        self.on_event = on_event
        self._server = ServerThread(self._handler_class(), host=host, port=port, name="webhooks")
        self.public_url = (public_url or self.url).rstrip("/")
        self.notification_urls = dict(notification_urls or {})

    @property
    def url(self) -> str:
        return self._server.url

    def notification_url(self, channel: str) -> str:
        """The URL the channel was told to deliver to, which is what it signs."""
        return self.notification_urls.get(channel) or f"{self.public_url}/webhooks/{channel}"

    def start(self) -> WebhookServer:
        self._server.start()
        return self

    def serving(self) -> bool:
        return self._server.serving()

    def stop(self) -> None:
        self._server.stop()
        self.store.close()

    def receive(self, channel: str, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """Handle one delivery; returns the status and JSON body to answer with."""
        adapter = self.adapters.get(channel)
        if adapter is None:
            self._rejected(channel, "unknown_channel")
            return 404, {"error": f"unknown channel {channel!r}"}
        try:
            event = adapter.verify_webhook(headers, body, self.notification_url(channel))
        except WebhookRejected as exc:
            log.warning("webhook rejected", extra={"channel": channel, "reason": str(exc)})
            self._rejected(channel, "signature")
            return 401, {"error": "signature verification failed"}
        if event.resource == "ping":
            log.info("webhook ping", extra={"channel": channel})
            return 200, {"received": True, "ping": True}
        try:
            new = self.store.inbox_put(
                channel,
                event.event_id,
                topic=event.topic,
                resource=event.resource,
                resource_id=event.resource_id,
                body=body,
            )
        except Exception:
            log.exception("inbox write failed", extra={"channel": channel})
            self._rejected(channel, "inbox")
            return 503, {"error": "could not store the event; try again"}
        log.info(
            "webhook received",
            extra={
                "channel": channel,
                "topic": event.topic,
                "event_id": event.event_id,
                "duplicate": not new,
            },
        )
        self.metrics.webhooks_received.labels(channel).inc()
        if new and self.on_event is not None:
            self.on_event(channel)
        return 200, {"received": True, "duplicate": not new}

    def challenge(self, path: str) -> tuple[int, dict[str, Any]]:
        """``GET /webhooks/<channel>?...``: the channel checking our endpoint before it delivers
        (eBay's ``challenge_code``), answered by its adapter; anything else is 404."""
        route, _, query = path.partition("?")
        parts = route.strip("/").split("/")
        adapter = self.adapters.get(parts[1]) if len(parts) == 2 and parts[0] == "webhooks" else None
        if adapter is None:
            return 404, {"error": "not found"}
        answer = adapter.answer_challenge(
            {k: v[0] for k, v in parse_qs(query).items()}, self.notification_url(parts[1])
        )
        if answer is None:
            return 404, {"error": "not found"}
        log.info("webhook endpoint challenge answered", extra={"channel": parts[1]})
        return 200, answer

    def _rejected(self, channel: str, reason: str) -> None:
        self.metrics.webhooks_rejected.labels(self.metrics.channel_label(channel), reason).inc()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("http: " + format, *args)

            def _answer(self, status: int, data: dict[str, Any]) -> None:
                self._send(status, "application/json", json.dumps(data).encode())

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/healthz":
                    self._answer(200, {"ok": True})
                elif self.path == "/readyz":
                    self._answer(200, dict(server.store.queue_depths()))
                elif self.path == "/metrics":
                    self._send(200, CONTENT_TYPE_LATEST, server.metrics.exposition())
                else:
                    status, data = server.challenge(self.path)
                    self._answer(status, data)

            def do_POST(self) -> None:
                parts = self.path.split("?", 1)[0].strip("/").split("/")
                if len(parts) != 2 or parts[0] != "webhooks":
                    self._answer(404, {"error": "not found"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if length > server.max_body_bytes:
                    server._rejected(parts[1], "too_large")
                    self.close_connection = True
                    self._answer(413, {"error": "body too large"})
                    return
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, data = server.receive(parts[1], headers, body)
                self._answer(status, data)

        return _Handler
