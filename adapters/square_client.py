"""The Square transport: ``/v2`` calls through the SDK's HTTP client, our retries, Square's errors mapped.

The official ``squareup`` SDK supplies the HTTP client, auth and ``Square-Version`` headers, the base
URL handling and the webhook signature helper. Its typed response models are *not* used on the hot
paths: Fern's model construction costs about 20-40 ms per catalogue object (measured: 22 s to parse
one 1,000-item search page), so requests go through the SDK's own ``HttpClient`` and the JSON is
read as Square documents it. SDK retries are switched off (``max_retries: 0``) so that only our
bounded, jittered, ``Retry-After``-honouring tenacity retries run; a retry always resends the same
body and idempotency key.

:class:`SquareClient` holds the adapter's settings and state; the catalogue, stock and write parts
of :class:`adapters.square.SquareAdapter` are built on it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
from square import Square
from square.core.http_client import HttpClient

from adapters.base import (
    AuthError,
    Capabilities,
    ChannelGate,
    PermanentError,
    TransientError,
    answer_body,
    hold_for,
    json_object,
    parse_retry_after,
    retrying,
)
from adapters.slots import Slots
from adapters.square_values import JSON
from bridge.models import Money

__all__ = ["SQUARE_VERSION", "SquareClient", "SquareRequestError", "error_info", "map_status_error"]

SQUARE_VERSION = "2025-08-20"
_NO_SDK_RETRIES: Any = {"max_retries": 0}

_Part = TypeVar("_Part")
_Done = TypeVar("_Done")


def error_info(body: Any) -> tuple[str | None, str, str | None]:
    """(code, message, field) of the first error in Square's ``{"errors": [...]}`` body."""
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        first = body["errors"][0]
        if isinstance(first, dict):
            code = first.get("code")
            detail = first.get("detail") or code or "Square error"
            return (str(code) if code else None), str(detail), first.get("field")
    return None, str(body)[:300] if body else "Square error", None


class SquareRequestError(PermanentError):
    """A 4xx refusal; ``field`` is the request field Square blamed (``changes[3].adjustment...``)."""

    def __init__(self, message: str, *, code: str | None, status: int, field: str | None) -> None:
        super().__init__(message, code=code, status=status)
        self.field = field


