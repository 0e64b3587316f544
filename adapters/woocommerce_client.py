"""The WooCommerce transport: wc/v3 calls with retries and error mapping, and the listings built on them.

The ``woocommerce`` client is used for transport because it signs OAuth 1.0a correctly on http://
URLs and uses Basic auth on https://, exactly as WooCommerce expects. It has no retries and no
error mapping, so both are added here (tenacity, honouring ``Retry-After``). Every answer's ``Date``
header is kept: the shop's clock says which changes a read has seen (the cursor catches up to the
start of a read) and when a count was served (``ChannelVariant.counted_at``).

:class:`WooCommerceClient` holds the adapter's settings and state; the catalogue, order and write
parts of :class:`adapters.woocommerce.WooCommerceAdapter` are built on it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import requests
import woocommerce.api as woocommerce_api
from requests.adapters import HTTPAdapter
from woocommerce import API

from adapters.base import (
    AuthError,
    Capabilities,
    ChannelGate,
    PermanentError,
    TransientError,
    hold_for,
    parse_retry_after,
    retrying,
)
from adapters.slots import Slots
from adapters.woocommerce_cursor import SERVED
from adapters.woocommerce_since import PER_PAGE, Listed, modified_since
from adapters.woocommerce_wire import listing, server_time
from bridge.side_by_side import interleaved

__all__ = ["BY_ID", "CONNECT_TIMEOUT", "PER_PAGE", "TRASH", "WooCommerceClient"]

CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a TCP connection: an unreachable shop is reported in seconds, not minutes."""
BY_ID: dict[str, str] = {"orderby": "id", "order": "asc"}
"""Listing order for reads that page through a whole collection (stable while it is read)."""
TRASH: dict[str, str] = {"status": "trash"}
"""Listing parameter for the trash, which the default ``status=any`` leaves out."""


def _request(
    method: str, url: str, *, session: requests.Session | None = None, **kwargs: Any
) -> requests.Response:
    """``requests.request``, through ``session`` when the caller passes one.

    The ``woocommerce`` library sends every call with the module-level ``requests.request``, which
    opens a connection and closes it after the answer: a TCP and TLS handshake before each of a
    sync's thousands of calls to a real shop. It has no session setting, but it passes its keyword
    arguments through to that function; this one, put in its place, takes the client's keep-alive
    session from them (and behaves as before for a caller that passes none)."""
    if session is None:
        return requests.request(method, url, **kwargs)  # noqa: S113 (the library passes its timeout)
    return session.request(method, url, **kwargs)


woocommerce_api.request = _request  # the library's only way out to the network


def _keep_alive_session(concurrency: int) -> requests.Session:
    """A session whose pool holds a connection for each call the client sends at once."""
    session = requests.Session()
    pool = HTTPAdapter(pool_connections=1, pool_maxsize=max(10, 2 * concurrency))
    session.mount("https://", pool)
    session.mount("http://", pool)
    return session


