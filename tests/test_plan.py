"""Plan: per-channel dry-run text, the JSON shape, and deterministic idempotency keys."""

from __future__ import annotations

import json
from decimal import Decimal

from adapters.base import AdjustStock, SetStock, UpdateVariant
from bridge.models import Money
from bridge.plan import Change, Plan, Safety, change_key


def stock_change(channel: str, sku: str, before: int, after: int, reason: str) -> Change:
    key = change_key(channel, "set_stock", f"{sku}-id", [after, "pos1"])
    op = SetStock(key=key, product_id=f"{sku}-id", variant_id=f"{sku}-id", quantity=after)
    return Change(channel, "set_stock", sku, reason, key, f"{sku}-id", None, ("stock",), before, after, op)


def square_change() -> Change:
    key = change_key("square", "adjust_stock", "V1@main", [9, 7, "pos1"])
    op = AdjustStock(key=key, variant_id="V1", location_id="LMAIN", delta=-2)
    return Change("square", "adjust_stock", "TEE", "ledger says 7", key, "V1", "main", ("stock",), 9, 7, op)


def price_change() -> Change:
    key = change_key("square", "update", "V1", [{"price": "20 USD"}, {"price": "25 USD"}, None])
    op = UpdateVariant(
        key=key,
        product_id="I1",
        variant_id="V1",
        fields={"price": Money(amount=Decimal("25"), currency="USD")},
    )
    return Change(
        "square", "update", "TEE", "woocommerce changed price", key, "V1", None, ("price",),
        {"price": "20 USD"}, {"price": "25 USD"}, op,
    )  # fmt: skip


def test_empty_plan_says_in_sync_and_has_no_changes() -> None:
    plan = Plan.build([])
    assert plan.empty
    assert plan.to_json() == {
        "changes": [],
        "warnings": [],
        "skipped": [],
        "safe": True,
        "unsafe_reasons": [],
        "unresolved": [],
    }
    assert "In sync" in plan.render()


def test_json_has_one_entry_per_change_with_channel_action_sku_reason() -> None:
    plan = Plan.build(
        [stock_change("woocommerce", "TEE", 8, 7, "woocommerce order 1042 sold 2"), square_change()]
    )
    data = json.loads(plan.dumps())
    assert len(data["changes"]) == 2
    for entry in data["changes"]:
        assert {"channel", "action", "sku", "reason", "key", "op"} <= set(entry)
    woo = next(e for e in data["changes"] if e["channel"] == "woocommerce")
    assert woo == {**woo, "action": "set_stock", "sku": "TEE", "before": 8, "after": 7}
    assert woo["reason"] == "woocommerce order 1042 sold 2"
    assert woo["op"]["quantity"] == 7


def test_money_in_ops_serialises() -> None:
    data = Plan.build([price_change()]).to_json()
    assert data["changes"][0]["op"]["fields"]["price"]["amount"] == "25"


def test_text_groups_changes_per_channel_with_reasons() -> None:
    plan = Plan.build(
        [
            stock_change("woocommerce", "TEE", 8, 7, "woocommerce order 1042 sold 2"),
            square_change(),
            price_change(),
        ],
        warnings=["SKU 'X' exists only on square"],
    )
    text = plan.render()
    lines = text.splitlines()
    assert lines[0] == "square: 2 changes"
    assert any(line.strip().startswith("update") and "price: 20 USD -> 25 USD" in line for line in lines)
    assert any("adjust_stock" in line and "9 -> 7 (-2)" in line and "@main" in line for line in lines)
    assert "woocommerce: 1 change" in lines
    assert "[woocommerce order 1042 sold 2]" in text
    assert "Warnings (1):" in text and "exists only on square" in text
    assert "UNSAFE" not in text


def test_unsafe_plan_renders_its_reasons() -> None:
    plan = Plan.build([square_change()], safety=Safety(False, ("would set 9 of 10 stocked items to zero",)))
    assert "UNSAFE" in plan.render() and "9 of 10" in plan.render()
    forced = plan.render(forced=True)  # applied anyway: no use asking for --force again
    assert "use --force" not in forced and "applied under --force" in forced and "9 of 10" in forced


def test_build_sorts_and_deduplicates_by_key() -> None:
    a = stock_change("woocommerce", "B", 1, 2, "r")
    b = stock_change("woocommerce", "A", 1, 2, "r")
    plan = Plan.build([a, b, a, square_change()])
    assert [(c.channel, c.sku) for c in plan.changes] == [
        ("square", "TEE"),
        ("woocommerce", "A"),
        ("woocommerce", "B"),
    ]
    assert len(plan.ops("woocommerce")) == 2


def test_keys_are_stable_and_distinguish_different_changes() -> None:
    same = change_key("square", "adjust_stock", "V1@main", [9, 7, "pos1"])
    assert same == change_key("square", "adjust_stock", "V1@main", [9, 7, "pos1"])
    assert same != change_key("square", "adjust_stock", "V1@main", [9, 7, "pos2"])
    assert same != change_key("square", "adjust_stock", "V2@main", [9, 7, "pos1"])
    assert same != change_key("woocommerce", "adjust_stock", "V1@main", [9, 7, "pos1"])
    assert same.startswith("sb-")
