"""Issue 9, cases 2-4: order paths a real shop takes beyond the cases' wording.

Same set-up as ``test_woo_order_stock.py`` (both emulators, real adapters, a real SQLite file): after
every step the ledger, WooCommerce and Square must equal what WooCommerce's own stock rules did.
"""

from __future__ import annotations

from bridge.store import Store
from sandbox.launch import Sandbox
from tests.test_woo_order_stock import _refund, _settled, _start, _status, _woo


def test_a_restock_of_one_then_a_refund_without_restock_then_cancel(box: Sandbox, store: Store) -> None:
    runner, sku, initial = _start(box, store)
    order = box.woocommerce.simulate_sale([(sku, 3)])
    _settled(box, runner, store, sku, initial - 3)
    _refund(box, order, 1, restock=True)
    _settled(box, runner, store, sku, initial - 2)
    _refund(box, order, 1, restock=False)  # money only: _reduced_stock stays 2
    assert box.woocommerce.stock_of(sku) == initial - 2
    _settled(box, runner, store, sku, initial - 2)
    _status(box, order, "cancelled")
    assert box.woocommerce.stock_of(sku) == initial
    _settled(box, runner, store, sku, initial)


def test_status_paths_a_shop_takes_by_hand(box: Sandbox, store: Store) -> None:
    runner, sku, initial = _start(box, store)
    held = _woo(box, "POST", "orders", {"status": "on-hold", "line_items": [{"sku": sku, "quantity": 1}]})
    _settled(box, runner, store, sku, initial - 1)
    _status(box, held, "cancelled")
    _settled(box, runner, store, sku, initial)
    done = box.woocommerce.simulate_sale([(sku, 2)])
    _status(box, done, "completed")
    _settled(box, runner, store, sku, initial - 2)
    _status(box, done, "refunded")  # by hand: a refund of the rest without restock
    assert box.woocommerce.stock_of(sku) == initial - 2
    _settled(box, runner, store, sku, initial - 2)
    _status(box, done, "cancelled")  # the reduced stock is restored
    assert box.woocommerce.stock_of(sku) == initial
    _settled(box, runner, store, sku, initial)


def test_many_transitions_between_two_syncs_record_only_the_end(box: Sandbox, store: Store) -> None:
    runner, sku, initial = _start(box, store)
    order = _woo(box, "POST", "orders", {"line_items": [{"sku": sku, "quantity": 2}]})
    for status in ("processing", "pending", "on-hold", "cancelled", "completed"):
        _status(box, order, status)
    assert box.woocommerce.stock_of(sku) == initial - 2
    _settled(box, runner, store, sku, initial - 2)
    _refund(box, order, 2, restock=True)  # every unit back: a later cancel gives back nothing more
    _status(box, order, "cancelled")
    assert box.woocommerce.stock_of(sku) == initial
    _settled(box, runner, store, sku, initial)
