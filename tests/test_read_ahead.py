"""Reading ahead (issue 12): an incremental sync stages what the catalogue read has passed on (the
other channels' side of its SKUs, and their counts) while that read still goes on, instead of
waiting behind a read that at 10,000 changed prices is 13 s of waiting on WooCommerce's calls."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bench.latency import Owner
from bridge import reading
from bridge.store import Store
from sandbox.launch import Sandbox
from tests.sync_helpers import make_runner


def _square_prices(box: Sandbox, skus: list[str]) -> dict[str, int]:
    prices = {}
    for sku in skus:
        variation = box.square.variation_by_sku(sku)
        assert variation is not None, sku
        prices[sku] = variation["item_variation_data"]["price_money"]["amount"]
    return prices


def _woo_prices(box: Sandbox) -> dict[str, int]:
    return {
        str(p["sku"]): round(float(p["regular_price"]) * 100)
        for p in box.woocommerce.products.values()
        if p.get("sku") and (p.get("parent_id") or p["type"] == "simple")
    }


def test_counts_of_changed_skus_are_read_while_the_catalogue_is_still_read(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every price changed on WooCommerce (600 variants, four pages of variations): Square's counts
    of the first SKUs passed on are asked for before WooCommerce's last variations page is
    answered (the later pages are held until they are, 5 s at most), and the sync still ends with
    every Square price the new one and nothing left to do."""
    monkeypatch.setattr(reading, "AHEAD_BATCH", 50)
    with (
        Sandbox(products=600, locations=2, overlap_extras=False) as box,
        Store(tmp_path / "shopbridge.db") as store,
    ):
        runner = make_runner(box, store)
        runner.run(force=True)
        box.woocommerce.advance(10)
        assert Owner(box).reprice_everything() == 600
        box.woocommerce.advance(10)
        order: list[str] = []
        counted = threading.Event()

        def on_woo(request: Any) -> None:
            if request.method == "GET" and request.path.endswith("/wc/v3/variations"):
                if request.query.get("include"):
                    return
                if "variations listed" in order:
                    # Hold the later pages a while: a sync that stages ahead asks Square meanwhile.
                    counted.wait(timeout=5)
                order.append("variations listed")

        def on_square(operation: str) -> None:
            if operation == "BatchRetrieveInventoryCounts":
                order.append("square counts")
                counted.set()

        box.woocommerce.after_request, box.square.after_request = on_woo, on_square
        runner.run(force=True)
        box.woocommerce.after_request = box.square.after_request = None
        last_listing = max(n for n, what in enumerate(order) if what == "variations listed")
        assert "square counts" in order[:last_listing], order
        wanted = _woo_prices(box)
        assert len(wanted) == 600
        assert _square_prices(box, sorted(wanted)) == wanted
        plans, _ = runner.run()
        assert all(not plan.changes for plan in plans)
