"""What the core asks of the store: the records it hands back and the interface that hands them.

The core (the sync's sequence, the relay, links, the daemon and the webhook receiver) depends on
this module, not on SQLite: :class:`Storage` is every store call the core makes, and each answer
is a record typed here, never a database row. The SQLite store (:class:`bridge.store.Store`) is
one implementation; a PostgreSQL one, for hosting many shops, would be another, written against
this file without touching the engine.

Records read by attribute are frozen dataclasses (:class:`OutboxEntry`, :class:`BaselineRow`,
:class:`SeenVariant`). Those still indexed by name somewhere (``row["channel_id"]``: links, ledger
rows, inbox deliveries, held pools, the figures ``status`` renders and prints as JSON) are
``TypedDict`` records, typed for mypy and plain dicts at run time, until their readers move.

Deliberately not here: the store's ``db`` handle (raw SQL is the store's own business) and the
staging scratch file (found beside the store file, ``path``, until staging has an interface of
its own).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypedDict

from bridge.ledger import LedgerEntry
from bridge.memory import ChunkRecord, Memory, Wanted, WriteRecord
from bridge.models import ChannelProduct, StockEvent

__all__ = [
    "BaselineRow",
    "CatalogueFigures",
    "HeldPool",
    "InboxDelivery",
    "LedgerRow",
    "LinkRow",
    "OutboxEntry",
    "SeenVariant",
    "Storage",
    "StoreFigures",
]


class LinkRow(TypedDict):
    """A canonical entity's link to one channel's object, with what tells our writes from edits."""

    entity: str  # variant | product | customer | location
    canonical_key: str  # sku | product id | customer id | location key
    channel: str
    channel_id: str
    parent_id: str | None
    channel_version: str | None
    """The channel's own version of the object when we last wrote it: opaque text (a modification
    date on one channel, a counter on another), only ever compared for equality."""
    last_written_hash: str | None  # hash of what we last wrote there (echo suppression)
    updated_at: str | None


class LedgerRow(TypedDict):
    """One stock event in the ledger, as recorded (``occurred_at`` ISO 8601)."""

    source_id: str
    channel: str
    kind: str
    sku: str
    location: str
    delta: int
    occurred_at: str | None
    reason: str | None


@dataclass(frozen=True)
class BaselineRow:
    """What a channel should show for a SKU at a location (``""``: its single pool): the count we
    last wrote or read there, and when. A count that differs later, unexplained by events, is a
    manual change."""

    channel: str
    sku: str
    location: str
    quantity: int
    held_at: str | None


@dataclass(frozen=True)
class SeenVariant:
    """A variant as last read from a channel (its ``last_read`` row), for checking an id a user typed."""

    variant_id: str
    product_id: str
    sku: str | None
    read_at: str


class HeldPool(TypedDict):
    """A shared stock pool held for a human: it shows ``shown`` where the ledger says ``expected``."""

    channel: str
    product_id: str
    skus: list[str]
    expected: int
    shown: int
    since: str


class InboxDelivery(TypedDict):
    """A verified webhook delivery, kept until a sync has read what it hinted at."""

    channel: str
    event_id: str
    topic: str | None
    resource: str | None
    resource_id: str | None
    body: bytes | None
    received_at: str
    processed_at: str | None
    error: str | None


class CatalogueFigures(TypedDict):
    """The agreed catalogue's size: its products (grouped as the owning channel groups them), its
    sellable variants, and how many of those are archived."""

    products: int
    variants: int
    archived_variants: int


class StoreFigures(TypedDict):
    """What ``shopbridge status`` reports."""

    schema_version: int
    variants: int  # SKUs linked on at least one channel
    catalogue: CatalogueFigures
    customers: int
    linked: dict[str, dict[str, int]]  # channel -> entity -> links
    stock_events: int
    inbox_pending: int
    outbox_pending: int
    outbox_failed: int
    open_conflicts: int
    unresolved_count: int
    unresolved: list[dict[str, Any]]
    stock_pools_held: list[HeldPool]
    last_poll: dict[str, str | None]  # "channel:stream" -> last successful poll


@dataclass(frozen=True)
class OutboxEntry:
    """A write waiting to be sent to a channel (``op`` is the JSON of an adapters.base write op)."""

    id: int
    channel: str
    idempotency_key: str
    action: str
    sku: str | None
    op: dict[str, Any]
    reason: str
    attempts: int


class Storage(Protocol):
    """Every store call the core makes. Each write method is one transaction of its own, or part of
    the caller's :meth:`transaction` when called inside one."""

    path: Path

    def transaction(self) -> AbstractContextManager[Any]:
        """Group the write calls made inside into one transaction (all or nothing)."""

    # -- stock ledger and what the channels should show ------------------------------------------

    def record_stock_events(self, entries: Iterable[LedgerEntry]) -> int: ...
    def ledger_rows(self, skus: Iterable[str] | None = None) -> list[LedgerRow]: ...
    def on_hand(self, skus: Sequence[str] | None = None) -> dict[tuple[str, str], int]: ...
    def baselines(self, skus: Iterable[str] | None = None) -> list[BaselineRow]: ...
    def forget_baselines(self, channel: str, skus: Iterable[str]) -> None: ...
    def hold_unresolved(self, held: Iterable[tuple[StockEvent, str]]) -> int: ...
    def held_unresolved(
        self, members: Iterable[tuple[str, str]], skus: Iterable[str]
    ) -> list[StockEvent]: ...
    def release_unresolved(self, source_ids: Iterable[str]) -> None: ...

    # -- links -----------------------------------------------------------------------------------

    def upsert_links(self, rows: Iterable[Mapping[str, Any]]) -> None: ...
    def forget_written(self, keys: Iterable[tuple[str, str]]) -> None: ...
    def links(self, entity: str, channel: str | None = None) -> list[LinkRow]: ...
    def links_by_key(self, entity: str, canonical_keys: Iterable[str]) -> list[LinkRow]: ...
    def links_of_groups(self, entity: str, members: Iterable[tuple[str, str]]) -> list[LinkRow]: ...
    def delete_link(self, entity: str, canonical_key: str, channel: str) -> bool: ...
    def variant_links_in_way(self, sku: str, channel: str, channel_id: str) -> list[LinkRow]: ...
    def link_variant_by_hand(
        self, sku: str, channel: str, channel_id: str, parent_id: str | None
    ) -> list[LinkRow]: ...

    # -- what the channels held when last read, and the agreed catalogue -------------------------

    def save_last_read(self, channel: str, products: Iterable[ChannelProduct]) -> int: ...
    def last_read(self, channel: str, variant_ids: Iterable[str] | None = None) -> list[ChannelProduct]: ...
    def last_read_with_skus(self, skus: Iterable[str]) -> dict[str, list[ChannelProduct]]: ...
    def forget_last_read(self, variants: Iterable[tuple[str, str]]) -> None: ...
    def last_read_at(self, channel: str) -> str | None: ...
    def last_read_variants(
        self, channel: str, *, variant_id: str | None = None, product_id: str | None = None
    ) -> list[SeenVariant]: ...
    def save_catalogue(self, entries: Iterable[tuple[str, str, Mapping[str, Any]]]) -> None: ...
    def agreed_catalogue(self, skus: Iterable[str] | None = None) -> dict[str, dict[str, Any]]: ...

    # -- cursors ---------------------------------------------------------------------------------

    def get_cursor(self, channel: str, stream: str) -> str | None: ...
    def set_cursor(self, channel: str, stream: str, value: str | None) -> None: ...
    def forget_catalog_cursors(self) -> None: ...

    # -- the engine's marks (moments of its own, not of a channel) --------------------------------

    def get_mark(self, name: str) -> str | None: ...
    def set_mark(self, name: str, value: str) -> None: ...

    # -- inbox and outbox ------------------------------------------------------------------------

    def inbox_put(
        self, channel: str, event_id: str, *, topic: str, resource: str, resource_id: str | None, body: bytes
    ) -> bool: ...
    def inbox_pending(self, limit: int = 100) -> list[InboxDelivery]: ...

    def inbox_mark_processed(self, deliveries: Iterable[tuple[str, str]]) -> None: ...
    def inbox_mark_processed_through(self, received_by: str) -> None: ...
    def outbox_enqueue(self, entries: Iterable[dict[str, Any]]) -> int: ...
    def outbox_last_id(self) -> int: ...
    def outbox_due_count(
        self, channel: str, *, now: str | None = None, after_id: int = 0, through_id: int | None = None
    ) -> int: ...
    def outbox_due(
        self,
        channel: str,
        *,
        now: str | None = None,
        limit: int = 1000,
        after_id: int = 0,
        through_id: int | None = None,
        singles: int | None = None,
    ) -> list[OutboxEntry]: ...
    def outbox_claim(self, entry_ids: Sequence[int]) -> None: ...
    def outbox_stock_in_flight(self) -> set[tuple[str, str, str]]: ...
    def outbox_stock_settled_since(self, since: str) -> set[tuple[str, str, str]]: ...
    def outbox_creates_in_flight(self) -> set[tuple[str, str]]: ...
    def outbox_skus_settled_since(self, since: str | None) -> set[str]: ...
    def outbox_done(self, entry_id: int, result: dict[str, Any]) -> None: ...
    def outbox_retry_later(
        self, entry_id: int, error: str, next_attempt_at: str, *, attempted: bool = True
    ) -> None: ...
    def outbox_failed(self, entry_id: int, error: str) -> None: ...
    def outbox_hold(self, entry_id: int, why: str) -> None: ...

    # -- the engine's memory and its outcome (bridge/memory.py) ---------------------------------

    def memory(self, wanted: Wanted) -> Memory:
        """What the store remembers about the SKUs, variants and pools ``wanted``, in one call."""

    def record_chunk(self, record: ChunkRecord) -> tuple[int, int]:
        """One chunk's outcome in one transaction: (writes queued, stock moves kept out)."""

    def record_write(self, record: WriteRecord) -> None:
        """What a write the channel confirmed did, in one call."""

    # -- conflicts, pools, audit, figures --------------------------------------------------------

    def add_conflict(
        self, *, channel: str, entity: str, canonical_key: str, field: str, ours: str, theirs: str
    ) -> None: ...
    def held_pools(self) -> list[HeldPool]: ...
    def record_pool_holds(
        self, held: Iterable[tuple[str, str, list[str], int, int]], settled: Iterable[tuple[str, str]]
    ) -> None: ...
    def audit(self, channel: str, action: str, key: str, detail: dict[str, Any]) -> None: ...
    def queue_depths(self) -> dict[str, int]: ...
    def figures(self) -> StoreFigures: ...
    def integrity_ok(self) -> bool: ...

    @property
    def schema_version(self) -> int: ...
