"""What a channel provides to be put through the channel contract (tests/contract/test_contract.py).

The contract is written once, against :class:`adapters.base.ChannelAdapter`; each channel plugs in
a small :class:`ChannelHarness` that knows how to run its emulator and how to make the things
happen there that a real shop makes happen (a product added by hand, a sale at the till or the
shop front, a deletion, a corrupted item, a webhook delivery). The harness never reads through the
adapter and never judges it: the generic tests do that, the same way for every channel (the shape
of vdirsyncer's ``StorageTests``: a new backend gets every test by providing a fixture).

To add a channel: write ``<channel>_harness.py`` here exposing ``HARNESS`` (a class implementing
this protocol) and add its module to :data:`tests.contract.registry.HARNESS_MODULES`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from adapters.base import ChannelAdapter
from sandbox.http import FaultInjector
from sandbox.seed import SeedProduct

__all__ = ["ChannelHarness", "CustomerHarness", "Delivery", "EmulatorBeside", "wait_until"]


class EmulatorBeside:
    """What every harness running one emulator beside a webhook receiver does the same way: start
    both, stop both (the receiver first), and reach the emulator's fault injector. A harness sets
    ``emulator`` (started, stopped, with a ``server.faults``) and ``receiver`` in ``__init__``."""

    emulator: Any
    receiver: Any

    def start(self) -> None:
        self.emulator.start()
        self.receiver.start()

    def stop(self) -> None:
        self.receiver.stop()
        self.emulator.stop()

    @property
    def faults(self) -> FaultInjector:
        faults: FaultInjector = self.emulator.server.faults
        return faults


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery exactly as the channel sent it: headers, raw body, and the URL it was
    sent to (Square signs the URL with the body)."""

    headers: Mapping[str, str]
    body: bytes
    url: str


class ChannelHarness(Protocol):
    """One channel's emulator and adapter, for the contract tests.

    ``start()`` runs the emulator with an empty catalogue (and whatever fixed setup the channel
    needs, e.g. locations); ``stop()`` ends it and may check what it served (Square's harness
    validates every answer against the OpenAPI spec). Everything else is called between the two.
    """

    name: str
    """The channel's name, as adapters put it in ``channel`` fields and read issues."""
    catalog_read_path: str
    """Regex of the path of the first request a catalogue read sends (faults are injected on it)."""
    create_path: str
    """Regex of the path of the POST that creates products (faults are injected on it)."""
    known_violations: Mapping[str, str]
    """Contract tests this channel's adapter is known to fail: test function name -> the bug, named
    precisely. Each such test runs as ``xfail(strict=True)`` for this channel, so it turns red the
    day the bug is fixed and the entry has to go."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    @property
    def faults(self) -> FaultInjector:
        """The emulator's fault injector (:class:`sandbox.http.FaultRule`)."""
        ...

    def adapter(self, *, max_attempts: int = 5, valid_credentials: bool = True) -> ChannelAdapter:
        """A new adapter bound to the emulator, configured as in production except for
        ``max_attempts`` (retries inside one call); with ``valid_credentials`` False, its API
        credentials are wrong (its webhook secret stays right)."""
        ...

    def seed(self, products: Sequence[SeedProduct]) -> None:
        """Add ``products`` to the channel as its owner would (every SKU distinct), stock counted at
        each location the channel has."""
        ...

    def reprice(self, sku: str, price: Decimal) -> None:
        """The owner changes the price of the variant ``sku`` alone, with the channel's own tools
        (a variation edited on its own, not through its product)."""
        ...

    def sell(self, sku: str, quantity: int) -> None:
        """A customer buys ``quantity`` of ``sku`` the way the channel records sales (a paid order
        at the shop front, a completed sale at the till's first location)."""
        ...

    def delete(self, product_id: str) -> None:
        """The owner deletes the product the way the channel's own tools do (WooCommerce's "move to
        trash", Square's delete)."""
        ...

    def corrupt(self, sku: str) -> str:
        """From now on the channel serves the catalogue item holding ``sku`` in a form the adapter
        cannot read (as a broken extension or a hand-edited row makes a real shop do); returns the
        name of the field it broke, as the adapter's :class:`adapters.issues.ReadIssue` names it."""
        ...

    def signed_delivery(self) -> Delivery:
        """Make a change that the channel announces by webhook and return the delivery it sent, signed
        with the secret the adapter from :meth:`adapter` is configured with."""
        ...


class CustomerHarness(ChannelHarness, Protocol):
    """What a channel whose adapter declares customer capability adds for the customer contract
    (tests/contract/test_contract_customers.py)."""

    customer_create_path: str
    """Regex of the path of the request that creates a customer (faults are injected on it)."""

    def watch_customers(self) -> None:
        """From now on the channel announces customer changes by webhook to the harness."""
        ...

    def add_customer(self, email: str, given_name: str, phone: str = "") -> str:
        """A customer signs up / is added by staff with the channel's own tools; returns its id."""
        ...

    def edit_customer(self, customer_id: str, given_name: str) -> None:
        """Staff change the customer's first name with the channel's own tools."""
        ...

    def delete_customer(self, customer_id: str) -> None:
        """Staff delete the customer for good (a GDPR erasure)."""
        ...

    def sell_to(self, customer_id: str, sku: str, quantity: int) -> None:
        """The customer buys ``quantity`` of ``sku`` (the till naming them, or their account)."""
        ...

    def corrupt_customer(self, customer_id: str) -> str:
        """From now on the channel serves this customer in a form the adapter cannot read; returns
        the field it broke, as the adapter's read issue names it."""
        ...

    def customer_deliveries(self) -> list[Delivery]:
        """Every webhook delivery received so far."""
        ...


def wait_until(ready: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Poll ``ready`` until it holds (webhooks arrive from the emulator's delivery thread)."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)
