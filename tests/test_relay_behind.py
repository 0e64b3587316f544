"""A sync planned in several chunks sends the committed chunks' writes while it plans the next.

Over loopback against both emulators, on a real store file: the order of operations is asserted
(a write reached a channel while a later chunk was being planned), never a duration.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import pytest

from bridge import engine
from bridge.config import CustomerSettings
from bridge.customer_sync import CustomerSync
from bridge.progress import Progress
from bridge.store import Store
from bridge.sync import UnsafePlan
from sandbox.http import FaultRule
from sandbox.launch import Sandbox
from tests.sync_helpers import make_runner, recording_writes, reprice_shared_skus
from tests.woo_helpers import woo_rest

WAIT_SECONDS = 20.0
"""How long a later chunk's planning waits for an earlier chunk's write before giving up."""


class Phases:
    """A progress sink keeping ``[phase, total, done]`` and, beside it, another one's."""

    def __init__(self) -> None:
        self.phases: list[list[Any]] = []
        self.others: list[Phases] = []

    def start(self, what: str, total: int | None = None) -> None:
        self.phases.append([what, total, 0])

    def advance(self, done: int) -> None:
        self.phases[-1][2] += done

    def beside(self) -> Progress:
        self.others.append(Phases())
        return self.others[-1]


def _square_total(box: Sandbox, sku: str) -> int:
    """The web shop sells what every store holds: the sum of Square's locations."""
    variation = box.square.variation_by_sku(sku)
    assert variation is not None, sku
    return sum(box.square.count(variation["id"], location) for location in box.square.location_ids())


