"""Building the configured channel adapters: each enabled channel's, by its registered spec.

The engine and the store never import adapters; the CLI and the daemon ask this module for
``{channel name: adapter}`` built from the configuration's resolved secrets. Which adapter a
channel has, and how its section makes one, is the channel's own business (:mod:`bridge.registry`).
"""

from __future__ import annotations

from adapters.base import ChannelAdapter
from bridge import registry
from bridge.config import Config

__all__ = ["build_adapters", "notification_urls"]


def build_adapters(config: Config) -> dict[str, ChannelAdapter]:
    """The enabled channels' adapters, keyed by channel name, each with its section's concurrency
    and the region phone numbers without a country code are read in (``[customers]``)."""
    context = config.channel_context()
    adapters: dict[str, ChannelAdapter] = {}
    for name, section in config.channels.enabled().items():
        adapter = registry.channel(name).build(section, context)
        adapter.concurrency = section.concurrency
        adapter.default_country = config.customers.default_country
        adapters[name] = adapter
    return adapters


def notification_urls(config: Config) -> dict[str, str]:
    """The URL each channel that signs it was told to deliver webhooks to (the receiver verifies
    against it); the others deliver to ``<public_url>/webhooks/<name>``."""
    found = {
        name: registry.channel(name).notification_url(section)
        for name, section in config.channels.sections().items()
    }
    return {name: url for name, url in found.items() if url}
