"""A loopback webhook endpoint for tests: records every delivery (headers lower-cased, raw body)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest

from bridge.httpd import ServerThread

__all__ = ["Receiver", "running", "running_receiver", "webhook_receiver"]


@dataclass
class Receiver:
    """Records deliveries to ``url``; ``fail_first`` answers 500 that many times first."""

    path: str = "/hooks"
    fail_first: int = 0
    answer_get: Callable[[str], bytes] | None = None
    """What a GET (the query string given) is answered with, as JSON; None: GETs are not served."""
    deliveries: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ServerThread | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url + self.path

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                answer = receiver.answer_get(urlsplit(self.path).query) if receiver.answer_get else None
                self.send_response(200 if answer is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer or b"")))
                self.end_headers()
                self.wfile.write(answer or b"")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    status = 500 if receiver.fail_first > 0 else 200
                    receiver.fail_first -= 1
                    receiver.statuses.append(status)
                    if status == 200:
                        receiver.deliveries.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ServerThread(Handler, host="127.0.0.1", port=0, name="test-receiver")
        self.server.start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.stop()

    def wait(self, count: int, timeout: float = 5.0) -> None:
        """Until ``count`` deliveries arrived (or ``timeout``: the test's assertions then fail)."""
        deadline = time.monotonic() + timeout
        while len(self.deliveries) < count and time.monotonic() < deadline:
            time.sleep(0.01)

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for _, body in self.deliveries]


R = TypeVar("R", bound=Receiver)


def running(receiver: R) -> Iterator[R]:
    """(Fixture body) ``receiver`` started, then stopped."""
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


def running_receiver() -> Iterator[Receiver]:
    """(Fixture body) A started :class:`Receiver`."""
    yield from running(Receiver())


@pytest.fixture(name="receiver")
def webhook_receiver() -> Iterator[Receiver]:
    """The ``receiver`` fixture of the emulator tests: one definition, imported by each test module
    that uses it (``from webhook_receiver import webhook_receiver``)."""
    yield from running_receiver()
