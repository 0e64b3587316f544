"""An incremental read keeps linked variants together though their SKUs differ.

A link made by hand (``shopbridge link``) joins two variants whose SKUs differ: nothing in their
data says they are one product, only the link does. An incremental read stages the changed
product, its linked neighbours from the last reads, and their links; planned in chunks of one
product, the pair must still be one chunk, and the owner's new price reach the till. Over
loopback against both emulators, on a real store file.
"""

from __future__ import annotations

from typing import Any

from bridge.store import Store
from sandbox.launch import Sandbox
from tests.sync_helpers import make_runner
from tests.woo_helpers import woo_rest

WEB = "GIFT-SLEEVE"
"""On the web shop only, in the sandbox."""
TILL = "TILL-TOTE"
"""At the till only, in the sandbox."""


def _link_by_hand(box: Sandbox, store: Store) -> tuple[str, str]:
    """What ``shopbridge unlink`` and ``link`` store to make TILL-TOTE's variation GIFT-SLEEVE's;
    its variation and item ids."""
    variation = box.square.variation_by_sku(TILL)
    assert variation is not None
    store.delete_link("variant", TILL, "square")  # `shopbridge unlink TILL-TOTE --channel square`
    store.upsert_links(
        [
            {
                "entity": "variant",
                "canonical_key": WEB,
                "channel": "square",
                "channel_id": variation["id"],
                "parent_id": variation["item_variation_data"]["item_id"],
            }
        ]
    )
    return str(variation["id"]), str(variation["item_variation_data"]["item_id"])


def _writes(runner: Any) -> list[Any]:
    return [c for c in runner.prepare().plan.changes if c.action != "conflict"]


def test_a_hand_linked_pair_with_two_skus_is_one_chunk_of_an_incremental_read(tmp_path: Any) -> None:
    with Sandbox(products=12, locations=2) as box, Store(tmp_path / "shopbridge.db") as store:
        runner = make_runner(box, store)
        runner.run(force=True)
        till_id, till_item = _link_by_hand(box, store)
        runner.run(force=True, full=True)  # the link's first sync reads everything again
        assert _writes(runner) == []  # what differs besides (the GTIN the till lacks) is reported
        web = box.woocommerce.product_by_sku(WEB)
        woo_rest(box.woocommerce, "PUT", f"products/{web['id']}", {"regular_price": "7.25"})

        runner.chunk_size = 1
        assert not runner.full_read_needed()
        with runner.read(full=False) as reading:
            chunks = list(reading.staged.staging.chunks(1))
        holding = [c for c in chunks if ("woocommerce", str(web["id"])) in c]
        assert len(holding) == 1 and ("square", till_item) in holding[0], chunks

        _, report = runner.run()
        assert not report.failed and not report.errors, report
        variation = box.square.variation_by_sku(TILL)
        assert variation is not None and variation["id"] == till_id
        assert variation["item_variation_data"]["price_money"]["amount"] == 725
        assert _writes(runner) == []
