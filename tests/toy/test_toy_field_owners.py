"""Field owners across three channels, end to end over loopback: a product the toy shop lacks is
created there from the creator's object with each field taken from that field's owner (Square's
price, WooCommerce's name), so the first sync writes the agreed catalogue and the next has nothing
to correct."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

from sandbox.launch import Sandbox
from tests.square_helpers import call
from tests.toy.helpers import runner_for, three_channels, toy  # noqa: F401 - three_channels: the fixture


def never_on_toy(box: Sandbox, sku: str) -> None:
    """The toy shop's owner never added the product holding ``sku``."""
    emulator = toy(box)
    with emulator.lock:
        product = emulator.product_of(emulator.variant_by_sku(sku)["id"])
        del emulator.products[product["id"]]


def reprice_on_square(box: Sandbox, sku: str, price: Decimal) -> None:
    """The till's price is changed on the Square Dashboard (an upsert of the variation)."""
    variation = box.square.variation_by_sku(sku)
    assert variation is not None, sku
    variation["item_variation_data"]["price_money"]["amount"] = int(price * 100)
    answer = call(
        box.square,
        "POST",
        "/v2/catalog/batch-upsert",
        {"idempotency_key": uuid.uuid4().hex, "batches": [{"objects": [variation]}]},
    )
    assert not answer.get("errors"), answer


def test_a_product_missing_on_the_toy_shop_is_made_with_squares_price_and_woocommerces_name(
    three: Sandbox, tmp_path: Path
) -> None:
    sku = three.catalogues.shared_skus[0]  # a simple product's
    never_on_toy(three, sku)
    reprice_on_square(three, sku, Decimal("77.00"))
    woo_name = three.woocommerce.product_by_sku(sku)["name"]
    runner, store = runner_for(three, tmp_path, 'field_owners = { price = "square" }')
    with store:
        _plans, report = runner.run(force=True)
        assert not report.failed and not report.deferred and not report.errors, report

        made = toy(three).variant_by_sku(sku)
        assert made["price"] == "77.00"  # Square owns the price, not the creator WooCommerce
        assert toy(three).product_of(made["id"])["name"] == woo_name
        # What was created is the agreed catalogue: nothing left to correct on any channel.
        assert runner.prepare().plan.empty
