"""Issue 12 item 4: a channel's writes go out with bounded concurrency, a SKU's writes in order, and
a channel that says "wait" (429 + Retry-After) is waited for by every worker, not just the one told.

Against the real WooCommerce emulator over loopback, with a real SQLite store; no timed assertion
(the emulator's injected latency only makes the requests overlap)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from adapters.base import ChannelGate
from adapters.woocommerce import WooCommerceAdapter
from bridge.lanes import split_lanes
from bridge.progress import QuietProgress
from bridge.relay import Relay
from bridge.store import Store
from bridge.writes import SetStock, UpdateVariant, WriteOp
from sandbox.http import EmulatorServer, Request, Response
from sandbox.seed import SeedProduct, SeedVariant
from sandbox.woocommerce import WooCommerceEmulator
from tests.woo_helpers import make_adapter

PRODUCTS = 30
SIZES = ("S", "M", "L")


def _catalogue() -> list[SeedProduct]:
    """Variable products (their variations are one batch call per product) and simple ones."""
    out = []
    for n in range(PRODUCTS):
        if n % 3 == 0:
            out.append(SeedProduct(f"Mug {n}", (SeedVariant(f"MUG-{n}", Decimal("5.00"), stock=1),)))
        else:
            variants = tuple(
                SeedVariant(f"TEE-{n}-{s}", Decimal("9.00"), stock=1, options={"Size": s}) for s in SIZES
            )
            out.append(SeedProduct(f"Tee {n}", variants))
    return out


@pytest.fixture
def woo() -> Iterator[WooCommerceEmulator]:
    with WooCommerceEmulator() as emulator:
        emulator.seed(_catalogue())
        yield emulator


def _set_stock(emu: WooCommerceEmulator, sku: str, quantity: int, key: str) -> dict[str, Any]:
    held = emu.product_by_sku(sku)
    parent = held.get("parent_id") or held["id"]
    op = SetStock(key=key, product_id=str(parent), variant_id=str(held["id"]), quantity=quantity)
    return {
        "channel": "woocommerce",
        "idempotency_key": key,
        "action": "set_stock",
        "sku": sku,
        "op": {"op": op.model_dump(mode="json"), "meta": {"after": quantity}},
    }


def _skus(emu: WooCommerceEmulator) -> list[str]:
    return sorted(emu.sku_index)


def _relay(store: Store, adapter: WooCommerceAdapter) -> Relay:
    return Relay(store, {"woocommerce": adapter}, QuietProgress(), max_attempts=5)


def _queue_two_writes_per_sku(store: Store, emu: WooCommerceEmulator) -> dict[str, int]:
    """Every SKU's first write queued, then every SKU's second: split by position alone, a SKU's
    two writes would be in different lanes, racing. Returns the count each SKU must end with."""
    skus = _skus(emu)
    store.outbox_enqueue(_set_stock(emu, sku, 10 + i, f"first-{sku}") for i, sku in enumerate(skus))
    store.outbox_enqueue(_set_stock(emu, sku, 50 + i, f"second-{sku}") for i, sku in enumerate(skus))
    return {sku: 50 + i for i, sku in enumerate(skus)}


def test_lanes_keep_every_write_of_a_sku_or_product_together_in_outbox_order() -> None:
    ops: list[WriteOp] = []
    skus: list[str | None] = []
    for round_ in ("a", "b"):
        for n in range(40):
            ops.append(SetStock(key=f"{round_}{n}", product_id=f"p{n // 2}", variant_id=f"v{n}", quantity=n))
            skus.append(f"SKU-{n}")
    ops.append(UpdateVariant(key="price", product_id="p3", variant_id="v7", fields={"name": "x"}))
    skus.append(None)
    entries = list(range(len(ops)))

    lanes = split_lanes(entries, ops, skus, 4)

    assert len(lanes) >= 4, "the writes are spread over the workers"
    assert sorted(e for lane in lanes for e in lane.entries) == entries, "every write exactly once"
    lane_of = {e: i for i, lane in enumerate(lanes) for e in lane.entries}
    for n in range(40):  # a SKU's two writes, and a product's two variants, share a lane
        assert lane_of[n] == lane_of[40 + n] == lane_of[2 * (n // 2)]
    assert lane_of[80] == lane_of[7], "a write naming only the product and variant joins their lane"
    for lane in lanes:
        assert lane.entries == sorted(lane.entries), "outbox order within a lane"
        assert [op.key for op in lane.ops] == [ops[e].key for e in lane.entries]
    assert split_lanes(entries, ops, skus, 1)[0].entries == entries, "concurrency 1: one call, as before"


def test_writes_go_out_concurrently_never_more_than_configured_and_each_sku_ends_on_its_last_write(
    woo: WooCommerceEmulator, store: Store
) -> None:
    final = _queue_two_writes_per_sku(store, woo)
    woo.server.faults.add(kind="latency", seconds=0.05, times=None)  # requests overlap
    adapter = make_adapter(woo, concurrency=3)

    report = _relay(store, adapter).send()

    assert report.sent["woocommerce"] == 2 * len(final) and not report.errors
    assert {sku: woo.stock_of(sku) for sku in final} == final, "each SKU's later write landed last"
    assert woo.server.peak_in_flight <= 3, "never more requests in flight than configured"
    assert woo.server.peak_in_flight >= 2, "the writes were sent side by side"
    assert store.outbox_due_count("woocommerce") == 0


def test_concurrency_one_sends_one_call_at_a_time(woo: WooCommerceEmulator, store: Store) -> None:
    final = _queue_two_writes_per_sku(store, woo)
    woo.server.faults.add(kind="latency", seconds=0.01, times=None)

    _relay(store, make_adapter(woo, concurrency=1)).send()

    assert {sku: woo.stock_of(sku) for sku in final} == final
    assert woo.server.peak_in_flight == 1


class _Arrivals:
    """Spy on a real emulator: when each request arrived and when each answer left, with its status."""

    def __init__(self, server: EmulatorServer) -> None:
        self.log: list[tuple[float, float, str, int | None]] = []
        self._lock = threading.Lock()
        real = server.dispatch

        def dispatch(request: Request) -> tuple[Response | None, bool]:
            arrived = time.monotonic()
            response, reset = real(request)
            with self._lock:
                self.log.append(
                    (arrived, time.monotonic(), request.path, response.status if response else None)
                )
            return response, reset

        server.dispatch = dispatch  # type: ignore[method-assign]


def test_a_429_with_retry_after_on_one_request_holds_the_whole_channel(
    woo: WooCommerceEmulator, store: Store
) -> None:
    final = _queue_two_writes_per_sku(store, woo)
    woo.server.faults.add(kind="latency", seconds=0.02, times=None)
    woo.server.faults.add(kind="status", status=429, retry_after=1.5, path="/variations/batch$", times=1)
    arrivals = _Arrivals(woo.server)
    concurrency = 4

    report = _relay(store, make_adapter(woo, concurrency=concurrency, backoff_max=5.0)).send()

    assert {sku: woo.stock_of(sku) for sku in final} == final, "the refused batch was sent again"
    assert report.sent["woocommerce"] == 2 * len(final)
    refused = [answered for _, answered, _, status in arrivals.log if status == 429]
    assert len(refused) == 1
    # Until Retry-After has passed, only requests already on their way when the 429 was answered
    # may arrive (at most one per other worker): without the shared gate the other workers would
    # have gone on sending a request every 20 ms or so.
    during = [a for a, _, _, status in arrivals.log if refused[0] < a < refused[0] + 1.5 and status != 429]
    assert len(during) <= concurrency, during
    assert any(a >= refused[0] + 1.5 for a, _, _, _ in arrivals.log), "sending resumed after the hold"


def test_a_slow_call_holds_up_only_its_own_few_writes_while_the_workers_take_the_rest(
    woo: WooCommerceEmulator, store: Store
) -> None:
    """One product's batch is slow (a slow plugin, a locked row): here it is not answered until
    the other writes are, or 30 s have passed. The other workers go on with the other lanes
    meanwhile, instead of leaving every write queued behind it until it answers."""
    slow = woo.product_by_sku("TEE-1-S")
    slow_path = f"/products/{slow.get('parent_id') or slow['id']}/variations/batch"
    skus = _skus(woo)
    first = [sku for sku in skus if sku.startswith("TEE-1-")]
    store.outbox_enqueue(_set_stock(woo, sku, 7, f"set-{sku}") for sku in first)
    store.outbox_enqueue(_set_stock(woo, sku, 7, f"set-{sku}") for sku in skus if sku not in first)
    lane_mates = 24  # what may share the slow call's lane (about 70 writes / 3 workers: a lane each)
    others_done = threading.Event()
    real = woo.server.dispatch

    def dispatch(request: Request) -> tuple[Response | None, bool]:
        if request.path.endswith(slow_path) and not others_done.is_set():
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if sum(woo.stock_of(sku) == 7 for sku in skus) >= len(skus) - len(first) - lane_mates:
                    others_done.set()
                    break
                time.sleep(0.01)
        return real(request)

    woo.server.dispatch = dispatch  # type: ignore[method-assign]

    report = _relay(store, make_adapter(woo, concurrency=3)).send()

    assert report.sent["woocommerce"] == len(skus) and not report.errors
    assert all(woo.stock_of(sku) == 7 for sku in skus)
    assert others_done.is_set(), "the writes queued after the slow call waited for it"


def test_the_gate_makes_every_caller_wait_out_the_longest_hold() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    gate = ChannelGate(clock=lambda: now[0], sleep=sleep)
    assert gate.wait() == 0 and not slept, "an open gate lets a request straight through"
    gate.hold(5.0)
    gate.hold(1.0)  # a shorter hold told to another request does not reopen the gate early
    assert gate.wait() == pytest.approx(5.0)
    assert now[0] == pytest.approx(105.0)
    assert gate.wait() == 0, "once the hold has passed, requests go again"


def _simple_shop(emu: WooCommerceEmulator, products: int) -> None:
    emu.seed(
        SeedProduct(f"Mug {n}", (SeedVariant(f"MUG-{n}", Decimal("5.00"), stock=n),)) for n in range(products)
    )


def test_read_pages_are_fetched_side_by_side_and_each_count_keeps_its_own_pages_moment(store: Store) -> None:
    """WooCommerce pages by ``page=N``: after the first page says how many there are, the next
    ones go out together. Each count is still dated by the answer that carried it (a later
    page's ``Date`` would claim the count saw sales it never saw)."""
    with WooCommerceEmulator() as emu:
        _simple_shop(emu, 450)  # five pages of 100
        served = iter(range(1_000_000))
        emu.server.clock = lambda: 1_800_000_000 + 3600 * next(served)  # every answer an hour later
        emu.server.faults.add(kind="latency", seconds=0.05, times=None)
        together = make_adapter(emu, concurrency=3).read_catalog()
        calls_together, peak = emu.server.calls("GET "), emu.server.peak_in_flight
        emu.server.reset_stats()
        alone = make_adapter(emu, concurrency=1).read_catalog()

    def stock(page: Any) -> dict[str, int | None]:
        return {v.sku or "": v.stock for p in page.items for v in p.variants}

    assert stock(together) == stock(alone) and len(stock(together)) == 450
    assert calls_together == emu.server.calls("GET "), "no page asked for twice, none past the end"
    assert 2 <= peak <= 3
    products_by_id = sorted(together.items, key=lambda p: int(p.channel_id))
    pages = [products_by_id[i : i + 100] for i in range(0, 450, 100)]
    stamps = [{p.variants[0].counted_at for p in page} for page in pages]
    assert all(len(s) == 1 for s in stamps), "one page, one answer, one moment"
    assert len({next(iter(s)) for s in stamps}) == 5, "no page dated by another page's answer"
