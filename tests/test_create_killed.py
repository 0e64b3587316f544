"""Issue 9, cases 11-12, the hard way: ``shopbridge sync`` killed (SIGKILL) while a create it sent
is applied by the channel but not yet answered, then ``sync`` run again.

The emulator applies the create and holds its answer until the CLI process is dead, as a channel
would that saved the product while the process lost power. The second run must find what the first
created (Square by SKU, WooCommerce by SKU or by our marker) and create nothing twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from sandbox.http import FaultRule
from sandbox.launch import DemoCatalogues, Sandbox
from tests.test_duplicates import ALL_SKUS, CAP, MUG, TEE, square_items, square_skus, woo_products, woo_skus


def _cli(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "cli", "-c", str(config), *args]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SHOPBRIDGE_")}


@pytest.mark.parametrize(
    ("owner", "path"),
    [
        ("woocommerce", r"/v2/catalog/batch-upsert$"),
        ("square", r"/products/batch$"),
        ("square", r"/variations/batch$"),
        ("woocommerce", r"/v2/inventory/changes/batch-create$"),
    ],
    ids=["square-create", "woocommerce-create", "woocommerce-variations", "square-follow-up-stock"],
)
def test_sync_killed_while_a_create_is_unanswered_creates_nothing_twice(
    tmp_path: Path, owner: str, path: str
) -> None:
    box = Sandbox(products=0, locations=1)
    on_owner = [MUG, TEE, CAP]
    box.catalogues = DemoCatalogues(
        woocommerce=on_owner if owner == "woocommerce" else [], square=on_owner if owner == "square" else []
    )
    with box:
        config = tmp_path / "sandbox.toml"
        config.write_text(
            box.config_text("shopbridge.db", 8787).replace(
                'system_of_record = "woocommerce"', f'system_of_record = "{owner}"'
            )
        )
        applied, killed = threading.Event(), threading.Event()

        def hold(body: Any) -> Any:
            applied.set()
            killed.wait(30)
            return body

        server = box.square.server if owner == "woocommerce" else box.woocommerce.server
        server.faults.add(FaultRule(kind="rewrite", method="POST", path=path, times=1, rewrite=hold))
        dry = subprocess.run(_cli(config, "sync", "--dry-run"), cwd=tmp_path, env=_env(), capture_output=True)
        assert dry.returncode == 0, dry.stderr
        first = subprocess.Popen(
            _cli(config, "sync", "--force"),
            cwd=tmp_path,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            assert applied.wait(30), "the create never reached the channel"
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            killed.set()
        again = subprocess.run(
            _cli(config, "sync", "--force"),
            cwd=tmp_path,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert again.returncode == 0, again.stdout + again.stderr
        settle = subprocess.run(
            _cli(config, "sync", "--dry-run", "--json"),
            cwd=tmp_path,
            env=_env(),
            capture_output=True,
            text=True,
        )
        assert json.loads(settle.stdout)["changes"] == [], settle.stdout
        for sku in ALL_SKUS:  # and no stock write applied twice
            variation = box.square.variation_by_sku(sku)
            assert variation is not None
            assert box.square.count(
                variation["id"], box.square.location_ids()[0]
            ) == box.woocommerce.stock_of(sku)
        if owner == "woocommerce":
            assert square_skus(box) == {sku: 1 for sku in ALL_SKUS}
            assert set(square_items(box).values()) == {1}
        else:
            assert woo_skus(box) == {sku: 1 for sku in ALL_SKUS}
            assert set(woo_products(box).values()) == {1}
