"""The daemon's event path over loopback: both emulators deliver signed webhooks to the real
receiver, the daemon takes them through a targeted sync (bridge/events.py), and no poll cycle runs.

The poll cycle here is a stand-in that only records when it was called (the first sync was made
by hand before): whatever reaches the other channel after the start got there through the event
path. What is asserted is the order of operations and the counts, never how long anything took.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import requests

from bridge.daemon import Daemon
from bridge.events import EventPath, EventReport, Window, targets_of
from bridge.server import WebhookServer
from bridge.storage import InboxDelivery
from bridge.store import Store
from bridge.sync import SyncRunner
from bridge.targets import TargetRef
from sandbox.launch import Sandbox
from tests.square_helpers import call
from tests.sync_helpers import make_runner, square_stock

WAIT = 30.0
"""The longest a test waits for a sale to show (a bound on a broken run, not an assertion)."""


def wait_for(condition: Callable[[], bool], what: str | Callable[[], str]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what() if callable(what) else what}"
        time.sleep(0.01)


@dataclass
class Recorder:
    """The order of what the daemon did: ``poll`` for each cycle, ``event`` for each event pass."""

    ops: list[str] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)
    at_poll: list[Callable[[], None]] = field(default_factory=list)

    def cycle(self) -> str:
        self.ops.append("poll")
        for check in self.at_poll:
            check()
        return "stand-in cycle"

    def slow_polls(self) -> tuple[threading.Event, threading.Event]:
        """From now on a cycle does not end until the test lets it (a slow channel): the first
        event is set once one is under way, the second lets it end (then ``poll ended``)."""
        polling, release = threading.Event(), threading.Event()

        def slow_poll() -> None:
            polling.set()
            release.wait(WAIT)
            self.ops.append("poll ended")

        self.at_poll.append(slow_poll)
        return polling, release

    def recording(self, path: EventPath) -> EventPath:
        process = path.process

        def recorded() -> EventReport:
            report = process()
            if report.deliveries:
                self.ops.append("event")
                self.batches.append(report.deliveries)
            return report

        path.process = recorded  # type: ignore[method-assign]
        return path


@dataclass
class Running:
    box: Sandbox
    store: Store
    runner: SyncRunner
    server: WebhookServer
    recorder: Recorder
    daemon: Daemon | None = None
    thread: threading.Thread | None = None
    event_store: Store | None = None

    def start_daemon(self) -> Daemon:
        # As `shopbridge daemon` wires it: the event path's thread has a store connection of its own.
        self.event_store = Store(self.store.path)
        daemon = Daemon(
            self.store,
            self.recorder.cycle,
            interval=3600,
            events=self.recorder.recording(
                EventPath(self.event_store, self.runner.sibling(self.event_store))
            ),
            window=Window(0.02, 0.5),
        )
        self.server.on_event = daemon.wake
        self.daemon, self.thread = daemon, threading.Thread(target=daemon.run, daemon=True)
        self.thread.start()
        return daemon

    def stop(self) -> None:
        if self.daemon is not None and self.thread is not None:
            self.daemon.stop()
            self.thread.join(timeout=WAIT)
        if self.event_store is not None:
            self.event_store.close()

    def inbox_settled(self) -> bool:
        """Every delivery the emulators sent is in and processed (read on the test's own connection)."""
        self.box.square.webhooks.flush()
        self.box.woocommerce.dispatcher.flush()
        with Store(self.store.path) as mine:
            return not mine.inbox_pending()


@pytest.fixture
def running(box: Sandbox, store: Store) -> Iterator[Running]:
    runner = make_runner(box, store)
    runner.run()  # the first sync, by hand, as `shopbridge daemon` requires
    server = WebhookServer(store, runner.adapters, port=0).start()
    box.square.subscribe(server.notification_url("square"))
    runner.adapters["woocommerce"].register_webhooks(  # type: ignore[attr-defined]
        server.notification_url("woocommerce"), ["product.updated", "order.created", "order.updated"]
    )
    world = Running(box, store, runner, server, Recorder())
    try:
        yield world
    finally:
        world.stop()
        server.stop()


def test_a_till_sale_reaches_the_web_shop_through_the_event_path_alone(running: Running) -> None:
    box = running.box
    running.start_daemon()
    wait_for(lambda: running.recorder.ops == ["poll"], "the start-up cycle")
    sku = box.catalogues.shared_skus[0]
    before = box.woocommerce.stock_of(sku)
    assert before is not None and before == square_stock(box, sku)
    variation = box.square.variation_by_sku(sku)
    assert variation is not None
    box.square.simulate_sale(variation["id"], 2)

    wait_for(lambda: box.woocommerce.stock_of(sku) == before - 2, "the till sale on WooCommerce")
    wait_for(running.inbox_settled, "every delivery processed")
    wait_for(lambda: "event" in running.recorder.ops, "an event pass recorded")
    assert "poll" not in running.recorder.ops[1:]  # no cycle ran after the start: the event path did it
    assert square_stock(box, sku) == before - 2  # nothing written back to the till


def test_a_till_sale_reaches_the_web_shop_while_a_poll_cycle_is_in_progress(running: Running) -> None:
    """The event path has a thread of its own: a poll cycle that takes long (a slow channel) holds
    no webhook back. The stand-in cycle here does not end until the test lets it."""
    box = running.box
    polling, release = running.recorder.slow_polls()
    running.start_daemon()
    wait_for(polling.is_set, "the start-up cycle under way")
    sku = box.catalogues.shared_skus[3]
    before = box.woocommerce.stock_of(sku)
    assert before is not None and before == square_stock(box, sku)
    variation = box.square.variation_by_sku(sku)
    assert variation is not None
    try:
        box.square.simulate_sale(variation["id"], 1)
        wait_for(lambda: box.woocommerce.stock_of(sku) == before - 1, "the till sale on WooCommerce")
        wait_for(lambda: "event" in running.recorder.ops, "the event pass recorded")
        assert running.recorder.ops == ["poll", "event"]  # the cycle has not ended
    finally:
        release.set()
    wait_for(lambda: "poll ended" in running.recorder.ops, "the cycle's end")
    wait_for(running.inbox_settled, "every delivery processed")
    assert square_stock(box, sku) == before - 1


def test_a_web_order_reaches_the_till_through_the_event_path_alone(running: Running) -> None:
    box = running.box
    running.start_daemon()
    wait_for(lambda: running.recorder.ops == ["poll"], "the start-up cycle")
    sku = box.catalogues.shared_skus[1]
    before = square_stock(box, sku)
    box.woocommerce.simulate_sale([(sku, 1)])

    wait_for(lambda: square_stock(box, sku) == before - 1, "the web order at the till")
    wait_for(running.inbox_settled, "every delivery processed")
    wait_for(lambda: "event" in running.recorder.ops, "an event pass recorded")
    assert "poll" not in running.recorder.ops[1:]
    assert box.woocommerce.stock_of(sku) == before - 1
    # The poll that follows reads the same order and change log again and finds nothing to do.
    running.stop()
    _plans, report = running.runner.run()
    assert report.planned == 0
    assert square_stock(box, sku) == box.woocommerce.stock_of(sku) == before - 1


def signed_woo(body: bytes, secret: str, topic: str) -> dict[str, str]:
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": topic.partition(".")[0],
        "X-WC-Webhook-Signature": signature,
        "X-WC-Webhook-ID": "99",
    }


