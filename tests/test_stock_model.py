"""Model-based test of stock truth (issue 9, "proof beyond the cases").

Random sequences of what shops do (web orders through their statuses, refunds with and without
restock, parent-managed pools, manual edits; till sales, returns, counts and adjustments per location,
below zero too) are played on both emulators over HTTP and on the reference model
(tests/stock_model.py), interleaved with real syncs (``SyncRunner`` on a real SQLite store). After
every sync each channel must show exactly the model's truth (less buffers), and the ledger's on-hand
must equal it.

Operation families are switched on one test at a time, so a failure says which rules break:

* ``SHOPBRIDGE_MODEL_FAMILIES=woo_status,square_counts`` runs only those (default: all, one test each,
  plus ``mixed`` with every family at once);
* ``SHOPBRIDGE_MODEL_PROFILE=long`` runs many more, longer examples (``make model``);
* ``SHOPBRIDGE_MODEL_STRICT=1`` drops the expected-failure marks, so every failing family prints its
  shrunk example (``make model`` sets it).

A WooCommerce manual edit is played at least 3 s away from that SKU's own web events (and is read by
a sync before the next one): shopbridge documents that a count within 2 s of one of the channel's own
events is not judged (WooCommerce dates orders to the second), and the model does not test that limit.
"""

from __future__ import annotations

import copy
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test

from bridge.policy import SyncPolicy
from bridge.store import Store
from sandbox.launch import Sandbox
from tests.model_channels import Channels
from tests.stock_model import PAID_STATUSES, WOO_STATUSES, Shop, WooOrder, refund_moves, status_moves
from tests.sync_helpers import make_runner

SKUS = ("SB-00001", "SB-00002", "SB-00003-L", "SB-00003-M", "SB-00003-S", "SB-00004")
POOL_SKUS = ("SB-00003-L", "SB-00003-M", "SB-00003-S")
WOO_FAMILIES = (
    "woo_sales",
    "woo_status",
    "woo_refund_restock",
    "woo_refund_no_restock",
    "woo_manual",
    "woo_pool",
)
SQUARE_FAMILIES = ("square_sales", "square_negative", "square_returns", "square_counts", "square_adjust")
FAMILIES = (*WOO_FAMILIES, *SQUARE_FAMILIES)
WEB_FAMILIES = {"woo_sales", "woo_status", "woo_refund_restock", "woo_refund_no_restock", "woo_pool"}
MANUAL_QUIET_SECONDS = 3.05
"""A WooCommerce manual edit is this far from the SKU's own events (2 s documented, second resolution)."""

KNOWN_FAILURES: dict[str, str] = {}
"""Families failing on today's main, with the issue 9 case that makes them fail (expected failures).
None today. On the previous main the read-path race failed square_sales/adjust/negative every run
and the others under load (a WooCommerce count not re-read after our write in the same second was
judged a manual change, undoing a till sale; shrunk: till_sale, sync, sync), and woo_manual missed a
manual count typed in the same second as a read; on the earlier main the families found cases 1-8
(see the README's decisions)."""
RACY: set[str] = set()
"""Known failures that depend on which second a sync lands in: their expected failure cannot be
strict (a family under such a race fails some runs, not every run)."""

PROFILES = {
    "ci": {"max_examples": 5, "stateful_step_count": 10},  # CI: `make model` runs the long profile
    "long": {"max_examples": 500, "stateful_step_count": 30},
}
SLOW_FAMILIES = {"woo_manual": {"max_examples": 3, "stateful_step_count": 8}}
"""Families whose examples sleep (manual edits wait out the documented 2 s window) run fewer in CI."""


def family_policy(families: frozenset[str]) -> SyncPolicy:
    """Buffers are part of what is checked: one unit held back on the web shop (a buffer on Square,
    a channel with locations, is refused by the configuration: issue 9 case 9)."""
    return SyncPolicy(buffers={"woocommerce": 1})


