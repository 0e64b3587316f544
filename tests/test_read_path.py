"""The read path of a sync, end to end: what moment each count describes, which sales are known up to
it, what the events cursor may advance past (issue 9, cases 5, 6, 7, 18, 19, 20).

Races are made deterministic with the emulators' hooks (``after_request``: a sale lands between two
reads of one sync) and WooCommerce's frozen clock, never with sleeps.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from bridge.store import Store
from sandbox.launch import Sandbox
from tests.sync_helpers import make_runner, square_stock, sync_while_selling

WEB_SKU = "SB-00003-S"  # a variation: its WooCommerce count comes from the /variations listing
TILL_SKU = "SB-00007"


def _ledger(store: Store, sku: str) -> int:
    return sum(store.on_hand([sku]).values())


def _variation(box: Sandbox, sku: str) -> str:
    variation = box.square.variation_by_sku(sku)
    assert variation is not None, sku
    return str(variation["id"])


def _web_order(box: Sandbox, sku: str, quantity: int) -> None:
    """A checkout applied inside the emulator (an ``after_request`` hook holds its lock, so it cannot
    go through HTTP like ``simulate_sale``)."""
    box.woocommerce._create_order(
        {
            "status": "processing",
            "billing": {"email": "shopper@example.com"},
            "line_items": [{"sku": sku, "quantity": quantity}],
        }
    )


def _till_sale_after_the_counts(box: Sandbox, sku: str) -> list[str]:
    """Arm a hook: one till sale of ``sku`` as soon as the sync's first counts answer is sent (that
    is, after the counts were read and before the events are read again)."""
    fired: list[str] = []

    def hook(operation: str) -> None:
        if operation == "BatchRetrieveInventoryCounts" and not fired:
            fired.append(operation)
            box.square.simulate_sale(_variation(box, sku), 1)

    box.square.after_request = hook
    return fired


# -- case 5 ---------------------------------------------------------------------------------------


def test_a_web_sale_landing_while_the_catalogue_is_read_is_counted_once(box: Sandbox, store: Store) -> None:
    """The sale lands after the first products listing was served and before the variations
    listing that carries the sold variation's count: that count includes the sale, and must be
    dated when it was served (not when the read started)."""
    runner = make_runner(box, store)
    runner.run()
    woo = box.woocommerce
    before = woo.stock_of(WEB_SKU) or 0
    woo.freeze_time(woo.now())
    listings = 0

    def during_the_read(request: Any) -> None:
        nonlocal listings
        if request.method == "GET" and request.path.endswith("/wc/v3/products"):
            listings += 1
            if listings == 2:  # the trash listing: the first products page went out before the sale
                woo.advance(5)
                _web_order(box, WEB_SKU, 1)
                woo.advance(5)

    woo.after_request = during_the_read
    try:
        _plans, report = runner.run()
    finally:
        woo.after_request = None
    assert listings and not report.failed
    assert _ledger(store, WEB_SKU) == before - 1  # one sale, not a sale and a manual drop
    assert woo.stock_of(WEB_SKU) == square_stock(box, WEB_SKU) == before - 1
    woo.advance(5)
    assert runner.prepare().plan.empty


# -- case 6 ---------------------------------------------------------------------------------------


def test_two_manual_counts_in_a_row_on_woocommerce_are_both_honoured(box: Sandbox, store: Store) -> None:
    runner = make_runner(box, store)
    runner.run()
    woo = box.woocommerce
    woo.manual_stock_edit(TILL_SKU, 8)
    runner.run()
    assert woo.stock_of(TILL_SKU) == square_stock(box, TILL_SKU) == 8
    woo.manual_stock_edit(TILL_SKU, 5)  # the manager corrects the count again
    runner.run()
    assert woo.stock_of(TILL_SKU) == square_stock(box, TILL_SKU) == 5
    assert _ledger(store, TILL_SKU) == 5


def test_a_sync_right_after_a_sale_does_not_blind_the_next_count(box: Sandbox, store: Store) -> None:
    """The sync runs in the second of a web sale (the shop's clock is frozen there): whether that
    count includes the sale cannot be told, but the next count, well after it, can be judged."""
    runner = make_runner(box, store)
    runner.run()
    woo = box.woocommerce
    before = woo.stock_of(TILL_SKU) or 0
    woo.freeze_time(woo.now() + timedelta(seconds=2))
    woo.simulate_sale([(TILL_SKU, 1)])
    runner.run()  # counts read in the sale's own second
    assert woo.stock_of(TILL_SKU) == square_stock(box, TILL_SKU) == before - 1
    woo.advance(5)
    woo.manual_stock_edit(TILL_SKU, 3)  # a stocktake, seconds later
    runner.run()
    assert woo.stock_of(TILL_SKU) == square_stock(box, TILL_SKU) == 3
    assert _ledger(store, TILL_SKU) == 3


# -- case 7 ---------------------------------------------------------------------------------------


def test_a_new_square_location_keeps_the_sales_made_elsewhere_since_the_last_sync(
    box: Sandbox, store: Store
) -> None:
    runner = make_runner(box, store)
    runner.run()
    sku = TILL_SKU
    variation = _variation(box, sku)
    first = box.square.location_ids()[0]
    before = square_stock(box, sku)
    box.square.simulate_sale(variation, 2)  # at the first shop
    box.woocommerce.simulate_sale([(sku, 1)])  # on the web (taken from the default location)
    [pop_up] = box.square.add_locations(["Pop-up"])
    box.square.manual_count(variation, 6, location_id=pop_up)  # the new place's first count
    runner.run()
    recorded = {(r["channel"], r["kind"]) for r in store.ledger_rows([sku]) if r["kind"] != "initial"}
    assert recorded == {("square", "sale"), ("woocommerce", "sale")}  # as sales, not manual changes
    assert store.on_hand([sku]) == {(sku, first): before - 3, (sku, pop_up): 6}
    assert box.square.count(variation, first) == before - 3
    assert box.square.count(variation, pop_up) == 6
    assert box.woocommerce.stock_of(sku) == before - 3 + 6


# -- cases 18, 19, 20 -----------------------------------------------------------------------------


def test_a_till_sale_read_by_the_second_events_read_is_not_dropped(box: Sandbox, store: Store) -> None:
    """A web sale makes the cycle plan WEB_SKU; a till sale of another SKU lands after the counts:
    the cycle's second events read sees it, and must record it before moving its cursor past it."""
    runner = make_runner(box, store)
    runner.run()
    before = square_stock(box, TILL_SKU)
    box.woocommerce.simulate_sale([(WEB_SKU, 1)])
    fired = _till_sale_after_the_counts(box, TILL_SKU)
    runner.run()
    box.square.after_request = None
    assert fired
    assert _ledger(store, TILL_SKU) == before - 1  # recorded by the round that read it
    runner.run()
    assert _ledger(store, TILL_SKU) == before - 1
    assert box.woocommerce.stock_of(TILL_SKU) == square_stock(box, TILL_SKU) == before - 1


def test_a_sale_read_late_is_not_erased_by_the_tills_next_count(box: Sandbox, store: Store) -> None:
    """After the race above, the till sells the same SKU again: its count (dated by that sale) must
    not be 'corrected' upwards to a ledger short of a sale."""
    runner = make_runner(box, store)
    runner.run()
    before = square_stock(box, TILL_SKU)
    box.woocommerce.simulate_sale([(WEB_SKU, 1)])
    _till_sale_after_the_counts(box, TILL_SKU)
    runner.run()
    box.square.after_request = None
    box.square.simulate_sale(_variation(box, TILL_SKU), 1)
    runner.run()
    runner.run()
    assert square_stock(box, TILL_SKU) == box.woocommerce.stock_of(TILL_SKU) == before - 2
    assert _ledger(store, TILL_SKU) == before - 2


def test_a_till_sale_after_the_counts_is_not_taken_off_the_till_twice(box: Sandbox, store: Store) -> None:
    """The web sells 2 of a SKU; the till sells 1 of it between the counts read and the events
    read: Square must get -2 (its own sale it has applied itself), never -3."""
    runner = make_runner(box, store)
    runner.run()
    before = square_stock(box, WEB_SKU)
    box.woocommerce.simulate_sale([(WEB_SKU, 2)])
    fired = _till_sale_after_the_counts(box, WEB_SKU)
    _plans, report = runner.run()
    box.square.after_request = None
    assert fired and not report.failed
    assert square_stock(box, WEB_SKU) == before - 3  # right after the cycle, not a cycle later
    assert _ledger(store, WEB_SKU) == before - 3
    runner.run()
    assert square_stock(box, WEB_SKU) == box.woocommerce.stock_of(WEB_SKU) == before - 3


# -- all of it at once ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 3])
def test_sales_landing_between_any_two_requests_of_the_syncs_are_each_counted_once(
    box: Sandbox, store: Store, seed: int
) -> None:
    """Web and till sales land between the requests of ten syncs (at request boundaries a seeded
    generator picks: after a WooCommerce answer, or after a Square read's answer); after two quiet
    syncs both channels and the ledger show exactly the initial stock less what was sold."""
    runner = make_runner(box, store)
    runner.run()
    rng = random.Random(seed)
    skus = list(box.catalogues.shared_skus)
    truth = {sku: square_stock(box, sku) for sku in skus}
    initial = sum(truth.values())
    variations = {sku: _variation(box, sku) for sku in skus}

    def sell() -> str | None:
        stocked = [sku for sku in skus if truth[sku] > 0]
        if not stocked:
            return None
        sku = rng.choice(stocked)
        truth[sku] -= 1
        return sku

    def on_woocommerce(request: Any) -> None:
        if rng.random() < 0.15 and (sku := sell()):
            _web_order(box, sku, 1)

    def on_square(operation: str) -> None:
        if operation.startswith("BatchRetrieve") and rng.random() < 0.3 and (sku := sell()):
            box.square.simulate_sale(variations[sku], 1)

    sync_while_selling(runner, box, on_woocommerce=on_woocommerce, on_square=on_square)
    runner.run()
    runner.run()
    assert initial - sum(truth.values()) >= 10  # sales did land during the syncs
    shown = {
        sku: (box.woocommerce.stock_of(sku), square_stock(box, sku), _ledger(store, sku)) for sku in skus
    }
    assert shown == {sku: (n, n, n) for sku, n in truth.items()}
    manual = [r for r in store.ledger_rows(skus) if ":manual:" in r["source_id"]]
    assert manual == []  # no sale was taken for a manual change
