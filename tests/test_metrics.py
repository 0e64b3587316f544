"""``GET /metrics``: the Prometheus text format, parsed by Prometheus's own parser, moving with
what the receiver does (issue 12, item 6). Labels are channel and operation only; a channel name
taken from a request's path is never a label value unless it is configured."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from adapters.woocommerce import WooCommerceAdapter
from bridge.metrics import Metrics
from bridge.server import WebhookServer
from bridge.store import Store
from sandbox.launch import Sandbox
from tests.sync_helpers import make_runner
from tests.test_server import WOO_SECRET, woo_delivery


@pytest.fixture
def server(store: Store) -> Iterator[WebhookServer]:
    adapters = {"woocommerce": WooCommerceAdapter("http://127.0.0.1:9", "ck_x", "cs_x", WOO_SECRET)}
    receiver = WebhookServer(store, adapters, port=0).start()
    yield receiver
    receiver.stop()


def scrape(server: WebhookServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = requests.get(f"{server.url}/metrics", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def test_deliveries_move_the_counters_and_the_inbox_depth(server: WebhookServer) -> None:
    before = scrape(server)
    inbox = ("shopbridge_queue_depth", (("channel", "woocommerce"), ("operation", "inbox")))
    assert before[inbox] == 0
    body = json.dumps({"id": 42}).encode()
    url = server.notification_url("woocommerce")
    assert requests.post(url, data=body, headers=woo_delivery(body), timeout=5).status_code == 200
    forged = woo_delivery(body, secret="not-the-secret", delivery="102")
    assert requests.post(url, data=body, headers=forged, timeout=5).status_code == 401
    assert requests.post(f"{server.url}/webhooks/evil-label", data=b"{}", timeout=5).status_code == 404
    after = scrape(server)
    assert after[("shopbridge_webhooks_received_total", (("channel", "woocommerce"),))] == 1
    rejected = "shopbridge_webhooks_rejected_total"
    assert after[(rejected, (("channel", "woocommerce"), ("operation", "signature")))] == 1
    assert after[(rejected, (("channel", "unknown"), ("operation", "unknown_channel")))] == 1
    assert after[inbox] == 1
    labels = {value for _name, pairs in after for key, value in pairs if key == "channel"}
    assert labels <= {"woocommerce", "unknown"}, labels


def test_the_relay_counts_each_write_by_outcome_and_times_the_applied_ones(
    box: Sandbox, store: Store
) -> None:
    """A web sale's write to Square: kept queued while Square answers 503 (deferred, not timed),
    applied once it answers (timed from the sale), and given up on when attempts run out (failed)."""
    metrics = Metrics(["woocommerce", "square"])
    runner = make_runner(box, store)
    runner.run()
    runner.metrics = metrics

    def count(name: str, **labels: str) -> float:
        return metrics.registry.get_sample_value(name, labels) or 0.0

    sku, other = box.catalogues.shared_skus[:2]
    box.woocommerce.simulate_sale([(sku, 1)])
    box.square.server.faults.add(kind="status", status=503, path="changes/batch-create", times=None)
    runner.run()
    assert count("shopbridge_writes_total", channel="square", operation="deferred") == 1
    assert count("shopbridge_writes_total", channel="square", operation="applied") == 0
    assert count("shopbridge_propagation_seconds_count", channel="square") == 0
    box.square.server.faults.clear()
    store.db.execute("UPDATE outbox SET next_attempt_at = '' WHERE done_at IS NULL")
    runner.relay()
    assert count("shopbridge_writes_total", channel="square", operation="applied") == 1
    assert count("shopbridge_propagation_seconds_count", channel="square") == 1
    assert count("shopbridge_writes_total", channel="woocommerce", operation="applied") == 0

    runner.max_attempts = 1
    box.woocommerce.simulate_sale([(other, 1)])
    box.square.server.faults.add(kind="status", status=503, path="changes/batch-create", times=None)
    runner.run()
    assert count("shopbridge_writes_total", channel="square", operation="failed") == 1
    assert count("shopbridge_propagation_seconds_count", channel="square") == 1