def map_status_error(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Exception:
    """Square error response -> adapter error: 401/403 auth, 408/429/5xx transient, other 4xx permanent."""
    code, message, field = error_info(body)
    if status in (401, 403):
        return AuthError(message, code=code, status=status)
    if status in (408, 429) or status >= 500:
        raw = (headers or {}).get("retry-after") or (headers or {}).get("Retry-After")
        return TransientError(message, code=code, status=status, retry_after=parse_retry_after(raw))
    return SquareRequestError(message, code=code, status=status, field=field)


class SquareClient:
    """Square POS through ``/v2``: settings, the call counter and what writes keep between calls.
    Safe to call from several threads (the relay's workers), which share one :class:`ChannelGate`."""

    name: str
    capabilities: Capabilities
    concurrency: int

    def __init__(
        self,
        access_token: str,
        *,
        base_url: str,
        signature_key: str | None = None,
        notification_url: str | None = None,
        location_ids: Sequence[str] | None = None,
        timeout: float = 30.0,
        max_attempts: int = 5,
        backoff: float = 0.5,
        backoff_cap: float = 30.0,
        concurrency: int = 1,
    ) -> None:
        self.sdk = Square(
            token=access_token, base_url=base_url.rstrip("/"), timeout=timeout, version=SQUARE_VERSION
        )
        self._http: HttpClient = self.sdk._client_wrapper.httpx_client
        self._base_url = base_url.rstrip("/")
        self.signature_key = signature_key
        self.notification_url = notification_url
        self.location_ids = list(location_ids) if location_ids else None
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self.concurrency = concurrency
        self._in_flight = Slots(lambda: self.concurrency)
        """Every call in flight, whoever sends it (the relay's workers and a read at once)."""
        self.gate = ChannelGate()
        """Closed for the whole account while Square has told one request to wait (429/503)."""
        self._lock = threading.Lock()
        self.calls = 0
        """HTTP requests sent (retries included), counted by ``_once``; each read reports in
        ``Page.calls`` how far this moved during it, so a refused and retried attempt is counted."""
        self.location_prices: dict[str, dict[str, Money]] = {}
        """Variation id -> location id -> price, from ``location_overrides`` seen by the last reads."""
        self._stock_bodies: dict[str, JSON] = {}
        self._uncertain: set[str] = set()
        self.served_at: str | None = None
        """The ``Date`` header of the last answer: Square's clock, for reads that need it."""

    # -- transport -------------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: JSON | None = None, params: JSON | None = None) -> JSON:
        """One Square call with bounded retries on transient failures; the same body on every attempt."""
        result: JSON = retrying(self.max_attempts, self.backoff, self.backoff_cap)(
            self._once, method, path, body, params
        )
        return result

    def _once(
        self, method: str, path: str, body: JSON | None, params: JSON | None, *, timeout: float | None = None
    ) -> JSON:
        """One request, no SDK retries; ``timeout`` overrides the client's for this request only."""
        self.gate.wait()
        with self._lock:
            self.calls += 1
        options: Any = dict(_NO_SDK_RETRIES)
        if timeout is not None:
            options["timeout_in_seconds"] = timeout
        try:
            with self._in_flight.taken():
                response = self._http.request(
                    path.lstrip("/"),
                    method=method,
                    content=_json_bytes(body),
                    headers=_JSON_HEADERS if body is not None else None,
                    params=params,
                    request_options=options,
                )
        except httpx.TimeoutException as exc:
            raise TransientError(f"Square timed out: {exc}") from exc
        except httpx.TransportError as exc:
            raise TransientError(f"Square unreachable: {exc}") from exc
        data = answer_body(response)
        self.served_at = response.headers.get("date") or self.served_at
        if response.status_code >= 400:
            refused = map_status_error(response.status_code, data, dict(response.headers))
            held = (
                hold_for(refused, self.backoff, self.backoff_cap)
                if isinstance(refused, TransientError)
                else None
            )
            if held is not None:
                self.gate.hold(held)
            raise refused
        return json_object(data, "Square", response.status_code)

    def _paged(self, path: str, body: JSON) -> Iterator[JSON]:
        """Each answer of a cursor-paged ``POST`` (one call each), asked for as it is consumed:
        the body again with the last answer's ``cursor``, until an answer has none."""
        cursor: str | None = None
        while True:
            data = self._request("POST", path, dict(body, cursor=cursor) if cursor else body)
            yield data
            cursor = data.get("cursor")
            if not cursor:
                return

    def _each_at_once(
        self, work: Callable[[_Part], _Done], parts: Sequence[_Part], name: str
    ) -> Iterator[_Done]:
        """``work(part)`` for each of ``parts``, in their order, up to ``concurrency`` in flight: a
        read of many chunks costs the round trips of its longest chain of calls, not of all of them
        (the gate and retries of ``_request`` still apply to each call). Concurrency 1 is the plain
        loop, on this thread."""
        if self.concurrency <= 1 or len(parts) <= 1:
            for part in parts:
                yield work(part)
            return
        workers = min(self.concurrency, len(parts))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"square-{name}") as pool:
            sent: deque[Future[_Done]] = deque()
            for part in parts:
                sent.append(pool.submit(work, part))
                if len(sent) >= workers:
                    yield sent.popleft().result()
            while sent:
                yield sent.popleft().result()

    def _changes(self, body: JSON) -> tuple[list[JSON], int]:
        """Every inventory change ``body`` asks for, and the calls it took."""
        start = self.calls
        changes = [
            c
            for data in self._paged("v2/inventory/changes/batch-retrieve", body)
            for c in data.get("changes") or []
        ]
        return changes, self.calls - start

    @staticmethod
    def idempotency_key(keys: Iterable[str], salt: str = "") -> str:
        """Deterministic key for a batch: the same operations always send the same key."""
        digest = hashlib.sha256(("\n".join(sorted(keys)) + salt).encode()).hexdigest()
        return "sb-" + digest[:60]


_JSON_HEADERS = {"Content-Type": "application/json"}


def _json_bytes(body: JSON | None) -> bytes | None:
    """A request body as httpx encodes ``json=`` (compact UTF-8, no NaN), encoded here: given the
    body as ``json=``, the SDK first walks every value through its ``jsonable_encoder`` (for
    models and dates a plain JSON body never holds), which was 1.5 s of the interpreter's time
    while a 10,000-price sync sent its batches (py-spy, holding the GIL)."""
    if body is None:
        return None
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
