"""A catalogue conflict settled with ``shopbridge conflicts resolve ID --keep CHANNEL|VALUE`` is
applied by the next sync, through the engine's plan and the outbox (a dry run shows the write
first). Both emulators on loopback, the CLI as a subprocess: what a shop owner does when the till
changed a price the web shop owns (``[sync] on_non_owner_change = "conflict"``, the default)."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sandbox.launch import Sandbox
from tests.conftest import RunCli
from tests.square_helpers import call


@dataclass
class Shop:
    box: Sandbox
    config: Path
    run_cli: RunCli

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run_cli("-c", str(self.config), *args)

    def sync(self, *args: str) -> dict[str, Any]:
        done = self.cli("sync", "--json", *args)
        assert done.returncode == 0, done.stdout + done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def conflicts(self) -> list[dict[str, Any]]:
        listed = self.cli("conflicts", "--json")
        assert listed.returncode == 0, listed.stderr
        found: list[dict[str, Any]] = json.loads(listed.stdout)["conflicts"]
        return found

    def till_price(self, sku: str, amount: int | None = None) -> int:
        """The price at the till in cents; with ``amount``, a staff member sets it first."""
        variation = self.box.square.variation_by_sku(sku)
        assert variation is not None
        if amount is not None:
            variation["item_variation_data"]["price_money"]["amount"] = amount
            body = {"idempotency_key": uuid.uuid4().hex, "object": variation}
            assert "catalog_object" in call(self.box.square, "POST", "/v2/catalog/object", body)
            return amount
        return int(variation["item_variation_data"]["price_money"]["amount"])

    def web_price(self, sku: str) -> Decimal:
        return Decimal(self.box.woocommerce.product_by_sku(sku)["regular_price"])


@pytest.fixture
def shop(tmp_path: Path, run_cli: RunCli) -> Iterator[Shop]:
    with Sandbox(products=2, locations=1, overlap_extras=False) as box:
        config = tmp_path / "shopbridge.toml"
        box.write_config(config)
        shop = Shop(box, config, run_cli)
        shop.sync("--force")
        yield shop


def conflicted(shop: Shop, sku: str, cents: int) -> dict[str, Any]:
    """The till changes a price the web shop owns: a conflict, left as is."""
    shop.till_price(sku, cents)
    shop.sync()
    [conflict] = shop.conflicts()
    assert (conflict["kind"], conflict["channel"]) == ("catalogue", "square")
    assert sku in conflict["what"] and "price" in conflict["what"]
    return conflict


def test_keeping_the_tills_price_writes_it_to_the_web_shop_on_the_next_sync(shop: Shop) -> None:
    sku = shop.box.catalogues.shared_skus[0]
    before = shop.web_price(sku)
    conflict = conflicted(shop, sku, 1234)
    assert shop.web_price(sku) == before  # a conflict changes nothing by itself

    settled = shop.cli("conflicts", "resolve", conflict["id"], "--keep", "square")
    assert settled.returncode == 0, settled.stderr
    assert shop.conflicts() == []
    assert shop.web_price(sku) == before  # settling writes nothing: the next sync does

    dry = shop.cli("sync", "--dry-run", "--json")
    changes = json.loads(dry.stdout)["changes"]
    assert [(c["channel"], c["action"], c["sku"]) for c in changes] == [("woocommerce", "update", sku)]
    assert shop.web_price(sku) == before
    shop.sync()
    assert shop.web_price(sku) == Decimal("12.34")
    assert shop.till_price(sku) == 1234
    assert json.loads(shop.cli("sync", "--dry-run", "--json").stdout)["changes"] == []
    assert shop.conflicts() == []


def test_keeping_a_typed_value_writes_it_everywhere_then_nothing_more(shop: Shop) -> None:
    sku = shop.box.catalogues.shared_skus[1]
    conflict = conflicted(shop, sku, 999)
    refused = shop.cli("conflicts", "resolve", conflict["id"], "--keep", "twelve")
    assert refused.returncode == 2 and "not a price" in refused.stderr
    assert shop.cli("conflicts", "resolve", conflict["id"], "--keep", "15.00").returncode == 0
    shop.sync()
    assert shop.web_price(sku) == Decimal("15") and shop.till_price(sku) == 1500
    assert json.loads(shop.cli("sync", "--dry-run", "--json").stdout)["changes"] == []


def test_keeping_the_owners_value_reverts_the_till(shop: Shop) -> None:
    sku = shop.box.catalogues.shared_skus[0]
    owner_cents = int(shop.web_price(sku) * 100)
    conflict = conflicted(shop, sku, owner_cents + 100)
    assert shop.cli("conflicts", "resolve", conflict["id"], "--keep", "woocommerce").returncode == 0
    shop.sync()
    assert shop.till_price(sku) == owner_cents
    assert json.loads(shop.cli("sync", "--dry-run", "--json").stdout)["changes"] == []
