"""``/metrics`` of the real daemon (a subprocess, as a shop runs it) against both emulators over
loopback: a sale on each channel moves the counters a person would watch (issue 12, item 6), and
``shopbridge status`` shows the same figures from the store once the daemon has stopped."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from bench.propagation import Channels, catalogue
from bench.soak import free_port
from bridge.demo.processes import DaemonProcess, run_command
from sandbox.launch import DemoCatalogues, Sandbox

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
TILL_SKU, WEB_SKU = "PROP-000", "PROP-001"


def scrape(url: str) -> Samples:
    answer = requests.get(f"{url}/metrics", timeout=5)
    assert answer.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def series(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted(labels.items()))


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.05)


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[Sandbox, Path, str]]:
    """Both emulators with two simple products, synced once, webhooks registered."""
    box = Sandbox(products=1, locations=1)
    items = catalogue(1)
    box.catalogues = DemoCatalogues(woocommerce=items, square=items)
    box.start()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = tmp_path / "shopbridge.toml"
    extra = {"server": {"public_url": url}, "daemon": {"poll_interval_seconds": 2.0}}
    box.write_config(config, store_path="shopbridge.db", port=port, extra=extra)
    try:
        for command in (["sync", "--force"], ["webhooks", "register"]):
            done = run_command(config, *command)
            assert done.returncode == 0, done.stdout + done.stderr
        # Square's subscription as its dashboard makes it, signed with the key the config holds
        # (the one `webhooks register` made answers a new key, which a sandbox's inline key is not).
        box.square.subscribe(f"{url}/webhooks/square")
        yield box, config, url
    finally:
        box.stop()


def test_a_sale_on_each_channel_moves_the_counters_and_status_shows_them(
    shop: tuple[Sandbox, Path, str], tmp_path: Path
) -> None:
    box, config, url = shop
    channels = Channels(box)
    daemon = DaemonProcess(config, tmp_path / "daemon.log", url)
    daemon.start()
    try:
        wait_for("the first cycle", lambda: daemon.cycles_done() >= 1 and daemon.caught_up())
        before = scrape(url)
        web_count = channels.woo_stock([TILL_SKU])[TILL_SKU]
        till_count = channels.square_stock([WEB_SKU])[WEB_SKU]
        channels.till_sale(TILL_SKU)
        channels.web_sale(WEB_SKU)
        wait_for("the till sale online", lambda: channels.woo_stock([TILL_SKU])[TILL_SKU] == web_count - 1)
        wait_for(
            "the web sale at the till", lambda: channels.square_stock([WEB_SKU])[WEB_SKU] == till_count - 1
        )

        # Our own writes come back as webhooks (echoes, recognised and dropped): one may arrive
        # just after the daemon caught up, so wait for its queues to empty as the gauges show them.
        def settled() -> bool:
            depths = [
                scrape(url).get(series("shopbridge_queue_depth", channel=c, operation=q), -1.0)
                for c in ("square", "woocommerce")
                for q in ("inbox", "outbox")
            ]
            return daemon.caught_up() and depths == [0.0] * 4

        wait_for("the daemon caught up, its queues empty", settled)
        after = scrape(url)
    finally:
        assert daemon.stop() == 0, daemon.tail()

    def moved(name: str, **labels: str) -> float:
        return after[series(name, **labels)] - before.get(series(name, **labels), 0.0)

    for source, target in (("square", "woocommerce"), ("woocommerce", "square")):
        assert moved("shopbridge_events_processed_total", channel=source, operation="stock") == 1, source
        assert moved("shopbridge_webhooks_received_total", channel=source) >= 1, source
        assert moved("shopbridge_events_processed_total", channel=source, operation="webhook") >= 1, source
        assert moved("shopbridge_writes_total", channel=target, operation="applied") == 1, target
        assert moved("shopbridge_writes_total", channel=target, operation="failed") == 0, target
        assert moved("shopbridge_propagation_seconds_count", channel=target) == 1, target
        assert moved("shopbridge_propagation_seconds_bucket", channel=target, le="+Inf") == 1, target
    labels = {key for _name, pairs in after for key, _value in pairs}
    assert labels <= {"channel", "operation", "le"}, labels  # never a SKU or an id

    shown = run_command(config, "status")  # the daemon has stopped: from the store alone
    assert shown.returncode == 0, shown.stderr
    assert "square: processed 1 stock events" in shown.stdout, shown.stdout
    assert "woocommerce: processed 1 stock events" in shown.stdout, shown.stdout
    assert "propagation to woocommerce (stock event -> write acknowledged, latest 1 writes)" in shown.stdout
    assert "propagation to square (stock event -> write acknowledged, latest 1 writes)" in shown.stdout
    figures = json.loads(run_command(config, "status", "--json").stdout)
    assert figures["events_processed"]["square"]["stock"] == 1
    assert figures["propagation"]["woocommerce"]["count"] == 1
    assert figures["writes"]["woocommerce"]["failed"] == 0