def test_a_webhook_for_a_resource_that_no_longer_exists_is_harmless(running: Running) -> None:
    box, store = running.box, running.store
    running.start_daemon()
    wait_for(lambda: running.recorder.ops == ["poll"], "the start-up cycle")
    secret = box.woocommerce.connection_info()["webhook_secret"]
    for topic, rid in (("order.created", 987654), ("product.updated", 876543)):
        body = json.dumps({"id": rid, "date_modified_gmt": "2026-12-01T10:00:00"}).encode()
        answer = requests.post(
            running.server.notification_url("woocommerce"),
            data=body,
            headers=signed_woo(body, secret, topic),
            timeout=10,
        )
        assert answer.status_code == 200
    counts = {sku: box.woocommerce.stock_of(sku) for sku in box.catalogues.shared_skus}

    wait_for(running.inbox_settled, "the deliveries processed")
    wait_for(lambda: "event" in running.recorder.ops, "an event pass recorded")
    assert running.recorder.ops == ["poll", *["event"] * (len(running.recorder.ops) - 1)]
    assert len(running.recorder.ops) > 1  # the event path took them, and handed nothing to a poll
    assert {sku: box.woocommerce.stock_of(sku) for sku in box.catalogues.shared_skus} == counts
    with Store(store.path) as mine:
        assert mine.figures()["outbox_pending"] == 0


