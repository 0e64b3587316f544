"""Square sold below zero (issue 9, case 8), end to end over loopback against both emulators.

Square lets a till sell what its count says is not there: the count goes negative (its count is
the last physical count plus the adjustments after it, with no floor). The ledger and Square must
then agree on the negative number, so that the next physical count of the shelf is honoured exactly;
the web shop, which promises stock to buyers, is shown 0, and that floor is never read back as a
manual change on it.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

from bridge.store import Store
from sandbox.launch import Sandbox
from sandbox.seed import SeedProduct, SeedVariant
from sandbox.square import SquareEmulator, fmt_ms
from tests.square_helpers import (
    call,
    square_emulator,  # noqa: F401 - the emulator fixture
)
from tests.sync_helpers import make_runner


def _receive(box: Sandbox, variation_id: str, quantity: int) -> None:
    """Goods received at the till (Square Dashboard's "receive stock": NONE -> IN_STOCK)."""
    answer = call(
        box.square,
        "POST",
        "/v2/inventory/changes/batch-create",
        {
            "idempotency_key": uuid.uuid4().hex,
            "changes": [
                {
                    "type": "ADJUSTMENT",
                    "adjustment": {
                        "catalog_object_id": variation_id,
                        "location_id": box.square.location_ids()[0],
                        "from_state": "NONE",
                        "to_state": "IN_STOCK",
                        "quantity": str(quantity),
                        "occurred_at": fmt_ms(int(time.time() * 1000)),
                    },
                }
            ],
        },
    )
    assert "errors" not in answer, answer


def _manual_entries(store: Store, sku: str, channel: str) -> list[dict[str, object]]:
    return [
        r for r in store.ledger_rows([sku]) if r["channel"] == channel and ":manual:" in str(r["source_id"])
    ]


def test_a_square_oversell_stays_negative_and_the_next_shelf_count_is_honoured(
    box: Sandbox, store: Store
) -> None:
    runner = make_runner(box, store)
    runner.run()
    sku = box.catalogues.shared_skus[0]
    variation = box.square.variation_by_sku(sku)
    assert variation is not None
    var_id, loc = variation["id"], box.square.location_ids()[0]
    box.square.manual_count(var_id, 0)  # the shelf is empty
    runner.run()
    assert box.square.count(var_id, loc) == 0 and box.woocommerce.stock_of(sku) == 0

    box.square.simulate_sale(var_id, 1)  # the till sells one anyway: Square shows -1
    assert box.square.count(var_id, loc) == -1
    runner.run()
    # No invented receipt: Square keeps what it holds, and the ledger agrees with it.
    assert box.square.count(var_id, loc) == -1
    assert store.on_hand([sku]) == {(sku, loc): -1}
    assert box.woocommerce.stock_of(sku) == 0  # the web shop cannot promise a negative number

    box.woocommerce.simulate_sale([(sku, 1)])  # a REST/backorder sale takes WooCommerce below 0 too
    assert box.woocommerce.stock_of(sku) == -1
    runner.run()
    runner.run()
    assert store.on_hand([sku]) == {(sku, loc): -2}
    assert box.square.count(var_id, loc) == -2
    assert box.woocommerce.stock_of(sku) == 0
    assert not _manual_entries(store, sku, "woocommerce")  # the floor is not a manual change

    box.square.manual_count(var_id, 0)  # staff count the shelf: nothing there
    runner.run()
    assert store.on_hand([sku]) == {(sku, loc): 0}
    assert box.square.count(var_id, loc) == 0 and box.woocommerce.stock_of(sku) == 0

    _receive(box, var_id, 5)  # and a delivery of 5 arrives: every unit of it counts
    runner.run()
    runner.run()
    assert store.on_hand([sku]) == {(sku, loc): 5}
    assert box.square.count(var_id, loc) == 5
    assert box.woocommerce.stock_of(sku) == 5
    assert not _manual_entries(store, sku, "woocommerce")


def test_the_square_emulator_sells_below_zero_as_square_does(emulator: SquareEmulator) -> None:
    """Square's count has no floor (the last physical count plus later adjustments): a completed
    order for more than the count leaves it negative, served as a negative decimal string."""
    emulator.seed([SeedProduct("Mug", (SeedVariant("MUG", Decimal("5.00"), stock=1),))])
    variation = emulator.variation_by_sku("MUG")
    assert variation is not None
    var_id, loc = variation["id"], emulator.location_ids()[0]
    emulator.simulate_sale(var_id, 3)
    answer = call(
        emulator,
        "POST",
        "/v2/inventory/counts/batch-retrieve",
        {"catalog_object_ids": [var_id], "location_ids": [loc]},
    )
    assert [c["quantity"] for c in answer["counts"]] == ["-2"]
