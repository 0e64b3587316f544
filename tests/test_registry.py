"""The channel registry: channel names in the config are validated against it, and what differs
between channels is each channel's declared capability, not a guess made for all of them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from adapters.ebay import EbayAdapter
from adapters.square import SquareAdapter
from adapters.woocommerce import WooCommerceAdapter
from bridge import registry
from tests.conftest import RunCli

MINIMAL = """
[channels.woocommerce]
url = "https://shop.example.com"
consumer_key = { env = "WC_KEY" }
consumer_secret = { env = "WC_SECRET" }
"""
ENV = {"WC_KEY": "a", "WC_SECRET": "b"}


def test_a_table_for_a_channel_shopbridge_does_not_have_names_the_ones_it_has(
    tmp_path: Path, run_cli: RunCli
) -> None:
    path = tmp_path / "shopbridge.toml"
    path.write_text(MINIMAL + '\n[channels.etsy]\nurl = "https://openapi.etsy.com"\n')
    result = run_cli("--config", str(path), "config", "check", env=ENV)
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = [x for x in result.stderr.splitlines() if "channels.etsy" in x]
    assert line.startswith(f"error: {path}: channels.etsy: ")
    assert "'etsy'" in line and "known channels: ebay, square, woocommerce" in line


@pytest.mark.parametrize(
    ("owner", "says"),
    [
        ("etsy", ["'square'", "'woocommerce'"]),  # not a channel shopbridge has
        ("ebay", ["eBay never owns the catalogue"]),  # registered, but its listings are linked by SKU
    ],
)
def test_system_of_record_is_a_registered_channel_that_may_own_and_nothing_else(
    tmp_path: Path, run_cli: RunCli, owner: str, says: list[str]
) -> None:
    path = tmp_path / "shopbridge.toml"
    path.write_text(MINIMAL + f'\n[sync]\nsystem_of_record = "{owner}"\n')
    result = run_cli("--config", str(path), "config", "check", env=ENV)
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = [x for x in result.stderr.splitlines() if "system_of_record" in x]
    assert line.startswith(f"error: {path}: sync.system_of_record: ")
    assert all(part in line for part in says), line


def test_a_write_version_is_read_as_a_date_only_where_the_channel_says_it_is_one() -> None:
    """WooCommerce answers a write with its ``date_modified_gmt``: when the write was applied, the
    moment of the count written. Square's version is a counter: it was parsed as a date too (any
    counter that happens to look like one, e.g. 20261201, became a moment), now never."""
    woo, square = WooCommerceAdapter.capabilities, SquareAdapter.capabilities
    assert woo.written_at("2026-12-01T10:00:00") == "2026-12-01T10:00:00.000000+00:00"
    assert woo.written_at("not a date") is None and woo.written_at(None) is None
    assert square.written_at("20261201") is None
    assert square.written_at("1733045200000") is None


def test_each_built_in_channel_declares_the_capabilities_of_its_adapter() -> None:
    for name, adapter in (
        ("woocommerce", WooCommerceAdapter),
        ("square", SquareAdapter),
        ("ebay", EbayAdapter),
    ):
        assert registry.channel(name).capabilities == adapter.capabilities
        assert registry.channel(name).section.model_fields["enabled"].default is True
    assert registry.builtin_names() == ["woocommerce", "square", "ebay"]


def test_a_second_channel_under_a_taken_name_is_refused() -> None:
    impostor = replace(registry.channel("square"), title="Not Square")
    with pytest.raises(ValueError, match="already registered"):
        registry.register(impostor)
    assert registry.register(registry.channel("square")) is registry.channel("square")  # the same: fine
