"""One bad item does not stop a sync: the CLI against both emulators, with one item corrupted.

A shop can serve an item the adapter cannot read (a broken extension, a hand-edited database row:
``stock_quantity: "abc"``, no ``id``), or a page that is not JSON at all (a misconfigured site). The
emulators serve such answers through ``rewrite``/``status`` faults on top of their real ones. Each
bad item is skipped and reported with channel, id and field, everything else syncs, nothing from
the bad item is recorded, and a skipped item does not look gone (nothing is created in its place,
archived, or written to it); a page that is not JSON fails that channel's read with a message
naming the URL, the content type and what is probably wrong.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.http import FaultRule
from sandbox.launch import Sandbox
from tests.conftest import RunCli

OMIT = object()


@pytest.fixture
def shop(box: Sandbox, tmp_path: Path) -> Iterator[tuple[Sandbox, Path]]:
    config = tmp_path / "sandbox.toml"
    box.write_config(config)
    yield box, config


def _simple_skus(box: Sandbox) -> list[str]:
    return sorted(v.sku for p in box.catalogues.woocommerce if p.is_simple for v in p.variants if v.sku)


def _variant_skus(box: Sandbox) -> list[str]:
    return sorted(v.sku for p in box.catalogues.woocommerce if not p.is_simple for v in p.variants if v.sku)


def _edit(items: Any, edits: dict[str, dict[str, Any]]) -> Any:
    """``items`` (a listing) with the item of each SKU in ``edits`` changed as it says."""
    for item in items if isinstance(items, list) else ():
        for key, value in edits.get(item.get("sku"), {}).items():
            if value is OMIT:
                item.pop(key, None)
            else:
                item[key] = value
    return items


def corrupt_woo(box: Sandbox, edits: dict[str, dict[str, Any]]) -> None:
    """WooCommerce serves the product (or variation) of each SKU in ``edits`` with the fields it
    gives (``OMIT``: left out), from now on (one rewrite rule: a request takes one per kind)."""
    rule = FaultRule(
        kind="rewrite",
        path=r"/wc/v3/(products|variations|products/\d+/variations)$",
        times=None,
        rewrite=lambda items: _edit(items, edits),
    )
    box.woocommerce.server.faults.add(rule)


def corrupt_square(box: Sandbox, sku: str, edit: Callable[[dict[str, Any]], None]) -> None:
    """Square serves the variation ``sku`` (nested in its item) changed by ``edit``, from now on."""

    def rewrite(body: Any) -> Any:
        for obj in body.get("objects") or []:
            for variation in (obj.get("item_data") or {}).get("variations") or []:
                if (variation.get("item_variation_data") or {}).get("sku") == sku:
                    edit(variation)
        return body

    box.square.server.faults.add(
        FaultRule(kind="rewrite", path=r"/v2/catalog/search$", times=None, rewrite=rewrite)
    )


def _db(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "shopbridge.db")


def _linked(db: sqlite3.Connection, channel: str) -> set[str]:
    return {r[0] for r in db.execute("SELECT canonical_key FROM links WHERE channel = ?", [channel])}


def _sync(run_cli: RunCli, config: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = run_cli("-c", str(config), "sync", "--force", "--json", *args)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout), result.stderr


def test_a_bad_stock_count_and_a_product_without_id_are_skipped_and_the_rest_syncs(
    shop: tuple[Sandbox, Path], run_cli: RunCli, tmp_path: Path
) -> None:
    box, config = shop
    bad_stock, no_id, *good = _simple_skus(box)
    bad_id = box.woocommerce.product_by_sku(bad_stock)["id"]
    corrupt_woo(box, {bad_stock: {"stock_quantity": "abc"}, no_id: {"id": OMIT}})

    code, out, _ = _sync(run_cli, config)
    assert code == 1  # not everything is in sync: said so, with each item named
    skipped = {(s["channel"], s["kind"], s["id"], s["field"]) for s in out["skipped"]}
    assert skipped == {
        ("woocommerce", "product", str(bad_id), "stock_quantity"),
        ("woocommerce", "product", None, "id"),
    }
    message = {s["field"]: s["message"] for s in out["skipped"]}
    assert f"woocommerce product {bad_id}: stock_quantity is 'abc'" in message["stock_quantity"]
    assert f"woocommerce product (without an id, SKU {no_id}): id is missing" in message["id"]
    # Everything else synced; nothing of the bad items was recorded.
    db = _db(tmp_path)
    woo_linked = _linked(db, "woocommerce")
    assert set(good) <= woo_linked and set(box.catalogues.shared_skus) - {bad_stock, no_id} <= woo_linked
    assert not {bad_stock, no_id} & woo_linked
    assert not db.execute(
        "SELECT 1 FROM channel_variants WHERE channel = 'woocommerce' AND sku IN (?, ?)", [bad_stock, no_id]
    ).fetchall()
    assert not db.execute(
        "SELECT 1 FROM stock_events WHERE channel = 'woocommerce' AND sku IN (?, ?)", [bad_stock, no_id]
    ).fetchall()
    assert not db.execute("SELECT 1 FROM outbox WHERE sku IN (?, ?)", [bad_stock, no_id]).fetchall()

    # The text output names them too.
    text = run_cli("-c", str(config), "sync", "--dry-run", "--full")  # a delta reads only what changed
    assert (
        text.returncode == 0
        and f"skipped woocommerce product {bad_id}: stock_quantity is 'abc'" in text.stdout
    )

    # Fixed in the shop: the next sync links them, and is clean.
    box.woocommerce.server.faults.clear()
    code, out, _ = _sync(run_cli, config, "--full")
    assert code == 0 and out["skipped"] == []
    assert {bad_stock, no_id} <= _linked(_db(tmp_path), "woocommerce")


def test_a_square_variation_without_id_is_skipped_and_not_created_again(
    shop: tuple[Sandbox, Path], run_cli: RunCli, tmp_path: Path
) -> None:
    """WooCommerce owns the catalogue: a Square copy skipped must not look missing (a duplicate
    item would be created in Square)."""
    box, config = shop
    sku = _variant_skus(box)[0]
    item_id = box.square.variation_by_sku(sku)["item_variation_data"]["item_id"]
    corrupt_square(box, sku, lambda variation: variation.pop("id"))

    code, out, _ = _sync(run_cli, config)
    assert code == 1
    assert [(s["channel"], s["kind"], s["id"], s["parent"], s["field"]) for s in out["skipped"]] == [
        ("square", "variation", None, f"item {item_id}", "id")
    ]
    assert not any(c["sku"] == sku for c in out["changes"])  # not created in Square again
    box.square.server.faults.clear()
    variations = box.square._objects.values()
    assert sum((o.get("item_variation_data") or {}).get("sku") == sku for o in variations) == 1
    # The item's other variations were held with it; every other item synced.
    sq_linked = _linked(_db(tmp_path), "square")
    assert sku not in sq_linked and set(_simple_skus(box)) & set(box.catalogues.shared_skus) <= sq_linked


def test_a_skipped_product_does_not_look_gone(
    shop: tuple[Sandbox, Path], run_cli: RunCli, tmp_path: Path
) -> None:
    """Once linked, the owner's product edited into something unreadable: that round nothing is
    archived, no link dropped, and nothing written over the count we could not read (the shop
    owner's stock edit in it); a till sale meanwhile is recorded. Once fixed, the edit counts."""
    box, config = shop
    code, _, err = _sync(run_cli, config)
    assert code == 0, err
    sku = _simple_skus(box)[0]
    before = box.woocommerce.stock_of(sku)
    assert before and before > 3
    links = _linked(_db(tmp_path), "woocommerce")
    box.woocommerce.manual_stock_edit(sku, 3)  # a stocktake typed in wp-admin...
    corrupt_woo(box, {sku: {"stock_quantity": "abc"}})  # ...served unreadable
    box.square.simulate_sale(box.square.variation_by_sku(sku)["id"], 1)

    code, out, _ = _sync(run_cli, config)
    assert code == 1 and [s["field"] for s in out["skipped"]] == ["stock_quantity"]
    assert not any(c["sku"] == sku for c in out["changes"])
    assert _linked(_db(tmp_path), "woocommerce") == links
    assert not box.square.variation_by_sku(sku).get("is_deleted")
    assert box.woocommerce.stock_of(sku) == 3  # not written over

    box.woocommerce.server.faults.clear()
    box.woocommerce.manual_stock_edit(sku, 3)  # fixed (saved again)
    code, out, err = _sync(run_cli, config)
    assert code == 0, err
    # Readable again, the stocktake is judged a manual change; the till sale is counted once.
    assert box.woocommerce.stock_of(sku) == 2
    assert box.square.count(box.square.variation_by_sku(sku)["id"], box.square.location_ids()[0]) == 2


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            FaultRule(
                kind="status",
                status=200,
                path=r"/wc/v3/products$",
                times=None,
                content_type="text/html; charset=UTF-8",
                body="<!DOCTYPE html>\n<html><head><title>Briefly unavailable for scheduled maintenance",
            ),
            [
                "answered text/html; charset=UTF-8, not JSON",
                "'<!DOCTYPE html> <html>",
                "channels.woocommerce.url",
            ],
        ),
        (
            FaultRule(kind="status", status=200, path=r"/wc/v3/products$", times=None, body={"products": []}),
            ["answered JSON that is not a list of objects", "starts '{\"products\": []}'"],
        ),
    ],
    ids=["html-page", "not-a-list"],
)
def test_a_page_that_is_not_a_json_list_fails_that_channel_with_a_message(
    shop: tuple[Sandbox, Path], run_cli: RunCli, tmp_path: Path, fault: FaultRule, expected: list[str]
) -> None:
    box, config = shop
    box.woocommerce.server.faults.add(fault)
    result = run_cli("-c", str(config), "sync", "--force")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    line = next(line for line in result.stdout.splitlines() if "woocommerce: read failed" in line)
    assert f"GET {box.woocommerce.url}/wp-json/wc/v3/products answered" in line
    for part in expected:
        assert part in line, line
    assert "consumer_key" not in line and "oauth" not in line  # the URL without its query
    assert not _linked(_db(tmp_path), "woocommerce")


def test_doctor_does_not_call_a_web_page_a_working_shop(shop: tuple[Sandbox, Path], run_cli: RunCli) -> None:
    """A site answering /wp-json/ with a web page (``X-WP-Total`` absent) failed no check."""
    box, config = shop
    page = "<!DOCTYPE html><html><body>Coming soon</body></html>"
    box.woocommerce.server.faults.add(
        FaultRule(
            kind="status",
            status=200,
            path=r"/wc/v3/products$",
            times=None,
            content_type="text/html",
            body=page,
        )
    )
    result = run_cli("-c", str(config), "doctor")
    assert result.returncode == 1, result.stdout
    line = next(line for line in result.stdout.splitlines() if "woocommerce" in line)
    assert line.startswith("FAIL woocommerce: GET ") and "answered text/html, not JSON" in line
