"""The channel interface: what every adapter offers the sync, and the errors it raises.

An adapter translates between one channel's API and :mod:`bridge.models`. It paginates, batches
within the channel's limits, retries transient failures (bounded, jittered, honouring
``Retry-After``) and verifies webhook signatures. It knows nothing of the store, the engine or other
adapters: the daemon hands it cursors and write operations and records what comes back.

The write operations it accepts (:mod:`bridge.writes`) and the capabilities it declares
(:mod:`bridge.capabilities`) belong to the bridge, which plans them without importing adapters;
they are re-exported here for the adapters' convenience.
"""

from __future__ import annotations

import abc
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from adapters.issues import ReadIssue
from bridge.capabilities import Capabilities
from bridge.models import (
    ChannelCustomer,
    ChannelLocation,
    ChannelOrder,
    ChannelProduct,
    StockEvent,
    StockLevel,
    WebhookEvent,
)
from bridge.targets import TargetRef, Targets
from bridge.writes import (
    AdjustStock,
    ArchiveProduct,
    CreateCustomer,
    CreateProduct,
    EndedListings,
    SetStock,
    UpdateCustomer,
    UpdateProduct,
    UpdateVariant,
    WriteCounts,
    WriteOp,
    WriteResult,
)

__all__ = [
    "AdapterError",
    "AdjustStock",
    "ArchiveProduct",
    "AuthError",
    "Capabilities",
    "ChannelAdapter",
    "ChannelGate",
    "CreateCustomer",
    "CreateProduct",
    "EndedListings",
    "Page",
    "PermanentError",
    "ReadIssue",
    "SetStock",
    "TargetRef",
    "Targets",
    "TransientError",
    "UpdateCustomer",
    "UpdateProduct",
    "UpdateVariant",
    "WebhookRejected",
    "WriteCounts",
    "WriteOp",
    "WriteResult",
    "answer_body",
    "hold_for",
    "json_object",
    "parse_retry_after",
    "retrying",
]


# ---------------------------------------------------------------------------------------------
# Errors. The split that matters to the caller is whether trying again later can help.
#
#   AdapterError
#    ├── TransientError    network failure, 429, 5xx after our bounded retries: keep it queued
#    ├── PermanentError    4xx with the channel's message: record it, do not retry as is
#    │    └── AuthError    401/403: configuration is wrong, stop talking to this channel
#    └── WebhookRejected   bad signature or unparseable delivery: answer 401/400, store nothing
# ---------------------------------------------------------------------------------------------


class AdapterError(Exception):
    """Base of every error an adapter raises; ``code`` is the channel's error code when it gave one."""

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class TransientError(AdapterError):
    """Trying again later may succeed (network failure, rate limit, server error); ``retry_after``
    is the server's ``Retry-After`` in seconds, when it sent one."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, status=status)
        self.retry_after = retry_after


def parse_retry_after(raw: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (``None`` when absent or an HTTP date, which we ignore)."""
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


def retrying(max_attempts: int, base: float, cap: float) -> Retrying:
    """Both channels' retry policy for one call: transient errors only, at most ``max_attempts``
    tries, waits doubling from ``base`` up to ``cap`` with jitter (so many workers do not retry in
    step), never shorter than the server's ``Retry-After`` (itself capped at ``cap``)."""

    def wait(state: RetryCallState) -> float:
        ceiling = min(cap, base * 2 ** (state.attempt_number - 1))
        delay = random.uniform(ceiling / 2, ceiling)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, cap))
        return delay

    return Retrying(
        stop=stop_after_attempt(max(1, max_attempts)),
        wait=wait,
        retry=retry_if_exception_type(TransientError),
        reraise=True,
    )