def test_a_chunk_s_writes_are_sent_while_the_next_chunk_is_planned(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = threading.Event()
    seen_while_planning: list[bool] = []
    decide = engine.decide

    def planning(*args: Any, **kwargs: Any) -> Any:
        if len(seen_while_planning) >= 2 and True not in seen_while_planning:
            # A chunk after the first two: earlier ones are committed, their writes may go out.
            seen_while_planning.append(written.wait(WAIT_SECONDS))
        else:
            seen_while_planning.append(written.is_set())
        return decide(*args, **kwargs)

    monkeypatch.setattr(engine, "decide", planning)
    with Sandbox(products=12, locations=2) as box, Store(tmp_path / "shopbridge.db") as store:
        runner = make_runner(box, store)
        runner.chunk_size = 2
        progress = Phases()
        runner.progress = progress
        recording_writes(runner, written)
        _, report = runner.run(force=True, rounds=1)  # one read, planned once (no second round)
        assert not report.failed and not report.deferred and not report.errors
        # Nothing was written before the first chunks were planned; a later chunk's planning saw
        # an earlier chunk's write reach its channel.
        assert seen_while_planning[0] is False
        assert True in seen_while_planning[2:], seen_while_planning
        # The writes sent beside the planning showed on a line of their own.
        beside = [phase for other in progress.others for phase in other.phases]
        assert any(what.startswith("writing changes to") and done for what, _, done in beside), beside
        runner.run(force=True)  # the created product's second round
        for sku in box.catalogues.shared_skus:  # and the sync ended as one relayed at the end does
            assert box.woocommerce.stock_of(sku) == _square_total(box, sku), sku
        assert runner.prepare().plan.empty


def test_a_sync_in_one_chunk_relays_after_planning_as_before(tmp_path: Any) -> None:
    """Nothing to overlap: no thread, and the writes show on the sync's own line."""
    with Sandbox(products=6, locations=1) as box, Store(tmp_path / "shopbridge.db") as store:
        runner = make_runner(box, store)
        progress = Phases()
        runner.progress = progress
        _, report = runner.run(force=True)
        assert sum(report.sent.values()) > 0
        assert progress.others == [] or all(not other.phases for other in progress.others)
        assert any(what.startswith("writing changes to") and done for what, _, done in progress.phases)


def _customers_for_all(runner: Any, box: Sandbox) -> None:
    """Customers synced both ways, a profile added at the till since the last sync."""
    runner.customers = CustomerSettings(create_missing=True, default_country="GB")
    box.square.add_customer("ann@example.com", "Ann")


def _woo_accounts(box: Sandbox) -> list[str]:
    return [c["email"] for c in woo_rest(box.woocommerce, "GET", "customers", params={"role": "all"})]


def test_the_customers_stage_runs_while_the_catalogue_is_read(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The customers stage reads other streams than the catalogue's: it begins before
    WooCommerce's catalogue read has ended and before any write is planned, not after the
    last chunk; everything it decided is sent in the same sync."""
    read_ended = threading.Event()
    seen_when_customers_began: list[tuple[bool, int]] = []
    stage = CustomerSync.run

    def customers_stage(self: CustomerSync, **kwargs: Any) -> Any:
        with Store(self.store.path) as look:  # another connection's view of the file, now
            queued = look.db.execute(
                "SELECT count(*) FROM outbox WHERE channel = 'square' AND done_at IS NULL"
            ).fetchone()[0]
        seen_when_customers_began.append((read_ended.is_set(), queued))
        return stage(self, **kwargs)

    with Sandbox(products=12, locations=2) as box, Store(tmp_path / "shopbridge.db") as store:
        runner = make_runner(box, store)
        runner.chunk_size = 2
        runner.run(force=True)
        assert runner.prepare().plan.empty
        reprice_shared_skus(box, 70)
        _customers_for_all(runner, box)
        woo = runner.adapters["woocommerce"]
        catalogue = woo.iter_catalog

        def iter_catalog(*args: Any, **kwargs: Any) -> Any:
            yield from catalogue(*args, **kwargs)
            read_ended.set()

        monkeypatch.setattr(woo, "iter_catalog", iter_catalog)
        box.woocommerce.server.faults.add(FaultRule(kind="latency", seconds=0.2, times=None))
        monkeypatch.setattr(CustomerSync, "run", customers_stage)
        _, report = runner.run(force=True)
        assert not report.failed and not report.deferred and not report.errors, report
        assert read_ended.is_set()
        assert seen_when_customers_began == [(False, 0)]
        for n, sku in enumerate(box.catalogues.shared_skus):
            variation = box.square.variation_by_sku(sku)
            assert variation is not None
            assert variation["item_variation_data"]["price_money"]["amount"] == (70 + n) * 100, sku
        assert "ann@example.com" in _woo_accounts(box)
        assert report.sent["woocommerce"] >= 1
        assert runner.prepare().plan.empty


def test_a_sync_refused_for_its_plan_syncs_no_customer_either(tmp_path: Any) -> None:
    """Unforced, the customers stage waits for the catalogue plan's judgement: a sync refused
    for its plan has queued and sent nothing, the till's new customer included; forced, both go."""
    with Sandbox(products=12, locations=2) as box, Store(tmp_path / "shopbridge.db") as store:
        runner = make_runner(box, store)  # a first sync of two shops' stock: a big first change
        _customers_for_all(runner, box)
        with pytest.raises(UnsafePlan):
            runner.run()
        assert store.figures()["outbox_pending"] == 0
        assert "ann@example.com" not in _woo_accounts(box)
        _, report = runner.run(force=True)
        assert not report.failed and not report.errors, report
        assert "ann@example.com" in _woo_accounts(box)


def test_a_chunk_is_recorded_while_the_next_one_is_planned(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first chunk's transaction waits until the second chunk's planning has begun: it can
    only end if recording and planning go on at once. The sync then ends as one recorded in
    line does."""
    second_planned = threading.Event()
    decided: list[int] = []
    recorded_beside_planning: list[bool] = []
    decide, record = engine.decide, Store.record_chunk

    def planning(*args: Any, **kwargs: Any) -> Any:
        decided.append(1)
        if len(decided) == 2:
            second_planned.set()
        return decide(*args, **kwargs)

    def recording(self: Store, chunk: Any) -> Any:
        if not recorded_beside_planning:
            recorded_beside_planning.append(second_planned.wait(WAIT_SECONDS))
        return record(self, chunk)

    monkeypatch.setattr(engine, "decide", planning)
    monkeypatch.setattr(Store, "record_chunk", recording)
    with Sandbox(products=12, locations=2) as box, Store(tmp_path / "shopbridge.db") as store:
        runner = make_runner(box, store)
        runner.chunk_size = 2
        _, report = runner.run(force=True)
        assert recorded_beside_planning == [True]
        assert not report.failed and not report.deferred and not report.errors
        for sku in box.catalogues.shared_skus:
            assert box.woocommerce.stock_of(sku) == _square_total(box, sku), sku
        assert runner.prepare().plan.empty


def test_a_chunk_that_cannot_be_recorded_stops_the_sync_and_moves_no_cursor(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recorded on another thread, a chunk's failure is still the sync's: raised from it, with the
    chunks before it recorded and the cursors (recorded with the last) where they were."""
    calls: list[set[tuple[str, str]]] = []
    record = Store.record_chunk

    def failing_second(self: Store, chunk: Any) -> Any:
        calls.append({(name, p.channel_id) for name, read in chunk.last_read.items() for p in read})
        if len(calls) == 2:
            raise OSError("disk full")
        return record(self, chunk)

    monkeypatch.setattr(Store, "record_chunk", failing_second)
    with Sandbox(products=12, locations=2) as box, Store(tmp_path / "shopbridge.db") as store:
        runner = make_runner(box, store)
        runner.chunk_size = 2
        with pytest.raises(OSError, match="disk full"):
            runner.run(force=True)
        assert len(calls) == 2  # nothing handed over after the failure
        # The first chunk was recorded and the second not (which chunk comes first follows the
        # order the pages were read in: it may be products on one channel only, with no link).
        recorded = {(name, p.channel_id) for name in runner.adapters for p in store.last_read(name)}
        assert recorded == calls[0]
        assert all(store.get_cursor(name, "catalog") is None for name in runner.adapters)


def test_a_mass_price_change_goes_to_square_in_full_calls(tmp_path: Any) -> None:
    """Every price changed on the web shop: Square's edits go in lanes of what one call takes
    (250 variations re-read in one call and upserted as whole items in one), not in lanes of a
    few dozen, each a round trip under real latency."""
    with Sandbox(products=600, locations=1) as box, Store(tmp_path / "shopbridge.db") as store:
        runner = make_runner(box, store)
        runner.adapters["square"].concurrency = 4
        runner.run(force=True)
        assert runner.prepare().plan.empty
        reprice_shared_skus(box, 70)
        box.square.server.reset_stats()
        _, report = runner.run(force=True, rounds=1)
        edits = report.sent["square"]
        assert edits == len(box.catalogues.shared_skus) >= 500
        stats = box.square.server.stats
        upserts, reads = stats["POST BatchUpsertCatalogObjects"], stats["POST BatchRetrieveCatalogObjects"]
        assert 0 < upserts <= math.ceil(edits / 250) + 1, stats
        assert 0 < reads <= math.ceil(edits / 250) + 1, stats
