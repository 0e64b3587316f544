"""Issue 9, case 15: a malformed stock count or order line is skipped and reported.

A Square count (``counts/batch-retrieve``) or change whose ``quantity`` is not a number used to be
read as 0: the shelf looked emptied, a manual change of minus the stock entered the ledger and both
channels were written down to 0. A WooCommerce order line whose quantity is not a number must be
reported, never counted. Real HTTP against both emulators, a real SQLite file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bridge.store import Store
from bridge.sync import SyncRunner
from sandbox.http import FaultRule
from sandbox.launch import Sandbox
from tests.sync_helpers import make_runner, square_stock
from tests.test_woo_order_stock import _woo


def _square_rewrites(box: Sandbox, endpoint: str, edit: Callable[[dict[str, Any]], None]) -> None:
    """Square serves every answer of ``endpoint`` changed by ``edit``, from now on."""

    def rewrite(body: Any) -> Any:
        edit(body)
        return body

    rule = FaultRule(kind="rewrite", path=rf"/v2/inventory/{endpoint}$", times=None, rewrite=rewrite)
    box.square.server.faults.add(rule)


def _square_serves_count(box: Sandbox, variation_id: str, quantity: Any) -> None:
    def edit(body: dict[str, Any]) -> None:
        for count in body.get("counts") or []:
            if count.get("catalog_object_id") == variation_id:
                count["quantity"] = quantity

    _square_rewrites(box, "counts/batch-retrieve", edit)


def _square_serves_counted(box: Sandbox, variation_id: str, quantity: Any) -> None:
    """Square's change log serves the physical count of 3 of ``variation_id`` with ``quantity``."""

    def edit(body: dict[str, Any]) -> None:
        for change in body.get("changes") or []:
            part = change.get("physical_count") or {}
            if part.get("catalog_object_id") == variation_id and part.get("quantity") == "3":
                part["quantity"] = quantity

    _square_rewrites(box, "changes/batch-retrieve", edit)


def _synced(box: Sandbox, store: Store) -> tuple[SyncRunner, str, str]:
    """After a first sync: the runner, a shared SKU and its Square variation's id."""
    runner = make_runner(box, store)
    runner.run()
    sku = box.catalogues.shared_skus[0]
    variation = box.square.variation_by_sku(sku)
    assert variation is not None
    return runner, sku, variation["id"]


def test_a_square_count_that_is_not_a_number_is_skipped_not_read_as_zero(box: Sandbox, store: Store) -> None:
    runner, sku, variation_id = _synced(box, store)
    web, till = box.woocommerce.stock_of(sku), square_stock(box, sku)
    assert web and till
    rows = len(store.ledger_rows([sku]))
    box.woocommerce.simulate_sale([(sku, 1)])  # the SKU moved: its Square count is read
    _square_serves_count(box, variation_id, "abc")
    plans, _ = runner.run()
    skipped = [s for plan in plans for s in plan.skipped]
    assert [(s.channel, s.object_id, s.field) for s in skipped] == [("square", variation_id, "quantity")]
    kinds = [r["kind"] for r in store.ledger_rows([sku])[rows:]]
    assert kinds == ["sale"]  # the web sale, and nothing from the bad count
    assert box.woocommerce.stock_of(sku) == web - 1  # nothing written to the SKU
    box.square.server.faults.clear()
    runner.run()
    assert box.woocommerce.stock_of(sku) == till - 1  # read again once readable


def _woo_serves_line_quantity(box: Sandbox, order_id: int, quantity: Any) -> None:
    def rewrite(body: Any) -> Any:
        for order in body if isinstance(body, list) else ():
            if order.get("id") == order_id:
                order["line_items"][0]["quantity"] = quantity
        return body

    rule = FaultRule(kind="rewrite", path=r"/wc/v3/orders$", times=None, rewrite=rewrite)
    box.woocommerce.server.faults.add(rule)


def test_a_web_order_line_with_a_quantity_that_is_not_a_number_is_reported(
    box: Sandbox, store: Store
) -> None:
    runner = make_runner(box, store)
    runner.run()
    sku = box.catalogues.shared_skus[0]
    till = square_stock(box, sku)
    bad = _woo(box, "POST", "orders", {"status": "processing", "line_items": [{"sku": sku, "quantity": 2}]})
    box.woocommerce.simulate_sale([(sku, 1)])
    _woo_serves_line_quantity(box, bad["id"], "two")
    plans, _ = runner.run()
    skipped = [(s.channel, s.kind, s.parent, s.field) for plan in plans for s in plan.skipped]
    assert skipped == [("woocommerce", "order line", f"order {bad['id']}", "quantity")]
    assert square_stock(box, sku) == till - 1  # the readable order counts
    box.woocommerce.server.faults.clear()
    store.set_cursor("woocommerce", "events", None)  # read again once fixed
    runner.run()
    assert square_stock(box, sku) == till - 3


def test_a_square_count_change_that_is_not_a_number_records_nothing(box: Sandbox, store: Store) -> None:
    runner, sku, variation_id = _synced(box, store)
    web = box.woocommerce.stock_of(sku)
    rows = len(store.ledger_rows([sku]))
    box.square.manual_count(variation_id, 3)
    _square_serves_counted(box, variation_id, "abc")
    plans, _ = runner.run()
    assert ("square", "quantity") in {(s.channel, s.field) for plan in plans for s in plan.skipped}
    assert len(store.ledger_rows([sku])) == rows  # "abc" is not a count of 0
    assert box.woocommerce.stock_of(sku) == web
