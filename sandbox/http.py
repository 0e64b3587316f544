"""The plumbing every channel emulator shares: a threaded loopback HTTP server, routing, run-time
fault injection, call counting and outgoing webhook delivery.

Emulators are real HTTP servers (not mocks) so that adapters are exercised through the same
client libraries, headers, auth and error handling they use against the real providers. Each
emulator supplies a :class:`Router`; this module knows nothing of any provider's API.

Run-time control, for tests, benchmarks and the demo, is both a Python API
(``server.faults.add(...)``, ``server.stats``) and HTTP under ``/__sandbox/`` on the same port:

* ``POST /__sandbox/faults`` with a :class:`FaultRule` body adds a rule; ``DELETE`` clears them.
* ``GET /__sandbox/stats`` returns call counts per ``METHOD route``; ``DELETE`` resets them.
* ``GET /__sandbox/in-flight`` returns the requests being handled now and the most handled at
  once since the stats were reset (``server.in_flight``, ``server.peak_in_flight``): what a
  client's bounded concurrency is checked against. ``server.round_trips`` is the longest chain of
  requests each sent after the one before it was answered (since the stats were reset): what a
  client pays in latency, however many calls it sends at once (also in ``/__sandbox/in-flight``).
"""

from __future__ import annotations

import json
import logging
import queue
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import requests

from bridge.httpd import ServerThread

__all__ = [
    "EmulatorServer",
    "FaultInjector",
    "FaultRule",
    "RecordedExchange",
    "Request",
    "Response",
    "Router",
    "WebhookDispatcher",
    "json_response",
]

log = logging.getLogger(__name__)


@dataclass
class Request:
    """An incoming request, decoded just enough for a handler."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    """Named groups captured from the route pattern."""

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name`` (PHP-style ``name[]`` accepted too)."""
        values = self.query.get(name) or self.query.get(f"{name}[]")
        return values[0] if values else default

    def json(self) -> Any:
        """The body parsed as JSON; raises ``ValueError`` for an invalid body."""
        if not self.body:
            return None
        return json.loads(self.body)


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    served_at: float | None = None
    """The provider's clock when it produced this answer (its ``Date`` header); ``None``: when it
    is sent. An emulator whose clock other requests move sets it while it holds its state."""


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response with ``Content-Type: application/json; charset=UTF-8``."""
    out = {"Content-Type": "application/json; charset=UTF-8"}
    out.update(headers or {})
    return Response(status=status, body=json.dumps(data).encode(), headers=out)


@dataclass(frozen=True)
class RecordedExchange:
    """One answered request, kept when an emulator's recording is on (its answers are checked
    against the provider's own contract by the conformance tests)."""

    operation_id: str
    method: str
    path: str
    status: int
    body: Any

    @staticmethod
    def of(operation_id: str, request: Request, response: Response) -> RecordedExchange:
        """The exchange, its body parsed as JSON (as text when it is not)."""
        try:
            body = json.loads(response.body) if response.body else None
        except ValueError:
            body = response.body.decode(errors="replace")
        return RecordedExchange(operation_id, request.method, request.path, response.status, body)


Handler = Callable[[Request], Response]


class Router:
    """Maps ``(method, path pattern)`` to handlers. Patterns are regexes with named groups,
    matched against the whole path, e.g. ``r"/wp-json/wc/v3/products/(?P<id>\\d+)"``."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler, name: str | None = None) -> None:
        self._routes.append((method.upper(), re.compile(pattern + r"/?"), name or pattern, handler))

    def route(self, method: str, pattern: str, name: str | None = None) -> Callable[[Handler], Handler]:
        def deco(handler: Handler) -> Handler:
            self.add(method, pattern, handler, name)
            return handler

        return deco

    def match(self, method: str, path: str) -> tuple[str, Handler, dict[str, str]] | None:
        """The route name, handler and captured parameters; ``None`` when nothing matches."""
        for m, pattern, name, handler in self._routes:
            if m != method.upper():
                continue
            found = pattern.fullmatch(path)
            if found:
                return name, handler, found.groupdict()
        return None

    def names(self) -> list[str]:
        """Every route's name, in registration order (the Square emulator names routes by operationId)."""
        return [name for _, _, name, _ in self._routes]

    def allowed_methods(self, path: str) -> set[str]:
        return {m for m, pattern, _, _ in self._routes if pattern.fullmatch(path)}


FaultKind = Literal["latency", "status", "reset", "apply_then_fail", "apply_then_reset", "rewrite"]


