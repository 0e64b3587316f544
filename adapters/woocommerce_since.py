"""WooCommerce's "modified after" listings read while they move, a trusted page at a time.

The list moves while it is read: an item modified meanwhile leaves its place for the end,
so plain pages skip what moves up across a page boundary. Restarting every page at the last
date read minus a second (``modified_after`` is strict, to the second) cannot skip, but
every page then re-reads the items of its last second: after a mass write (50-90 items a
second) up to most of a page. So pages are asked for by ``offset``, each overlapping the
previous one by ``_OVERLAP`` items, and a page is trusted only if it picks up where the last
one stopped (``_continues``): it opens with at least ``_MATCH`` of those items, unchanged and
in order, and nothing else comes before them. An item that moved away from before the page
(or out of the overlap) only shifts the page; up to ``_OVERLAP - _MATCH`` of them are absorbed.

An item changed after a page was read sorts after every item of that page, except when it
is changed within the page's last second: ties are ordered by id, so it may land before the
next offset, unseen. So a page is followed by an offset page only if its last second was
over before the page was asked for, judged by a ``Date`` header received before the request
(``last_served`` seeds it, the newest answer of any earlier call of this adapter: a
first call of the process has none and pays one restart).

Otherwise, or when a page does not continue the last one, the read restarts at the start of
the newest second read (``_Window.restart``), which cannot skip anything: everything older has been
read, anything changed meanwhile sorts after it. When that second is the one the window
starts with, the same window is read again without the ids already read (``exclude``),
from offset 0, which needs no tie order at all; the window is left at the end of that second
(an excluded item changed meanwhile has a later date, so it is read again).

Assumptions: dates come from a clock that does not go backwards. Variations and orders
order ``modified`` ties by id (the CRUD controller appends ``ID``). The V3 products controller
lower-cases that to ``"modified id"`` through ``WC_Query::get_catalog_ordering_args`` and
WP_Query drops a lower-case ``id`` (read from source, not seen on a live store), so tied
products may come back in a different order on every request. A reorder fails
``_continues`` and restarts unless it happens to leave ``_MATCH`` overlap items in place and
in order; only then could it skip a product (simulated with random tie orders: about 2e-5
per page boundary inside a second of 20 tied products, under 1e-6 for 60). An item may come
more than once (a restart reads part of the window again): callers keep its latest copy.

Offset pages ahead: while the window advances by full pages, the next offset pages are asked for
before they are needed (up to ``ahead`` at once, :class:`_Ahead`), at the offsets the reading
would ask for if each page before them comes back full and trusted. They are consumed strictly in
order and judged exactly as above, each by the clock known *when it was sent* (older than the one
a page asked for in turn would have: conservative). A page asked for ahead is only a guess of the
next query: when the read restarts, reaches a short page or asks anything else, the pages in
flight are dropped unread. Their answers may have been served in any order; that is safe because
a page is trusted only if it opens with the previous one's tail, unchanged: an item not changed
during the read keeps its place in the ``(date, id)`` order, so it cannot fall between two pages
of which the later opens with items of the earlier, whichever was served first.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from adapters.base import PermanentError
from adapters.woocommerce_wire import DATE_FMT, listing, server_time

__all__ = ["Listed", "modified_since"]

PER_PAGE = 100
_OVERLAP = 5
"""Items of the previous page that each offset page asks for again (see ``modified_since``)."""
_MATCH = 4
"""How many of them an offset page must open with (so one may have moved away)."""


@dataclass(frozen=True)
class Listed:
    """A trusted page of a listing, and the shop's clock in the answer that carried it (what its
    items' counts are dated by: pages asked for ahead are served on other threads, in any order)."""

    items: list[dict[str, Any]]
    served: datetime | None


