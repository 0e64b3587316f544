"""The WooCommerce adapter's validation boundary, against the emulator serving one bad part of an
answer (``rewrite`` faults): an order line without a product, a line whose quantity is not a
number, an order without ``id``, a variable product without variations. Each is skipped and
reported (channel, id, field), and the rest of the same answer is read as usual."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from woo_helpers import make_adapter, small_catalog

from adapters.woocommerce import WooCommerceAdapter
from sandbox.http import FaultRule
from sandbox.woocommerce import WooCommerceEmulator


@pytest.fixture
def emulator() -> Iterator[WooCommerceEmulator]:
    with WooCommerceEmulator() as emu:
        emu.seed(small_catalog())
        yield emu


@pytest.fixture
def adapter(emulator: WooCommerceEmulator) -> WooCommerceAdapter:
    return make_adapter(emulator)


def serve(emulator: WooCommerceEmulator, path: str, edit: Callable[[list[dict[str, Any]]], None]) -> None:
    def rewrite(items: Any) -> Any:
        edit(items)
        return items

    emulator.server.faults.add(FaultRule(kind="rewrite", path=path, times=None, rewrite=rewrite))


def test_order_lines_and_orders_that_cannot_be_read_are_reported_and_the_rest_counted(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter
) -> None:
    custom = emulator.simulate_sale([("MUG-1", 2), ("TEE-S", 1)])
    garbled = emulator.simulate_sale([("TEE-M", 1), ("MUG-1", 1)])
    nameless = emulator.simulate_sale([("TEE-L", 0 + 1)])

    def edit(orders: list[dict[str, Any]]) -> None:
        for order in orders:
            if order["id"] == custom["id"]:  # a custom line: no product behind it
                order["line_items"][0].update(product_id=0, variation_id=0)
            elif order["id"] == garbled["id"]:
                order["line_items"][0]["quantity"] = "one"
            elif order["id"] == nameless["id"]:
                del order["id"]

    serve(emulator, r"/wc/v3/orders$", edit)
    page = adapter.read_stock_events(None)

    # What could be read is counted: TEE-S from the first order, MUG-1 from the second.
    assert sorted((e.sku, e.delta) for e in page.items) == [("MUG-1", -1), ("TEE-S", -1)]
    got = {(i.kind, i.object_id, i.parent, i.field) for i in page.issues}
    assert got == {
        ("order line", str(custom["line_items"][0]["id"]), f"order {custom['id']}", "product_id"),
        ("order line", str(garbled["line_items"][0]["id"]), f"order {garbled['id']}", "quantity"),
        ("order", None, None, "id"),
    }
    assert all(i.channel == "woocommerce" and not i.holds for i in page.issues)  # sales hold no SKU
    line = next(i for i in page.issues if i.field == "product_id")
    assert "no stock moved" in line.message and f"order {custom['id']}" in line.message


def test_a_variable_product_without_variations_is_reported_and_skipped(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter
) -> None:
    tee = emulator.product_by_sku("TEE-S")["parent_id"]

    def edit(products: list[dict[str, Any]]) -> None:
        for product in products:
            if product["id"] == tee:
                product["variations"] = []

    serve(emulator, r"/wc/v3/products$", edit)
    page = adapter.read_catalog(None)
    assert sorted(v.sku or "" for p in page.items for v in p.variants) == ["MUG-1", "POS-1"]
    [issue] = page.issues
    assert (issue.channel, issue.kind, issue.object_id, issue.field) == (
        "woocommerce",
        "product",
        str(tee),
        "variations",
    )
    assert "add its variations in WooCommerce, or make it a simple product" in issue.message
    assert issue.holds and str(tee) in issue.variant_ids
