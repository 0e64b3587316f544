"""Linking: variants matched by SKU then GTIN, existing links first, ambiguity reported not guessed."""

from __future__ import annotations

from bridge.linking import ExistingLink, LinkResult, link
from bridge.models import ChannelProduct, ChannelVariant, ProductStatus


def product(channel: str, pid: str, *variants: tuple[str, str | None, str | None]) -> ChannelProduct:
    return ChannelProduct(
        channel=channel,
        channel_id=pid,
        name=f"product {pid}",
        kind="variable" if len(variants) > 1 else "simple",
        variants=tuple(ChannelVariant(channel_id=vid, sku=sku, gtin=gtin) for vid, sku, gtin in variants),
    )


def kinds(result: LinkResult) -> list[str]:
    return sorted(i.kind for i in result.issues)


def test_exact_sku_match_links_across_channels() -> None:
    result = link(
        {
            "woocommerce": [product("woocommerce", "10", ("10", "TEE-S", None))],
            "square": [product("square", "ITEM1", ("VAR1", " TEE-S ", None))],
        }
    )
    (group,) = result.groups
    assert group.sku == "TEE-S"
    assert group.matched_by == "sku"
    assert group.members["woocommerce"].variant_id == "10"
    assert group.members["square"].variant_id == "VAR1"
    assert group.members["square"].product_id == "ITEM1"
    assert result.issues == []


def test_gtin_links_variants_whose_skus_differ() -> None:
    result = link(
        {
            "woocommerce": [product("woocommerce", "10", ("10", "MUG-1", "4006381333931"))],
            "square": [product("square", "ITEM1", ("VAR1", "SQ-MUG", "4006381333931"))],
        },
        prefer=["woocommerce"],
    )
    (group,) = result.groups
    assert group.sku == "MUG-1"  # the preferred (owner) channel names it
    assert group.matched_by == "gtin"
    assert set(group.members) == {"woocommerce", "square"}


def test_existing_links_win_over_sku_matching() -> None:
    existing = [
        ExistingLink("OLD", "woocommerce", "10", "10"),
        ExistingLink("OLD", "square", "VAR9", "ITEM9"),
    ]
    result = link(
        {
            "woocommerce": [product("woocommerce", "10", ("10", "RENAMED", None))],
            "square": [
                product("square", "ITEM9", ("VAR9", "OLD", None)),
                product("square", "ITEM1", ("VAR1", "RENAMED", None)),
            ],
        },
        existing,
    )
    groups = result.by_sku()
    assert groups["OLD"].matched_by == "existing"
    assert groups["OLD"].members["woocommerce"].variant_id == "10"
    # The Square variant that happens to share the new SKU is not stolen into the old link.
    assert set(groups["RENAMED"].members) == {"square"}


def test_new_channel_variant_joins_existing_group_by_sku() -> None:
    result = link(
        {
            "woocommerce": [product("woocommerce", "10", ("10", "A", None))],
            "square": [product("square", "I", ("V", "A", None))],
        },
        [ExistingLink("A", "woocommerce", "10", "10")],
    )
    (group,) = result.groups
    assert set(group.members) == {"woocommerce", "square"}


def test_duplicate_sku_in_one_channel_is_reported_and_not_linked() -> None:
    result = link(
        {
            "woocommerce": [
                product("woocommerce", "10", ("10", "DUP", None)),
                product("woocommerce", "11", ("11", "DUP", None)),
            ],
            "square": [product("square", "I", ("V", "DUP", None))],
        }
    )
    assert "duplicate_sku" in kinds(result)
    dup = next(i for i in result.issues if i.kind == "duplicate_sku")
    assert "woocommerce" in dup.message and "DUP" in dup.message
    # No group joins the Square variant to either WooCommerce one.
    for group in result.groups:
        assert "woocommerce" not in group.members


def test_a_sku_reused_after_its_old_product_was_trashed_links_the_live_one() -> None:
    old = product("woocommerce", "10", ("10", "TEE", None))
    old = old.model_copy(
        update={"variants": (old.variants[0].model_copy(update={"status": ProductStatus.ARCHIVED}),)}
    )
    result = link(
        {
            "woocommerce": [old, product("woocommerce", "11", ("11", "TEE", None))],
            "square": [product("square", "I", ("V", "TEE", None))],
        }
    )
    assert "duplicate_sku" not in kinds(result)
    (group,) = [g for g in result.groups if g.sku == "TEE"]
    assert group.members["woocommerce"].variant_id == "11" and group.members["square"].variant_id == "V"


