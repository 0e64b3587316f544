"""eBay's multi-variation listings (inventory item groups) against the emulator over loopback: a
group is read as one product holding its variants, its listing's daily revisions are counted once
for all its SKUs, and a quiet read reads no group again."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from adapters.base import SetStock
from sandbox.ebay import EbayEmulator
from sandbox.http import FaultRule
from sandbox.seed import SeedProduct, SeedVariant
from tests.ebay_helpers import catalogue, ebay_adapter, running_emulator

TEE = SeedProduct(
    "Tee",
    tuple(SeedVariant(f"TEE-{s}", Decimal("15.00"), stock=4, options={"Size": s}) for s in ("S", "M", "L")),
)


@pytest.fixture
def emulator() -> Iterator[EbayEmulator]:
    yield from running_emulator()


def set_stock(sku: str, quantity: int) -> SetStock:
    return SetStock(key=f"test:{sku}:{quantity}", product_id=sku, variant_id=sku, quantity=quantity)


def test_a_group_is_one_product_with_its_variants_and_a_quiet_read_reads_no_group(
    emulator: EbayEmulator,
) -> None:
    emulator.seed([*catalogue(2), TEE])
    adapter = ebay_adapter(emulator)
    page = adapter.read_catalog()
    by_id = {p.channel_id: p for p in page.items}
    assert set(by_id) == {"MUG-000", "MUG-001", "TEE"}
    tee = by_id["TEE"]
    assert (tee.kind, tee.name) == ("variable", "Tee")
    assert [(v.sku, v.stock) for v in tee.variants] == [("TEE-S", 4), ("TEE-M", 4), ("TEE-L", 4)]
    assert adapter.groups.reads == 1

    emulator.buy("TEE-M", 1)  # a sale changes an item's quantity, not its group
    since = adapter.read_catalog(page.cursor)
    assert [p.channel_id for p in since.items] == ["TEE"]
    quiet = adapter.read_catalog(since.cursor)
    assert quiet.items == [] and adapter.groups.reads == 1


def test_a_groups_skus_share_their_listings_daily_revisions(emulator: EbayEmulator) -> None:
    emulator.seed([TEE])
    adapter = ebay_adapter(emulator)
    adapter.read_catalog()
    listing = emulator.listing_of("TEE-S")
    assert emulator.listing_of("TEE-M") == emulator.listing_of("TEE-L") == listing  # one listing
    adapter.budget.counts.add(adapter.budget.today(), {"TEE": 249})  # the group's, not a SKU's
    emulator.set_revisions_today(listing, 249)
    results = adapter.apply([set_stock("TEE-S", 0), set_stock("TEE-M", 0)])
    assert [(r.ok, r.code) for r in results] == [(True, None), (False, "REVISION_BUDGET")]
    assert emulator.revisions_today(listing) == 250 and emulator.quantity("TEE-M") == 4
    assert adapter.budget.counts.of(adapter.budget.today(), ["TEE", "TEE-S"]) == {"TEE": 250}


def test_a_variation_may_sell_out_on_an_account_refusing_0_while_another_has_stock() -> None:
    for em in running_emulator(zero_quantity="refuse"):
        em.seed([TEE])
        adapter = ebay_adapter(em)
        adapter.read_catalog()
        [result] = adapter.apply([set_stock("TEE-S", 0)])
        assert result.ok and em.quantity("TEE-S") == 0 and em.is_listed("TEE-S")
        assert em.withdrawn == []  # the listing lives on: its other variations are for sale


def test_a_group_sold_out_on_an_account_refusing_0_is_ended_whole_and_listed_again_at_the_restock() -> None:
    for em in running_emulator(zero_quantity="refuse"):
        em.seed([TEE])
        adapter = ebay_adapter(em)
        adapter.read_catalog()
        first = em.listing_of("TEE-S")
        assert all(r.ok for r in adapter.apply([set_stock("TEE-S", 0), set_stock("TEE-M", 0)]))
        assert em.is_listed("TEE-L") and em.withdrawn == []

        [last] = adapter.apply([set_stock("TEE-L", 0)])  # eBay refuses the listing at 0: ended whole
        assert last.ok and adapter.ends.refuses_zero()
        assert not any(em.is_listed(s) for s in ("TEE-S", "TEE-M", "TEE-L")) and len(em.withdrawn) == 3
        assert sorted(adapter.ends.ended()) == ["TEE-L", "TEE-M", "TEE-S"]
        [tee] = adapter.read_catalog().items  # still one product, every variation at 0
        assert [(v.sku, v.stock) for v in tee.variants] == [("TEE-S", 0), ("TEE-M", 0), ("TEE-L", 0)]

        [restocked] = adapter.apply([set_stock("TEE-M", 5)])  # the first restock lists it again
        assert restocked.ok
        relisted = em.listing_of("TEE-M")
        assert relisted != first and em.listing_of("TEE-S") == relisted and em.quantity("TEE-M") == 5
        assert adapter.ends.ended() == {} and len(em.published) == 3
        [again] = adapter.apply([set_stock("TEE-S", 2)])  # live already: a quantity write, no publish
        assert again.ok and len(em.published) == 3 and em.quantity("TEE-S") == 2


def test_a_lost_answer_to_a_group_withdraw_is_not_sent_twice() -> None:
    for em in running_emulator(zero_quantity="refuse"):
        em.seed([TEE])
        adapter = ebay_adapter(em, zero_quantity="end_listing")
        adapter.read_catalog()
        em.server.faults.add(
            FaultRule(
                kind="apply_then_reset", method="POST", path=r"/withdraw_by_inventory_item_group$", times=1
            )
        )
        results = adapter.apply([set_stock(s, 0) for s in ("TEE-S", "TEE-M", "TEE-L")])
        assert all(r.ok for r in results) and len(em.withdrawn) == 3  # read back, not sent again
        assert sorted(adapter.ends.ended()) == ["TEE-L", "TEE-M", "TEE-S"]
