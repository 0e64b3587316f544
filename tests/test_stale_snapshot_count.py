"""A count re-staged from an earlier read's snapshot is never judged again as if it were new.

End to end over loopback, both emulators answering as fast as a real server, so that
syncs run back to back inside one second. The first sync reads WooCommerce's count and writes the
till's (our write, dated to the second); a till sale then makes the next sync write WooCommerce's
first count back, in the same second. WooCommerce's product is then exactly as the first read saw
it (same date, same content), so the third sync's catalogue read rightly reports nothing new, and
the SKU's WooCommerce side comes from the snapshot of the second sync's read: the count from before
our last write, dated in that write's second. Judged as a new count, it was a "manual change"
undoing the till sale on both channels.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bridge.ledger import on_hand
from bridge.policy import SyncPolicy
from bridge.store import Store
from bridge.sync import SyncRunner
from sandbox.launch import Sandbox
from tests.sync_helpers import make_runner


@pytest.fixture
def fast_box() -> Iterator[Sandbox]:
    with Sandbox(products=6, locations=2, overlap_extras=False) as sandbox:
        yield sandbox


def _ledger(runner: SyncRunner, store: Store, sku: str) -> int:
    entries = [runner._entry(r) for r in store.ledger_rows([sku])]
    return sum(q for (s, _loc), q in on_hand(entries, runner.policy, runner.locations()).items() if s == sku)


def _web_count(box: Sandbox, sku: str, quantity: int) -> None:
    """Staff set the web shop's count (WooCommerce dates the product in this second)."""
    emu = box.woocommerce
    url, auth = f"{emu.url}/wp-json/wc/v3/products", (emu.consumer_key, emu.consumer_secret)
    (product,) = requests.get(url, params={"sku": sku}, auth=auth, timeout=10).json()
    answer = requests.put(f"{url}/{product['id']}", json={"stock_quantity": quantity}, auth=auth, timeout=10)
    assert answer.status_code == 200, answer.text


def _till(box: Sandbox, sku: str) -> tuple[str, int]:
    variation = box.square.variation_by_sku(sku)
    assert variation is not None, sku
    return variation["id"], sum(box.square.count(variation["id"], loc) for loc in box.square.location_ids())


def test_a_till_sale_then_two_syncs_in_a_row_keeps_the_sale(fast_box: Sandbox, tmp_path: Path) -> None:
    box, sku = fast_box, "SB-00002"
    variation_id, till = _till(box, sku)
    web = till - 2  # what the web shop shows before the first sync
    sold = till - web  # the sale that makes our next write put back WooCommerce's first count
    with Store(tmp_path / "shopbridge.db") as store:
        runner = make_runner(box, store, SyncPolicy())
        time.sleep(1.02 - time.time() % 1)  # what follows shares one second (WooCommerce's resolution)
        _web_count(box, sku, web)
        runner.run(force=True)
        assert box.woocommerce.stock_of(sku) == till
        box.square.simulate_sale(variation_id, sold, location_id=box.square.location_ids()[1])
        runner.run(force=True)
        runner.run(force=True)
        assert box.woocommerce.stock_of(sku) == web, "woocommerce"
        assert _till(box, sku)[1] == web, "square"
        assert _ledger(runner, store, sku) == web, "ledger"
        manual = [r["reason"] for r in store.ledger_rows([sku]) if ":manual:" in r["source_id"]]
        assert not manual, "no manual change invented"