class StockMachine(RuleBasedStateMachine):
    """Both emulators, a store, a runner and the model, played together."""

    families: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory(prefix="stock-model-")
        self.box = Sandbox(products=len(SKUS), locations=2, overlap_extras=False).start()
        self.channels = Channels(self.box)
        self.store = Store(Path(self.tmp.name) / "shopbridge.db")
        self.policy = family_policy(self.families)
        pools = {}
        if "woo_pool" in self.families:
            pools[self.channels.make_pool(list(POOL_SKUS), 5)] = POOL_SKUS
        self.runner = make_runner(self.box, self.store, self.policy)
        locations = tuple(self.runner.locations().keys)
        counts = self.channels.square_stock(list(SKUS), list(locations))  # what the first sync seeds
        self.runner.run(force=True)
        self.shop = Shop(
            SKUS,
            locations,
            {(sku, loc): counts.get((sku, loc), 0) for sku in SKUS for loc in locations},
            woo_buffer=self.policy.buffer_for("woocommerce"),
            pools=pools,
        )
        self.orders: list[WooOrder] = []
        self.woo_event_at: dict[str, float] = {}
        self.unread_manual: set[str] = set()
        self.failed = False
        self.check("the first sync")

    def teardown(self) -> None:
        try:
            if not self.failed:  # a failure already reported needs no second one from here
                self.sync()
        finally:
            self.channels.close()
            self.store.close()
            self.tmp.cleanup()
            # A server's shutdown waits out its 0.5 s poll: let it happen while the next example runs.
            threading.Thread(target=self.box.stop, daemon=True).start()

    # -- which operations are on -----------------------------------------------------------------

    def on(self, *names: str) -> bool:
        return bool(self.families.intersection(names))

    @property
    def negatives(self) -> bool:
        return self.on("square_negative")

    def web_skus(self) -> tuple[str, ...]:
        return POOL_SKUS if self.on("woo_pool") and not self.on(*(WEB_FAMILIES - {"woo_pool"})) else SKUS

    def own_skus(self) -> tuple[str, ...]:
        """SKUs holding their own WooCommerce stock (a manager can type a count for them)."""
        pooled = {sku for members in self.shop.pools.values() for sku in members}
        return tuple(sku for sku in SKUS if sku not in pooled)

    # -- WooCommerce -----------------------------------------------------------------------------

    def before_web_event(self, skus: list[str]) -> None:
        """A manual edit not yet read is read first, so a count never holds both (see module doc)."""
        owners = {self.shop.owner_of(sku) for sku in skus}
        if owners & self.unread_manual:
            self.sync()
        for owner in owners:
            self.woo_event_at[owner] = time.time()

    def apply_web(self, order: WooOrder, status: str) -> None:
        trial = copy.deepcopy(order)
        moves = status_moves(trial, status)
        if not self.negatives and self.shop.would_go_negative(moves):
            return
        self.before_web_event([line.sku for line in order.lines])
        shown = self.channels.woo_status(order.order_id, status)
        assert shown == trial.status, f"WooCommerce moved order {order.order_id} to {shown}, not {status}"
        order.__dict__.update(trial.__dict__)
        self.shop.woo_moves(moves)

    @precondition(lambda self: self.on(*WEB_FAMILIES))
    @rule(
        picks=st.lists(st.tuples(st.integers(0, 100), st.integers(1, 3)), min_size=1, max_size=2),
        status=st.sampled_from(("processing", "completed", "on-hold", "pending", "failed")),
        then_sync=st.booleans(),
    )
    def web_order(self, picks: list[tuple[int, int]], status: str, then_sync: bool) -> None:
        """A checkout (or an admin order) for one or two SKUs at a status."""
        if not self.on("woo_status"):
            status = status if status in PAID_STATUSES else "processing"
        skus = self.web_skus()
        lines: dict[str, int] = {}
        for pick, qty in picks:
            sku = skus[pick % len(skus)]
            sellable = qty if self.negatives else min(qty, self.shop.web_sellable(sku) - lines.get(sku, 0))
            if sellable > 0:
                lines[sku] = lines.get(sku, 0) + sellable
        if (
            status in PAID_STATUSES
            and not self.negatives
            and self.shop.would_go_negative({sku: -qty for sku, qty in lines.items()})
        ):
            return
        if not lines:
            return
        self.before_web_event(list(lines))
        order = self.channels.woo_order(list(lines.items()), status)
        self.shop.woo_moves(status_moves(order, status))
        shown = self.channels.woo_order_status(order.order_id)
        assert shown == order.status, f"WooCommerce created order {order.order_id} as {shown}, not {status}"
        self.orders.append(order)
        if then_sync:
            self.sync()

    @precondition(lambda self: self.on("woo_status", "woo_refund_restock") and bool(self.orders))
    @rule(pick=st.integers(0, 100), status=st.sampled_from(WOO_STATUSES), then_sync=st.booleans())
    def order_status(self, pick: int, status: str, then_sync: bool) -> None:
        """A shop manager (or a payment gateway) moves an order to another status."""
        if not self.on("woo_status"):
            status = "cancelled"
        order = self.orders[pick % len(self.orders)]
        if order.status != status:
            self.apply_web(order, status)
        if then_sync:
            self.sync()

    @precondition(lambda self: self.on("woo_refund_restock", "woo_refund_no_restock") and bool(self.orders))
    @rule(
        pick=st.integers(0, 100),
        line_pick=st.integers(0, 3),
        qty=st.integers(1, 3),
        restock=st.booleans(),
        then_sync=st.booleans(),
    )
    def refund(self, pick: int, line_pick: int, qty: int, restock: bool, then_sync: bool) -> None:
        """A refund of part of one line, restock ticked or not."""
        if not self.on("woo_refund_no_restock"):
            restock = True
        elif not self.on("woo_refund_restock"):
            restock = False
        order = self.orders[pick % len(self.orders)]
        open_lines = [line for line in order.lines if order.refundable(line) > 0]
        if not open_lines or order.status in ("pending", "failed", "cancelled"):
            return
        line = open_lines[line_pick % len(open_lines)]
        quantities = {line.line_id: min(qty, order.refundable(line))}
        trial = copy.deepcopy(order)
        moves = refund_moves(trial, quantities, restock=restock)
        self.before_web_event([line.sku])
        self.channels.woo_refund(order, quantities, restock=restock)
        shown = self.channels.woo_order_status(order.order_id)
        assert shown == trial.status, (
            f"after the refund order {order.order_id} is {shown}, not {trial.status}"
        )
        order.__dict__.update(trial.__dict__)
        self.shop.woo_moves(moves)
        if then_sync:
            self.sync()

    @precondition(lambda self: self.on("woo_manual"))
    @rule(pick=st.integers(0, 100), quantity=st.integers(0, 30))
    def woo_manual_edit(self, pick: int, quantity: int) -> None:
        """A shop manager types a new stock count in wp-admin."""
        skus = self.own_skus()
        sku = skus[pick % len(skus)]
        if not self.negatives:  # the difference lands on the default location: keep it >= 0
            quantity = max(quantity, self.shop.woo_shown[sku] - self.shop.truth[(sku, self.shop.default)])
        wait = self.woo_event_at.get(sku, 0.0) + MANUAL_QUIET_SECONDS - time.time()
        if wait > 0:
            time.sleep(wait)
        self.channels.woo_manual(sku, quantity)
        self.shop.woo_manual(sku, quantity)
        self.unread_manual.add(sku)

    # -- Square ----------------------------------------------------------------------------------

    def till(self, pick: int, location: int) -> tuple[str, str]:
        skus = POOL_SKUS if self.on("woo_pool") and not self.on(*SQUARE_FAMILIES) else SKUS
        return skus[pick % len(skus)], self.shop.locations[location % len(self.shop.locations)]

    def bounded(self, sku: str, loc: str, qty: int) -> int:
        """A till sale or breakage as large as allowed: anything when testing negatives, else no more
        than Square shows or the location truly holds."""
        if self.negatives:
            return qty
        return max(0, min(qty, self.shop.square_shown[(sku, loc)], self.shop.truth[(sku, loc)]))

    @precondition(lambda self: self.on("square_sales", "square_negative", "woo_pool"))
    @rule(pick=st.integers(0, 100), location=st.integers(0, 1), qty=st.integers(1, 4))
    def till_sale(self, pick: int, location: int, qty: int) -> None:
        sku, loc = self.till(pick, location)
        qty = self.bounded(sku, loc, qty)
        if qty:
            self.channels.square_sale(sku, loc, qty)
            self.shop.square_move(sku, loc, -qty)

    @precondition(lambda self: self.on("square_returns"))
    @rule(pick=st.integers(0, 100), location=st.integers(0, 1), qty=st.integers(1, 3))
    def till_return(self, pick: int, location: int, qty: int) -> None:
        """A refund at the till with the item put back on the shelf."""
        sku, loc = self.till(pick, location)
        self.channels.square_adjust(sku, loc, qty, "UNLINKED_RETURN", "IN_STOCK")
        self.shop.square_move(sku, loc, qty)

    @precondition(lambda self: self.on("square_adjust"))
    @rule(pick=st.integers(0, 100), location=st.integers(0, 1), qty=st.integers(1, 5), receive=st.booleans())
    def till_adjust(self, pick: int, location: int, qty: int, receive: bool) -> None:
        """Goods received (NONE -> IN_STOCK) or broken (IN_STOCK -> WASTE) at a location."""
        sku, loc = self.till(pick, location)
        if receive:
            self.channels.square_adjust(sku, loc, qty, "NONE", "IN_STOCK")
            self.shop.square_move(sku, loc, qty)
            return
        qty = self.bounded(sku, loc, qty)
        if qty:
            self.channels.square_adjust(sku, loc, qty, "IN_STOCK", "WASTE")
            self.shop.square_move(sku, loc, -qty)

    @precondition(lambda self: self.on("square_counts", "square_negative"))
    @rule(pick=st.integers(0, 100), location=st.integers(0, 1), quantity=st.integers(0, 30))
    def till_count(self, pick: int, location: int, quantity: int) -> None:
        """Staff count the shelf at one location."""
        sku, loc = self.till(pick, location)
        self.channels.square_count(sku, loc, quantity)
        self.shop.square_count(sku, loc, quantity)

    # -- syncing and checking ----------------------------------------------------------------------

    @rule()
    def sync(self) -> None:
        """A sync; then every channel and the ledger must agree with the model."""
        self.runner.run(force=True)
        if self.differences():
            self.runner.run(force=True)  # a settling sync may take a second round
        done = time.time()
        for owner in self.unread_manual:
            self.woo_event_at[owner] = done  # a detected manual change is an event at its count
        self.unread_manual.clear()
        self.check("a sync")
        self.shop.settle()

    def differences(self) -> list[str]:
        woo = self.channels.woo_stock(self.shop.owners())
        square = self.channels.square_stock(list(SKUS), list(self.shop.locations))
        return self.shop.differences(woo, square, self.store.on_hand())

    def check(self, after: str) -> None:
        found = self.differences()
        if found:
            self.failed = True
            skus = sorted({line.split()[1].split("@")[0] for line in found} & set(SKUS))
            ledger = [
                f"  {r['sku']}@{r['location']} {r['delta']:+d} {r['kind']}: {r['reason']}"
                for r in self.store.ledger_rows(skus)
            ]
            raise AssertionError(f"after {after}:\n" + "\n".join(found) + "\nledger:\n" + "\n".join(ledger))


