"""Helpers for tests that sync the sandbox's two emulators through the real adapters."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from adapters.square import SquareAdapter
from adapters.woocommerce import WooCommerceAdapter
from bridge.policy import SyncPolicy
from bridge.store import Store
from bridge.sync import SyncRunner
from sandbox.http import Request
from sandbox.launch import Sandbox
from tests.woo_helpers import woo_rest


def make_runner(box: Sandbox, store: Store, policy: SyncPolicy | None = None) -> SyncRunner:
    wc = box.woocommerce.connection_info()
    sq = box.square.connection_info()
    adapters = {
        "woocommerce": WooCommerceAdapter(
            wc["url"], wc["consumer_key"], wc["consumer_secret"], wc["webhook_secret"], backoff_base=0.01
        ),
        "square": SquareAdapter(
            sq["access_token"], base_url=sq["base_url"], signature_key=sq["signature_key"]
        ),
    }
    return SyncRunner(store, adapters, policy or SyncPolicy())


def square_stock(box: Sandbox, sku: str) -> int:
    variation = box.square.variation_by_sku(sku)
    assert variation is not None, sku
    return box.square.count(variation["id"], box.square.location_ids()[0])


def sync_while_selling(
    runner: SyncRunner,
    box: Sandbox,
    *,
    on_woocommerce: Callable[[Request], None],
    on_square: Callable[[str], None],
    runs: int = 10,
) -> None:
    """``runs`` syncs with the hooks called after every request each emulator answers (so sales
    land between any two requests of a sync), taken off afterwards even when a sync fails."""
    box.woocommerce.after_request = on_woocommerce
    box.square.after_request = on_square
    try:
        for _ in range(runs):
            runner.run()
    finally:
        box.woocommerce.after_request = None
        box.square.after_request = None


def reprice_shared_skus(box: Sandbox, first: int) -> None:
    """The owner changes every shared product's price in wp-admin (a mass change): the n-th
    shared SKU to ``first + n`` units."""
    for n, sku in enumerate(box.catalogues.shared_skus):
        item = box.woocommerce.product_by_sku(sku)
        parent = item.get("parent_id")
        path = f"products/{parent}/variations/{item['id']}" if parent else f"products/{item['id']}"
        woo_rest(box.woocommerce, "PUT", path, {"regular_price": f"{first + n}.00"})


def recording_writes(runner: Any, written: threading.Event) -> None:
    """Every channel's ``apply`` sets ``written`` once it has sent something."""
    for adapter in runner.adapters.values():
        sent: Callable[..., Any] = adapter.apply

        def apply(ops: Any, _sent: Callable[..., Any] = sent) -> Any:
            results = _sent(ops)
            written.set()
            return results

        adapter.apply = apply
