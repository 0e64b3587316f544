"""Building the configured channel adapters: the one place that knows every concrete adapter.

The engine and the store never import adapters; the CLI and the daemon ask this module for
``{channel name: adapter}`` built from the configuration's resolved secrets.
"""

from __future__ import annotations

from adapters.base import ChannelAdapter
from adapters.square import SquareAdapter
from adapters.woocommerce import WooCommerceAdapter
from bridge.config import Config

__all__ = ["build_adapters"]


def build_adapters(config: Config) -> dict[str, ChannelAdapter]:
    """The enabled channels' adapters, keyed by channel name."""
    adapters: dict[str, ChannelAdapter] = {}
    wc = config.channels.woocommerce
    if wc is not None and wc.enabled:
        adapters["woocommerce"] = WooCommerceAdapter(
            wc.url,
            wc.consumer_key.get(),
            wc.consumer_secret.get(),
            wc.webhook_secret.get() if wc.webhook_secret else "",
            timeout=wc.timeout_seconds,
            currency=config.sync.currency,
            verify_tls=wc.verify_tls,
        )
    sq = config.channels.square
    if sq is not None and sq.enabled:
        adapters["square"] = SquareAdapter(
            sq.access_token.get(),
            base_url=sq.resolved_base_url(),
            signature_key=sq.signature_key.get() if sq.signature_key else None,
            notification_url=sq.notification_url,
            location_ids=sq.location_ids or None,
            timeout=sq.timeout_seconds,
        )
    return adapters
