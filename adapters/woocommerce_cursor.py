"""The WooCommerce read cursor: which items a poll has already reported, to the second.

``modified_after`` is strict and WooCommerce dates have one-second resolution, so every poll reads
an overlap window again and tells new from already-reported items by their key
``kind:id@date#hash`` (the hash of the item's content). Catalogue, order and customer reads share
this cursor shape; it is serialised as JSON and opaque to the engine.
"""

from __future__ import annotations

import heapq
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.woocommerce_wire import DATE_FMT
from bridge.models import content_hash

__all__ = ["SERVED", "PollCursor", "item_key", "parse_gmt"]

log = logging.getLogger("adapters.woocommerce")

SERVED = "_shopbridge_served"
"""Key under which an item read carries when its answer was served (the ``Date`` header, ISO): the
moment its ``stock_quantity`` describes (see ``ChannelVariant.counted_at``)."""


def parse_gmt(value: str | None) -> datetime | None:
    """A wc/v3 ``*_gmt`` date (no zone: GMT) as an aware datetime; ``None`` when empty."""
    if not value:
        return None
    return datetime.strptime(value, DATE_FMT).replace(tzinfo=UTC)


def _hash(item: Mapping[str, Any]) -> str:
    # parent_id is only added by /wc/v3/variations: leave it out so both listings hash alike.
    return content_hash({k: v for k, v in item.items() if k not in ("_links", "parent_id", SERVED)})[:12]


def item_key(kind: str, item: Mapping[str, Any]) -> str:
    """The cursor key ``kind:id@date#hash`` of a wire item (computed on the whole item, so a full
    and an incremental read agree on it)."""
    return f"{kind}:{item['id']}@{item.get('date_modified_gmt')}#{_hash(item)}"


def _identity(key: str) -> str:
    """``kind:id`` of a cursor key ``kind:id@date#hash``."""
    return key.split("@", 1)[0]


@dataclass
class PollCursor:
    """Polling state: the newest ``date_modified_gmt`` seen and the keys seen near it.

    Serialised as JSON; ``seen`` holds ``kind:id@date#hash`` for items whose date is within the
    overlap window of ``newest``, so an item changed in the same second as ``newest`` is reported (its hash
    differs) while one already reported is not.
    """

    newest: datetime | None = None
    """The newest ``date_modified_gmt`` read (or the start of a read that caught up); ``t`` in JSON."""
    seen: dict[str, str] = field(default_factory=dict)
    #: ``kind:id`` -> its latest key in ``seen``: an item that changes and changes back inside one
    #: second (our write, then our next write restoring what an earlier read saw) has a key seen
    #: before, yet it differs from what we last read, so only the latest key of an item counts.
    latest: dict[str, str] = field(default_factory=dict, repr=False)
    #: Whether :meth:`prune` is to be called as the read goes (it needs the keys recorded, by date).
    prunes: bool = field(default=False, repr=False)
    #: Keys recorded since the last :meth:`prune` (kept one more page: see there).
    _fresh: list[str] = field(default_factory=list, init=False, repr=False, compare=False)
    #: Keys recorded before the last :meth:`prune`, by date (one list a second: 8 bytes a key) ...
    _aged: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False, compare=False)
    #: ... and those dates, a heap (oldest first).
    _dates: list[str] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for key, _date in sorted(self.seen.items(), key=lambda kd: kd[1]):
            self.latest[_identity(key)] = key

    @classmethod
    def load(cls, raw: str | None, *, prunes: bool = False) -> PollCursor:
        """The cursor ``raw`` (JSON from :meth:`dump`); ``prunes`` for a read that calls :meth:`prune`."""
        if not raw:
            return cls(prunes=prunes)
        try:
            data = json.loads(raw)
            return cls(newest=parse_gmt(data.get("t")), seen=dict(data.get("seen") or {}), prunes=prunes)
        except (ValueError, TypeError, AttributeError):
            log.warning("unreadable WooCommerce cursor, starting from the beginning")
            return cls(prunes=prunes)

    def dump(self, overlap: timedelta) -> str:
        keep = {}
        if self.newest is not None:
            floor = (self.newest - overlap).strftime(DATE_FMT)
            keep = {k: d for k, d in self.seen.items() if d >= floor}
        return json.dumps(
            {"t": self.newest.strftime(DATE_FMT) if self.newest else None, "seen": keep}, sort_keys=True
        )

    def prune(self, overlap: timedelta) -> None:
        """Drop, as a long read goes (once a page), the keys it recorded that :meth:`dump` would drop:
        dated before ``newest - overlap``. ``newest`` only grows, so the final floor is at or above
        this one and the dumped cursor is the same as without pruning; a read by id (newest not
        monotone) holds too. Only keys recorded by this read before the last call go (by date, a heap
        of the dates, so a page costs what it drops): the keys loaded stay, as a read by id asks about them
        anywhere in it, and the last page's stay, so an item an offset page repeats (one account
        deleted mid-read shifts the next page by one) is still known. Without this a read of every
        account held a key per account until the dump (85,000 keys, 24 MB, at 50k customers)."""
        if self.newest is not None:
            floor = (self.newest - overlap).strftime(DATE_FMT)
            while self._dates and self._dates[0] < floor:
                date = heapq.heappop(self._dates)
                for key in self._aged.pop(date):
                    if self.seen.get(key) == date:
                        del self.seen[key]
                        if self.latest.get(identity := _identity(key)) == key:
                            del self.latest[identity]
        for key in self._fresh:
            if (recorded := self.seen.get(key)) is not None:  # else replaced since by a later key
                if (same := self._aged.get(recorded)) is None:
                    self._aged[recorded] = same = []
                    heapq.heappush(self._dates, recorded)
                same.append(key)
        self._fresh.clear()

    def is_new(self, key: str) -> bool:
        """Whether ``key`` differs from the last version of its item we read (within the window)."""
        return self.latest.get(_identity(key)) != key

    def caught_up(self, server_time: datetime | None) -> None:
        """Everything modified before the read started has been read: move ``newest`` up to then, less a
        second for the dates' resolution, so a quiet shop's poll does not re-read its last burst of
        changes forever (the overlap window trails ``newest``, not the newest change)."""
        if server_time is None:
            return
        floor = server_time - timedelta(seconds=1)
        if self.newest is None or floor > self.newest:
            self.newest = floor

    def record(self, key: str, date: str | None) -> None:
        if not date:
            return
        previous = self.latest.get(identity := _identity(key))
        if previous is not None and previous != key:
            self.seen.pop(previous, None)
        self.seen[key] = date
        self.latest[identity] = key
        if self.prunes:
            self._fresh.append(key)
        when = parse_gmt(date)
        if when is not None and (self.newest is None or when > self.newest):
            self.newest = when
