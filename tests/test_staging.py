"""Staging a full read on disk and cutting it into chunks that can be planned on their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.models import ChannelProduct, ChannelVariant
from bridge.store.staging import Staging


def product(channel: str, pid: str, *variants: tuple[str, str | None, str | None]) -> ChannelProduct:
    return ChannelProduct(
        channel=channel,
        channel_id=pid,
        kind="variable" if len(variants) > 1 else "simple",
        name=pid,
        variants=tuple(ChannelVariant(channel_id=vid, sku=sku, gtin=gtin) for vid, sku, gtin in variants),
    )


def chunk_sets(staging: Staging, size: int) -> list[set[tuple[str, str]]]:
    return [set(chunk) for chunk in staging.chunks(size)]


def test_products_that_could_link_stay_in_one_chunk(tmp_path: Path) -> None:
    with Staging(tmp_path / "store.db") as staging:
        staging.add_products(
            "woocommerce",
            [
                product("woocommerce", "w1", ("w1a", "TEE-S", None), ("w1b", "TEE-M", None)),
                product("woocommerce", "w2", ("w2a", "MUG", "0123456789012")),
                product("woocommerce", "w3", ("w3a", "sticker ", None)),
                product("woocommerce", "w4", ("w4a", "LONER", None)),
            ],
        )
        staging.add_products(
            "square",
            [
                product("square", "s1", ("s1a", "TEE-M", None)),  # joins w1 through one variant
                product("square", "s2", ("s2a", "POS-MUG", "0123456789012")),  # GTIN only
                product("square", "s3", ("s3a", "STICKER", None)),  # differs by case: reported together
                product("square", "s4", ("s4a", "RENAMED", None)),
            ],
        )
        # An existing link keeps a renamed SKU with its old partner.
        staging.add_links([("square", "s4a", "LONER"), ("woocommerce", "w4a", "LONER")])
        chunks = chunk_sets(staging, 1)  # every component on its own
        assert sorted(chunks, key=sorted) == sorted(
            [
                {("woocommerce", "w1"), ("square", "s1")},
                {("woocommerce", "w2"), ("square", "s2")},
                {("woocommerce", "w3"), ("square", "s3")},
                {("woocommerce", "w4"), ("square", "s4")},
            ],
            key=sorted,
        )
        assert staging.has_key("c:LONER") and not staging.has_key("c:GONE")
        # Larger chunks gather whole components, never splitting one.
        assert [len(c) for c in chunk_sets(staging, 5)] == [4, 4]  # 3+2 variants, then 2+2
        products = staging.products([("woocommerce", "w1"), ("square", "s1")])
        assert [p.channel_id for p in products["woocommerce"]] == ["w1"]
        assert [v.sku for v in products["woocommerce"][0].variants] == ["TEE-S", "TEE-M"]


def test_a_chain_of_shared_keys_is_one_component(tmp_path: Path) -> None:
    """A GTIN joins A to B, a SKU joins B to C: all three are planned together however far apart."""
    with Staging(tmp_path / "store.db") as staging:
        staging.add_products("woocommerce", [product("woocommerce", "w1", ("a", "A", "111"))])
        staging.add_products(
            "square", [product("square", f"s{n}", (f"x{n}", f"X{n}", None)) for n in range(50)]
        )
        staging.add_products("square", [product("square", "s-b", ("b", "B", "111"))])
        staging.add_products("marketplace", [product("marketplace", "m1", ("c", "B", None))])
        chunks = chunk_sets(staging, 1)
        assert {("woocommerce", "w1"), ("square", "s-b"), ("marketplace", "m1")} in chunks
        assert len(chunks) == 51


def test_the_scratch_file_is_removed(tmp_path: Path) -> None:
    with Staging(tmp_path / "store.db") as staging:
        staging.add_products("square", [product("square", "s1", ("s1a", "A", None))])
        assert staging.path.exists()
    assert not staging.path.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_scratch_file_left_by_a_killed_process_is_removed(tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    abandoned = tmp_path / f"store.db.staging-{dead.pid}"
    abandoned.write_bytes(b"x" * 100)
    alive = tmp_path / f"store.db.staging-{os.getppid()}"  # a live process still using its own
    alive.write_bytes(b"x")
    with Staging(store):
        assert not abandoned.exists()
        assert alive.exists()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["woocommerce", "square"]), st.integers(0, 15), st.integers(0, 9)),
        min_size=1,
        max_size=40,
    )
)
def test_chunks_are_the_components_of_shared_skus_and_products(
    tmp_path_factory: Any, variants: list[tuple[str, int, int]]
) -> None:
    """Random variants of random products sharing SKUs (some products staged twice, the second
    copy replacing the first): every chunk of size 1 is exactly one connected component of
    "same product or same SKU", as a plain graph search finds them."""
    products: dict[tuple[str, str], list[tuple[str, str, None]]] = {}
    for channel, pid, sku in variants:
        kept = products.setdefault((channel, f"p{pid}"), [])
        kept.append((f"{channel}-{pid}-{len(kept)}", f"SKU{sku}", None))
    with Staging(tmp_path_factory.mktemp("s") / "store.db") as staging:
        for (channel, pid), members in products.items():
            staging.add_products(channel, [product(channel, pid, *members[:1])])  # replaced below
            staging.add_products(channel, [product(channel, pid, *members)])
        found = sorted((frozenset(c) for c in chunk_sets(staging, 1)), key=sorted)
    # The reference: products joined when they hold a SKU in common.
    by_sku: dict[str, set[tuple[str, str]]] = {}
    for ref, members in products.items():
        for _, sku, _ in members:
            by_sku.setdefault(sku, set()).add(ref)
    left, components = set(products), []
    while left:
        todo, seen = [left.pop()], set()
        while todo:
            ref = todo.pop()
            seen.add(ref)
            for _, sku, _ in products[ref]:
                todo.extend(other for other in by_sku[sku] if other in left)
                left -= by_sku[sku]
        components.append(frozenset(seen))
    assert found == sorted(components, key=sorted)
