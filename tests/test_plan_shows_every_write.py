"""A first sync sends exactly the writes its dry run listed (issue 9, case 17).

A product created on Square has no stock there until a second write, made once Square has given
the new variation its id (the next round of the same ``sync``). The dry run must list that write
too: the CLI's ``--dry-run --json`` is compared with the outbox that ``sync`` then filled, and with
the stock changes that reached the Square emulator.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bridge.policy import SyncPolicy
from bridge.store import Store
from sandbox.launch import Sandbox
from tests.conftest import RunCli
from tests.square_helpers import call
from tests.sync_helpers import make_runner

WRITES = ("create", "update", "archive", "set_stock", "adjust_stock")


def _identity(
    channel: str, action: str, sku: str | None, location: str | None, after: Any
) -> tuple[Any, ...]:
    stock = after if action in ("set_stock", "adjust_stock") else None
    return (channel, action, sku, location, stock)


def test_a_first_sync_sends_exactly_the_writes_of_its_dry_run(tmp_path: Path, run_cli: RunCli) -> None:
    config = tmp_path / "sandbox.toml"
    with Sandbox(products=12, locations=2) as box:
        box.write_config(config)
        dry = run_cli("-c", str(config), "sync", "--dry-run", "--json")
        assert dry.returncode == 0, dry.stderr
        planned = Counter(
            _identity(c["channel"], c["action"], c["sku"], c["location"], c["after"])
            for c in json.loads(dry.stdout)["changes"]
            if c["action"] in WRITES
        )
        # The created product's stock on Square is in the plan, at the location that holds it.
        assert planned[("square", "adjust_stock", "GIFT-SLEEVE", box.square.location_ids()[0], 30)] == 1

        applied = run_cli("-c", str(config), "sync", "--force", "--json")
        assert applied.returncode == 0, applied.stdout + applied.stderr

        with sqlite3.connect(tmp_path / "shopbridge.db") as db:
            rows = db.execute("SELECT channel, action, sku, op FROM outbox").fetchall()
        sent = Counter(
            _identity(ch, action, sku, json.loads(op)["meta"]["location"], json.loads(op)["meta"]["after"])
            for ch, action, sku, op in rows
        )
        assert sent == planned
        # What reached Square: one stock change of ours per planned Square stock write, no more.
        changes = call(
            box.square,
            "POST",
            "/v2/inventory/changes/batch-retrieve",
            {"types": ["ADJUSTMENT"], "limit": 1000},
        )["changes"]
        ours = [c for c in changes if str(c["adjustment"].get("reference_id", "")).startswith("shopbridge:")]
        assert len(ours) == sum(n for key, n in planned.items() if key[:2] == ("square", "adjust_stock"))
        again = run_cli("-c", str(config), "sync", "--dry-run", "--json")
        assert json.loads(again.stdout)["changes"] == []


@pytest.mark.parametrize("owner", ["woocommerce", "square"])
def test_the_plan_of_a_first_sync_is_what_it_queues_whichever_channel_owns_the_catalogue(
    owner: str, store: Store
) -> None:
    with Sandbox(products=12, locations=2) as box:
        runner = make_runner(box, store, SyncPolicy(system_of_record=owner))
        planned = Counter(
            _identity(c.channel, c.action, c.sku, c.location, c.after) for c in runner.prepare().plan.writes
        )
        runner.run(force=True)
        rows = store.db.query("SELECT channel, action, sku, op FROM outbox")
        sent = Counter(
            _identity(
                r["channel"],
                r["action"],
                r["sku"],
                json.loads(r["op"])["meta"]["location"],
                json.loads(r["op"])["meta"]["after"],
            )
            for r in rows
        )
        assert sent == planned and any(key[1] == "create" for key in sent)
