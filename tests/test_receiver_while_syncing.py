"""The receiver never refuses a valid delivery because the sync loop is busy (issue 12, item 3).

The daemon's sync loop and its webhook receiver used one SQLite connection: a delivery committed
while the loop was inside its own statements broke the loop's transaction or savepoint (``no such
savepoint``) and the delivery was answered 503, about one in seven under load. WooCommerce never
retries a failed delivery, so each of those was a lost hint. End to end: a real sync loop against
both emulators (with sales, so it writes) while signed deliveries pour in from several threads.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bridge.server import WebhookServer
from bridge.store import Store
from sandbox.launch import Sandbox
from tests.sync_helpers import make_runner
from tests.test_server import woo_delivery

DELIVERIES = 1000


def test_every_delivery_is_taken_while_a_sync_loop_runs(tmp_path: Path) -> None:
    with Sandbox(products=40, locations=2) as box, Store(tmp_path / "shopbridge.db") as store:
        runner = make_runner(box, store)
        runner.run(force=True)
        secret = box.woocommerce.connection_info()["webhook_secret"]
        receiver = WebhookServer(store, runner.adapters, port=0).start()
        done = threading.Event()

        def sync_loop() -> None:
            variation = box.square.variation_by_sku("SB-00001")
            assert variation is not None
            while not done.is_set():
                box.square.simulate_sale(variation["id"], 1)
                runner.run()

        def deliver(n: int) -> int:
            body = json.dumps({"id": 1000 + n, "date_modified_gmt": "2026-12-02T10:00:00"}).encode()
            headers = woo_delivery(body, secret=secret, delivery=f"d-{n}")
            url = receiver.notification_url("woocommerce")
            return requests.post(url, data=body, headers=headers, timeout=30).status_code

        loop = threading.Thread(target=sync_loop, daemon=True)
        loop.start()
        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                answers = list(pool.map(deliver, range(DELIVERIES)))
        finally:
            done.set()
            loop.join(timeout=60)
            receiver.stop()
        refused = [status for status in answers if status != 200]
        assert refused == [], f"{len(refused)} of {DELIVERIES} deliveries refused: {sorted(set(refused))}"
        assert len(store.inbox_pending(limit=1000)) == DELIVERIES
