"""The channels the contract suite runs against: one line per channel.

Each module named here exposes ``HARNESS``, a no-argument factory (usually the class) of a
:class:`tests.contract.harness.ChannelHarness`. A new channel adds its harness module and its line.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from tests.contract.harness import ChannelHarness

__all__ = ["HARNESS_MODULES", "harness_factories"]

HARNESS_MODULES = (
    "tests.contract.woocommerce_harness",
    "tests.contract.square_harness",
)


def harness_factories() -> dict[str, Callable[[], ChannelHarness]]:
    """Channel name -> harness factory, for every registered module, in registration order."""
    factories: dict[str, Callable[[], ChannelHarness]] = {}
    for module_name in HARNESS_MODULES:
        factory: Callable[[], ChannelHarness] = importlib.import_module(module_name).HARNESS
        factories[factory.name] = factory  # type: ignore[attr-defined]
    return factories
