"""Square's stock reads of many ids send their id chunks side by side (issue 12, real latency).

A count read of N ids is ceil(N / 1,000) chunks, each cursor-paged; the event path's read of N ids
is ceil(N / 100) chunks. Sent one after the other, every one of those calls is a round trip the
sync waits for. With the channel's ``concurrency`` the chunks go out up to that many at once (each
chunk's own pages still in order) and the answer is the same, item for item, issue for issue.
Real HTTP against the Square emulator, every call slowed by an injected latency; the checks are on
what the emulator saw (round trips, requests in flight), never on wall time.
"""

from __future__ import annotations

from typing import Any

from square_helpers import (
    make_adapter,
    square_emulator,  # noqa: F401 - the emulator fixture
)

from adapters.base import Page
from adapters.square import SquareAdapter
from bridge.models import StockEvent, StockLevel
from sandbox.http import FaultRule
from sandbox.seed import generate_catalog
from sandbox.square import SquareEmulator

LATENCY = 0.1
"""Seconds the emulator waits before answering each call: far above a thread's start-up, so calls
sent together are in flight together."""


def _variation_ids(emulator: SquareEmulator, variants: int, locations: int) -> list[str]:
    """Seed ``variants`` variations counted at ``locations``; their ids, in catalogue order."""
    return list(emulator.seed(generate_catalog(variants), locations=locations).values())


def _served_unreadable(emulator: SquareEmulator, variation_ids: set[str]) -> None:
    """From now on Square serves the counts of ``variation_ids`` with a quantity that is no number."""

    def rewrite(body: Any) -> Any:
        for count in body.get("counts") or []:
            if count.get("catalog_object_id") in variation_ids:
                count["quantity"] = "lots"
        return body

    emulator.server.faults.add(
        FaultRule(kind="rewrite", path=r"/v2/inventory/counts/batch-retrieve$", times=None, rewrite=rewrite)
    )


def _slowly(emulator: SquareEmulator, adapter: SquareAdapter, read: Any) -> tuple[Any, int, int]:
    """``read(adapter)`` with every call slowed; its answer, round trips and most calls in flight."""
    emulator.server.faults.add(kind="latency", seconds=LATENCY, times=None)
    emulator.server.reset_stats()
    try:
        answer = read(adapter)
    finally:
        emulator.server.faults.clear()
    return answer, emulator.server.round_trips, emulator.server.peak_in_flight


def test_counts_of_3200_ids_are_read_four_chunks_at_once(emulator: SquareEmulator) -> None:
    ids = _variation_ids(emulator, 3200, locations=2)
    assert len(ids) >= 3200
    chunks = -(-len(ids) // 1000)  # 1,000 ids a call; each full chunk's 2,000 counts take 2 pages
    unreadable = {ids[5], ids[1500], ids[-1]}  # issues from the first, second and last chunks

    def read(adapter: SquareAdapter) -> Page[StockLevel]:
        _served_unreadable(emulator, unreadable)
        return adapter.read_stock_counts(ids)

    one, one_trips, one_peak = _slowly(emulator, make_adapter(emulator, concurrency=1), read)
    four, four_trips, four_peak = _slowly(emulator, make_adapter(emulator, concurrency=4), read)

    calls = emulator.server.calls("POST BatchRetrieveInventoryCounts")
    assert (one_peak, one_trips) == (1, calls)  # one after the other: every page a round trip
    print(f"\ncounts of {len(ids):,} ids, round trips: {one_trips} one at a time, {four_trips} 4 at once")
    assert four_peak == min(4, chunks)
    assert four_trips <= 3 < one_trips  # each chunk's first page together, then their second pages
    # The same read: every count, in the same order (chunk by chunk, page by page), and the same
    # issues in the same order.
    assert len(four.items) == 2 * len(ids) - 2 * len(unreadable)
    assert four.items == one.items
    assert list(four.issues) == list(one.issues)
    assert sorted(str(i.object_id) for i in four.issues) == sorted(2 * list(unreadable))  # both locations


def test_every_count_is_one_chunk_paged_in_order_whatever_the_concurrency(emulator: SquareEmulator) -> None:
    ids = _variation_ids(emulator, 2100, locations=1)
    adapter = make_adapter(emulator, concurrency=4)
    every, trips, peak = _slowly(emulator, adapter, lambda a: a.read_stock_levels())
    calls = emulator.server.calls("POST BatchRetrieveInventoryCounts")
    assert (peak, trips, calls) == (1, 3, 3)  # one cursor: each page asked for after the one before
    chunked = adapter.read_stock_levels(ids)
    assert sorted(lv.variant_id for lv in every) == sorted(ids)
    assert sorted(every, key=lambda lv: lv.variant_id) == sorted(chunked, key=lambda lv: lv.variant_id)


def test_the_event_path_reads_its_100_id_chunks_four_at_once(emulator: SquareEmulator) -> None:
    ids = _variation_ids(emulator, 1000, locations=2)
    chunks = -(-len(ids) // 100)
    cursor = make_adapter(emulator).read_stock_events().cursor  # the seeded counts read
    sold = [ids[3], ids[250], ids[251], ids[777], ids[-1]]
    for variation_id in sold:
        emulator.simulate_sale(variation_id, 2)

    def read(adapter: SquareAdapter) -> Page[StockEvent]:
        return adapter.read_stock_events_of(ids, cursor)

    one, one_trips, one_peak = _slowly(emulator, make_adapter(emulator, concurrency=1), read)
    four, four_trips, four_peak = _slowly(emulator, make_adapter(emulator, concurrency=4), read)

    assert (one_peak, one_trips) == (1, chunks)
    print(f"\nevents of {len(ids):,} ids, round trips: {one_trips} one at a time, {four_trips} 4 at once")
    assert four_peak == 4
    assert four_trips <= -(-chunks // 4) + 1 < one_trips
    assert [(ev.variant_id, ev.delta) for ev in four.items] == [(v, -2) for v in sold]
    assert four.items == one.items
    assert four.read_until == one.read_until is not None
    assert four.calls == one.calls == chunks
