"""Deleting a product on the catalogue owner archives it everywhere else, never deletes it.

End to end over loopback: both emulators, the real adapters and a real SQLite store. WooCommerce as
owner: a product moved to the trash (what "delete" does in wp-admin and over REST without
``force``) must archive the Square item, whether the next sync is incremental or a full read.
Square as owner: a deleted item (a tombstone, seen through ``include_deleted_objects``) must make the
WooCommerce product private. In both cases the plan says why, and nothing is deleted anywhere.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from bridge.plan import Plan
from bridge.policy import SyncPolicy
from bridge.store import Store
from sandbox.launch import Sandbox
from tests.sync_helpers import make_runner

REASON = "archived or deleted it: archived here, never deleted"


def woo(box: Sandbox, method: str, path: str, **params: Any) -> Any:
    wc = box.woocommerce
    answer = requests.request(
        method,
        f"{wc.url}/wp-json/wc/v3/{path}",
        params=params,
        auth=(wc.consumer_key, wc.consumer_secret),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def square(box: Sandbox, method: str, path: str, body: Any = None) -> Any:
    sq = box.square
    answer = requests.request(
        method,
        f"{sq.base_url}/v2/{path}",
        json=body,
        headers={"Authorization": f"Bearer {sq.access_token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def square_objects(box: Sandbox, ids: list[str]) -> dict[str, Any]:
    """The Square objects with ``ids``, deleted ones included (so a deletion would show)."""
    found = square(
        box, "POST", "catalog/batch-retrieve", {"object_ids": ids, "include_deleted_objects": True}
    )
    return {o["id"]: o for o in found.get("objects") or []}


def pick(box: Sandbox) -> tuple[list[str], list[str]]:
    """A simple and a variable product on both channels: their SKUs."""
    shared = set(box.catalogues.shared_skus)
    simple = next(p for p in box.catalogues.woocommerce if p.is_simple and p.variants[0].sku in shared)
    variable = next(p for p in box.catalogues.woocommerce if not p.is_simple)
    return [str(simple.variants[0].sku)], [str(v.sku) for v in variable.variants]


def square_variation(box: Sandbox, sku: str) -> dict[str, Any]:
    variation = box.square.variation_by_sku(sku)
    assert variation is not None, sku
    return variation


def square_item_of(box: Sandbox, sku: str) -> str:
    return str(square_variation(box, sku)["item_variation_data"]["item_id"])


def woo_product_of(box: Sandbox, sku: str) -> int:
    record = box.woocommerce.product_by_sku(sku)
    return int(record.get("parent_id") or record["id"])


def archives(plans: list[Plan], channel: str) -> dict[str, str]:
    """``target id -> reason`` of the plans' archive changes on ``channel``."""
    return {
        str(c.target_id): c.reason
        for plan in plans
        for c in plan.changes
        if c.channel == channel and c.action == "archive"
    }


@pytest.mark.parametrize("full", [False, True], ids=["incremental", "full"])
def test_trash_on_woocommerce_owner_archives_the_square_copy(box: Sandbox, store: Store, full: bool) -> None:
    runner = make_runner(box, store)  # WooCommerce owns the catalogue (the default)
    _plans, report = runner.run()
    assert not report.failed
    simple, variable = pick(box)
    trashed = {woo_product_of(box, simple[0]), woo_product_of(box, variable[0])}
    items = {square_item_of(box, simple[0]), square_item_of(box, variable[0])}
    variations = [str(square_variation(box, s)["id"]) for s in simple + variable]
    others = [square_item_of(box, s) for s in box.catalogues.shared_skus if s not in simple + variable]
    for pid in trashed:
        assert woo(box, "DELETE", f"products/{pid}")["status"] == "trash"

    plans, report = runner.run(full=full)
    assert not report.failed and not report.deferred
    archived = archives(plans, "square")
    assert set(archived) == items, [(c.channel, c.action, c.sku, c.reason) for p in plans for c in p.changes]
    assert all(reason == f"woocommerce {REASON}" for reason in archived.values())
    assert not any(c.channel == "woocommerce" and c.op is not None for p in plans for c in p.changes)

    # Square: archived, not deleted (nor are their variations); nothing else archived.
    objects = square_objects(box, [*items, *variations, *others])
    assert len(objects) == len(items) + len(variations) + len(set(others))
    assert not any(o["is_deleted"] for o in objects.values())
    assert all(objects[i]["item_data"].get("is_archived") is True for i in items)
    assert not any(objects[i]["item_data"].get("is_archived") for i in others)
    # WooCommerce: still in the trash, where the owner put it (we never delete).
    assert all(woo(box, "GET", f"products/{pid}")["status"] == "trash" for pid in trashed)
    assert runner.prepare().plan.empty
    assert runner.prepare(full=True).plan.empty


def test_delete_on_square_owner_makes_the_woocommerce_copy_private(box: Sandbox, store: Store) -> None:
    runner = make_runner(box, store, SyncPolicy(system_of_record="square"))
    _plans, report = runner.run()
    assert not report.failed
    simple, variable = pick(box)
    products = {woo_product_of(box, simple[0]), woo_product_of(box, variable[0])}
    variations = {int(box.woocommerce.product_by_sku(s)["id"]) for s in variable}
    others = {woo_product_of(box, s) for s in box.catalogues.shared_skus if s not in simple + variable}
    for sku in (simple[0], variable[0]):
        deleted = square(box, "DELETE", f"catalog/object/{square_item_of(box, sku)}")
        assert deleted["deleted_object_ids"]

    plans, report = runner.run()
    assert not report.failed and not report.deferred
    archived = archives(plans, "woocommerce")
    assert set(archived) == {str(p) for p in products}
    assert all(reason == f"square {REASON}" for reason in archived.values())

    # WooCommerce: private (archived), neither trashed nor deleted; the variations are still there.
    for pid in products:
        assert woo(box, "GET", f"products/{pid}")["status"] == "private"
    assert {v["id"] for v in woo(box, "GET", f"products/{woo_product_of(box, variable[0])}/variations")} == (
        variations
    )
    assert all(woo(box, "GET", f"products/{pid}")["status"] == "publish" for pid in others)
    assert not woo(box, "GET", "products", status="trash")
    assert runner.prepare().plan.empty
