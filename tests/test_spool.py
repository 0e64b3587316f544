"""The catalogue spool: what a WooCommerce read keeps on disk while pairing products with variations."""

from __future__ import annotations

from typing import Any

from adapters.spool import CatalogSpool, SpooledItem


def product(pid: int, children: list[int], name: str = "Tee", kind: str = "variable") -> SpooledItem:
    data: dict[str, Any] = {"id": pid, "type": kind, "name": name, "variations": children}
    return SpooledItem(data, key=f"p:{pid}@{name}", date="2026-11-23T10:00:00")


def variation(vid: int, parent: int, sku: str) -> SpooledItem:
    return SpooledItem({"id": vid, "parent_id": parent, "sku": sku}, key=f"v:{vid}@{sku}", date=None)


def wanted(spool: CatalogSpool, size: int = 100) -> list[tuple[int, str, list[str]]]:
    return [
        (p.data["id"], p.data["name"], [v.data["sku"] for v in vs])
        for batch in spool.wanted(size)
        for p, vs in batch
    ]


def test_products_come_out_in_id_order_with_their_variations_in_the_products_order() -> None:
    with CatalogSpool() as spool:
        spool.add_products([(product(20, [23, 21, 22]), True), (product(10, [11]), True)])
        spool.add_variations(
            [
                (variation(22, 20, "B"), True, True),
                (variation(21, 20, "A"), True, False),
                (variation(23, 20, "C"), False, False),
                (variation(11, 10, "X"), True, True),
            ]
        )
        assert wanted(spool, size=1) == [(10, "Tee", ["X"]), (20, "Tee", ["C", "A", "B"])]


def test_a_later_copy_replaces_an_earlier_one_and_keeps_what_either_copy_was() -> None:
    with CatalogSpool() as spool:
        spool.add_products([(product(1, [2, 3]), True)])
        spool.add_products([(product(1, [3], name="Tee v2"), False)])  # read again after a restart
        spool.add_variations([(variation(3, 1, "old"), True, True)])
        spool.add_variations([(variation(3, 1, "new"), False, False)])
        assert wanted(spool) == [(1, "Tee v2", ["new"])]  # still wanted; variation 2 no longer listed
        assert list(spool.changed_variations()) == [("v:3@new", None)]  # still counted as changed


def test_parents_of_new_variations_are_wanted_and_the_unspooled_ones_listed_for_fetching() -> None:
    with CatalogSpool() as spool:
        spool.add_products([(product(1, [2]), False), (product(5, [6]), False)])
        spool.add_variations(
            [
                (variation(2, 1, "a"), True, True),
                (variation(6, 5, "b"), True, False),
                *[(variation(v, v - 1, f"s{v}"), True, True) for v in (101, 103, 105)],
            ]
        )
        spool.want_parents_of_new_variations()
        assert wanted(spool) == [(1, "Tee", ["a"])]  # 5's variation was already seen
        batches = []
        for ids in spool.missing_parents(2):
            batches.append(ids)
            spool.add_products([(product(i, [i + 1, i + 50]), True) for i in ids])  # fetched meanwhile
        assert batches == [[100, 102], [104]]
        fetched = []
        for ids in spool.missing_children(2):
            fetched.append(ids)
            spool.add_variations([(variation(i, i - 50, f"u{i}"), False, False) for i in ids])
        assert fetched == [[150, 152], [154]]
        assert wanted(spool)[1:] == [(i, "Tee", [f"s{i + 1}", f"u{i + 50}"]) for i in (100, 102, 104)]


def test_simple_products_have_no_variations_to_fetch() -> None:
    with CatalogSpool() as spool:
        spool.add_products([(product(7, [], kind="simple"), True), (product(8, [9]), False)])
        assert list(spool.missing_children(100)) == []  # 8 is not wanted, 7 is simple
        assert wanted(spool) == [(7, "Tee", [])]


def test_a_failed_batch_leaves_nothing_half_spooled() -> None:
    def broken() -> Any:
        yield product(1, [2]), True
        raise RuntimeError("read failed mid-page")

    with CatalogSpool() as spool:
        try:
            spool.add_products(broken())
        except RuntimeError:
            pass
        assert wanted(spool) == []


def ready(spool: CatalogSpool, ids: list[int]) -> list[tuple[int, str, list[str]]]:
    return [(p.data["id"], p.data["name"], [v.data["sku"] for v in vs]) for p, vs in spool.ready(ids)]


def test_a_product_is_ready_once_whole_passed_once_and_again_after_a_newer_copy() -> None:
    """What a read passes on before its listings end: a wanted product (or one with a new
    variation) once every variation it lists is in; not again, unless a newer copy of it or of
    a variation arrives; and what was passed is not wanted again at the end."""
    with CatalogSpool() as spool:
        spool.add_products(
            [(product(1, [2, 3]), True), (product(5, [6]), False), (product(9, [], kind="simple"), False)]
        )
        spool.add_variations([(variation(2, 1, "A"), True, True), (variation(6, 5, "D"), True, False)])
        assert ready(spool, [1, 5, 9]) == []  # 1 lacks variation 3; 5 and 9 are not wanted
        spool.add_variations([(variation(3, 1, "B"), False, False)])
        assert ready(spool, [1, 5, 9]) == [(1, "Tee", ["A", "B"])]
        assert ready(spool, [1]) == []  # passed already
        assert wanted(spool) == []
        spool.add_variations([(variation(3, 1, "B2"), True, False)])  # a newer copy of a variation
        assert ready(spool, [1]) == [(1, "Tee", ["A", "B2"])]
        spool.add_products([(product(1, [2], name="Tee v2"), False)])  # a newer copy of the product
        assert wanted(spool) == [(1, "Tee v2", ["A"])]  # not passed on since: the end pass has it


def test_a_trashed_variable_product_listing_no_variations_waits_for_its_own_call() -> None:
    with CatalogSpool() as spool:
        trashed = product(1, [])
        trashed.data["status"] = "trash"
        spool.add_products([(trashed, True)])
        assert ready(spool, [1]) == []
        assert wanted(spool) == [(1, "Tee", [])]


def test_the_same_copy_again_does_not_pass_a_product_on_again() -> None:
    """A listing's offset pages overlap (adapters/woocommerce_since.py): the items of a page's end
    come again at the next one's start, unchanged. They must not send their product through the
    sync a second time; a changed copy still does."""
    with CatalogSpool() as spool:
        spool.add_products([(product(1, [2]), True)])
        spool.add_variations([(variation(2, 1, "A"), True, True)])
        assert ready(spool, [1]) == [(1, "Tee", ["A"])]
        spool.add_products([(product(1, [2]), False)])
        spool.add_variations([(variation(2, 1, "A"), True, True)])
        assert ready(spool, [1]) == []
        spool.add_variations([(variation(2, 1, "A2"), True, True)])
        assert ready(spool, [1]) == [(1, "Tee", ["A2"])]