class WooCommerceClient:
    """A WooCommerce store through wc/v3. Stateless between calls apart from the call counter, the
    shop's clock and the creates in doubt (``_uncertain``); safe to call from several threads (the
    relay's workers), which share one :class:`ChannelGate`."""

    name: str
    capabilities: Capabilities
    concurrency: int

    def __init__(
        self,
        url: str,
        consumer_key: str,
        consumer_secret: str,
        webhook_secret: str,
        *,
        timeout: float = 30.0,
        max_attempts: int = 5,
        default_location: str = "default",
        currency: str = "USD",
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        overlap_seconds: int = 2,
        verify_tls: bool = True,
        concurrency: int = 1,
    ) -> None:
        self.url = url.rstrip("/")
        self.concurrency = concurrency
        self.gate = ChannelGate()
        """Closed for the whole shop while it has told one request to wait (429/503)."""
        self._lock = threading.Lock()
        self.webhook_secret = webhook_secret
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.default_location = default_location
        self.currency = currency
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.overlap = timedelta(seconds=overlap_seconds)
        self.calls = 0
        """HTTP requests made so far (every attempt counts)."""
        self._clock = threading.local()
        """The shop's clock as this thread's answers told it (``_read_started``, ``_last_served``):
        the daemon's poll and event path read the same adapter at once, each its own read."""
        self._uncertain: set[str] = set()
        """Keys of creates that may have reached the shop without our hearing (looked up first)."""
        self._slots = Slots(lambda: self.concurrency)
        """The listings' calls in flight (see :meth:`_since` and :meth:`_each_listed`)."""
        self._in_flight = Slots(lambda: self.concurrency)
        """Every call in flight, whoever sends it (the relay's workers and a read at once)."""
        self._session = _keep_alive_session(concurrency)
        self._api = API(
            url=self.url,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            wp_api=True,
            version="wc/v3",
            timeout=(min(CONNECT_TIMEOUT, timeout), timeout),  # a dead host fails fast; a slow shop may read
            verify_ssl=verify_tls,
        )

    @property
    def _read_started(self) -> datetime | None:
        """The shop's clock at the first answer of this thread's current read (the cursor
        catches up to it)."""
        return getattr(self._clock, "read_started", None)

    @_read_started.setter
    def _read_started(self, value: datetime | None) -> None:
        self._clock.read_started = value

    @property
    def _last_served(self) -> datetime | None:
        """The shop's clock (``Date``) in the newest answer this thread received: a moment known
        to be past before its next request is sent, and the moment of what that answer carried."""
        return getattr(self._clock, "last_served", None)

    @_last_served.setter
    def _last_served(self, value: datetime | None) -> None:
        self._clock.last_served = value

    # -- transport -------------------------------------------------------------------------------

    def _request(
        self, method: str, endpoint: str, *, params: Mapping[str, Any] | None = None, data: Any = None
    ) -> requests.Response:
        """One API call with bounded, jittered retries on network errors, 429 and 5xx."""
        return retrying(self.max_attempts, self.backoff_base, self.backoff_max)(
            self._once, method, endpoint, dict(params or {}), data
        )

    def _once(self, method: str, endpoint: str, params: dict[str, Any], data: Any) -> requests.Response:
        self.gate.wait()
        with self._lock:
            self.calls += 1
        try:
            kept = self._session  # see _request
            with self._in_flight.taken():
                if method == "GET":
                    response = self._api.get(endpoint, params=params, session=kept)
                elif method == "POST":
                    response = self._api.post(endpoint, data, params=params, session=kept)
                elif method == "PUT":
                    response = self._api.put(endpoint, data, params=params, session=kept)
                else:
                    response = self._api.delete(endpoint, params=params, session=kept)
        except requests.RequestException as exc:
            raise TransientError(f"WooCommerce unreachable: {exc.__class__.__name__}") from exc
        if not isinstance(response, requests.Response):  # the client is untyped
            raise TransientError("unexpected answer from the WooCommerce client")
        status = response.status_code
        if status < 400:
            self._served_at(server_time(response))
            return response
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        message = str(body.get("message") or response.reason or f"HTTP {status}")
        code = body.get("code")
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            refused = TransientError(message, code=code, status=status, retry_after=retry_after)
            held = hold_for(refused, self.backoff_base, self.backoff_max)
            if held is not None:
                self.gate.hold(held)
            raise refused
        if status in (401, 403):
            raise AuthError(message, code=code, status=status)
        raise PermanentError(message, code=code, status=status)

    def _served_at(self, served: datetime | None) -> None:
        """Keep the shop's clock from an answer (under the lock: the relay's workers answer too)."""
        with self._lock:
            if self._read_started is None:
                self._read_started = served
            self._last_served = served or self._last_served

    def _get_all(self, endpoint: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every item of a collection (see :meth:`_pages`)."""
        return [item for items in self._pages(endpoint, params) for item in items]

    def _pages(self, endpoint: str, params: Mapping[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """A collection a page (one call) at a time, stopping at ``X-WP-TotalPages`` (no wasted
        empty call). The first page says how many there are; the next ones are fetched up to
        ``concurrency`` at once (``page=N`` allows it), in waves, and passed on in page order."""
        query = {**params, "per_page": PER_PAGE}
        first = self._request("GET", endpoint, params={**query, "page": 1})
        items = listing(first, endpoint)
        yield items
        page, total = 1, _total_pages(first)
        while page < total and len(items) >= PER_PAGE:
            wave = range(page + 1, min(total, page + max(1, self.concurrency)) + 1)
            for response in self._fetch_pages(endpoint, query, wave):
                page, total, items = page + 1, _total_pages(response), listing(response, endpoint)
                # Each page's items are stamped with the clock of the answer that carried them
                # (see _stamped): no request is in flight while a wave is passed on.
                with self._lock:
                    self._last_served = server_time(response) or self._last_served
                yield items
                if page >= total or len(items) < PER_PAGE:
                    return

    def _fetch_pages(self, endpoint: str, query: Mapping[str, Any], pages: range) -> list[requests.Response]:
        """These pages' answers, in page order, asked for at the same time (one thread per page)."""
        if len(pages) <= 1:
            return [self._request("GET", endpoint, params={**query, "page": n}) for n in pages]
        with ThreadPoolExecutor(max_workers=len(pages), thread_name_prefix=f"{endpoint}-pages") as pool:
            return list(
                pool.map(lambda n: self._request("GET", endpoint, params={**query, "page": n}), pages)
            )

    def _get_since(self, endpoint: str, params: Mapping[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """Everything modified after ``params["modified_after"]`` (see :meth:`_since`)."""
        return (page.items for page in self._since(endpoint, params))

    def _since(self, endpoint: str, params: Mapping[str, Any]) -> Iterator[Listed]:
        """Everything modified after ``params["modified_after"]`` (see :func:`modified_since`), up
        to ``concurrency - 1`` pages asked for ahead, and no more calls in flight than
        ``concurrency`` with the other listings read meanwhile (``_slots``). Pages asked for ahead
        are answered on other threads: each page comes with its answer's clock, which is added to
        this thread's (:meth:`_heard`)."""

        def fetch(query: dict[str, Any]) -> requests.Response:
            with self._slots.taken():
                return self._request("GET", endpoint, params=query)

        pages = modified_since(fetch, endpoint, params, self._last_served, ahead=max(1, self.concurrency - 1))
        for page in pages:
            self._heard(page.served)
            yield page

    def _side_by_side(
        self, listings: Mapping[str, Callable[[], Iterator[Listed | None]]]
    ) -> Iterator[tuple[str, Listed | None]]:
        """``(name, page)`` for the pages of independent listings, read each on a thread of its own
        when ``concurrency`` allows more than one call at once (else one after the other, here).

        A listing's thread starts from this thread's clock (``_last_served`` judges its first page)
        and ends with two empty pages carrying the clock its answers told it (the first answer,
        the newest), which :meth:`_heard` adds here: this thread's read started no later than any
        listing's, and its newest answer is the newest of all."""
        if self.concurrency <= 1:
            for name, listing_pages in listings.items():
                for page in listing_pages():
                    yield name, page
            return
        seed = self._last_served

        def on_thread(listing_pages: Callable[[], Iterator[Listed | None]]) -> Iterator[Listed | None]:
            self._read_started, self._last_served = None, seed
            yield from listing_pages()
            yield Listed([], self._read_started)
            yield Listed([], self._last_served)

        threaded = {name: (lambda pages=pages: on_thread(pages)) for name, pages in listings.items()}
        for name, page in interleaved(threaded):
            if page is not None:
                self._heard(page.served)
            yield name, page

    def _each_listed(self, endpoint: str, queries: Iterable[Mapping[str, Any]]) -> Iterator[Listed]:
        """One page of ``endpoint`` for each query (``include=`` reads: each fits a page), in their
        order, up to ``concurrency`` calls in flight. ``queries`` is drawn here, between pages, so
        it may depend on what the caller did with the pages before."""
        if self.concurrency <= 1:
            for query in queries:
                yield self._listed(endpoint, query)
            return
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix=f"{endpoint}-each") as pool:
            sent: deque[Future[Listed]] = deque()
            for query in queries:
                sent.append(pool.submit(self._listed, endpoint, query))
                if len(sent) >= self.concurrency:
                    yield self._heard_listed(sent.popleft().result())
            while sent:
                yield self._heard_listed(sent.popleft().result())

    def _listed(self, endpoint: str, query: Mapping[str, Any]) -> Listed:
        with self._slots.taken():
            response = self._request("GET", endpoint, params={**query, "per_page": PER_PAGE})
        return Listed(listing(response, endpoint), server_time(response))

    def _heard_listed(self, page: Listed) -> Listed:
        self._heard(page.served)
        return page

    def _heard(self, served: datetime | None) -> None:
        """An answer received on another thread for this thread's read: its clock is known now (the
        newest answer so far stays ``_last_served``), and the read started no later than it. Both
        are this thread's own (``_clock`` is thread-local): no lock."""
        if served is None:
            return
        started, last = self._read_started, self._last_served
        self._read_started = served if started is None else min(started, served)
        self._last_served = served if last is None else max(last, served)

    def _stamped(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """``item`` with the time its answer was served: called as the answer is read, before the
        next request (the newest answer is the one that carried it)."""
        return {**item, SERVED: self._served()}

    def _served(self, served: datetime | None = None) -> str | None:
        """The stamp of an item served at ``served`` (by default this thread's newest answer, which
        is the one that carried it only when no request was in flight meanwhile)."""
        at = served or self._last_served
        return at.isoformat() if at else None


def _total_pages(response: requests.Response) -> int:
    return int(response.headers.get("X-WP-TotalPages") or 0)