def test_case_variant_skus_are_reported_not_merged() -> None:
    result = link(
        {
            "woocommerce": [product("woocommerce", "10", ("10", "abc 1", None))],
            "square": [product("square", "I", ("V", "ABC1", None))],
        }
    )
    assert kinds(result) == ["sku_case_mismatch"]
    assert result.groups == []
    assert "abc 1" in result.issues[0].message and "ABC1" in result.issues[0].message


def test_case_only_difference_is_reported() -> None:
    result = link(
        {
            "woocommerce": [product("woocommerce", "10", ("10", "Shirt-M", None))],
            "square": [product("square", "I", ("V", "SHIRT-M", None))],
        }
    )
    assert kinds(result) == ["sku_case_mismatch"]


def test_one_sided_products_are_reported_and_kept_as_single_groups() -> None:
    result = link(
        {
            "woocommerce": [product("woocommerce", "10", ("10", "WEB-ONLY", None))],
            "square": [product("square", "I", ("V", "SHOP-ONLY", None))],
        }
    )
    assert kinds(result) == ["one_sided", "one_sided"]
    groups = result.by_sku()
    assert groups["WEB-ONLY"].matched_by == "single"
    assert set(groups["WEB-ONLY"].members) == {"woocommerce"}
    assert set(groups["SHOP-ONLY"].members) == {"square"}


def test_variant_without_sku_or_gtin_is_reported() -> None:
    result = link({"woocommerce": [product("woocommerce", "10", ("10", None, None))], "square": []})
    assert kinds(result) == ["no_sku"]
    assert result.groups == []


def test_duplicate_gtin_is_reported() -> None:
    result = link(
        {
            "woocommerce": [product("woocommerce", "10", ("10", "A", "123"), ("11", "B", "123"))],
            "square": [product("square", "I", ("V", "C", "123"))],
        }
    )
    assert "duplicate_gtin" in kinds(result)
    assert all(len(g.members) == 1 for g in result.groups)


def test_variable_products_link_each_variant() -> None:
    result = link(
        {
            "woocommerce": [product("woocommerce", "20", ("21", "T-S", None), ("22", "T-M", None))],
            "square": [product("square", "IT", ("VS", "T-S", None), ("VM", "T-M", None))],
        }
    )
    assert [g.sku for g in result.groups] == ["T-M", "T-S"]
    assert result.by_sku()["T-M"].members["woocommerce"].product_id == "20"
    assert result.issues == []


def test_linking_is_deterministic_regardless_of_input_order() -> None:
    a = [product("woocommerce", str(i), (str(i), f"S{i}", None)) for i in range(5)]
    b = [product("square", f"I{i}", (f"V{i}", f"S{i}", None)) for i in range(5)]
    first = link({"woocommerce": a, "square": b})
    second = link({"square": list(reversed(b)), "woocommerce": list(reversed(a))})
    assert first == second


def test_a_link_to_a_trashed_variant_follows_the_live_one_reusing_its_sku() -> None:
    old = product("woocommerce", "10", ("10", "TEE", None))
    old = old.model_copy(
        update={"variants": (old.variants[0].model_copy(update={"status": ProductStatus.ARCHIVED}),)}
    )
    products = {
        "woocommerce": [old, product("woocommerce", "11", ("11", "TEE", None))],
        "square": [product("square", "I", ("V", "TEE", None))],
    }
    existing = [ExistingLink("TEE", "woocommerce", "10", "10"), ExistingLink("TEE", "square", "V", "I")]
    result = link(products, existing)
    (group,) = result.groups
    assert group.members["woocommerce"].variant_id == "11" and group.members["square"].variant_id == "V"
    assert result.issues == []  # the trashed copy is history, not a slot conflict
    # Still archived with no live successor: the link stays where it is.
    alone = link({"woocommerce": [old], "square": products["square"]}, existing)
    assert alone.groups[0].members["woocommerce"].variant_id == "10"
