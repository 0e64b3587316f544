"""``shopbridge sync`` near eBay's daily revision limit, as a shop owner runs it: a small change
eBay cannot take today is held (kept queued, not a failure), the summary says until when, the sync
exits 0, and a later sync sends it once the budget allows."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sandbox.ebay import EbayEmulator
from sandbox.launch import Sandbox
from tests.conftest import RunCli


def test_a_write_held_by_the_revision_budget_is_kept_reported_and_sent_later(
    run_cli: RunCli, tmp_path: Path
) -> None:
    with Sandbox(products=6, locations=1, channels=("woocommerce", "square", "ebay")) as box:
        ebay = box.emulators["ebay"]
        assert isinstance(ebay, EbayEmulator)
        config = tmp_path / "shop.toml"
        box.write_config(config, store_path="shop.db")
        first = run_cli("-c", str(config), "sync", "--force", timeout=120)
        assert first.returncode == 0, first.stdout + first.stderr
        sku = next(s for s in box.catalogues.shared_skus if ebay.quantity(s) > 4)
        shown = ebay.quantity(sku)
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        ebay.set_revisions_today(ebay.listing_of(sku), 240)  # eBay's count of today, and ours:
        with sqlite3.connect(tmp_path / "shop.db") as db:
            db.execute(
                "INSERT INTO write_counts (channel, sku, day, count, updated_at) "
                "VALUES ('ebay', ?, ?, 240, ?)",
                [sku, today, today],
            )
        variation = box.square.variation_by_sku(sku)
        assert variation is not None
        box.square.simulate_sale(variation["id"], 1)  # a small change: held until tomorrow

        held = run_cli("-c", str(config), "sync", timeout=120)
        assert held.returncode == 0, held.stdout + held.stderr
        assert "1 writes held until the revision budget resets at" in held.stdout, held.stdout
        assert "refused" not in held.stdout.replace("0 refused", "")
        assert ebay.quantity(sku) == shown  # not revised
        assert box.woocommerce.stock_of(sku) == shown - 1  # the other channels are not held back
        with sqlite3.connect(tmp_path / "shop.db") as db:
            kept = db.execute(
                "SELECT count(*) FROM outbox WHERE channel = 'ebay' AND sku = ? AND done_at IS NULL", [sku]
            ).fetchone()[0]
        assert kept >= 1  # still queued, not given up on

        # The day turns (on eBay and in our counts): the next sync sends it.
        ebay.set_revisions_today(ebay.listing_of(sku), 0)
        with sqlite3.connect(tmp_path / "shop.db") as db:
            db.execute("DELETE FROM write_counts WHERE channel = 'ebay'")
        later = run_cli("-c", str(config), "sync", timeout=120)
        assert later.returncode == 0, later.stdout + later.stderr
        assert "held" not in later.stdout, later.stdout
        assert ebay.quantity(sku) == shown - 1
        with sqlite3.connect(tmp_path / "shop.db") as db:
            left = db.execute(
                "SELECT count(*) FROM outbox WHERE channel = 'ebay' AND done_at IS NULL"
            ).fetchone()[0]
        assert left == 0