def test_a_delivery_only_a_poll_can_cover_holds_back_no_sale_while_that_poll_runs(running: Running) -> None:
    """A delivery naming nothing the event path can re-read (a coupon) is handed to a poll cycle;
    while that cycle runs (slow here until the test lets it end), later sales still go through
    the event path, and the poll marks the handed-over delivery processed."""
    box = running.box
    running.start_daemon()
    wait_for(lambda: running.recorder.ops == ["poll"], "the start-up cycle")
    polling, release = running.recorder.slow_polls()
    secret = box.woocommerce.connection_info()["webhook_secret"]
    body = json.dumps({"id": 5, "code": "spring"}).encode()
    answer = requests.post(
        running.server.notification_url("woocommerce"),
        data=body,
        headers=signed_woo(body, secret, "coupon.updated"),
        timeout=10,
    )
    assert answer.status_code == 200
    wait_for(polling.is_set, "the poll cycle the coupon asked for")
    sku = box.catalogues.shared_skus[0]
    before = box.woocommerce.stock_of(sku)
    assert before is not None
    variation = box.square.variation_by_sku(sku)
    assert variation is not None
    try:
        box.square.simulate_sale(variation["id"], 1)
        wait_for(lambda: box.woocommerce.stock_of(sku) == before - 1, "the till sale on WooCommerce")
        assert "poll ended" not in running.recorder.ops
    finally:
        release.set()
    wait_for(running.inbox_settled, "every delivery processed, the coupon's by the poll")


def test_a_burst_of_a_hundred_deliveries_is_coalesced_and_every_sale_counted_once(running: Running) -> None:
    box, store = running.box, running.store
    running.start_daemon()
    wait_for(lambda: running.recorder.ops == ["poll"], "the start-up cycle")
    skus = box.catalogues.shared_skus[:4]
    variations = {sku: box.square.variation_by_sku(sku) for sku in skus}
    for variation in variations.values():  # enough stock for the burst: a count at the till
        assert variation is not None
        box.square.manual_count(variation["id"], 100)
    initial = dict.fromkeys(skus, 100)
    wait_for(lambda: all(box.woocommerce.stock_of(sku) == 100 for sku in skus), "the counts on WooCommerce")
    sold = dict.fromkeys(skus, 0)
    for n in range(50):  # 50 till sales and 50 web orders, interleaved: over 100 deliveries
        sku = skus[n % len(skus)]
        variation = variations[sku]
        assert variation is not None
        box.square.simulate_sale(variation["id"], 1)
        box.woocommerce.simulate_sale([(sku, 1)])
        sold[sku] += 2

    def settled() -> bool:
        return all(
            box.woocommerce.stock_of(sku) == square_stock(box, sku) == initial[sku] - sold[sku]
            for sku in skus
        )

    wait_for(
        settled,
        lambda: (
            "every sale on both channels: "
            + repr(
                {
                    sku: (box.woocommerce.stock_of(sku), square_stock(box, sku), initial[sku] - sold[sku])
                    for sku in skus
                }
            )
        ),
    )
    wait_for(running.inbox_settled, "every delivery processed")
    with Store(store.path) as mine:
        deliveries = mine.db.execute("SELECT count(*) FROM inbox").fetchone()[0]
    assert deliveries >= 100
    recorder = running.recorder
    assert "poll" not in recorder.ops[1:]
    assert sum(recorder.batches) >= 100
    assert len(recorder.batches) <= deliveries // 2 and max(recorder.batches) > 1  # coalesced
    # Counted once: a real poll now reads every order and change again and changes nothing.
    running.stop()
    _plans, report = running.runner.run()
    assert report.planned == 0
    assert settled()