def modified_since(
    fetch: Callable[[dict[str, Any]], requests.Response],
    endpoint: str,
    params: Mapping[str, Any],
    last_served: datetime | None,
    *,
    ahead: int = 1,
) -> Iterator[Listed]:
    """Everything modified after ``params["modified_after"]``, in ``orderby=modified`` order, a
    page (the part of a call's items that can be trusted) at a time, so nothing is held; up to
    ``ahead`` offset pages in flight at once (``fetch`` is then called from other threads too).

    How a page is trusted, and when the read restarts, is in the module docstring.
    """
    window = _Window(after=str(params["modified_after"]))
    # Any answer so far came before this listing's first request.
    clock = last_served.strftime(DATE_FMT) if last_served else None
    with _Ahead(fetch, ahead) as sent:
        while True:
            response, known = sent.answer(window.query(params), clock)
            items = listing(response, endpoint)
            served = server_time(response)
            if window.tail and not _continues(items, window.tail):
                window.restart(window.tail[-1][1])  # the list moved under us
            else:
                if items:
                    yield Listed(items, served)
                if window.skip:
                    window.read_excluded(items, endpoint)
                elif len(items) < PER_PAGE:
                    return
                else:
                    window.advance(items)
                last = window.tail[-1][1] if window.tail else None
                if window.tail and (known is None or last is None or last >= known):
                    # The last second may still be changing: offsets could miss what lands in it.
                    window.restart(last)
            if served is not None:
                clock = max(clock or "", served.strftime(DATE_FMT))
            if window.tail and not window.skip:  # reading on by offsets: ask for the next ones now
                sent.keep(window.ahead(params, ahead, _total(response)), clock)


class _Ahead:
    """The offset pages of a :func:`modified_since` read asked for before they are needed, in
    the order they will be needed, each with the clock known when it was sent."""

    def __init__(self, fetch: Callable[[dict[str, Any]], requests.Response], ahead: int) -> None:
        self.fetch = fetch
        self.ahead = ahead
        self.sent: deque[tuple[dict[str, Any], Future[requests.Response], str | None]] = deque()
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> _Ahead:
        return self

    def __exit__(self, *exc: object) -> None:
        """Drop what is still in flight, and wait for it (every call has ended when the read has)."""
        self.drop()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def answer(self, query: dict[str, Any], clock: str | None) -> tuple[requests.Response, str | None]:
        """The answer to ``query`` and the clock known when it was sent: the first page in flight
        when it is that query, else (the others are dropped) asked for now."""
        if self.sent and self.sent[0][0] == query:
            _, future, known = self.sent.popleft()
            return future.result(), known
        self.drop()
        return self.fetch(query), clock

    def keep(self, queries: Sequence[dict[str, Any]], clock: str | None) -> None:
        """Have ``queries`` (the next pages, in order) in flight: those already sent are kept if
        they are the first of them, the rest sent now (with ``clock``)."""
        if self.ahead <= 1:
            return
        if any(sent[0] != query for sent, query in zip(self.sent, queries, strict=False)):
            self.drop()
        if self._pool is None and len(queries) > len(self.sent):
            self._pool = ThreadPoolExecutor(max_workers=self.ahead, thread_name_prefix="since-ahead")
        for query in queries[len(self.sent) :]:
            assert self._pool is not None
            self.sent.append((query, self._pool.submit(self.fetch, query), clock))

    def drop(self) -> None:
        """Forget the pages in flight (their answers, or errors, are never looked at)."""
        for _, future, _ in self.sent:
            future.cancel()
        self.sent.clear()


def _total(response: requests.Response) -> int | None:
    """``X-WP-Total``: how many items the window held when ``response`` was served (``None`` when
    the shop does not say)."""
    total = response.headers.get("X-WP-Total")
    return int(total) if total and total.isdigit() and int(total) > 0 else None


