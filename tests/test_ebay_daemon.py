"""The real daemon (a subprocess) with eBay beside the shop and the till: eBay validates the
daemon's endpoint with its challenge, then a buyer's signed ORDER_CONFIRMATION reaches the
receiver, is committed once, and wakes the loop, whose poll reads the order and lowers the web
shop long before the next timed poll; a forged delivery is refused and counted; no access token
is ever in the daemon's log."""

from __future__ import annotations

import socket
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import requests

from bridge.demo.processes import DaemonProcess
from sandbox.ebay import EbayEmulator
from sandbox.launch import Sandbox
from tests.conftest import RunCli


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def until(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def metric(url: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in requests.get(url + "/metrics", timeout=5).text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} "):
            return float(line.split()[-1])
    return 0.0


def test_an_ebay_notification_wakes_the_daemon_and_the_sale_reaches_the_shop(
    run_cli: RunCli, tmp_path: Path
) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    with Sandbox(products=6, locations=1, channels=("woocommerce", "square", "ebay")) as box:
        ebay = box.emulators["ebay"]
        assert isinstance(ebay, EbayEmulator)
        config = tmp_path / "shop.toml"
        box.write_config(
            config,
            store_path="shop.db",
            port=port,
            extra={"server": {"public_url": public}, "daemon": {"poll_interval_seconds": 600.0}},
        )
        first = run_cli("-c", str(config), "sync", "--force", timeout=120)
        assert first.returncode == 0, first.stdout + first.stderr
        daemon = DaemonProcess(config, tmp_path / "daemon.log", public)
        daemon.start()
        try:
            assert until(lambda: daemon.cycles_done() >= 1, 60), daemon.tail()
            ebay.add_destination(f"{public}/webhooks/ebay", ebay.verification_token)  # challenge passed
            sku = box.catalogues.shared_skus[0]
            before = box.woocommerce.stock_of(sku)
            assert before is not None and before >= 2
            ebay.buy(sku, 2)
            # the next timed poll is ten minutes away: only the notification can bring the sale in
            assert until(lambda: box.woocommerce.stock_of(sku) == before - 2, 60), daemon.tail()
            assert metric(public, "shopbridge_webhooks_received_total", channel="ebay") == 1
            forged = requests.post(
                f"{public}/webhooks/ebay", data=b'{"metadata": {}}', headers={"X-EBAY-SIGNATURE": "e30="}
            )
            assert forged.status_code == 401
            labels = {"channel": "ebay", "operation": "signature"}
            assert metric(public, "shopbridge_webhooks_rejected_total", **labels) == 1
        finally:
            assert daemon.stop() == 0
        with sqlite3.connect(tmp_path / "shop.db") as db:
            rows = db.execute("SELECT event_id, topic FROM inbox WHERE channel = 'ebay'").fetchall()
        [sent] = ebay.notifications_sent
        assert rows == [(sent["notification"]["notificationId"], "ORDER_CONFIRMATION")]
        log = (tmp_path / "daemon.log").read_text()
        with ebay.lock:
            tokens = list(ebay._access_tokens)
        assert tokens and not any(token in log for token in tokens)