@dataclass
class FaultRule:
    """One injected fault.

    * ``latency``: sleep ``seconds`` before handling.
    * ``status``: answer ``status`` (with ``body`` or the emulator's own error body) without handling.
    * ``reset``: close the connection with a TCP RST before answering, without handling.
    * ``apply_then_fail``: handle the request (its effects happen), then answer ``status`` instead
      of the real response: the client cannot know the write happened.
    * ``apply_then_reset``: handle the request, then close the connection with a TCP RST instead of
      answering (a timeout or a dropped connection after the provider saved the write).
    * ``rewrite``: handle the request, then serve ``rewrite(its JSON body)`` instead (status and
      headers kept): one corrupted item among good ones, as a broken extension or a hand-edited
      database row makes a real shop serve it (``stock_quantity: "abc"``, an item without ``id``).

    With ``content_type``, a ``status`` fault serves ``body`` (a string) as it is, with that content
    type: a web page where JSON was expected, as a misconfigured site answers.

    ``method``/``path`` (a regex searched in the path) select requests; ``times`` bounds how many
    requests the rule hits (``None``: until cleared); ``retry_after`` adds a ``Retry-After`` header.
    """

    kind: FaultKind
    method: str | None = None
    path: str | None = None
    status: int = 503
    seconds: float = 0.0
    times: int | None = 1
    retry_after: float | None = None
    body: Any = None
    content_type: str | None = None
    rewrite: Callable[[Any], Any] | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return not (self.path and not re.search(self.path, path))


class FaultInjector:
    """Thread-safe list of :class:`FaultRule`; each request consumes at most one rule of each kind."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, rule: FaultRule | None = None, **kwargs: Any) -> FaultRule:
        rule = rule or FaultRule(**kwargs)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def take(self, method: str, path: str) -> list[FaultRule]:
        """The rules that apply to this request (consuming one use of each)."""
        hit: list[FaultRule] = []
        seen: set[str] = set()
        with self._lock:
            for rule in list(self._rules):
                if rule.kind in seen or not rule.matches(method, path):
                    continue
                seen.add(rule.kind)
                hit.append(rule)
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
        return hit


ErrorBody = Callable[[int, str], Response]
"""Builds the emulator's own error response for a status and message (provider-specific body)."""


