"""Hand links in the core (bridge.links), on a real store file, without the CLI around them.

The CLI's words and exit codes are tested in test_link_cli.py; here: what a link or unlink leaves
in the store, and that the link, its audit line and the dropped catalogue cursor are one
transaction (a failure half-way leaves the store as it was).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.links import LinkRefused, link_by_hand, unlink_by_hand
from bridge.models import ChannelProduct, ChannelVariant
from bridge.store import Store


class FailingAudit(Store):
    def audit(self, channel: str, action: str, key: str, detail: dict[str, Any]) -> None:
        raise RuntimeError("disk full")


def _read(store: Store) -> None:
    """Square was read once: item P1 with variations V1 (SKU A) and V2 (SKU B)."""
    variants = (ChannelVariant(channel_id="V1", sku="A"), ChannelVariant(channel_id="V2", sku="B"))
    store.save_last_read(
        "square", [ChannelProduct(channel="square", channel_id="P1", name="Mug", variants=variants)]
    )
    store.set_cursor("square", "catalog", "after-first-read")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "s.db") as opened:
        _read(opened)
        yield opened


def _links(store: Store) -> set[tuple[str, str]]:
    return {(r["canonical_key"], r["channel_id"]) for r in store.links("variant", "square")}


def test_link_then_unlink_by_hand(store: Store) -> None:
    linked = link_by_hand(store, "MUG-RED", "square", "V1", product_id=None, replace=False)
    assert (linked.sku_there, linked.displaced, linked.already) == ("A", (), False)
    assert _links(store) == {("MUG-RED", "V1")}
    assert store.get_cursor("square", "catalog") is None  # the next sync reads the catalogue again
    again = link_by_hand(store, "MUG-RED", "square", "V1", product_id=None, replace=False)
    assert again.already

    assert unlink_by_hand(store, "MUG-RED", "square").channel_id == "V1"
    assert _links(store) == set()
    with pytest.raises(LinkRefused, match="MUG-RED is not linked on square"):
        unlink_by_hand(store, "MUG-RED", "square")


def test_a_product_id_is_refused_naming_its_variants(store: Store) -> None:
    with pytest.raises(LinkRefused) as refused:
        link_by_hand(store, "MUG-RED", "square", "P1", product_id=None, replace=False)
    assert refused.value.hint == "P1 is a product on square; its variants: V1 (SKU A), V2 (SKU B)"
    assert _links(store) == set()


def test_a_link_in_the_way_is_replaced_only_when_asked(store: Store) -> None:
    link_by_hand(store, "MUG-RED", "square", "V1", product_id=None, replace=False)
    with pytest.raises(LinkRefused, match="MUG-RED is already linked to square variant V1"):
        link_by_hand(store, "MUG-RED", "square", "V2", product_id=None, replace=False)
    assert _links(store) == {("MUG-RED", "V1")}
    moved = link_by_hand(store, "MUG-RED", "square", "V2", product_id="P1", replace=True)
    assert moved.displaced == (("MUG-RED", "V1"),)
    assert _links(store) == {("MUG-RED", "V2")}


def test_a_failure_half_way_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    with FailingAudit(tmp_path / "s.db") as store:
        _read(store)
        with pytest.raises(RuntimeError, match="disk full"):
            link_by_hand(store, "MUG-RED", "square", "V1", product_id=None, replace=False)
        assert _links(store) == set()
        assert store.get_cursor("square", "catalog") == "after-first-read"
