"""Under ``--json`` a failure is one JSON object on stdout, ``{"error": ..., "channel": ...,
"channels": {...}}``, with the exit code the text mode has; a failure of several channels names
every one of them. The CLI runs as a subprocess against the emulators (which refuse our
credentials on every call: a permanent error, answered at once)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.launch import Sandbox
from tests.conftest import RunCli


@pytest.fixture
def both_refusing(tmp_path: Path) -> Iterator[Path]:
    """A config for a sandbox where WooCommerce and Square both answer 401 to everything."""
    with Sandbox(products=6, locations=1) as box:
        config = tmp_path / "sandbox.toml"
        box.write_config(config)
        box.woocommerce.server.faults.add(kind="status", status=401, times=None)
        box.square.server.faults.add(kind="status", status=401, times=None)
        yield config


def error_object(stdout: str) -> dict[str, object]:
    body = json.loads(stdout)  # the whole of stdout: one object
    assert isinstance(body, dict) and isinstance(body["error"], str) and body["error"]
    return body


def test_a_failed_dry_run_names_every_channel_that_failed(both_refusing: Path, run_cli: RunCli) -> None:
    text = run_cli("-c", str(both_refusing), "sync", "--dry-run")
    assert text.returncode == 1
    assert "square" in text.stderr and "woocommerce" in text.stderr

    result = run_cli("-c", str(both_refusing), "sync", "--dry-run", "--json")
    assert result.returncode == 1
    body = error_object(result.stdout)
    assert set(body["channels"]) == {"square", "woocommerce"}  # type: ignore[arg-type]
    assert body["channel"] is None  # not one channel: see "channels"
    assert "square" in body["error"] and "woocommerce" in body["error"]  # type: ignore[operator]


def test_a_sync_that_could_not_read_names_every_channel(both_refusing: Path, run_cli: RunCli) -> None:
    result = run_cli("-c", str(both_refusing), "sync", "--force", "--json")
    assert result.returncode == 1
    body = error_object(result.stdout)
    assert set(body["channels"]) == {"square", "woocommerce"}  # type: ignore[arg-type]
    assert body["changes"] == []  # still the sync's result object, with the error in it


def test_one_failing_channel_is_the_channel(tmp_path: Path, run_cli: RunCli) -> None:
    with Sandbox(products=6, locations=1) as box:
        config = tmp_path / "sandbox.toml"
        box.write_config(config)
        box.square.server.faults.add(kind="status", status=401, times=None)
        result = run_cli("-c", str(config), "sync", "--dry-run", "--json")
    assert result.returncode == 1
    body = error_object(result.stdout)
    assert body["channel"] == "square" and list(body["channels"]) == ["square"]  # type: ignore[call-overload]


def test_configuration_and_usage_errors_keep_exit_2(tmp_path: Path, run_cli: RunCli) -> None:
    missing = run_cli("-c", str(tmp_path / "nope.toml"), "status", "--json")
    assert missing.returncode == 2
    body = error_object(missing.stdout)
    assert "nope.toml" in body["error"] and body["channel"] is None  # type: ignore[operator]

    with Sandbox(products=6, locations=2) as box:  # two locations: the first sync is unsafe
        config = tmp_path / "sandbox.toml"
        box.write_config(config)
        first = run_cli("-c", str(config), "sync", "--json")  # a first sync wants a dry run first
        assert first.returncode == 2
        assert "--dry-run" in error_object(first.stdout)["error"]  # type: ignore[operator]
        assert run_cli("-c", str(config), "sync", "--dry-run").returncode == 0
        unsafe = run_cli("-c", str(config), "sync", "--json")
    assert unsafe.returncode == 1
    body = error_object(unsafe.stdout)
    assert "safety limit" in body["error"] and body["changes"]  # type: ignore[operator]
