"""Issue 9, case 14 on the till's side: staff delete a Square item and make it again with its SKU.

Square's delete is for good for the API (the object is gone, only a tombstone in a delta read).
The link must follow the live variation with the SKU, so till sales of the new item reach the web
shop, and no third item is created on Square.
"""

from __future__ import annotations

import time
import uuid

from bridge.store import Store
from sandbox.square import fmt_ms
from tests.square_helpers import call
from tests.test_duplicates import CAP, MUG, links, runner, sandbox, square_skus


def test_a_square_item_deleted_and_made_again_takes_over_its_sku(store: Store) -> None:
    for box in sandbox([MUG, CAP], [MUG, CAP]):
        run = runner(box, store)
        run.run()
        old = box.square.variation_by_sku("MUG-1")
        assert old is not None
        call(box.square, "DELETE", f"/v2/catalog/object/{old['item_variation_data']['item_id']}")
        made = call(
            box.square,
            "POST",
            "/v2/catalog/object",
            {
                "idempotency_key": uuid.uuid4().hex,
                "object": {
                    "type": "ITEM",
                    "id": "#mug",
                    "item_data": {
                        "name": "Mug",
                        "variations": [
                            {
                                "type": "ITEM_VARIATION",
                                "id": "#mug-1",
                                "item_variation_data": {
                                    "item_id": "#mug",
                                    "name": "Regular",
                                    "sku": "MUG-1",
                                    "pricing_type": "FIXED_PRICING",
                                    "price_money": {"amount": 1250, "currency": "USD"},
                                    "track_inventory": True,
                                },
                            }
                        ],
                    },
                },
            },
        )
        new = made["catalog_object"]["item_data"]["variations"][0]["id"]
        counted = call(
            box.square,
            "POST",
            "/v2/inventory/changes/batch-create",
            {
                "idempotency_key": uuid.uuid4().hex,
                "changes": [
                    {
                        "type": "PHYSICAL_COUNT",
                        "physical_count": {
                            "catalog_object_id": new,
                            "location_id": box.square.location_ids()[0],
                            "state": "IN_STOCK",
                            "quantity": "7",
                            "occurred_at": fmt_ms(int(time.time() * 1000)),
                        },
                    }
                ],
            },
        )
        assert "errors" not in counted, counted
        _plans, report = run.run()
        assert not report.failed and not report.errors
        assert links(store, "square")["MUG-1"] == new
        assert box.woocommerce.stock_of("MUG-1") == 7  # the shelf's 7 are the ledger's 7, not 14
        box.square.simulate_sale(new, 2)
        run.run()
        run.run()
        assert box.woocommerce.stock_of("MUG-1") == 5
        assert square_skus(box) == {"MUG-1": 1, "CAP-1": 1}
        assert box.square.count(new, box.square.location_ids()[0]) == 5
        assert not any("MUG-1" in w for w in run.prepare().plan.warnings)