@dataclass
class _Window:
    """Where a :func:`modified_since` read stands: the window ``modified_after`` opens, what was
    read of it, and the overlap the next offset page must open with."""

    after: str
    skip: set[Any] = field(default_factory=set)
    """Ids left out of the window: all were read at second ``after`` + 1 s."""
    read: list[Any] = field(default_factory=list)
    """Ids read in this window."""
    tail: list[tuple[Any, Any]] = field(default_factory=list)
    """``(id, date)`` of the last items read, for the overlap."""
    pos: int = 0
    """Offset of the first unread item of the window."""

    @property
    def start(self) -> int:
        """The offset the next page is asked for at: the overlap before ``pos``."""
        return self.pos - len(self.tail)

    def query(self, params: Mapping[str, Any]) -> dict[str, Any]:
        query = {**params, "modified_after": self.after, "per_page": PER_PAGE, "offset": self.start}
        if self.skip:
            query["exclude"] = ",".join(str(i) for i in sorted(i for i in self.skip if i is not None))
        return query

    def ahead(self, params: Mapping[str, Any], pages: int, total: int | None) -> list[dict[str, Any]]:
        """The next ``pages`` queries, if every page before each comes back full and trusted (the
        window moves on by ``PER_PAGE - _OVERLAP``), short of the window's end when ``total`` says
        where it is (a page there would be empty)."""
        query = self.query(params)
        offsets = (self.start + n * (PER_PAGE - _OVERLAP) for n in range(pages))
        return [{**query, "offset": o} for o in offsets if total is None or o < total]

    def advance(self, items: Sequence[Mapping[str, Any]]) -> None:
        """A full page was trusted: the next one overlaps its last items."""
        self.read.extend(i.get("id") for i in items)
        self.pos, self.tail = self.start + len(items), _tail(items)

    def read_excluded(self, items: Sequence[Mapping[str, Any]], endpoint: str) -> None:
        """A page of the window's first second read without what was read of it, from offset 0."""
        second = _shifted(self.after, 1)
        beyond = [i for i in items if (i.get("date_modified_gmt") or "") > second]
        if beyond or len(items) < PER_PAGE:  # that second is done: go on just after it
            self.after, self.skip = second, set()
            self.read = [i.get("id") for i in beyond]
            self.pos, self.tail = len(beyond), _tail(beyond)
        elif self.skip.issuperset(i.get("id") for i in items):  # would loop for ever
            raise PermanentError(f"WooCommerce ignored exclude= on {endpoint}")
        else:
            self.skip.update(i.get("id") for i in items)

    def restart(self, last: str | None) -> None:
        """Read on from where nothing can be skipped (see :func:`_restart`)."""
        self.after, self.skip = _restart(self.after, self.read, last)
        self.pos, self.read, self.tail = 0, [], []


def _tail(items: Sequence[Mapping[str, Any]]) -> list[tuple[Any, Any]]:
    return [(i.get("id"), i.get("date_modified_gmt")) for i in items[-_OVERLAP:]]


def _continues(items: Sequence[Mapping[str, Any]], tail: Sequence[tuple[Any, Any]]) -> bool:
    """Whether a page asked for so as to overlap ``tail`` (the last items read, as ``(id, date)``)
    carries on from it: it opens with at least ``_MATCH`` of them (all, for a shorter tail),
    unchanged and in their order, and none of them shows up later in the page."""
    index = {key: n for n, key in enumerate(tail)}
    keys = [(i.get("id"), i.get("date_modified_gmt")) for i in items]
    run, last = 0, -1
    for key in keys:
        n = index.get(key, -1)
        if n <= last:
            break
        run, last = run + 1, n
    return run >= min(_MATCH, len(tail)) and not any(key in index for key in keys[run:])


def _restart(after: str, read: Sequence[Any], last: str | None) -> tuple[str, set[Any]]:
    """The window to read on from when offsets cannot be trusted: items modified after the second
    before ``last`` (the newest date read); or, when that is where the window already starts
    (everything read so far is in its first second), the same window without the ids read."""
    if last:
        restart = _shifted(last, -1)
        if restart > after:
            return restart, set()
    return after, set(read)


def _shifted(date: str, seconds: int) -> str:
    """``date`` (``DATE_FMT``, GMT) moved by ``seconds``."""
    return (datetime.strptime(date, DATE_FMT).replace(tzinfo=UTC) + timedelta(seconds=seconds)).strftime(
        DATE_FMT
    )
