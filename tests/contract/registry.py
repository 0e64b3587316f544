"""The channels the contract suite runs against: one line per channel.

Each module named here exposes ``HARNESS``, its :class:`tests.contract.harness.ChannelHarness`
class (built anew, without arguments, for each test). A new channel adds its harness module and
its line.
"""

from __future__ import annotations

import importlib

from tests.contract.harness import ChannelHarness

__all__ = ["HARNESS_MODULES", "harness_factories"]

HARNESS_MODULES = (
    "tests.contract.woocommerce_harness",
    "tests.contract.square_harness",
    "tests.contract.ebay_harness",
    "tests.toy.harness",
)


def harness_factories() -> dict[str, type[ChannelHarness]]:
    """Channel name -> harness class, for every registered module, in registration order."""
    factories: dict[str, type[ChannelHarness]] = {}
    for module_name in HARNESS_MODULES:
        harness: type[ChannelHarness] = importlib.import_module(module_name).HARNESS
        factories[harness.name] = harness
    return factories