def test_a_delivery_left_pending_by_a_killed_daemon_is_processed_at_the_next_start(running: Running) -> None:
    box = running.box
    sku = box.catalogues.shared_skus[2]
    before = square_stock(box, sku)
    box.woocommerce.simulate_sale([(sku, 1)])  # received and committed; no daemon processes it
    box.woocommerce.dispatcher.flush()
    with Store(running.store.path) as mine:
        assert mine.inbox_pending(), "the web order's delivery is in the inbox"
    assert square_stock(box, sku) == before

    # At the next start the event path takes it before the first poll cycle runs.
    seen_at_poll: list[int] = []
    running.recorder.at_poll.append(lambda: seen_at_poll.append(square_stock(box, sku)))
    running.start_daemon()
    wait_for(lambda: bool(seen_at_poll), "the start-up cycle")
    assert running.recorder.ops[0] == "event"  # taken before the start-up cycle ...
    assert seen_at_poll == [before - 1]  # ... which found the till already written
    wait_for(running.inbox_settled, "every delivery processed")


def delivery(channel: str, resource: str | None, resource_id: str | None, n: int = 1) -> InboxDelivery:
    return InboxDelivery(
        channel=channel,
        event_id=f"e{n}",
        topic="t",
        resource=resource,
        resource_id=resource_id,
        body=b"{}",
        received_at="",
        processed_at=None,
        error=None,
    )


def test_deliveries_become_targets_once_each_and_unnamed_ones_need_a_poll() -> None:
    rows = [
        delivery("woocommerce", "order", "7", 1),
        delivery("woocommerce", "order", "7", 2),
        delivery("square", "inventory", "VAR1", 3),
    ]
    assert targets_of(rows) == {
        "woocommerce": [TargetRef("order", "7")],
        "square": [TargetRef("inventory", "VAR1")],
    }
    assert targets_of([*rows, delivery("square", "product", None, 4)]) is None  # catalog.version.updated
    assert targets_of([delivery("woocommerce", "customer", "3")]) is None


def test_the_window_grows_while_deliveries_keep_coming_and_shrinks_when_quiet() -> None:
    window = Window(0.02, 0.5)
    sizes = [0.02]
    for _ in range(6):
        sizes.append(window.next(sizes[-1], deliveries=10))
    assert sizes == [0.02, 0.04, 0.08, 0.16, 0.32, 0.5, 0.5]
    assert window.next(0.5, deliveries=1) == 0.02


def test_our_own_count_coming_back_from_the_till_costs_no_read_and_a_till_sale_still_does(
    running: Running,
) -> None:
    """Every count we set on Square is announced back by an ``inventory.count.updated``. One that
    claims exactly what we wrote there is recognised as our own and marked processed without a
    targeted read; a till sale's delivery (its count differs from what we wrote) is still re-read
    and reaches the web shop."""
    box, store = running.box, running.store
    path = EventPath(store, running.runner)
    square = running.runner.adapters["square"]
    sku = box.catalogues.shared_skus[2]
    before = square_stock(box, sku)
    box.woocommerce.simulate_sale([(sku, 1)])
    box.woocommerce.dispatcher.flush()
    path.process()  # the web shop's deliveries (taken before the till was written to)
    assert square_stock(box, sku) == before - 1  # the web sale written to the till

    box.square.webhooks.flush()  # the till announces the count we set
    box.woocommerce.dispatcher.flush()
    pending = store.inbox_pending()
    assert [row["topic"] for row in pending] == ["inventory.count.updated"]
    calls = square.calls  # type: ignore[attr-defined]
    report = path.process()
    assert (report.echoes, report.processed, report.planned) == (1, len(pending), 0)
    assert square.calls == calls  # type: ignore[attr-defined]
    assert not store.inbox_pending()

    variation = box.square.variation_by_sku(sku)
    assert variation is not None
    box.square.simulate_sale(variation["id"], 2)
    box.square.webhooks.flush()
    report = path.process()
    assert report.echoes == 0
    assert box.woocommerce.stock_of(sku) == before - 3


