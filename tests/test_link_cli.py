"""``shopbridge link`` / ``unlink`` as a user meets them: the real CLI, both emulators over loopback,
a real SQLite file.

The demo shop has a product only in WooCommerce (GIFT-SLEEVE; ``create_missing = false`` keeps it
there) and one only in Square (TILL-TOTE). Linking them by hand under one SKU must be checked against
what shopbridge has read, must not silently displace another link, and must change what the very
next plain ``sync`` plans.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bridge.store import Store
from sandbox.launch import Sandbox
from tests.conftest import RunCli

EXISTS_ONLY = "SKU 'TILL-TOTE' exists only on square"
MISSING = "'Gift Card Sleeve' missing on square"


@dataclass
class Shop:
    box: Sandbox
    config: Path
    db: Path
    run_cli: RunCli

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run_cli("-c", str(self.config), *args)

    def plan(self) -> dict[str, Any]:
        """The plan of a plain (not ``--full``) dry run."""
        dry = self.cli("sync", "--dry-run", "--json")
        assert dry.returncode == 0, dry.stdout + dry.stderr
        plan: dict[str, Any] = json.loads(dry.stdout)
        return plan

    def links(self) -> list[tuple[str, str, str, str | None]]:
        with Store(self.db) as store:
            return sorted(
                (r["canonical_key"], r["channel"], r["channel_id"], r["parent_id"])
                for r in store.links("variant")
            )

    def square_id(self, sku: str) -> str:
        variation = self.box.square.variation_by_sku(sku)
        assert variation is not None, sku
        return str(variation["id"])


@pytest.fixture
def shop(tmp_path: Path, run_cli: RunCli) -> Iterator[Shop]:
    """A sandbox and its config (one Square location, missing products not created); not synced."""
    with Sandbox(products=6, locations=1) as box:
        config = tmp_path / "sandbox.toml"
        box.write_config(config)
        text = config.read_text()
        config.write_text(text.replace("[sync]\n", "[sync]\ncreate_missing = false\n", 1))
        yield Shop(box, config, tmp_path / "shopbridge.db", run_cli)


@pytest.fixture
def synced(shop: Shop) -> Shop:
    """The shop after its first sync: every product read, one-sided ones linked on their side only."""
    first = shop.cli("sync", "--force")
    assert first.returncode == 0, first.stdout + first.stderr
    plan = shop.plan()
    assert plan["changes"] == [] and plan["warnings"] == []  # in sync, and nothing re-reported
    return shop


def test_link_before_anything_was_read_is_refused_and_says_so(shop: Shop) -> None:
    tote = shop.square_id("TILL-TOTE")
    refused = shop.cli("link", "GIFT-SLEEVE", "--channel", "square", "--id", tote)
    assert refused.returncode == 2
    assert "never read square" in refused.stderr and "shopbridge sync" in refused.stderr
    # A dry run shows a plan but records nothing, so it is still refused (and the message says so).
    assert EXISTS_ONLY in shop.plan()["warnings"]
    again = shop.cli("link", "GIFT-SLEEVE", "--channel", "square", "--id", tote)
    assert again.returncode == 2 and "never read square" in again.stderr
    assert shop.links() == []


def test_link_to_an_id_square_does_not_have_is_refused_and_nothing_is_stored(synced: Shop) -> None:
    before = synced.links()
    gift_in_woo = str(synced.box.woocommerce.product_by_sku("GIFT-SLEEVE")["id"])
    tote = synced.box.square.variation_by_sku("TILL-TOTE")
    assert tote is not None
    item = tote["item_variation_data"]["item_id"]
    for bad in ("NO-SUCH-VARIATION", gift_in_woo, item):  # unknown; WooCommerce's id; a product's id
        refused = synced.cli("link", "GIFT-SLEEVE", "--channel", "square", "--id", bad)
        assert refused.returncode == 2, refused.stdout
        assert f"square has no variant '{bad}' in its last read" in refused.stderr
        assert "check the id" in refused.stderr
        assert "linked" not in refused.stdout
    assert f"is a product on square; its variants: {tote['id']} (SKU TILL-TOTE)" in refused.stderr
    unknown = synced.cli("link", "GIFT-SLEEVE", "--channel", "etsy", "--id", tote["id"])
    assert unknown.returncode == 2 and "'etsy' is not configured" in unknown.stderr
    assert synced.links() == before
    # Nothing changed, so the next sync has nothing to re-read or report either.
    assert synced.plan() == {
        "changes": [],
        "safe": True,
        "skipped": [],
        "unsafe_reasons": [],
        "unresolved": [],
        "warnings": [],
    }


def test_link_that_would_displace_another_is_refused_unless_replace(synced: Shop) -> None:
    before = synced.links()
    tote, sticker = synced.square_id("TILL-TOTE"), synced.square_id("STICKER")
    shared = synced.box.catalogues.shared_skus[0]
    # The variant already belongs to another SKU.
    taken = synced.cli("link", "GIFT-SLEEVE", "--channel", "square", "--id", tote)
    assert taken.returncode == 2
    assert f"square variant {tote} is linked to TILL-TOTE" in taken.stderr
    assert "shopbridge unlink TILL-TOTE --channel square" in taken.stderr and "--replace" in taken.stderr
    # The SKU is already linked on that channel (the STICKER variants are unlinked: a duplicate SKU).
    busy = synced.cli("link", shared, "--channel", "square", "--id", sticker)
    assert busy.returncode == 2
    assert f"{shared} is already linked to square variant {synced.square_id(shared)}" in busy.stderr
    assert f"shopbridge unlink {shared} --channel square" in busy.stderr
    assert synced.links() == before

    replaced = synced.cli("link", "GIFT-SLEEVE", "--channel", "square", "--id", tote, "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert f"unlinked TILL-TOTE from square {tote}" in replaced.stdout
    assert "next sync re-reads" in replaced.stdout
    links = synced.links()
    variation = synced.box.square.variation_by_sku("TILL-TOTE")
    assert variation is not None
    item = variation["item_variation_data"]["item_id"]
    assert ("GIFT-SLEEVE", "square", tote, item) in links  # its parent item, as last read
    assert not [r for r in links if r[0] == "TILL-TOTE"]
    assert len(links) == len(before)
    same = synced.cli("link", "GIFT-SLEEVE", "--channel", "square", "--id", tote)
    assert same.returncode == 0 and "nothing to change" in same.stdout
    assert synced.links() == links


def test_hand_link_and_unlink_change_the_next_plain_sync(synced: Shop) -> None:
    tote = synced.square_id("TILL-TOTE")
    gift_stock = synced.box.woocommerce.stock_of("GIFT-SLEEVE")
    location = synced.box.square.location_ids()[0]
    assert gift_stock is not None and synced.box.square.count(tote, location) != gift_stock

    # Free the Square-only variant: the next plain sync re-reads it and reports it one-sided again.
    freed = synced.cli("unlink", "TILL-TOTE", "--channel", "square")
    assert freed.returncode == 0, freed.stderr
    assert "next sync re-reads" in freed.stdout
    plan = synced.plan()
    assert EXISTS_ONLY in plan["warnings"] and any(MISSING in w for w in plan["warnings"])

    # Link it to the WooCommerce-only product: one product now, planned as such by a plain sync.
    linked = synced.cli("link", "GIFT-SLEEVE", "--channel", "square", "--id", tote)
    assert linked.returncode == 0, linked.stderr
    assert "next sync re-reads" in linked.stdout
    plan = synced.plan()
    assert not any("exists only on" in w or MISSING in w for w in plan["warnings"]), plan["warnings"]
    stock = [c for c in plan["changes"] if c["action"] == "adjust_stock"]
    assert [(c["sku"], c["target_id"], c["after"]) for c in stock] == [("GIFT-SLEEVE", tote, gift_stock)]
    assert all(c["sku"] == "GIFT-SLEEVE" and c["target_id"] == tote for c in plan["changes"])

    applied = synced.cli("sync")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert synced.box.square.count(tote, location) == gift_stock  # the till now shows the web shop's stock
    assert not [c for c in synced.plan()["changes"] if c["action"] != "conflict"]

    # Unlink: the next plain sync no longer treats them as one.
    parted = synced.cli("unlink", "GIFT-SLEEVE", "--channel", "square")
    assert parted.returncode == 0, parted.stderr
    assert f"unlinked GIFT-SLEEVE from square {tote}" in parted.stdout
    plan = synced.plan()
    assert not [c for c in plan["changes"] if c["sku"] == "GIFT-SLEEVE"]
    assert EXISTS_ONLY in plan["warnings"] and any(MISSING in w for w in plan["warnings"])
    again = synced.cli("unlink", "GIFT-SLEEVE", "--channel", "square")
    assert again.returncode == 2 and "not linked on square" in again.stderr
