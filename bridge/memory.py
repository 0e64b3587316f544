"""What the engine and the store say to each other, typed: no SQL row crosses this line.

The store answers the engine's question "what do you remember about these SKUs" with one
:class:`Memory`, and records what one chunk of a sync decided from one :class:`ChunkRecord`, in
one transaction; a write a channel confirmed is recorded from one :class:`WriteRecord`. A second
store backend implements those three calls over these types and the engine does not change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bridge.ledger import LedgerEntry, Observation, Written
from bridge.models import ChannelProduct, StockEvent

__all__ = ["ChunkRecord", "Conflict", "Memory", "NewLink", "StockWritten", "Wanted", "WriteRecord"]


@dataclass(frozen=True)
class Wanted:
    """What the engine may need remembered for one chunk: every SKU a group of the chunk can end
    up under, the ``(channel, variant id)`` read, and the pools' pseudo-SKUs. A superset is fine:
    the engine keeps only what its groups use."""

    skus: frozenset[str]
    members: frozenset[tuple[str, str]]
    pool_keys: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Memory:
    """What the store remembers about a chunk's SKUs.

    ``baselines``: per ``(channel, sku, location or None)`` the count we last wrote or read there
    and the moment it held (pools under their pseudo-SKU). ``catalogue``: the agreed catalogue
    fields per SKU. ``echo_hashes``: per ``(channel, sku)``, the hash of what we last wrote there.
    ``kept``: stock events kept out of the ledger earlier, still waiting to be placed.
    ``creating``: ``(channel, sku)`` of creates queued and not confirmed yet. ``settled``:
    ``(sku, field)`` -> the value a human kept settling a catalogue conflict, not applied yet."""

    ledger: Sequence[LedgerEntry] = ()
    baselines: Mapping[tuple[str, str, str | None], Written] = field(default_factory=dict)
    catalogue: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    echo_hashes: Mapping[tuple[str, str], str] = field(default_factory=dict)
    kept: Sequence[StockEvent] = ()
    creating: frozenset[tuple[str, str]] = frozenset()
    settled: Mapping[tuple[str, str], Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewLink:
    """A variant linked to a SKU (the store records those it did not know, or knew elsewhere)."""

    sku: str
    channel: str
    variant_id: str
    product_id: str | None


@dataclass(frozen=True)
class Conflict:
    """A non-owner edit left for a human: what the channel shows (``theirs``) and what we hold."""

    channel: str
    sku: str
    field: str
    theirs: Any
    ours: Any


@dataclass
class ChunkRecord:
    """Everything one chunk of a sync records, in one transaction, in this order of meaning:
    what was read (last-read products, links, ledger entries, baselines), the agreed catalogue, what the
    plan queues, and last the cursors (so no cursor moves past what is not recorded)."""

    planned_mark: str
    last_read: Mapping[str, Sequence[ChannelProduct]]
    """Per channel, the products just read: what it held when last read (the ``channel_variants`` rows)."""
    vanished: set[tuple[str, str]]
    links: Sequence[NewLink]
    locations: Sequence[str]
    entries: Sequence[LedgerEntry]
    unresolved: Sequence[tuple[StockEvent, str]]
    released: Sequence[str]
    catalogue: Sequence[tuple[str, str, Mapping[str, Any]]]
    """``(reference of the owning object, sku, agreed fields)``."""
    agreed: Mapping[str, Mapping[str, Any]]
    """The agreed fields per SKU (what the next sync tells an owner edit from a non-owner one by)."""
    baselines: Sequence[Observation]
    pools_held: Sequence[tuple[str, str, list[str], int, int]]
    pools_kept: set[tuple[str, str]]
    """Pools neither agreeing nor held: their open holds stay as they are."""
    products_read: set[tuple[str, str]]
    conflicts: Sequence[Conflict]
    outbox: Sequence[dict[str, Any]]
    echo_hashes: Sequence[tuple[str, str, str]]
    """``(channel, sku, hash)`` of links already showing what the plan wants (nothing queued)."""
    cursors: Sequence[tuple[str, str, str]]
    synced_mark: str | None = None


@dataclass(frozen=True)
class StockWritten:
    """A count a write left on a channel: the next baseline for that ``(sku, location)``."""

    sku: str
    location: str
    quantity: int
    at: str | None
    """Its moment (ISO text); None: now."""


@dataclass(frozen=True)
class WriteRecord:
    """What a write the channel confirmed leaves to remember: new links (a create), the hash of
    what it wrote (echo suppression) with the channel's new version, the counts it left."""

    channel: str
    op: str
    key: str
    sku: str | None
    channel_version: str | None
    """The channel's version of the object after the write: opaque, as its answer gave it."""
    created: Sequence[NewLink] = ()
    written_hash: str | None = None
    stock: Sequence[StockWritten] = ()