class ChannelGate:
    """One per channel: every request passes it before it is sent, and a 429/503 closes it.

    When the channel tells one request to wait (``Retry-After``), it means the channel, not that
    request: the other workers' requests wait too instead of each collecting a 429 of its own.
    Requests already in flight cannot be called back; their own answers, if refused, hold the
    gate again. ``clock``/``sleep`` are injectable so a test can drive the gate without waiting."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._open_at = 0.0

    def hold(self, seconds: float) -> None:
        """Close the gate for ``seconds`` from now (never shortening a longer hold already set)."""
        with self._lock:
            self._open_at = max(self._open_at, self._clock() + max(0.0, seconds))

    def wait(self) -> float:
        """Block until the gate is open; returns how long it waited (0 when it was open)."""
        waited = 0.0
        while True:
            with self._lock:
                remaining = self._open_at - self._clock()
            if remaining <= 0:
                return waited
            self._sleep(remaining)
            waited += remaining


class HttpAnswer(Protocol):
    """What an HTTP answer offers whichever library fetched it (requests, or httpx under an SDK)."""

    @property
    def content(self) -> bytes: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


def answer_body(answer: HttpAnswer) -> Any:
    """An answer's body: its JSON, ``{}`` when it is empty, else its text (a proxy's error page, a
    maintenance page), kept so that the error made of it says what came back."""
    try:
        return answer.json() if answer.content else {}
    except ValueError:
        return answer.text


def json_object(body: Any, channel: str, status: int) -> dict[str, Any]:
    """``body`` of a successful answer, which these APIs always make a JSON object; anything else
    (a web page served with 200 by something in the way) is transient and names what came back."""
    if not isinstance(body, dict):
        raise TransientError(f"unexpected {channel} answer: {str(body)[:200]}", status=status)
    return body


def hold_for(exc: TransientError, default: float, cap: float) -> float | None:
    """How long a refusal closes the whole channel: ``Retry-After`` when the channel sent one,
    else ``default`` for a rate limit (429) or an unavailable server (503); ``None`` for other
    transient failures (a dropped connection or a 500 says nothing about the others' requests)."""
    if exc.retry_after is not None:
        return min(exc.retry_after, cap)
    if exc.status in (429, 503):
        return default
    return None


class PermanentError(AdapterError):
    """The channel refused the request; repeating it unchanged will fail the same way."""


class AuthError(PermanentError):
    """Credentials are missing, wrong or lack a permission."""


class WebhookRejected(AdapterError):
    """A webhook delivery failed verification or could not be parsed."""


# ---------------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------------


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """Items read since a cursor, and the cursor to store once they are safely recorded."""

    items: Sequence[T]
    cursor: str | None
    calls: int = 0
    """HTTP calls this read made (for benchmarks and the status report)."""
    issues: Sequence[ReadIssue] = ()
    """Items the channel served that could not be read: skipped, each reported (see ``ReadIssue``)."""
    read_until: datetime | None = None
    """For a stock-events read, in the channel's clock: every change the channel's counts held by
    then is in this read or an earlier one (None: the adapter cannot say)."""
    orders: Sequence[ChannelOrder] = ()
    """Orders a customers read came across, for the purchase history: a channel whose customers
    read pages its orders anyway (WooCommerce, for the guests known only from orders) hands them
    over here at no extra call, each naming its customer (see :meth:`ChannelAdapter.iter_purchases`)."""

    @staticmethod
    def concat(pages: Iterable[Page[T]]) -> Page[T]:
        """A read made page by page as one page: all the items, the last cursor, every call."""
        collected = list(pages)
        return Page(
            items=[item for page in collected for item in page.items],
            cursor=collected[-1].cursor,
            calls=sum(page.calls for page in collected),
            issues=[issue for page in collected for issue in page.issues],
            read_until=collected[-1].read_until,
            orders=[order for page in collected for order in page.orders],
        )


class ChannelAdapter(abc.ABC):
    """One channel. Every read that takes a ``cursor`` returns the next cursor in its :class:`Page`;
    ``None`` as input means "from the beginning" (a full read)."""

    name: str
    capabilities: Capabilities
    default_country: str = "US"
    """Region a phone number written without a country code is read in (a record's own country
    first): ``[customers] default_country``, set by :func:`bridge.channels.build_adapters`."""
    concurrency: int = 1
    """How many requests this channel may have in flight at once: its writes' batches (see
    :mod:`bridge.relay`) and, where its paging allows, its read pages. Set from the section's
    ``concurrency`` by :func:`bridge.channels.build_adapters`; safe to call from that many threads."""

    def writes_per_call(self, ops: Sequence[WriteOp]) -> int:
        """About how many of ``ops`` one call takes (its batch endpoint's size): the relay puts
        about that many writes in a lane, each lane one call where the channel allows it."""
        return max(1, self.capabilities.max_batch)

    @abc.abstractmethod
    def check(self) -> str:
        """Cheap authenticated call proving the credentials work; returns a one-line description."""

    @abc.abstractmethod
    def list_locations(self) -> list[ChannelLocation]:
        """The channel's stock locations (one synthetic ``default`` location for a channel without any)."""

    @abc.abstractmethod
    def read_catalog(self, cursor: str | None = None) -> Page[ChannelProduct]:
        """Products changed since ``cursor`` (all of them when ``None``), variants included."""

    def iter_catalog(self, cursor: str | None = None) -> Iterator[Page[ChannelProduct]]:
        """:meth:`read_catalog` a page at a time, so a full read need not be held in memory; the
        last page carries the read's cursor. By default, one page holding everything."""
        yield self.read_catalog(cursor)

    @abc.abstractmethod
    def read_stock_levels(self, variant_ids: Sequence[str] | None = None) -> list[StockLevel]:
        """Current counts (per location where the channel has locations); all tracked variants if ``None``."""

    def read_stock_counts(self, variant_ids: Sequence[str]) -> Page[StockLevel]:
        """:meth:`read_stock_levels` of ``variant_ids`` with the counts that could not be read as
        ``issues`` (skipped, each reported): a count read as 0 would pass for a shelf emptied by
        hand. By default every count is readable."""
        return Page(items=self.read_stock_levels(variant_ids), cursor=None)

    @abc.abstractmethod
    def read_stock_events(self, cursor: str | None = None) -> Page[StockEvent]:
        """Sales, returns, cancellations (and manual adjustments, where logged) since ``cursor``."""

    def events_cursor_at(self, when: datetime) -> str | None:
        """A :meth:`read_stock_events` cursor for "what happened from ``when`` on".

        A first sync seeds stock from counts taken at ``when``: every earlier sale is already in
        them, so reading the channel's whole order history (years, in a real shop) would cost
        calls and memory for nothing. ``None`` (the default) means from the beginning."""
        return None

    def read_stock_events_of(self, variant_ids: Sequence[str], cursor: str | None) -> Page[StockEvent]:
        """:meth:`read_stock_events` since ``cursor`` for just these variants (the event path's
        targeted read; the cursor is not moved). Its ``read_until`` holds for these variants.
        By default the whole read, filtered; a channel that can filter on its side overrides it."""
        page = self.read_stock_events(cursor)
        wanted = set(variant_ids)
        return Page(
            items=[ev for ev in page.items if ev.variant_id in wanted],
            cursor=page.cursor,
            calls=page.calls,
            issues=page.issues,
            read_until=page.read_until,
        )

    def read_targets(self, refs: Sequence[TargetRef]) -> Targets | None:
        """Re-read just these resources (a webhook's order, product or inventory count, or
        ``variant`` refs: the products holding those variants). ``None``: some cannot be read one
        by one (the daemon runs a poll cycle instead), the default. A resource the channel no
        longer has goes to ``Targets.missing``, never raises."""
        return None

    def claimed_counts(self, body: bytes) -> list[StockLevel] | None:
        """The counts a verified delivery's ``body`` says the channel now holds, to recognise our
        own writes coming back (:mod:`bridge.events`: a delivery claiming only what we already
        hold there needs no re-read). Never taken as state. ``None`` (the default): this
        channel's deliveries do not say, or this one names something else."""
        return None

    def delivery_targets(self, body: bytes) -> list[TargetRef] | None:
        """Every resource a verified delivery's ``body`` names, when it names more than the one
        its event was filed under (a Square count change lists every count it moved). ``None``
        (the default): the event's own ``resource`` and ``resource_id`` say it all."""
        return None

    def read_customers(self, cursor: str | None = None) -> Page[ChannelCustomer]:
        """Customers changed since ``cursor`` (all of them when ``None``), email and phone
        normalised; the next cursor in the page. Overlapping reads may repeat a customer (dedupe on
        ``channel_id`` + ``modified_at``); a malformed record is skipped and reported in ``issues``.
        A channel that never lists some identities (WooCommerce guests, known only from orders)
        includes them here as ``guest`` customers. By default :meth:`iter_customers`' pages as one
        (a channel overrides one of the two)."""
        return Page.concat(self.iter_customers(cursor))

    def iter_customers(self, cursor: str | None = None) -> Iterator[Page[ChannelCustomer]]:
        """:meth:`read_customers` a page at a time, so a full read need not be held in memory; the
        pages before the last carry ``cursor`` unchanged, the last the read's next cursor. By
        default one page holding :meth:`read_customers` when the channel overrides it, else none
        (a channel without customers: an empty page keeping ``cursor``)."""
        if type(self).read_customers is ChannelAdapter.read_customers:
            yield Page(items=[], cursor=cursor)
            return
        yield self.read_customers(cursor)

    def read_customers_by_id(self, customer_ids: Sequence[str]) -> Page[ChannelCustomer]:
        """These customers as the channel holds them now: what a customer webhook hints at.

        An id the channel no longer has comes back as a ``deleted`` tombstone with that id; an id a
        merge retired comes back as the surviving profile (its ``merged_from`` naming the old id).
        By default none (a channel without customer capability)."""
        return Page(items=[], cursor=None)

    def find_customers(self, email: str | None = None, phone: str | None = None) -> list[ChannelCustomer]:
        """Customers with exactly this normalised email, or this E.164 phone: the search made before
        creating one (duplicates come mostly from creating without searching). By default none."""
        return []

    def iter_purchases(self, cursor: str | None = None) -> Iterator[Page[ChannelOrder]]:
        """The purchase history: orders changed since ``cursor`` (all when ``None``) that name a
        customer (an anonymous sale belongs to nobody's history), a page at a time, the read's
        next cursor in the last page. One stream for every customer, so a first sync costs pages
        of orders, not a call per customer, and a regular's next sale is read though their
        profile did not change. An order read again (an overlap window, a refund) replaces itself
        in the store. By default none: a channel without customers, or one whose customers read
        already carries its orders (:attr:`Page.orders`)."""
        yield Page(items=[], cursor=cursor)

    def read_customer_orders(self, customer_id: str, email: str | None = None) -> Page[ChannelOrder]:
        """Every order of one customer (``customer_id`` as :meth:`read_customers` gave it; for a
        guest, or to include guest orders placed with the same address, ``email``), newest first,
        channel-neutral: for the purchase history. By default none."""
        return Page(items=[], cursor=None)

    @abc.abstractmethod
    def apply(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Perform write operations in as few calls as the channel's batch limits allow.

        Returns one result per operation, in order. Never raises for a per-item refusal; raises
        :class:`TransientError`/:class:`AuthError` only when nothing of the call can be known to
        have happened (the caller keeps every operation queued).
        """

    def mark_uncertain(self, keys: Iterable[str]) -> None:  # noqa: B027 - optional hook, no-op by default
        """These operations may already have reached the channel (an earlier attempt's outcome is
        unknown, perhaps in a process that died). A channel whose writes are not naturally idempotent
        checks before applying them again; absolute writes need nothing."""

    def count_writes_in(self, counts: WriteCounts) -> None:  # noqa: B027 - optional hook, no-op by default
        """The store's daily write counts of this channel, handed over before any write: a channel
        capping revisions a day budgets with them. By default unused."""

    def keep_ended_in(self, listings: EndedListings) -> None:  # noqa: B027 - optional hook, no-op by default
        """The store's record of the listings this channel's adapter ended at a sell-out, handed
        over before any read or write: a marketplace whose account refuses a quantity of 0 ends
        the listing instead and lists it again at the restock. By default unused."""

    def missing(self, product_ids: Sequence[str]) -> set[str]:
        """Which of these products the channel no longer has at all (deleted for good, leaving no
        tombstone or trash to read). By default none: deletions show up in the reads."""
        return set()

    def answer_challenge(self, query: Mapping[str, str], url: str) -> dict[str, str] | None:
        """The answer to a ``GET`` of our webhook URL with ``query``, by which a channel checks the
        endpoint before delivering to it (eBay's ``challenge_code``); ``url`` is the URL it was given.
        ``None`` (the default): not a challenge this channel sends (answered 404)."""
        return None

    @abc.abstractmethod
    def verify_webhook(self, headers: Mapping[str, str], body: bytes, url: str) -> WebhookEvent:
        """Check the signature over the raw ``body`` (constant-time) and parse the delivery.

        ``url`` is the public notification URL the channel signed (Square signs URL + body).
        Raises :class:`WebhookRejected` when the signature is missing or wrong.
        """
