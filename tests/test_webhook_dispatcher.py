"""The emulators' webhook dispatcher, which tests use to say "every delivery has now arrived"."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sandbox.http import WebhookDispatcher


class _SlowReceiver(BaseHTTPRequestHandler):
    """Answers 200 a while after reading the body, as a receiver committing to a busy store does."""

    delay = 0.3
    received: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(self.delay)
        self.received.append(body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads what arrived, not the access log."""


@pytest.fixture
def slow_receiver() -> Iterator[str]:
    _SlowReceiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_flush_returns_only_after_the_delivery_in_flight_has_been_answered(slow_receiver: str) -> None:
    """A test that flushes and then reads the inbox must find the delivery there: a delivery the
    dispatcher's thread has taken off the queue but not yet had answered is still pending (under
    load a receiver takes longer than any fixed grace period)."""
    dispatcher = WebhookDispatcher()
    try:
        dispatcher.send(slow_receiver, b'{"n": 1}', {"Content-Type": "application/json"})
        dispatcher.send(slow_receiver, b'{"n": 2}', {"Content-Type": "application/json"})
        dispatcher.flush()
        assert _SlowReceiver.received == [b'{"n": 1}', b'{"n": 2}']
        assert [status for _, status in dispatcher.delivered] == [200, 200]
    finally:
        dispatcher.close()
