"""A stock change's reason says how its number is made: which locations' on-hand it sums (by name,
not Square's opaque ids), the buffer held back, the floor at 0. A first sync that doubles every web
stock (12 at each of two shops, so the web shop should show 24) must read as arithmetic, not as a
bug. And a plan applied under ``--force`` says so instead of asking for ``--force``. The CLI runs as
a subprocess against the sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.launch import Sandbox
from tests.conftest import RunCli


@pytest.fixture
def two_shops(tmp_path: Path) -> Iterator[tuple[Path, Sandbox]]:
    """A sandbox with two Square locations (every SKU counted at both) and a WooCommerce buffer of 2."""
    with Sandbox(products=6, locations=2) as box:
        config = tmp_path / "sandbox.toml"
        box.write_config(config)
        with config.open("a") as f:
            f.write("\n[sync.buffers]\nwoocommerce = 2\n")
        yield config, box


def _web_stock_changes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in plan["changes"] if c["channel"] == "woocommerce" and c["action"] == "set_stock"]


def test_a_first_sync_reason_names_each_location_its_count_and_the_buffer(
    two_shops: tuple[Path, Sandbox], run_cli: RunCli
) -> None:
    config, box = two_shops
    ids = box.square.location_ids()
    assert len(ids) == 2  # the sandbox names them "Location 1", "Location 2"

    as_json = run_cli("-c", str(config), "sync", "--dry-run", "--json")
    assert as_json.returncode == 0, as_json.stderr
    changes = _web_stock_changes(json.loads(as_json.stdout))
    assert changes, "every web stock should change on this first sync"
    for change in changes:
        projection = change["projection"]
        parts = {p["name"]: p["on_hand"] for p in projection["parts"]}
        assert set(parts) == {"Location 1", "Location 2"}
        assert {p["location"] for p in projection["parts"]} == set(ids)
        assert projection["buffer"] == 2
        assert change["after"] == projection["total"] == sum(parts.values()) - 2
        made_of = " + ".join(f"{name} {n}" for name, n in sorted(parts.items()))
        assert change["reason"].startswith(
            f"woocommerce shows {change['before']}, should show {change['after']} = {made_of} - buffer 2"
        )

    text = run_cli("-c", str(config), "sync", "--dry-run")
    assert text.returncode == 0, text.stderr
    for change in changes:
        assert f"[{change['reason']}]" in text.stdout  # the text says what the JSON says
    assert not any(loc_id in change["reason"] for loc_id in ids for change in changes)


def test_a_forced_sync_does_not_ask_for_force(two_shops: tuple[Path, Sandbox], run_cli: RunCli) -> None:
    config, _box = two_shops
    dry = run_cli("-c", str(config), "sync", "--dry-run")
    assert "use --force" in dry.stdout  # the first sync trips the change-share limit

    forced = run_cli("-c", str(config), "sync", "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "--force to apply" not in forced.stdout + forced.stderr
    assert "applied under --force" in forced.stdout
    assert "more than max_change_share" in forced.stdout  # the limit it went past is still named
