"""The pure side of kept stock moves: which events are strays, which are released, how they are said."""

from __future__ import annotations

from datetime import UTC, datetime

from bridge.models import StockEvent, StockEventKind
from bridge.unresolved import describe, released, unclaimed, unlinked

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def sale(source_id: str, variant_id: str | None, sku: str | None = None, **extra: str) -> StockEvent:
    return StockEvent(
        source_id=source_id,
        channel=source_id.split(":", 1)[0],
        kind=StockEventKind.SALE,
        delta=-2,
        occurred_at=T0,
        variant_id=variant_id,
        sku=sku,
        **extra,
    )


def test_a_web_sale_is_named_by_its_order_and_line_and_a_till_sale_by_its_order() -> None:
    web = describe(sale("woocommerce:order:1042:line:7", "55"), "variant not linked")
    assert (web["channel"], web["order"], web["line"], web["sku"]) == ("woocommerce", "1042", "7", None)
    assert web["summary"].startswith("woocommerce order 1042 line 7: sale -2 of variant 55 (no SKU)")
    till = describe(sale("square:change:C1", "V9", "TOTE", order_id="ORD-3"), "variant not linked")
    assert (till["order"], till["line"]) == ("ORD-3", None)
    assert "square order ORD-3: sale -2 of variant V9 (SKU TOTE)" in till["summary"]


def test_only_moves_of_variants_linked_to_nothing_are_strays() -> None:
    known = sale("woocommerce:order:1:line:1", "10")
    by_sku = sale("square:change:A", "V1", "MUG")
    unknown = sale("woocommerce:order:2:line:1", "77")
    owned = sale("woocommerce:order:3:line:1", "78")
    initial = StockEvent(
        source_id="square:initial:X", channel="square", kind=StockEventKind.INITIAL, delta=3, occurred_at=T0
    )
    loose = unclaimed([known, by_sku, unknown, owned, initial], {owned.source_id})
    assert loose == [known, by_sku, unknown]
    assert unlinked(loose, {("woocommerce", "10")}, {"MUG"}) == [(unknown, "variant not linked")]


def test_a_kept_move_is_released_once_placed_not_while_still_unplaceable() -> None:
    placed, waiting, elsewhere = sale("a:order:1", "1"), sale("a:order:2", "2"), sale("a:order:3", "3")
    still = [(waiting, "location L9 of a is not mapped")]
    claimed = {placed.source_id, waiting.source_id}
    assert released([placed, waiting, elsewhere], claimed, still) == [placed.source_id]
