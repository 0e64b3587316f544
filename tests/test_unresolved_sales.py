"""A sale of a variant shopbridge does not know (issue 9, case 10) is reported and kept.

A web order for a product without a SKU (not linked to anything) used to be dropped without a
word. It is now listed (channel, order, line) in the plan and in ``shopbridge status`` (text and
``--json``), kept in the store, and counted in the ledger exactly once when the variant is linked.
All through the real CLI against both emulators.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from bridge.store import Store
from sandbox.launch import Sandbox
from sandbox.woocommerce import PREFIX
from tests.conftest import RunCli
from tests.sync_helpers import make_runner


def _woo(box: Sandbox, path: str, body: dict[str, Any]) -> dict[str, Any]:
    info = box.woocommerce.connection_info()
    answer = requests.post(
        f"{info['url']}{PREFIX}/{path}",
        json=body,
        auth=(info["consumer_key"], info["consumer_secret"]),
        timeout=10,
    )
    assert answer.status_code < 300, answer.text
    data: dict[str, Any] = answer.json()
    return data


@contextmanager
def _synced_sandbox(tmp_path: Path, run_cli: RunCli) -> Iterator[tuple[Sandbox, Callable[..., str]]]:
    """A sandbox the CLI has synced once (reviewed, then forced), and the CLI on its config
    (every command must succeed; its output)."""
    config = tmp_path / "sandbox.toml"
    with Sandbox(products=12, locations=1) as box:
        box.write_config(config)

        def cli(*args: str) -> str:
            result = run_cli("-c", str(config), *args)
            assert result.returncode == 0, result.stdout + result.stderr
            return result.stdout

        cli("sync", "--dry-run")
        cli("sync", "--force")
        yield box, cli


def _web_sale_of_an_unlinked_tote(box: Sandbox) -> tuple[dict[str, Any], dict[str, Any]]:
    """The shop adds the till's tote bag to the web shop, but without its SKU (so it links to
    nothing); a customer buys 2. The product and the order."""
    product = _woo(
        box,
        "products",
        {"name": "Tote bag", "regular_price": "4.00", "manage_stock": True, "stock_quantity": 8},
    )
    order = _woo(
        box,
        "orders",
        {"status": "processing", "line_items": [{"product_id": product["id"], "quantity": 2}]},
    )
    return product, order


def _link_the_tote_and_sync(
    box: Sandbox, cli: Callable[..., str], product: dict[str, Any]
) -> tuple[int, int]:
    """Link the web shop's tote bag ``product`` to the till's TILL-TOTE by hand, then sync twice;
    the till's count before and after."""
    tote = box.square.variation_by_sku("TILL-TOTE")
    assert tote is not None
    location = box.square.location_ids()[0]
    before = box.square.count(tote["id"], location)
    cli("link", "TILL-TOTE", "--channel", "woocommerce", "--id", str(product["id"]))
    cli("sync")
    cli("sync")
    return before, box.square.count(tote["id"], location)


def test_a_sale_of_an_unlinked_variant_is_reported_kept_and_counted_once_linked(
    tmp_path: Path, run_cli: RunCli
) -> None:
    with _synced_sandbox(tmp_path, run_cli) as (box, cli):
        product, order = _web_sale_of_an_unlinked_tote(box)
        line = order["line_items"][0]

        plan = json.loads(cli("sync", "--dry-run", "--json"))
        [held] = plan["unresolved"]
        assert held["channel"] == "woocommerce"
        assert (held["order"], held["line"]) == (str(order["id"]), str(line["id"]))
        assert held["variant_id"] == str(product["id"]) and held["sku"] is None and held["delta"] == -2
        text = cli("sync", "--dry-run")
        assert f"woocommerce order {order['id']} line {line['id']}" in text

        cli("sync")
        status = json.loads(cli("status", "--json"))
        assert [(u["channel"], u["order"], u["line"]) for u in status["unresolved"]] == [
            ("woocommerce", str(order["id"]), str(line["id"]))
        ]
        assert f"order {order['id']} line {line['id']}" in cli("status")
        cli("sync")  # read again: still one, not two
        assert len(json.loads(cli("status", "--json"))["unresolved"]) == 1

        till_before, till_after = _link_the_tote_and_sync(box, cli, product)
        assert till_after == till_before - 2  # the web sale now counts against the tote bag's stock, once
        assert json.loads(cli("status", "--json"))["unresolved"] == []
        with sqlite3.connect(tmp_path / "shopbridge.db") as db:
            sales = db.execute(
                "SELECT delta FROM stock_events WHERE sku = 'TILL-TOTE' AND channel = 'woocommerce' "
                "AND kind = 'sale'"
            ).fetchall()
        assert sales == [(-2,)]
        assert json.loads(cli("sync", "--dry-run", "--json"))["changes"] == []


def test_a_till_sale_of_an_item_whose_sku_is_used_twice_is_kept_with_its_order(
    box: Sandbox, store: Store
) -> None:
    """Square's duplicated SKU is linked to nothing: its till sale is kept, named by Square's order."""
    runner = make_runner(box, store)
    runner.run()
    sticker = box.square.variation_by_sku("STICKER")
    assert sticker is not None
    order = box.square.simulate_sale(sticker["id"], 3)
    plans, _ = runner.run()
    [reported] = [u for plan in plans for u in plan.unresolved]
    assert (reported["channel"], reported["order"], reported["variant_id"], reported["delta"]) == (
        "square",
        order["id"],
        sticker["id"],
        -3,
    )
    runner.run()
    assert [u["order"] for u in store.open_unresolved()] == [order["id"]]  # kept once, not per read
    assert not [r for r in store.ledger_rows() if r["sku"] == "STICKER"]  # never guessed at


def test_a_kept_web_sale_follows_its_order_to_the_end_a_cancel_before_linking_counts_nothing(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """What is kept is the order line's latest reading: cancelled while unlinked, it takes nothing."""
    with _synced_sandbox(tmp_path, run_cli) as (box, cli):
        product, order = _web_sale_of_an_unlinked_tote(box)
        cli("sync")
        assert [u["delta"] for u in json.loads(cli("status", "--json"))["unresolved"]] == [-2]
        info = box.woocommerce.connection_info()
        cancelled = requests.put(
            f"{info['url']}{PREFIX}/orders/{order['id']}",
            json={"status": "cancelled"},
            auth=(info["consumer_key"], info["consumer_secret"]),
            timeout=10,
        )
        assert cancelled.status_code == 200, cancelled.text
        cli("sync")
        assert json.loads(cli("status", "--json"))["unresolved"] == []  # nothing left to count

        till_before, till_after = _link_the_tote_and_sync(box, cli, product)
        assert till_after == till_before