def test_a_stock_receipt_of_several_variations_at_the_till_reaches_the_web_shop_for_each(
    running: Running,
) -> None:
    """Square announces one change of several counts (a receipt of stock typed in the Dashboard)
    as one ``inventory.count.updated`` whose ``inventory_counts`` lists them all: every variation
    it names is re-read, not only the first."""
    box = running.box
    running.start_daemon()
    wait_for(lambda: running.recorder.ops[:1] == ["poll"], "the start-up cycle")
    skus = box.catalogues.shared_skus[:3]
    before = {sku: square_stock(box, sku) for sku in skus}
    location = box.square.location_ids()[0]
    changes = []
    for sku in skus:
        variation = box.square.variation_by_sku(sku)
        assert variation is not None
        changes.append(
            {
                "type": "ADJUSTMENT",
                "adjustment": {
                    "catalog_object_id": variation["id"],
                    "location_id": location,
                    "from_state": "NONE",
                    "to_state": "IN_STOCK",
                    "quantity": "4",
                    "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                },
            }
        )
    call(
        box.square,
        "POST",
        "/v2/inventory/changes/batch-create",
        {"idempotency_key": "receipt-1", "changes": changes},
    )

    wait_for(
        lambda: all(box.woocommerce.stock_of(sku) == before[sku] + 4 for sku in skus),
        lambda: f"the receipt on WooCommerce: {[box.woocommerce.stock_of(s) for s in skus]} from {before}",
    )
    wait_for(running.inbox_settled, "every delivery processed")
    assert "poll" not in running.recorder.ops[1:]  # the event path alone did it


def test_our_own_stock_write_coming_back_from_the_web_shop_costs_no_read(running: Running) -> None:
    """WooCommerce announces every stock we set with ``product.updated`` carrying the product as
    its REST API shows it. One that shows exactly what we wrote there is our own write coming back:
    marked processed without a targeted read. A web sale (its count differs) is still re-read."""
    box, store = running.box, running.store
    path = EventPath(store, running.runner)
    woo = running.runner.adapters["woocommerce"]
    simple = [
        sku for sku in box.catalogues.shared_skus if box.woocommerce.product_by_sku(sku)["type"] == "simple"
    ]
    sku = simple[0]
    before = box.woocommerce.stock_of(sku)
    variation = box.square.variation_by_sku(sku)
    assert variation is not None and before is not None
    box.square.simulate_sale(variation["id"], 1)
    box.square.webhooks.flush()
    path.process()  # the till's deliveries
    assert box.woocommerce.stock_of(sku) == before - 1  # the till sale written to the web shop

    box.woocommerce.dispatcher.flush()  # the web shop announces the stock we set
    box.square.webhooks.flush()
    pending = [row for row in store.inbox_pending() if row["channel"] == "woocommerce"]
    assert [row["topic"] for row in pending] == ["product.updated"]
    calls = woo.calls  # type: ignore[attr-defined]
    report = path.process()
    assert report.echoes >= 1 and report.planned == 0
    assert woo.calls == calls  # type: ignore[attr-defined]
    assert not store.inbox_pending()

    box.woocommerce.simulate_sale([(sku, 2)])
    box.woocommerce.dispatcher.flush()
    report = path.process()
    assert report.echoes == 0
    assert square_stock(box, sku) == before - 3
