"""Issue 9, case 10: a kept sale whose variant gets linked without ``link``."""

from __future__ import annotations

from bridge.store import Store
from sandbox.launch import Sandbox
from tests.sync_helpers import make_runner, square_stock
from tests.test_unresolved_sales import _woo
from tests.test_woo_order_stock import _woo as _woo_call


def test_a_kept_web_sale_counts_once_its_variant_is_given_the_tills_sku(box: Sandbox, store: Store) -> None:
    runner = make_runner(box, store)
    runner.run()
    product = _woo(
        box,
        "products",
        {"name": "Tote bag", "regular_price": "4.00", "manage_stock": True, "stock_quantity": 8},
    )
    _woo(
        box, "orders", {"status": "processing", "line_items": [{"product_id": product["id"], "quantity": 2}]}
    )
    runner.run()
    assert [u["delta"] for u in store.open_unresolved()] == [-2]
    till_before = square_stock(box, "TILL-TOTE")
    _woo_call(box, "PUT", f"products/{product['id']}", {"sku": "TILL-TOTE"})  # linked by SKU next sync
    runner.run()
    runner.run()
    assert store.open_unresolved() == []
    assert square_stock(box, "TILL-TOTE") == till_before - 2
    assert runner.prepare().plan.empty
