"""Square stock reads: per-location counts, and stock events from the inventory change log.

Stock events come from ``BatchRetrieveInventoryChanges`` filtered on receipt time
(``updated_after``), cursor = newest ``created_at`` seen. Every event's ``delta`` is *the change it
made to Square's count when it arrived* (:mod:`adapters.square_changes`). The older history of a
key is fetched (one extra call per 100 keys) only when it can matter: when the new changes hold a
physical count, or an adjustment that occurred before the previous cursor. Our own writes
(``reference_id = "shopbridge:<op key>"``) are replayed but never emitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from adapters.base import Page
from adapters.issues import ReadIssue
from adapters.square_changes import (
    Place,
    by_place,
    history_needed,
    just_after,
    place,
    readable,
    replay,
)
from adapters.square_client import SquareClient
from adapters.square_values import JSON, parse_time, quantity, rfc3339_ms
from adapters.square_wire import count_issue
from bridge.models import StockEvent, StockLevel

__all__ = ["SquareStock"]


class SquareStock(SquareClient):
    """Stock reads of :class:`adapters.square.SquareAdapter`."""

    def read_stock_levels(self, variant_ids: Sequence[str] | None = None) -> list[StockLevel]:
        return list(self._read_counts(variant_ids, []))

    def read_stock_counts(self, variant_ids: Sequence[str]) -> Page[StockLevel]:
        issues: list[ReadIssue] = []
        return Page(items=self._read_counts(variant_ids, issues), cursor=None, issues=issues)

    def _read_counts(self, variant_ids: Sequence[str] | None, issues: list[ReadIssue]) -> list[StockLevel]:
        """IN_STOCK counts; one whose quantity or variation is unreadable goes to ``issues``
        (holding its SKU back for the round) instead of being read as 0. The id chunks (1,000 ids
        a call) are read up to ``concurrency`` at once, each chunk's pages in order on its own
        thread; levels and issues come in chunk order, page order, as read one after the other."""
        id_chunks: list[list[str] | None] = (
            [list(variant_ids[i : i + 1000]) for i in range(0, len(variant_ids), 1000)]
            if variant_ids is not None
            else [None]
        )
        levels: list[StockLevel] = []
        for chunk_levels, chunk_issues in self._each_at_once(self._read_count_chunk, id_chunks, "counts"):
            levels.extend(chunk_levels)
            issues.extend(chunk_issues)
        return levels

    def _read_count_chunk(self, ids: list[str] | None) -> tuple[list[StockLevel], list[ReadIssue]]:
        """One chunk's counts (every id when ``ids`` is None), cursor-paged, and its issues."""
        levels: list[StockLevel] = []
        issues: list[ReadIssue] = []
        body: JSON = {"states": ["IN_STOCK"], "limit": 1000}
        if ids is not None:
            if not ids:
                return levels, issues
            body["catalog_object_ids"] = ids
        if self.location_ids:
            body["location_ids"] = self.location_ids
        for data in self._paged("v2/inventory/counts/batch-retrieve", body):
            for count in data.get("counts") or []:
                if count.get("state", "IN_STOCK") != "IN_STOCK":
                    continue
                issue = count_issue(count)
                if issue is not None:
                    issues.append(issue)
                    continue
                levels.append(
                    StockLevel(
                        channel=self.name,
                        variant_id=str(count["catalog_object_id"]),
                        location_id=count.get("location_id"),
                        quantity=int(quantity(count.get("quantity"))),
                        observed_at=parse_time(count.get("calculated_at")) or datetime.now(tz=UTC),
                    )
                )
        return levels, issues

    def events_cursor_at(self, when: datetime) -> str | None:
        return rfc3339_ms(when)

    def read_stock_events(self, cursor: str | None = None) -> Page[StockEvent]:
        return self._read_events(cursor, None)

    def read_stock_events_of(self, variant_ids: Sequence[str], cursor: str | None) -> Page[StockEvent]:
        """The change log since ``cursor`` of just these variations (Square filters it): the
        same events, deltas and source ids as the whole read has for them (each (variation,
        location) is replayed on its own), read through the newest change of theirs. The chunks
        of 100 ids are read up to ``concurrency`` at once; ``read_until`` is the earliest of theirs."""
        if not variant_ids:
            return Page(items=[], cursor=cursor, read_until=parse_time(cursor) if cursor else None)
        ids = list(variant_ids)
        chunks = [ids[i : i + 100] for i in range(0, len(ids), 100)]
        start = self.calls
        # Up to ``concurrency`` chunks at once: each page's own ``calls`` then counts the others'
        # calls made meanwhile, so the read's cost is what the counter moved by over all of them.
        pages = list(self._each_at_once(lambda chunk: self._read_events(cursor, chunk), chunks, "events"))
        until = [p.read_until for p in pages]
        return Page(
            items=[ev for p in pages for ev in p.items],
            cursor=cursor,
            calls=self.calls - start,
            issues=[i for p in pages for i in p.issues],
            read_until=None if None in until else min(u for u in until if u is not None),
        )

    def _read_events(self, cursor: str | None, variant_ids: list[str] | None) -> Page[StockEvent]:
        body: JSON = {"types": ["PHYSICAL_COUNT", "ADJUSTMENT"], "limit": 1000}
        if variant_ids is not None:
            body["catalog_object_ids"] = variant_ids
        if self.location_ids:
            body["location_ids"] = self.location_ids
        if cursor:
            body["updated_after"] = cursor
        received, calls = self._changes(body)
        issues: list[ReadIssue] = []
        received = readable(received, issues)
        if not received:
            return Page(
                items=[],
                cursor=cursor,
                calls=calls,
                read_until=parse_time(cursor) if cursor else None,
                issues=issues,
            )
        new_by_place = by_place(received)
        # Older history only where it can change the answer (see module docstring).
        needs_history = history_needed(new_by_place, parse_time(cursor) if cursor else None)
        history: dict[Place, list[JSON]] = {}
        if needs_history and cursor:
            history, more = self._history(needs_history, cursor)
            calls += more
        events, newest = replay(new_by_place, history, cursor)
        # Every change received up to the newest one read has been read: a count calculated at or
        # before it holds only changes of this read or earlier ones.
        return Page(items=events, cursor=newest, calls=calls, read_until=parse_time(newest), issues=issues)

    def _history(self, need: set[Place], cursor: str) -> tuple[dict[Place, list[JSON]], int]:
        """The changes received up to ``cursor`` (included) at the places ``need`` names, 100
        variations a call, and the calls it took."""
        old: dict[Place, list[JSON]] = {}
        calls = 0
        variations = sorted({k[0] for k in need})
        locations = sorted({k[1] for k in need})
        for start in range(0, len(variations), 100):
            history, more = self._changes(
                {
                    "types": ["PHYSICAL_COUNT", "ADJUSTMENT"],
                    "catalog_object_ids": variations[start : start + 100],
                    "location_ids": locations,
                    "updated_before": just_after(cursor),
                    "limit": 1000,
                }
            )
            calls += more
            for change in readable(history, []):
                key = place(change)
                if key in need:
                    old.setdefault(key, []).append(change)
        return old, calls
