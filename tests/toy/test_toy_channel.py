"""A third channel, added by this folder alone, linked and synced end to end with WooCommerce
and Square: its config section is validated, its adapter built and its emulator run through the
registry, and the engine plans for it from its capabilities like for any other channel."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bridge import registry
from bridge.config import ConfigError, load_config
from sandbox.launch import Sandbox
from tests.sync_helpers import square_stock
from tests.toy.adapter import ToyAdapter
from tests.toy.helpers import runner_for, three_channels, toy  # noqa: F401 - three_channels: the fixture
from tests.woo_helpers import woo_rest


def test_the_toy_channel_is_linked_and_synced_with_woocommerce_and_square(
    three: Sandbox, tmp_path: Path
) -> None:
    runner, store = runner_for(three, tmp_path)
    with store:
        assert isinstance(runner.adapters["toy"], ToyAdapter)
        _plans, report = runner.run(force=True)
        assert not report.failed and not report.deferred and not report.errors, report

        shared = three.catalogues.shared_skus
        links = {
            r["canonical_key"]: r["channel_id"]
            for r in store.links_by_key("variant", shared)
            if r["channel"] == "toy"
        }
        assert links == {sku: toy(three).variant_by_sku(sku)["id"] for sku in shared}
        # WooCommerce owns the catalogue: its product the toy shop lacked was made there, with its stock.
        gift = toy(three).variant_by_sku("GIFT-SLEEVE")
        assert (gift["price"], gift["stock"]) == ("2.50", 30)

        sku_a, sku_b = shared[:2]
        before = {sku: square_stock(three, sku) for sku in (sku_a, sku_b)}
        toy(three).sell(sku_a, 2)  # a sale on the toy shop...
        three.woocommerce.simulate_sale([(sku_b, 1)])  # ...and one on the web shop
        _plans, report = runner.run()
        assert not report.failed and not report.errors, report
        for sku, sold in ((sku_a, 2), (sku_b, 1)):
            expected = before[sku] - sold
            assert square_stock(three, sku) == expected, sku
            assert three.woocommerce.stock_of(sku) == expected, sku
            assert toy(three).variant_by_sku(sku)["stock"] == expected, sku

        # The owner's price change reaches the toy shop; what we wrote, read back, plans nothing.
        reprice_on_woocommerce(three, sku_a, Decimal("99.00"))
        _plans, report = runner.run()
        assert not report.failed and not report.errors, report
        assert toy(three).variant_by_sku(sku_a)["price"] == "99.00"
        assert runner.prepare().plan.empty


def reprice_on_woocommerce(box: Sandbox, sku: str, price: Decimal) -> None:
    """The shop owner edits the price in wp-admin (here: over the REST API, as wp-admin saves it)."""
    held = box.woocommerce.product_by_sku(sku)
    path = (
        f"products/{held['parent_id']}/variations/{held['id']}"
        if held.get("parent_id")
        else f"products/{held['id']}"
    )
    woo_rest(box.woocommerce, "PUT", path, {"regular_price": str(price)})


def test_a_toy_section_is_validated_by_its_own_model(three: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "shopbridge.toml"
    path.write_text(three.config_text().replace("[channels.toy]", "[channels.toy]\ncolour = 1"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"{path}: channels.toy.colour: unknown key" in caught.value.problems
    assert "toy" in registry.channel_names()