class EmulatorServer:
    """A :class:`Router` served over HTTP on loopback in a background thread.

    ``error_body`` builds provider-shaped error responses for 404/405/injected faults.
    ``before`` runs before routing (authentication); it returns a response to short-circuit.
    """

    def __init__(
        self,
        router: Router,
        *,
        error_body: ErrorBody,
        before: Callable[[Request, str], Response | None] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.router = router
        self.clock = clock or time.time
        """The provider's clock (epoch seconds): what its ``Date`` header says."""
        self.error_body = error_body
        self.before = before
        self.faults = FaultInjector()
        self.stats: Counter[str] = Counter()
        self.in_flight = 0
        """Requests being handled right now (injected latency included; control routes not)."""
        self.peak_in_flight = 0
        """The most requests handled at the same time since the stats were last reset."""
        self.round_trips = 0
        """The longest chain of requests since the stats were last reset, each arriving after the
        one before it was answered: a request's depth is one more than the deepest answered before
        it arrived (requests sent together, before any of them is answered, share a depth)."""
        self._answered_depth = 0
        self.connections = 0
        """TCP connections accepted since the stats were last reset (a client that keeps its
        connections alive opens a few; one that opens one per call, as many as its calls)."""
        self._stats_lock = threading.Lock()
        self._server = ServerThread(self._handler_class(), host=host, port=port, name="emulator")

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> EmulatorServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def calls(self, prefix: str = "") -> int:
        """Total calls counted on routes whose name starts with ``prefix`` (``"GET "`` for reads)."""
        with self._stats_lock:
            return sum(n for k, n in self.stats.items() if k.startswith(prefix))

    def reset_stats(self) -> None:
        with self._stats_lock:
            self.stats.clear()
            self.peak_in_flight = self.in_flight
            self.connections = 0
            self.round_trips = self._answered_depth = 0

    # -- request handling --------------------------------------------------------------------

    def dispatch(self, request: Request) -> tuple[Response | None, bool]:
        """Handle one request; returns the response (``None`` means reset the connection)."""
        if request.path.startswith("/__sandbox/"):
            return self._control(request), False
        with self._stats_lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            depth = self._answered_depth + 1
            self.round_trips = max(self.round_trips, depth)
        try:
            return self._dispatch(request)
        finally:
            with self._stats_lock:
                self.in_flight -= 1
                self._answered_depth = max(self._answered_depth, depth)

    def _dispatch(self, request: Request) -> tuple[Response | None, bool]:
        faults = self.faults.take(request.method, request.path)
        for rule in faults:
            if rule.kind == "latency":
                time.sleep(rule.seconds)
        for rule in faults:
            if rule.kind == "reset":
                return None, True
            if rule.kind == "status":
                return self._fault_response(rule), False
        if self.before:
            early = self.before(request, request.path)
            if early is not None:
                return early, False
        found = self.router.match(request.method, request.path)
        if found is None:
            if self.router.allowed_methods(request.path):
                return self.error_body(405, "Method not allowed"), False
            return self.error_body(404, "No route was found matching the URL and request method."), False
        name, handler, params = found
        with self._stats_lock:
            self.stats[f"{request.method} {name}"] += 1
        request.params = params
        try:
            response = handler(request)
        except Exception:  # an emulator bug must not kill the server thread
            log.exception("emulator handler failed")
            response = self.error_body(500, "Internal emulator error")
        for rule in faults:
            if rule.kind == "apply_then_fail":
                return self._fault_response(rule), False
            if rule.kind == "rewrite" and rule.rewrite is not None:
                response.body = json.dumps(rule.rewrite(json.loads(response.body))).encode()
            if rule.kind == "apply_then_reset":
                return None, True
        return response, False

    def _fault_response(self, rule: FaultRule) -> Response:
        if rule.content_type is not None:
            response = Response(
                rule.status, str(rule.body or "").encode(), {"Content-Type": rule.content_type}
            )
        elif rule.body is not None:
            response = json_response(rule.body, rule.status)
        else:
            response = self.error_body(rule.status, "Injected fault")
        if rule.retry_after is not None:
            response.headers["Retry-After"] = f"{rule.retry_after:g}"
        return response

    def _control(self, request: Request) -> Response:
        if request.path == "/__sandbox/faults":
            if request.method == "POST":
                rule = self.faults.add(FaultRule(**(request.json() or {})))
                return json_response({"added": rule.__dict__})
            if request.method == "DELETE":
                self.faults.clear()
                return json_response({"cleared": True})
        if request.path == "/__sandbox/stats":
            if request.method == "DELETE":
                self.reset_stats()
            with self._stats_lock:
                return json_response(dict(self.stats))
        if request.path == "/__sandbox/in-flight":
            with self._stats_lock:
                counts = {"in_flight": self.in_flight, "peak": self.peak_in_flight}
                return json_response({**counts, "round_trips": self.round_trips})
        return json_response({"error": "unknown control route"}, 404)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two sends; with Nagle's algorithm the body would wait for
            # the client's delayed ACK (~40 ms a call on loopback), far slower than a real server.
            disable_nagle_algorithm = True

            def setup(self) -> None:
                super().setup()
                with server._stats_lock:
                    server.connections += 1

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("emulator: " + format, *args)

            served_at: float | None = None

            def date_time_string(self, timestamp: float | None = None) -> str:
                if timestamp is None:
                    timestamp = server.clock() if self.served_at is None else self.served_at
                return formatdate(timestamp, usegmt=True)

            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(
                    method=self.command,
                    path=split.path,
                    query=parse_qs(split.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                response, reset = server.dispatch(request)
                if reset or response is None:
                    # SO_LINGER 0 makes close() send RST: the client sees "connection reset by peer".
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                self.served_at = response.served_at
                self.send_response(response.status)
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        return _Handler


@dataclass
class Delivery:
    url: str
    body: bytes
    headers: dict[str, str]
    attempt: int = 0


class WebhookDispatcher:
    """Delivers outgoing webhooks from a background thread, in order, with an optional retry schedule.

    ``retry_schedule`` lists the delays (seconds) before each retry after a failed delivery (a non-2xx
    answer or a connection error); WooCommerce never retries (empty schedule), Square retries.
    ``duplicate`` delivers every event twice; ``shuffle`` lets later events overtake earlier ones,
    both to exercise the receiver's idempotency.
    """

    def __init__(self, *, retry_schedule: Iterable[float] = (), timeout: float = 5.0) -> None:
        self.retry_schedule = list(retry_schedule)
        self.timeout = timeout
        self.duplicate = False
        self.hold_back = False
        self.delivered: list[tuple[str, int]] = []
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._held: list[Delivery] = []
        self._session = requests.Session()
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._thread.start()

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        delivery = Delivery(url=url, body=body, headers=headers)
        if self.hold_back:
            # Out-of-order delivery: hold this one until the next event has been sent.
            self._held.append(delivery)
            return
        self._queue.put(delivery)
        if self.duplicate:
            self._queue.put(Delivery(url=url, body=body, headers=dict(headers)))
        while self._held:
            self._queue.put(self._held.pop())

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every queued delivery has been attempted and answered (retries still pending
        excepted). An empty queue is not enough: the delivery the thread has just taken is still in
        flight, and under load its receiver takes longer than any fixed grace period."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        while True:
            delivery = self._queue.get()
            if delivery is None:
                return
            try:
                self._attempt(delivery)
            finally:
                self._queue.task_done()

    def _attempt(self, delivery: Delivery) -> None:
        ok = False
        status = 0
        try:
            answer = self._session.post(
                delivery.url, data=delivery.body, headers=delivery.headers, timeout=self.timeout
            )
            status = answer.status_code
            ok = 200 <= status < 300
        except requests.RequestException:
            status = 0
        self.delivered.append((delivery.url, status))
        if not ok and delivery.attempt < len(self.retry_schedule):
            delay = self.retry_schedule[delivery.attempt]
            delivery.attempt += 1
            timer = threading.Timer(delay, self._queue.put, args=(delivery,))
            timer.daemon = True
            timer.start()
