"""End to end over loopback: both emulators, the real adapters, a real SQLite file.

A first sync between overlapping catalogues (SKU matches, a GTIN-only match, one-sided products, a
SKU duplicated in Square), then sales on both sides, a manual count at the till, echoes of our own
writes, a crash between queueing and sending, and the CLI's dry-run JSON.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from bridge.daemon import Daemon
from bridge.server import WebhookServer
from bridge.store import Store
from bridge.sync import UnsafePlan
from sandbox.http import FaultRule
from sandbox.launch import Sandbox
from tests.conftest import RunCli
from tests.sync_helpers import make_runner, square_stock


def test_first_sync_plan_and_resulting_state(box: Sandbox, store: Store) -> None:
    runner = make_runner(box, store)
    prepared = runner.prepare()
    plan = prepared.plan.to_json()
    by_sku = {(c["channel"], c["action"], c["sku"]) for c in plan["changes"]}

    # Woo-only product is created in Square (WooCommerce owns the catalogue); Square-only is reported.
    assert ("square", "create", "GIFT-SLEEVE") in by_sku
    assert not any(c["sku"] == "TILL-TOTE" and c["action"] == "create" for c in plan["changes"])
    warnings = "\n".join(plan["warnings"])
    assert "TILL-TOTE" in warnings
    assert "STICKER" in warnings  # used twice in Square: reported, never guessed at
    # The GTIN-only pair is linked: canonical SKU is the owner's.
    pin = next(g for g in prepared.groups if g.sku == "PIN-SET")
    assert set(pin.members) == {"woocommerce", "square"}
    assert pin.matched_by == "gtin"
    # Counts already agree at the single location: the only changes are the creation and, once
    # created, its stock (listed with the create it follows: it is sent by the same sync).
    assert by_sku == {("square", "create", "GIFT-SLEEVE"), ("square", "adjust_stock", "GIFT-SLEEVE")}
    [follow_up] = [c for c in plan["changes"] if c["action"] == "adjust_stock"]
    create_key = next(c["key"] for c in plan["changes"] if c["action"] == "create")
    assert (follow_up["after"], follow_up["follows"], follow_up["op"]) == (30, create_key, None)
    assert all(c["reason"] for c in plan["changes"])

    _plans, report = runner.run()
    assert not report.failed and not report.deferred
    # Stock is seeded from Square's count at its (single) location; the web shop shows the same.
    for sku in box.catalogues.shared_skus:
        assert box.woocommerce.stock_of(sku) == square_stock(box, sku), sku
    assert box.woocommerce.stock_of("PIN-SET") == square_stock(box, "POS-PINSET-01") == 12
    # The created product carries WooCommerce's stock into Square.
    assert square_stock(box, "GIFT-SLEEVE") == 30
    assert box.square.variation_by_sku("GIFT-SLEEVE")["item_variation_data"]["price_money"]["amount"] == 250
    # The agreed catalogue is in the store, grouped by the owner's products.
    price = store.db.execute(
        "SELECT price, currency, status FROM variants WHERE sku = 'GIFT-SLEEVE'"
    ).fetchone()
    assert tuple(price) == ("2.5", "USD", "active")
    sizes = dict(
        store.db.execute(
            "SELECT p.name, count(*) FROM variants v JOIN products p ON p.id = v.product_id GROUP BY p.id"
        ).fetchall()
    )
    variable = next(p for p in box.catalogues.woocommerce if not p.is_simple)
    assert sizes[variable.name] == len(variable.variants)
    # And a sync right after plans nothing.
    assert runner.prepare().plan.empty


def test_sales_on_both_sides_end_at_initial_minus_total_sold(box: Sandbox, store: Store) -> None:
    runner = make_runner(box, store)
    runner.run()
    sku_a, sku_b, sku_c = box.catalogues.shared_skus[:3]
    initial = {sku: box.woocommerce.stock_of(sku) or 0 for sku in (sku_a, sku_b, sku_c)}
    var_a = box.square.variation_by_sku(sku_a)
    var_c = box.square.variation_by_sku(sku_c)
    assert var_a and var_c

    box.woocommerce.simulate_sale([(sku_a, 2), (sku_b, 1)])
    box.square.simulate_sale(var_a["id"], 1)  # the same SKU at the till
    box.square.simulate_sale(var_c["id"], 3)
    plans, report = runner.run()
    assert not report.failed
    reasons = " ".join(c.reason for c in plans[0].changes)
    assert "woocommerce" in reasons and "square" in reasons

    expected = {sku_a: initial[sku_a] - 3, sku_b: initial[sku_b] - 1, sku_c: initial[sku_c] - 3}
    for sku, quantity in expected.items():
        assert box.woocommerce.stock_of(sku) == quantity, sku
        assert square_stock(box, sku) == quantity, sku
    assert runner.prepare().plan.empty


def test_manual_counts_propagate_both_ways(box: Sandbox, store: Store) -> None:
    runner = make_runner(box, store)
    runner.run()
    sku, other = box.catalogues.shared_skus[0], box.catalogues.shared_skus[1]
    variation = box.square.variation_by_sku(sku)
    assert variation
    box.square.manual_count(variation["id"], 4)
    box.woocommerce.manual_stock_edit(other, 21)
    _plans, report = runner.run()
    assert not report.failed
    assert box.woocommerce.stock_of(sku) == 4
    assert square_stock(box, other) == 21
    assert box.woocommerce.stock_of(other) == 21
    assert runner.prepare().plan.empty


def test_price_change_on_the_owner_propagates_and_its_echo_is_ignored(box: Sandbox, store: Store) -> None:
    runner = make_runner(box, store)
    runner.run()
    sku = box.catalogues.shared_skus[0]
    product = box.woocommerce.product_by_sku(sku)
    wc = box.woocommerce.connection_info()
    answer = requests.put(
        f"{wc['url']}/wp-json/wc/v3/products/{product['id']}",
        json={"regular_price": "99.50"},
        auth=(wc["consumer_key"], wc["consumer_secret"]),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    plans, _ = runner.run()
    assert [(c.channel, c.action, c.sku) for c in plans[0].changes] == [("square", "update", sku)]
    variation = box.square.variation_by_sku(sku)
    assert variation and variation["item_variation_data"]["price_money"]["amount"] == 9950
    # Square now shows what we wrote: that is our echo, not an edit to revert or flag.
    assert runner.prepare().plan.empty
    assert store.figures()["open_conflicts"] == 0


def test_crash_between_queue_and_send_applies_each_write_once(box: Sandbox, store: Store) -> None:
    runner = make_runner(box, store)
    runner.run()
    sku = box.catalogues.shared_skus[0]
    before = square_stock(box, sku)
    box.woocommerce.simulate_sale([(sku, 2)])

    # Plan and queue twice (a crash after commit, then a restart planning again): queued once.
    first = runner.prepare()
    queued = runner.commit(first)
    again = runner.commit(runner.prepare())
    assert queued >= 1 and again == 0
    # The channel applies the adjustment but every answer is lost (429 after applying), longer than
    # the adapter's own bounded retries last: the write stays queued in the outbox.
    box.square.server.faults.add(
        kind="apply_then_fail", path="/v2/inventory/changes/batch-create", status=429, times=None
    )
    report = runner.relay()
    assert report.deferred.get("square") == 1
    assert square_stock(box, sku) == before - 2  # it did happen remotely
    box.square.server.faults.clear()

    # The process dies here (kill -9): a new one, with no memory of the doubt, sends the queued
    # write in a differently grouped batch (another change has been queued meanwhile).
    other = box.catalogues.shared_skus[1]
    other_before = square_stock(box, other)
    box.woocommerce.simulate_sale([(other, 1)])
    restarted = make_runner(box, store)
    restarted.commit(restarted.prepare())
    store.db.execute("UPDATE outbox SET next_attempt_at = '' WHERE done_at IS NULL")
    report = restarted.relay()
    assert report.sent.get("square") == 2
    assert square_stock(box, sku) == before - 2  # recognised as already applied, not applied twice
    assert square_stock(box, other) == other_before - 1
    assert restarted.prepare().plan.empty


def test_a_failing_channel_does_not_block_the_other(box: Sandbox, store: Store) -> None:
    runner = make_runner(box, store)
    runner.run()
    sku = box.catalogues.shared_skus[0]
    variation = box.square.variation_by_sku(sku)
    assert variation
    before = box.woocommerce.stock_of(sku) or 0
    box.square.simulate_sale(variation["id"], 1)
    box.woocommerce.simulate_sale([(sku, 1)])
    box.woocommerce.server.faults.add(kind="status", status=503, method="POST", path="batch", times=None)
    box.woocommerce.server.faults.add(kind="status", status=503, method="PUT", times=None)
    _plans, report = runner.run()
    assert report.deferred.get("woocommerce", 0) >= 1
    assert square_stock(box, sku) == before - 2  # Square got its write regardless
    assert store.figures()["outbox_pending"] >= 1  # WooCommerce's stays queued
    box.woocommerce.server.faults.clear()
    store.db.execute("UPDATE outbox SET next_attempt_at = '' WHERE done_at IS NULL")
    runner.relay()
    assert box.woocommerce.stock_of(sku) == before - 2


def test_webhooks_of_our_own_writes_cause_no_further_writes(box: Sandbox, store: Store) -> None:
    runner = make_runner(box, store)
    runner.run()
    server = WebhookServer(store, runner.adapters, port=0).start()
    try:
        box.square.subscribe(server.notification_url("square"))
        runner.adapters["woocommerce"].register_webhooks(  # type: ignore[attr-defined]
            server.notification_url("woocommerce"), ["product.updated", "order.created"]
        )
        sku = box.catalogues.shared_skus[1]
        box.woocommerce.simulate_sale([(sku, 1)])
        daemon = Daemon(store, lambda: str(len(runner.run()[0][0].changes)), interval=60)
        assert daemon.run_once() != "0"  # the sale is propagated to Square
        box.square.webhooks.flush()
        box.woocommerce.dispatcher.flush()
        assert store.inbox_pending(), "our writes came back as webhooks"
        assert daemon.run_once() == "0"  # ... and are recognised as echoes: nothing to write
        assert store.inbox_pending() == []
    finally:
        server.stop()


def test_first_sync_too_large_is_refused_and_records_nothing(store: Store) -> None:
    with Sandbox(products=12, locations=2) as two:  # the web shop shows half of the two shops' stock
        runner = make_runner(two, store)
        prepared = runner.prepare()
        assert prepared.plan.safety.safe is False
        assert "first sync would change" in prepared.plan.safety.reasons[0]
        with pytest.raises(UnsafePlan):
            runner.commit(prepared)
        assert store.figures()["outbox_pending"] == 0
        assert store.links("variant") == []


def test_a_link_made_by_hand_before_the_first_sync_keeps_the_first_sync_limits(store: Store) -> None:
    with Sandbox(products=12, locations=2) as two:
        runner = make_runner(two, store)
        sku = "SB-00001"
        woo = next(p for p in runner.adapters["woocommerce"].read_catalog().items if p.variants[0].sku == sku)
        store.upsert_links(  # what `shopbridge link` stores
            [
                {
                    "entity": "variant",
                    "canonical_key": sku,
                    "channel": "woocommerce",
                    "channel_id": woo.variants[0].channel_id,
                    "parent_id": woo.channel_id,
                }
            ]
        )
        assert runner.first_sync()
        with pytest.raises(UnsafePlan):
            runner.run()
        assert store.figures()["outbox_pending"] == 0
        runner.run(force=True)
        assert not runner.first_sync()


def test_cli_dry_run_json_then_sync_then_empty_plan(tmp_path: Path, run_cli: RunCli) -> None:
    config = tmp_path / "sandbox.toml"
    box = Sandbox(products=12, locations=2).start()
    box.write_config(config)
    refused = run_cli("-c", str(config), "sync")
    assert refused.returncode == 2 and "--dry-run" in refused.stderr  # first sync wants a review

    dry = run_cli("-c", str(config), "sync", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["changes"]
    assert all({"channel", "action", "sku", "reason"} <= set(c) for c in plan["changes"])
    assert run_cli("-c", str(config), "status", "--json").returncode == 0

    unsafe = run_cli("-c", str(config), "sync")
    assert unsafe.returncode == 1 and "safety limit" in unsafe.stderr
    applied = run_cli("-c", str(config), "sync", "--force")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    again = run_cli("-c", str(config), "sync", "--dry-run", "--json")
    assert json.loads(again.stdout)["changes"] == []
    full = run_cli("-c", str(config), "sync", "--full", "--json")  # the drift check: everything re-read
    assert full.returncode == 0, full.stderr
    assert json.loads(full.stdout)["changes"] == []
    assert (tmp_path / "shopbridge.db").exists() and not list(tmp_path.glob("*.staging-*"))  # scratch gone
    status = json.loads(run_cli("-c", str(config), "status", "--json").stdout)
    assert status["linked"]["woocommerce"]["variant"] >= 13
    assert status["outbox_pending"] == 0
    box.stop()


def _due_now(store: Store) -> None:
    """Skip the backoff delay of queued writes (time passing, in a test)."""
    store.db.execute("UPDATE outbox SET next_attempt_at = '' WHERE done_at IS NULL")


def test_a_sale_while_our_square_write_is_in_doubt_is_counted_once(box: Sandbox, store: Store) -> None:
    runner = make_runner(box, store)
    runner.run()
    sku = box.catalogues.shared_skus[0]
    before = square_stock(box, sku)
    box.woocommerce.simulate_sale([(sku, 2)])
    runner.commit(runner.prepare())
    box.square.server.faults.add(
        kind="apply_then_fail", path="/v2/inventory/changes/batch-create", status=429, times=None
    )
    runner.relay()  # Square applied -2, we never heard
    box.square.server.faults.clear()
    box.woocommerce.simulate_sale([(sku, 1)])
    restarted = make_runner(box, store)
    prepared = restarted.prepare()
    # Square's count moved by our own unconfirmed write: not a manual change, not a second write.
    assert not [e for e in prepared.new_entries if e.kind.value == "adjustment"]
    assert not [c for c in prepared.plan.changes if c.channel == "square"]
    restarted.commit(prepared)
    _due_now(store)
    restarted.run()
    restarted.run()
    assert store.on_hand([sku]) == {(sku, box.square.location_ids()[0]): before - 3}
    assert square_stock(box, sku) == box.woocommerce.stock_of(sku) == before - 3


def test_a_lost_answer_from_woocommerce_is_not_taken_for_a_manual_edit(box: Sandbox, store: Store) -> None:
    runner = make_runner(box, store)
    runner.run()
    sku = box.catalogues.shared_skus[0]
    before = square_stock(box, sku)
    variation = box.square.variation_by_sku(sku)
    assert variation
    box.square.simulate_sale(variation["id"], 1)
    runner.commit(runner.prepare())
    box.woocommerce.server.faults.add(
        kind="apply_then_fail", method="POST", path="batch", status=503, times=None
    )
    box.woocommerce.server.faults.add(kind="apply_then_fail", method="PUT", status=503, times=None)
    runner.relay()
    box.woocommerce.server.faults.clear()
    restarted = make_runner(box, store)
    restarted.run()
    _due_now(store)
    restarted.run()
    restarted.run()
    assert store.on_hand([sku]) == {(sku, box.square.location_ids()[0]): before - 1}
    assert box.woocommerce.stock_of(sku) == square_stock(box, sku) == before - 1


def test_a_write_given_up_during_an_outage_is_sent_when_planned_again(box: Sandbox, store: Store) -> None:
    runner = make_runner(box, store)
    runner.run()
    runner.max_attempts = 1  # stands for a long outage exhausting the retries
    sku = box.catalogues.shared_skus[0]
    before = square_stock(box, sku)
    variation = box.square.variation_by_sku(sku)
    assert variation
    box.square.simulate_sale(variation["id"], 1)
    box.woocommerce.server.faults.add(kind="status", status=503, method="POST", path="batch", times=None)
    box.woocommerce.server.faults.add(kind="status", status=503, method="PUT", times=None)
    _, report = runner.run()
    assert report.failed.get("woocommerce") == 1  # reported as given up, not as "queued"
    box.woocommerce.server.faults.clear()
    prepared = runner.prepare(full=True)
    assert runner.commit(prepared) == 1  # the same change, same key, re-armed
    runner.relay()
    assert box.woocommerce.stock_of(sku) == before - 1


def test_a_new_square_location_starts_from_its_own_count(box: Sandbox, store: Store) -> None:
    runner = make_runner(box, store)
    runner.run()
    sku = box.catalogues.shared_skus[0]
    variation = box.square.variation_by_sku(sku)
    assert variation
    web_before = box.woocommerce.stock_of(sku) or 0
    [new_place] = box.square.add_locations(["Pop-up"])
    box.square.manual_count(variation["id"], 6, location_id=new_place)
    runner.run()
    assert box.square.count(variation["id"], new_place) == 6  # not zeroed
    assert box.woocommerce.stock_of(sku) == web_before + 6  # the web shop now sells from both


def test_a_first_sync_does_not_read_the_order_history(box: Sandbox, store: Store) -> None:
    """Years of orders are already in the counts a first sync seeds from: it starts reading there."""
    woo = box.woocommerce
    woo.freeze_time(woo.now() - timedelta(days=2))
    sold = 0
    for sku in ("SB-00003-S", "SB-00004", "SB-00006-RED", "SB-00006-BLU", "SB-00007"):
        for _ in range(25):  # 125 old orders: more than one page of 100
            woo.simulate_sale([(sku, 1)])
            sold += 1
    woo.unfreeze_time()
    woo.server.reset_stats()
    runner = make_runner(box, store)
    prepared = runner.prepare()
    order_reads = {route: n for route, n in woo.server.stats.items() if "orders" in route}
    assert sum(order_reads.values()) == 1, order_reads  # one empty page, not the 125 old orders
    runner.commit(prepared, force=True)  # the web shop's counts differ now: a big first change
    _plans, report = runner.run()
    assert not report.failed and not report.deferred
    # Stock was seeded from the till's counts, which the old web sales never touched.
    for sku in box.catalogues.shared_skus:
        assert woo.stock_of(sku) == square_stock(box, sku), sku
    # A sale after the first sync is read and counted.
    before = square_stock(box, "SB-00007")
    woo.simulate_sale([("SB-00007", 2)])
    runner.run()
    assert square_stock(box, "SB-00007") == woo.stock_of("SB-00007") == before - 2


def test_a_first_sync_planned_in_small_chunks_ends_like_one_planned_at_once(tmp_path: Path) -> None:
    """Chunks are a memory measure only: the plan, the links and both channels end up the same."""
    outcomes = []
    for chunk_size in (1, 100_000):
        with (
            Sandbox(products=12, locations=2) as sandbox,
            Store(tmp_path / f"chunks-{chunk_size}.db") as opened,
        ):
            runner = make_runner(sandbox, opened)
            runner.chunk_size = chunk_size
            with runner.read(full=True) as reading:
                chunks = sum(1 for _ in reading.chunks())
            plan = runner.prepare().plan
            with pytest.raises(UnsafePlan):  # two shops' stock on the web: a big first change
                runner.run()
            assert opened.links("variant") == []  # refused before any chunk was committed
            kept, report = runner.run(force=True, keep_plans=chunk_size > 1)
            assert not report.failed and not report.deferred
            assert report.planned >= len(plan.changes) > 0
            if chunk_size == 1:  # the daemon's way: counted, not held
                assert not any(p.changes for p in kept)
            outcomes.append(
                (
                    sorted((c.channel, c.action, c.sku or "") for c in plan.changes),
                    len(plan.warnings),
                    plan.safety.reasons,
                    sorted((r["canonical_key"], r["channel"]) for r in opened.links("variant")),
                    {sku: sandbox.woocommerce.stock_of(sku) for sku in sandbox.catalogues.shared_skus},
                    runner.prepare().plan.empty,
                )
            )
            assert chunks > 10 if chunk_size == 1 else chunks == 2  # one of everything, then the cursors
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][-1] is True  # and a sync right after plans nothing


class PhaseRecorder:
    """A progress sink that keeps what it heard: ``[phase, total, done]`` in order."""

    def __init__(self) -> None:
        self.phases: list[list[object]] = []

    def start(self, what: str, total: int | None = None) -> None:
        self.phases.append([what, total, 0])

    def advance(self, done: int) -> None:
        self.phases[-1][2] = int(str(self.phases[-1][2])) + done


def test_a_sync_reports_each_phase_and_how_far_it_got(box: Sandbox, store: Store) -> None:
    recorder = PhaseRecorder()
    runner = make_runner(box, store)
    runner.progress = recorder
    products = sum(len(runner.adapters[name].read_catalog().items) for name in ("square", "woocommerce"))
    _, report = runner.run(force=True)
    first: dict[object, tuple[object, object]] = {}
    for what, total, done in recorder.phases:
        first.setdefault(what, (total, done))
    assert first["reading square and woocommerce products"] == (None, products)  # side by side
    assert first["writing changes to square"] == (1, 1)  # round one: GIFT-SLEEVE created
    written = [(t, d) for what, t, d in recorder.phases if what == "writing changes to square"]
    assert sum(int(str(d)) for _, d in written) == report.sent["square"]
    assert all(t == d for t, d in written)
    counted = first["reading square stock counts"]
    assert counted[0] == counted[1] and isinstance(counted[0], int) and counted[0] > 0
    assert "planning and queueing changes (SKUs)" in first


def test_a_sync_reads_the_channels_catalogues_at_the_same_time(box: Sandbox, store: Store) -> None:
    """Each channel's first catalogue page is held back (300 ms, a slow real API): read one
    channel after the other, the two calls would never be in flight together."""
    servers = {"square": box.square.server, "woocommerce": box.woocommerce.server}
    paths = {"square": r"/v2/catalog/search$", "woocommerce": r"/wc/v3/products$"}
    for name, server in servers.items():
        server.faults.add(
            FaultRule(
                kind="latency",
                method="GET" if name == "woocommerce" else None,
                path=paths[name],
                seconds=0.3,
                times=1,
            )
        )
    both = threading.Event()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if all(server.in_flight for server in servers.values()):
                both.set()
                return
            time.sleep(0.002)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        _, report = make_runner(box, store).run(force=True)
    finally:
        done.set()
        watcher.join()
    assert both.is_set()
    assert report.sent  # and the sync went on to write as before