def machine_for(families: frozenset[str]) -> type[StockMachine]:
    return type(f"StockMachine_{'_'.join(sorted(families))}", (StockMachine,), {"families": families})


def model_settings(family: str) -> settings:
    profile = os.environ.get("SHOPBRIDGE_MODEL_PROFILE", "ci")
    figures: dict[str, Any] = dict(PROFILES[profile])
    if profile == "ci":
        figures.update(SLOW_FAMILIES.get(family, {}))
    # Shrinking is for reading a failure (make model); in CI a known failure need not be shrunk.
    phases = [Phase.explicit, Phase.reuse, Phase.generate]
    if profile != "ci" or os.environ.get("SHOPBRIDGE_MODEL_STRICT") == "1":
        phases.append(Phase.shrink)
    return settings(
        deadline=None,
        phases=phases,
        derandomize=profile == "ci",
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        **figures,
    )


def selected() -> list[Any]:
    wanted = os.environ.get("SHOPBRIDGE_MODEL_FAMILIES")
    names = [n.strip() for n in wanted.split(",") if n.strip()] if wanted else [*FAMILIES, "mixed"]
    unknown = set(names) - {*FAMILIES, "mixed"}
    if unknown:
        raise ValueError(f"unknown model families {sorted(unknown)}; known: {', '.join(FAMILIES)}, mixed")
    strict = os.environ.get("SHOPBRIDGE_MODEL_STRICT") == "1"
    params = []
    for name in names:
        marks: list[Any] = []
        reason = KNOWN_FAILURES.get(name)
        if name == "mixed" and KNOWN_FAILURES:
            reason = "every family at once fails while one does: " + ", ".join(sorted(KNOWN_FAILURES))
        if reason and not strict:
            marks.append(pytest.mark.xfail(strict=name not in RACY, reason=reason))
        params.append(pytest.param(name, marks=marks, id=name))
    return params


@pytest.mark.parametrize("family", selected())
def test_channels_and_ledger_follow_the_model(family: str) -> None:
    families = frozenset(FAMILIES) if family == "mixed" else frozenset({family})
    run_state_machine_as_test(machine_for(families), settings=model_settings(family))
