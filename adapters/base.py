"""The channel interface: what every adapter offers the engine, and the write operations it accepts.

An adapter translates between one channel's API and :mod:`bridge.models`. It paginates, batches
within the channel's limits, retries transient failures (bounded, jittered, honouring
``Retry-After``) and verifies webhook signatures. It knows nothing of the store, the engine or other
adapters: the daemon hands it cursors and write operations and records what comes back.

Write operations carry an idempotency ``key`` derived from the outbox entry that produced them, so
a retried write is recognised (by the channel where it supports keys, e.g. Square; by our outbox
otherwise). Results come back per operation: one bad item never sinks a batch.
"""

from __future__ import annotations

import abc
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from adapters.issues import ReadIssue
from bridge.models import (
    ChannelCustomer,
    ChannelLocation,
    ChannelProduct,
    StockEvent,
    StockLevel,
    WebhookEvent,
)

__all__ = [
    "AdapterError",
    "AdjustStock",
    "ArchiveProduct",
    "AuthError",
    "Capabilities",
    "ChannelAdapter",
    "CreateProduct",
    "Page",
    "PermanentError",
    "ReadIssue",
    "SetStock",
    "TransientError",
    "UpdateProduct",
    "UpdateVariant",
    "WebhookRejected",
    "WriteOp",
    "WriteResult",
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


class PermanentError(AdapterError):
    """The channel refused the request; repeating it unchanged will fail the same way."""


class AuthError(PermanentError):
    """Credentials are missing, wrong or lack a permission."""


class WebhookRejected(AdapterError):
    """A webhook delivery failed verification or could not be parsed."""


# ---------------------------------------------------------------------------------------------
# Write operations
# ---------------------------------------------------------------------------------------------


class _Op(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    """Deterministic idempotency key (from the outbox entry): the same change always has the same key."""


class CreateProduct(_Op):
    """Create ``product`` (ids in it are ignored). The result maps each variant SKU to its new id."""

    op: Literal["create_product"] = "create_product"
    product: ChannelProduct


class UpdateProduct(_Op):
    """Sparse update of group-level fields (``name``, ``description``, ``status``)."""

    op: Literal["update_product"] = "update_product"
    product_id: str
    fields: dict[str, Any]
    version: str | None = None


class UpdateVariant(_Op):
    """Sparse update of variant fields (``sku``, ``gtin``, ``price`` as Money, ``name``, ``status``)."""

    op: Literal["update_variant"] = "update_variant"
    product_id: str
    variant_id: str
    fields: dict[str, Any]
    version: str | None = None


class ArchiveProduct(_Op):
    """Hide a product from sale without deleting it (WooCommerce: not published; Square: archived)."""

    op: Literal["archive_product"] = "archive_product"
    product_id: str


class SetStock(_Op):
    """Absolute on-hand write, for channels without relative adjustments (WooCommerce).

    ``product_id`` is the parent when the variant's stock is managed by its parent product.
    """

    op: Literal["set_stock"] = "set_stock"
    product_id: str
    variant_id: str
    quantity: int


class AdjustStock(_Op):
    """Relative change of on-hand at a location (Square ``ADJUSTMENT``); ``delta`` may be negative."""

    op: Literal["adjust_stock"] = "adjust_stock"
    variant_id: str
    location_id: str
    delta: int


WriteOp = Annotated[
    CreateProduct | UpdateProduct | UpdateVariant | ArchiveProduct | SetStock | AdjustStock,
    Field(discriminator="op"),
]


class WriteResult(BaseModel):
    """What became of one write operation.

    ``ok`` False with ``retryable`` True means "keep it queued"; False/False means the channel refused
    it (``error`` holds the channel's message, ``code`` its error code).  ``ids`` maps SKU to the
    channel id created for it (for :class:`CreateProduct`); ``version`` is the entity's new version.
    """

    model_config = ConfigDict(frozen=True)

    key: str
    ok: bool
    retryable: bool = False
    error: str | None = None
    code: str | None = None
    channel_id: str | None = None
    version: str | None = None
    ids: dict[str, str] = Field(default_factory=dict)
    written: dict[str, Any] = Field(default_factory=dict)
    """What the channel now holds for the fields we wrote, for the echo-suppression hash."""


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
        )


@dataclass(frozen=True)
class Capabilities:
    """What the engine must know about a channel to plan writes for it."""

    stock_mode: Literal["absolute", "relative"]
    has_locations: bool
    max_batch: int
    date_resolution: timedelta = timedelta(0)
    """How coarsely the channel dates its events against its counts: 0 when each event carries
    the exact time it reached the counts (Square's ``created_at`` against ``calculated_at``);
    WooCommerce dates orders and answers to the second."""
    write_version: Literal["counter", "modified_date"] = "counter"
    """What the ``version`` of a write's answer is: an object version that says nothing of time
    (Square's counter), or when the channel applied the write (WooCommerce's ``date_modified_gmt``)."""

    def written_at(self, version: str | None) -> str | None:
        """When the channel applied a write, as our ISO UTC text, if its answer's ``version`` says
        (only a ``modified_date`` version does; a counter is never read as a date)."""
        if self.write_version != "modified_date" or not version:
            return None
        try:
            value = datetime.fromisoformat(version.replace("Z", "+00:00"))
        except ValueError:
            return None
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="microseconds")


class ChannelAdapter(abc.ABC):
    """One channel. Every read that takes a ``cursor`` returns the next cursor in its :class:`Page`;
    ``None`` as input means "from the beginning" (a full read)."""

    name: str
    capabilities: Capabilities

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

    @abc.abstractmethod
    def read_customers(self, cursor: str | None = None) -> Page[ChannelCustomer]:
        """Customers changed since ``cursor``."""

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

    def missing(self, product_ids: Sequence[str]) -> set[str]:
        """Which of these products the channel no longer has at all (deleted for good, leaving no
        tombstone or trash to read). By default none: deletions show up in the reads."""
        return set()

    @abc.abstractmethod
    def verify_webhook(self, headers: Mapping[str, str], body: bytes, url: str) -> WebhookEvent:
        """Check the signature over the raw ``body`` (constant-time) and parse the delivery.

        ``url`` is the public notification URL the channel signed (Square signs URL + body).
        Raises :class:`WebhookRejected` when the signature is missing or wrong.
        """
