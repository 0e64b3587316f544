"""WooCommerce as a registered channel (see :mod:`bridge.registry`): its config section, how its
adapter is built, how its webhooks are set up, how ``init`` asks for it, and its emulator."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import Field

from adapters.base import ChannelAdapter
from adapters.woocommerce import WooCommerceAdapter
from bridge.registry import ChannelContext, ChannelEmulator, ChannelInit, ChannelSpec, InitSecret
from bridge.settings import ChannelSection, HttpUrl, Secret

if TYPE_CHECKING:
    from bridge.config import Config
    from sandbox.seed import SeedProduct

__all__ = ["CHANNEL", "WOO_TOPICS", "WooCommerceChannel"]


class WooCommerceChannel(ChannelSection):
    """``[channels.woocommerce]``: the shop's URL and its REST API keys."""

    url: HttpUrl = Field(description="Shop base URL, e.g. https://shop.example.com")
    consumer_key: Secret
    consumer_secret: Secret
    webhook_secret: Secret | None = None
    timeout_seconds: float = Field(30.0, gt=0)
    verify_tls: bool = True


WOO_TOPICS = ("product.created", "product.updated", "product.deleted", "order.created", "order.updated")
"""The webhook topics ``webhooks register`` subscribes to: catalogue changes and sales."""


def _build(section: WooCommerceChannel, context: ChannelContext) -> ChannelAdapter:
    return WooCommerceAdapter(
        section.url,
        section.consumer_key.get(),
        section.consumer_secret.get(),
        section.webhook_secret.get() if section.webhook_secret else "",
        timeout=section.timeout_seconds,
        currency=context.currency,
        verify_tls=section.verify_tls,
    )


def _register_webhooks(adapter: ChannelAdapter, url: str, config: Config) -> list[str]:
    """WooCommerce's webhooks are made over its REST API (one per topic)."""
    assert isinstance(adapter, WooCommerceAdapter)
    ids = adapter.register_webhooks(url, WOO_TOPICS)
    return [f"{len(ids)} webhooks deliver to {url}"]


def _emulator() -> ChannelEmulator:
    from sandbox.woocommerce import WooCommerceEmulator

    return WooCommerceEmulator()


def _seed(emulator: ChannelEmulator, products: Sequence[SeedProduct], locations: int) -> None:
    from sandbox.woocommerce import WooCommerceEmulator

    assert isinstance(emulator, WooCommerceEmulator)
    emulator.seed(products)


def _sandbox_section(emulator: ChannelEmulator, port: int) -> dict[str, str]:
    info = emulator.connection_info()
    return {
        "url": json.dumps(info["url"]),
        "consumer_key": f"{{ value = {json.dumps(info['consumer_key'])} }}",
        "consumer_secret": f"{{ value = {json.dumps(info['consumer_secret'])} }}",
        "webhook_secret": f"{{ value = {json.dumps(info['webhook_secret'])} }}",
    }


CHANNEL: ChannelSpec[WooCommerceChannel] = ChannelSpec(
    name="woocommerce",
    title="WooCommerce",
    section=WooCommerceChannel,
    capabilities=WooCommerceAdapter.capabilities,
    build=_build,
    register_webhooks=_register_webhooks,
    init=ChannelInit(
        question="Connect a WooCommerce shop?",
        answers=(("url", "  shop URL (https://...)", None),),
        secrets=(
            InitSecret("consumer_key", "  consumer key", "SHOPBRIDGE_WC_KEY", flag="key"),
            InitSecret("consumer_secret", "  consumer secret", "SHOPBRIDGE_WC_SECRET", flag="secret"),
            InitSecret("webhook_secret", "  webhook secret", "SHOPBRIDGE_WC_WEBHOOK_SECRET", webhook=True),
        ),
        flag_prefix="wc",
    ),
    emulator=_emulator,
    seed=_seed,
    sandbox_section=_sandbox_section,
)
