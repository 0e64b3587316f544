"""The WooCommerce emulator moves stock on orders exactly as WooCommerce's PHP source does.

Sources (woocommerce/woocommerce, plugins/woocommerce/includes/):

* ``wc-stock-functions.php``: ``wc_maybe_reduce_stock_levels`` on ``woocommerce_payment_complete`` and
  ``woocommerce_order_status_{completed,processing,on-hold}``, once per order (``_order_stock_reduced``
  through the data store's ``get/set_stock_reduced``); ``wc_reduce_stock_levels`` skips a line whose
  ``_reduced_stock`` is set and sets it to the quantity; ``wc_maybe_increase_stock_levels`` on
  ``woocommerce_order_status_{cancelled,pending}`` only if the order's stock was reduced;
  ``wc_increase_stock_levels`` gives back ``_reduced_stock`` (skipped when empty or ``"0"``) and deletes it.
* ``wc-order-functions.php``: ``wc_create_refund`` calls ``wc_restock_refunded_items`` only with
  ``restock_items``, which lowers ``_reduced_stock`` and raises ``_restock_refunded_items`` by the
  refunded quantity; refund lines carry ``_refunded_item_id``; ``wc_order_fully_refunded`` (on the
  ``refunded`` status) refunds what is left without restock.
* ``src/Internal/RestApiParameterUtil.php``: ``api_restock`` defaults to true when not a boolean.
* ``rest-api/Controllers/Version2/class-wc-rest-orders-v2-controller.php`` ``get_order_item_data``:
  line ``meta_data`` is ``$item->get_data()``'s, every meta but the data store's internal keys
  (``data-stores/class-wc-order-item-product-data-store.php`` ``$internal_meta_keys``), so
  ``_reduced_stock`` and ``_restock_refunded_items`` are exposed; ``_order_stock_reduced`` is an
  internal key of the order data store and is not.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from woo_helpers import small_catalog, woo_rest

from sandbox.woocommerce import WooCommerceEmulator


@pytest.fixture
def emu() -> Iterator[WooCommerceEmulator]:
    with WooCommerceEmulator() as emulator:
        emulator.seed(small_catalog())
        yield emulator


def _order(emu: WooCommerceEmulator, qty: int = 3, **extra: Any) -> dict[str, Any]:
    return woo_rest(emu, "POST", "orders", {"line_items": [{"sku": "MUG-1", "quantity": qty}], **extra})  # type: ignore[no-any-return]


def _meta(emu: WooCommerceEmulator, order: dict[str, Any]) -> dict[str, str]:
    line = woo_rest(emu, "GET", f"orders/{order['id']}")["line_items"][0]
    return {m["key"]: m["value"] for m in line["meta_data"]}


def _status(emu: WooCommerceEmulator, order: dict[str, Any], status: str) -> None:
    woo_rest(emu, "PUT", f"orders/{order['id']}", {"status": status})


def _refund(emu: WooCommerceEmulator, order: dict[str, Any], qty: int, **extra: Any) -> dict[str, Any]:
    line = order["line_items"][0]["id"]
    body = {"amount": "1.00", "line_items": [{"id": line, "quantity": qty, "refund_total": "1.00"}], **extra}
    return woo_rest(emu, "POST", f"orders/{order['id']}/refunds", body)  # type: ignore[no-any-return]


def test_reduction_is_once_per_order_and_shown_in_line_meta(emu: WooCommerceEmulator) -> None:
    order = _order(emu)
    assert emu.stock_of("MUG-1") == 7 and _meta(emu, order) == {}  # pending: nothing reduced
    _status(emu, order, "on-hold")
    assert emu.stock_of("MUG-1") == 4 and _meta(emu, order) == {"_reduced_stock": "3"}
    _status(emu, order, "processing")
    _status(emu, order, "completed")
    assert emu.stock_of("MUG-1") == 4  # _order_stock_reduced: no second reduction
    shown = woo_rest(emu, "GET", f"orders/{order['id']}")
    item = shown["line_items"][0]["meta_data"][0]
    assert item["display_key"] == "_reduced_stock" and item["display_value"] == "3"
    assert not any(m["key"] == "_order_stock_reduced" for m in shown["meta_data"])


def test_failed_and_refunded_restore_nothing_pending_and_cancelled_do(emu: WooCommerceEmulator) -> None:
    order = _order(emu, set_paid=True)
    assert emu.stock_of("MUG-1") == 4
    _status(emu, order, "failed")
    assert emu.stock_of("MUG-1") == 4
    _status(emu, order, "refunded")
    assert emu.stock_of("MUG-1") == 4
    refunds = woo_rest(emu, "GET", f"orders/{order['id']}/refunds")
    assert [(r["reason"], r["line_items"]) for r in refunds] == [("Order fully refunded.", [])]
    _status(emu, order, "pending")
    assert emu.stock_of("MUG-1") == 7 and _meta(emu, order) == {}
    _status(emu, order, "processing")  # reduced again after a restore
    assert emu.stock_of("MUG-1") == 4
    _status(emu, order, "cancelled")
    assert emu.stock_of("MUG-1") == 7


def test_refunds_restock_only_when_asked_and_cancel_gives_back_the_rest(emu: WooCommerceEmulator) -> None:
    order = _order(emu, status="processing")
    refund = _refund(emu, order, 1, api_restock=False)
    assert emu.stock_of("MUG-1") == 4 and _meta(emu, order) == {"_reduced_stock": "3"}
    assert [m["key"] for m in refund["line_items"][0]["meta_data"]] == ["_refunded_item_id"]
    assert refund["line_items"][0]["meta_data"][0]["value"] == str(order["line_items"][0]["id"])
    _refund(emu, order, 1)  # api_restock omitted: true
    assert emu.stock_of("MUG-1") == 5
    assert _meta(emu, order) == {"_reduced_stock": "2", "_restock_refunded_items": "1"}
    _status(emu, order, "cancelled")
    assert emu.stock_of("MUG-1") == 7  # the 2 still reduced, not 3
    assert _meta(emu, order) == {"_restock_refunded_items": "1"}


def test_a_fully_restocked_line_is_not_restored_again(emu: WooCommerceEmulator) -> None:
    order = _order(emu, status="completed")
    _refund(emu, order, 3, api_restock=True)
    assert emu.stock_of("MUG-1") == 7 and _meta(emu, order)["_reduced_stock"] == "0"
    _status(emu, order, "cancelled")  # "0" is falsy: wc_increase_stock_levels skips the line
    assert emu.stock_of("MUG-1") == 7


def test_custom_statuses_move_stock_only_through_payment(emu: WooCommerceEmulator) -> None:
    emu.custom_order_statuses.add("shipped")
    manual = _order(emu)
    _status(emu, manual, "shipped")  # no stock hook is attached to a plugin's status
    assert emu.stock_of("MUG-1") == 7
    emu.payment_complete_status = "shipped"
    paid = _order(emu, 2, set_paid=True)  # woocommerce_payment_complete reduces whatever the status
    assert paid["status"] == "shipped" and emu.stock_of("MUG-1") == 5
    assert _meta(emu, paid) == {"_reduced_stock": "2"}
