"""WooCommerce orders move the ledger exactly as WooCommerce moved its own stock.

End to end over loopback: both emulators, the real adapters, a real SQLite file. After every step the
ledger's on-hand for the SKU, WooCommerce's count and Square's count must equal what WooCommerce's own
rules did (``wc-stock-functions.php``: ``wc_maybe_reduce_stock_levels`` on processing/on-hold/completed
and payment, ``wc_maybe_increase_stock_levels`` on cancelled/pending; ``wc-order-functions.php``:
``wc_restock_refunded_items`` only when the refund asks for it, ``api_restock``), and reading the
orders again, in any order, must add nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bridge.ledger import LedgerEntry, on_hand
from bridge.models import StockEventKind
from bridge.store import Store
from bridge.sync import SyncRunner
from sandbox.launch import Sandbox
from tests.sync_helpers import make_runner, square_stock
from tests.woo_helpers import woo_rest


def _woo(box: Sandbox, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = woo_rest(box.woocommerce, method, path, body)
    return data


def _ledger(runner: SyncRunner, store: Store, sku: str) -> int:
    entries = [runner._entry(r) for r in store.ledger_rows([sku])]
    return sum(q for (s, _loc), q in on_hand(entries, runner.policy, runner.locations()).items() if s == sku)


def _settled(box: Sandbox, runner: SyncRunner, store: Store, sku: str, expected: int) -> None:
    """A sync, then every view of the SKU equals ``expected`` and the next plan is empty."""
    _plans, report = runner.run()
    assert not report.failed
    assert box.woocommerce.stock_of(sku) == expected, "woocommerce"
    assert square_stock(box, sku) == expected, "square"
    assert _ledger(runner, store, sku) == expected, "ledger"
    assert runner.prepare().plan.empty


def _start(box: Sandbox, store: Store) -> tuple[SyncRunner, str, int]:
    runner = make_runner(box, store)
    runner.run()
    sku = box.catalogues.shared_skus[0]
    initial = box.woocommerce.stock_of(sku) or 0
    assert initial >= 5
    return runner, sku, initial


def _status(box: Sandbox, order: dict[str, Any], status: str) -> None:
    _woo(box, "PUT", f"orders/{order['id']}", {"status": status})


def _refund(box: Sandbox, order: dict[str, Any], qty: int, *, restock: bool) -> None:
    line = order["line_items"][0]["id"]
    _woo(
        box,
        "POST",
        f"orders/{order['id']}/refunds",
        {
            "amount": "1.00",
            "line_items": [{"id": line, "quantity": qty, "refund_total": "1.00"}],
            "api_restock": restock,
        },
    )


def test_a_refund_without_restock_adds_no_stock_anywhere(box: Sandbox, store: Store) -> None:
    runner, sku, initial = _start(box, store)
    order = box.woocommerce.simulate_sale([(sku, 2)])
    _settled(box, runner, store, sku, initial - 2)
    _refund(box, order, 1, restock=False)  # money back, the unit is not on the shelf
    assert box.woocommerce.stock_of(sku) == initial - 2
    _settled(box, runner, store, sku, initial - 2)


def test_a_partial_restock_then_cancel_gives_back_only_the_rest(box: Sandbox, store: Store) -> None:
    runner, sku, initial = _start(box, store)
    order = box.woocommerce.simulate_sale([(sku, 3)])
    _settled(box, runner, store, sku, initial - 3)
    _refund(box, order, 1, restock=True)
    _settled(box, runner, store, sku, initial - 2)
    _status(box, order, "cancelled")  # WooCommerce restores the 2 still reduced, not 3
    assert box.woocommerce.stock_of(sku) == initial
    _settled(box, runner, store, sku, initial)


def test_a_paid_order_moved_back_to_pending_restores_stock(box: Sandbox, store: Store) -> None:
    runner, sku, initial = _start(box, store)
    order = box.woocommerce.simulate_sale([(sku, 2)])
    _settled(box, runner, store, sku, initial - 2)
    _status(box, order, "pending")
    assert box.woocommerce.stock_of(sku) == initial
    # The ledger follows WooCommerce; the next sync does not write the lower number back.
    _settled(box, runner, store, sku, initial)


def test_every_status_woocommerce_applies_stock_rules_to(box: Sandbox, store: Store) -> None:
    runner, sku, initial = _start(box, store)
    order = _woo(box, "POST", "orders", {"line_items": [{"sku": sku, "quantity": 2}]})
    _settled(box, runner, store, sku, initial)  # pending: nothing reduced
    for status, shelf in (
        ("on-hold", initial - 2),
        ("processing", initial - 2),  # reduced once per order (_order_stock_reduced)
        ("failed", initial - 2),  # failed restores nothing
        ("completed", initial - 2),
        ("refunded", initial - 2),  # the refunded status alone restocks nothing
        ("pending", initial),
        ("completed", initial - 2),  # reduced again after a restore
        ("cancelled", initial),
        ("processing", initial - 2),
    ):
        _status(box, order, status)
        assert box.woocommerce.stock_of(sku) == shelf, status
        _settled(box, runner, store, sku, shelf)


def test_rereading_every_order_adds_nothing(box: Sandbox, store: Store) -> None:
    runner, sku, initial = _start(box, store)
    first = box.woocommerce.simulate_sale([(sku, 3)])
    second = box.woocommerce.simulate_sale([(sku, 1)])
    _refund(box, first, 1, restock=True)
    _refund(box, second, 1, restock=False)
    _status(box, first, "cancelled")
    _settled(box, runner, store, sku, initial - 1)
    rows = len(store.ledger_rows([sku]))
    store.set_cursor("woocommerce", "events", None)  # read the whole order history again
    _settled(box, runner, store, sku, initial - 1)
    assert len(store.ledger_rows([sku])) == rows


def test_a_custom_status_reached_through_payment_reduces_like_processing(box: Sandbox, store: Store) -> None:
    runner, sku, initial = _start(box, store)
    box.woocommerce.custom_order_statuses.add("awaiting-pickup")
    box.woocommerce.payment_complete_status = "awaiting-pickup"
    order = _woo(box, "POST", "orders", {"set_paid": True, "line_items": [{"sku": sku, "quantity": 2}]})
    assert order["status"] == "awaiting-pickup" and box.woocommerce.stock_of(sku) == initial - 2
    _settled(box, runner, store, sku, initial - 2)
    _status(box, order, "cancelled")
    _settled(box, runner, store, sku, initial)


def test_entries_an_older_version_recorded_are_not_counted_again(box: Sandbox, store: Store) -> None:
    runner, sku, initial = _start(box, store)
    kept = box.woocommerce.simulate_sale([(sku, 2)])
    cancelled = box.woocommerce.simulate_sale([(sku, 1)])
    _refund(box, kept, 1, restock=False)
    _status(box, cancelled, "cancelled")
    refund = _woo(box, "GET", f"orders/{kept['id']}/refunds")[0]
    # What an older version recorded: a sale per line, a cancel, and the refund line as a return.
    now = datetime.now(UTC)
    kinds = {"sale": StockEventKind.SALE, "return": StockEventKind.RETURN, "cancel": StockEventKind.CANCEL}
    location = runner.locations().keys[0]
    old = [
        (f"woocommerce:order:{kept['id']}:line:{kept['line_items'][0]['id']}", "sale", -2),
        (f"woocommerce:refund:{refund['id']}:line:{refund['line_items'][0]['id']}", "return", 1),
        (f"woocommerce:order:{cancelled['id']}:line:{cancelled['line_items'][0]['id']}", "sale", -1),
        (f"woocommerce:order:{cancelled['id']}:line:{cancelled['line_items'][0]['id']}:cancel", "cancel", 1),
    ]
    store.record_stock_events(
        LedgerEntry(source_id, "woocommerce", kinds[kind], sku, location, delta, now, "older version")
        for source_id, kind, delta in old
    )
    store.set_cursor("woocommerce", "events", None)
    # The refund did not restock: the return is taken back once; the cancelled order adds nothing.
    _settled(box, runner, store, sku, initial - 2)
    rows = len(store.ledger_rows([sku]))
    store.set_cursor("woocommerce", "events", None)
    _settled(box, runner, store, sku, initial - 2)
    assert len(store.ledger_rows([sku])) == rows
